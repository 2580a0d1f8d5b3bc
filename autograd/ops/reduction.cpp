// Reductions: sum, mean, var, max / min (with indices), logsumexp.
#include <algorithm>
#include <limits>

#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;

// Normalised, sorted, de-duplicated dims; empty means all.
Shape reduce_dims(const Tensor& x, const Shape& dims, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < x.dim(); ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, x.dim(), op));
  std::sort(out.begin(), out.end());
  TG_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, "dim appears twice in ",
           shape_str(dims));
  return out;
}

Shape keepdim_shape(const Shape& in, const Shape& dims) {
  Shape s = in;
  for (int64_t d : dims) s[d] = 1;
  return s;
}

Shape dropped_shape(const Shape& in, const Shape& dims) {
  Shape s;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) s.push_back(in[d]);
  return s;
}

std::tuple<Tensor, Tensor> arg_reduce(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  detail::check_floating(x, op);
  TG_CHECK(x.numel() > 0, op, "cannot reduce an empty tensor ", x.str(), " (the operation has no identity)");
  const int64_t d = wrap_dim(dim, x.dim(), op);
  Tensor xs = x.dim() == 0 ? x.reshape({1}) : x;
  Shape ks = xs.shape();
  ks[d] = 1;
  Tensor values = detail::empty_with(ks, x), indices = detail::empty_with(ks, kInt64, x);
  const auto& t = kernel::table_for(x.device());
  if (is_max) {
    kernel::lookup(t.max, kernel::OpId::max, x.dtype(), x.device())(values, indices, xs, d);
  } else {
    kernel::lookup(t.min, kernel::OpId::min, x.dtype(), x.device())(values, indices, xs, d);
  }
  if (!keepdim || x.dim() == 0) {
    Shape s = x.dim() == 0 ? Shape{} : dropped_shape(xs.shape(), {d});
    values = make_view(values, s, contiguous_strides(s), 0);
    indices = make_view(indices, s, contiguous_strides(s), 0);
  }
  Shape in_shape = xs.shape();
  // The gradient goes to the chosen element: a one-hot mask along `dim` from the indices
  // (gradient and indices taken back to keepdim form first, then broadcast over `dim`).
  autograd::record(is_max ? "MaxBackward" : "MinBackward", {xs}, {values}, {indices},
                   [in_shape, ks, d](const BackwardContext& c) {
                     Shape pos_shape(in_shape.size(), 1);
                     pos_shape[d] = in_shape[d];
                     const Tensor& indices = c.saved[0];
                     Tensor pos = arange(static_cast<double>(in_shape[d]), TensorOptions(kInt64).device(indices.device()))
                                      .view(pos_shape);
                     Tensor hit = eq(pos.expand(in_shape), indices.reshape(ks).expand(in_shape));
                     return TensorList{where(hit, c.grads[0].reshape(ks).expand(in_shape), 0.0)};
                   });
  return {values, indices};
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  detail::check_floating(x, "sum");
  Shape dims = reduce_dims(x, dims_in, "sum");
  Shape ks = keepdim_shape(x.shape(), dims);
  Tensor out = detail::empty_with(ks, x);
  TG_KERNEL(sum, x)(out, x);
  if (!keepdim) {
    Shape s = dropped_shape(x.shape(), dims);
    out = make_view(out, s, contiguous_strides(s), 0);  // same memory, reduced dims dropped
  }
  Shape in_shape = x.shape();
  autograd::record("SumBackward", {x}, {out}, {}, [in_shape, ks](const BackwardContext& c) {
    // Every input element gets the gradient of the sum it went into.
    return TensorList{c.grads[0].reshape(ks).expand(in_shape)};
  });
  return out;
}

Tensor sum(const Tensor& x) { return sum(x, {}, false); }

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  detail::check_floating(x, "mean");
  Shape dims = reduce_dims(x, dims_in, "mean");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  return sum(x, dims, keepdim) / static_cast<double>(n);
}

Tensor mean(const Tensor& x) { return mean(x, {}, false); }

Tensor var(const Tensor& x, const Shape& dims_in, int64_t correction, bool keepdim) {
  detail::check_floating(x, "var");
  Shape dims = reduce_dims(x, dims_in, "var");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  TG_CHECK(correction >= 0, "var", "correction must be non-negative, got ", correction);
  Tensor centred = x - mean(x, dims, true);
  // Divides by n - correction; like PyTorch, n <= correction gives inf / nan, not an error.
  return sum(centred * centred, dims, keepdim) / static_cast<double>(n - correction);
}

std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return arg_reduce(x, dim, keepdim, true); }
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return arg_reduce(x, dim, keepdim, false); }
Tensor max(const Tensor& x) { return std::get<0>(arg_reduce(x.reshape({-1}), 0, false, true)); }
Tensor min(const Tensor& x) { return std::get<0>(arg_reduce(x.reshape({-1}), 0, false, false)); }

Tensor logsumexp(const Tensor& x, const Shape& dims_in, bool keepdim) {
  detail::check_floating(x, "logsumexp");
  Shape dims = reduce_dims(x, dims_in, "logsumexp");
  // log sum exp(x) = m + log sum exp(x - m) with m the max: no overflow. m is a constant
  // shift (detached); it is replaced by 0 where infinite so -inf rows give -inf, not NaN.
  Tensor m = x.detach();
  for (int64_t d : dims) m = std::get<0>(max(m, d, true));
  m = where(abs(m) < std::numeric_limits<double>::infinity(), m, 0.0);
  return log(sum(exp(x - m), dims, keepdim)) + (keepdim ? m : m.reshape(dropped_shape(x.shape(), dims)));
}

Tensor Tensor::sum() const { return tg::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return tg::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return tg::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return tg::mean(*this, dims, keepdim); }

}  // namespace tg
