// cat and stack. cat copies each input into its slice of the output; its backward hands each
// input the matching slice of the gradient (a view, so twice differentiable).
#include "autograd/ops/op_utils.h"

namespace tg {

using autograd::BackwardContext;

Tensor cat(const TensorList& tensors, int64_t dim) {
  TG_CHECK(!tensors.empty(), "cat", "expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  detail::check_defined(first, "cat", "tensor 0");
  const int64_t d = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    detail::check_same_kind(first, t, "cat");
    TG_CHECK(t.dim() == first.dim(), "cat", "tensor ", i, " ", t.str(), " has rank ", t.dim(),
             " but tensor 0 ", first.str(), " has rank ", first.dim());
    for (int64_t k = 0; k < t.dim(); ++k)
      TG_CHECK(k == d || t.size(k) == first.size(k), "cat", "sizes must match except in dimension ",
               d, ": tensor ", i, " ", t.str(), " vs tensor 0 ", first.str());
    TG_CHECK(!__builtin_add_overflow(out_shape[d], t.size(d), &out_shape[d]), "cat",
             "the sizes in dimension ", d, " add up to more than 2^63 - 1 (at tensor ", i, " ",
             t.str(), ")");
  }
  Tensor out = detail::empty_with(out_shape, first);
  std::vector<int64_t> starts;
  {
    NoGradGuard no_grad;
    int64_t start = 0;
    for (const Tensor& t : tensors) {
      starts.push_back(start);
      Tensor dst = out.narrow(d, start, t.size(d));
      TG_KERNEL(copy, dst)(dst, t);
      start += t.size(d);
    }
  }
  std::vector<int64_t> lengths;
  for (const Tensor& t : tensors) lengths.push_back(t.size(d));
  autograd::record("CatBackward", tensors, {out}, {}, [d, starts, lengths](const BackwardContext& c) {
    TensorList grads;
    for (size_t i = 0; i < starts.size(); ++i)
      grads.push_back(c.needs(i) ? c.grads[0].narrow(d, starts[i], lengths[i]) : Tensor());
    return grads;
  });
  return out;
}

Tensor stack(const TensorList& tensors, int64_t dim) {
  TG_CHECK(!tensors.empty(), "stack", "expected a non-empty list of tensors");
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    TG_CHECK(tensors[i].shape() == tensors[0].shape(), "stack", "expects each tensor to be equal "
             "size, but got ", tensors[0].str(), " at entry 0 and ", tensors[i].str(), " at entry ", i);
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

}  // namespace tg
