// Differentiable views: they share the input's storage (no copy); their backward formulas map
// the gradient back to the input's shape, themselves in differentiable ops.
#include <algorithm>
#include <numeric>

#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;

// Fills in the one -1 of a view / reshape target from the input's numel (as PyTorch). The other
// sizes must be >= 0 and their product must fit int64 (check_shape), so a target such as
// [2^62, 4] is an error, not a wrapped-around 0 that an empty input would match.
Shape infer_shape(Shape shape, int64_t numel, const char* op) {
  int64_t infer = -1;
  Shape known_sizes;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      TG_CHECK(infer < 0, op, "only one dimension can be inferred in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      TG_CHECK(shape[i] >= 0, op, "invalid shape dimension ", shape[i], " in ", shape_str(shape),
               " (sizes must be >= 0, or -1 for the one inferred)");
      known_sizes.push_back(shape[i]);
    }
  }
  const int64_t known = check_shape(known_sizes, op);
  if (infer >= 0) {
    TG_CHECK(known != 0 && numel % known == 0, op, "shape ", shape_str(shape),
             " is invalid for input of size ", numel);
    shape[infer] = numel / known;
  }
  TG_CHECK(check_shape(shape, op) == numel, op, "shape ", shape_str(shape),
           " is invalid for input of size ", numel);
  return shape;
}

// The adjoint of slice: a zero tensor of `input_shape` with g written into the slice.
// Its own backward is the slice again, so views are twice differentiable.
Tensor slice_backward(const Tensor& g, const Shape& input_shape, int64_t dim, int64_t start,
                      int64_t end, int64_t step) {
  Tensor out = zeros(input_shape, TensorOptions(g.dtype()).device(g.device()));
  {
    NoGradGuard no_grad;
    out.slice(dim, start, end, step).copy_(g);
  }
  autograd::record("SliceBackwardBackward", {g}, {out}, {},
                   [dim, start, end, step](const BackwardContext& c) {
                     return TensorList{c.grads[0].slice(dim, start, end, step)};
                   });
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& shape_in) const {
  Shape s = infer_shape(shape_in, numel(), "view");
  TG_CHECK(is_contiguous(), "view", "view size ", shape_str(s), " is not compatible with the "
           "strides of ", str(), " (it is not contiguous); use .reshape(...) instead");
  Tensor out = make_view(*this, s, contiguous_strides(s), storage_offset(), "view");
  Shape in_shape = shape();
  autograd::record("ViewBackward", {*this}, {out}, {}, [in_shape](const BackwardContext& c) {
    return TensorList{c.grads[0].reshape(in_shape)};
  });
  return out;
}

Tensor Tensor::reshape(const Shape& s) const {
  return is_contiguous() ? view(s) : contiguous().view(s);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  int64_t s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
  TG_CHECK(s <= e, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape out(shape().begin(), shape().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= size(d);
  out.push_back(n);
  out.insert(out.end(), shape().begin() + e + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::permute(const Shape& dims) const {
  TG_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute", "got ", dims.size(),
           " dims for a tensor of rank ", dim(), " (", str(), ")");
  Shape s(dims.size()), st(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], dim(), "permute");
    TG_CHECK(!seen[d], "permute", "repeated dim ", dims[i], " in ", shape_str(dims));
    seen[d] = true;
    s[i] = size(d);
    st[i] = stride(d);
    inverse[d] = static_cast<int64_t>(i);
  }
  Tensor out = make_view(*this, s, st, storage_offset(), "permute");
  autograd::record("PermuteBackward", {*this}, {out}, {}, [inverse](const BackwardContext& c) {
    return TensorList{c.grads[0].permute(inverse)};
  });
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  if (dim() < 2 && d0 == d1) return *this;
  Shape perm(dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[wrap_dim(d0, dim(), "transpose")], perm[wrap_dim(d1, dim(), "transpose")]);
  return permute(perm);
}

Tensor Tensor::t() const {
  TG_CHECK(dim() <= 2, "t", "expects a tensor with <= 2 dimensions, got ", str());
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim(d, dim(), "slice");
  TG_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const int64_t n = size(d);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape(), st = strides();
  // ceil((end - start) / step) elements, without forming end - start + step - 1 (a step near
  // 2^63 overflows it). The stride times step matters only with 2 or more elements; an empty
  // slice reaches no element and keeps the offset.
  s[d] = end == start ? 0 : (end - start - 1) / step + 1;
  int64_t offset = storage_offset(), skipped = 0;
  const bool overflow = (s[d] > 1 && __builtin_mul_overflow(st[d], step, &st[d])) ||
                        (s[d] > 0 && (__builtin_mul_overflow(start, stride(d), &skipped) ||
                                      __builtin_add_overflow(offset, skipped, &offset)));
  TG_CHECK(!overflow, "slice", "start ", start, " or step ", step, " times stride ", stride(d),
           " of dimension ", d, " of ", str(), " exceeds 2^63 - 1");
  Tensor out = make_view(*this, s, st, offset, "slice");
  Shape in_shape = shape();
  autograd::record("SliceBackward", {*this}, {out}, {},
                   [in_shape, d, start, end, step](const BackwardContext& c) {
                     return TensorList{slice_backward(c.grads[0], in_shape, d, start, end, step)};
                   });
  return out;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim(), "narrow");
  if (start < 0) start += size(d);
  TG_CHECK(start >= 0 && length >= 0 && length <= size(d) - start, "narrow", "start ", start,
           " + length ", length, " exceeds dimension ", d, " of size ", size(d), " (", str(), ")");
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d, dim(), "select");
  TG_CHECK(index >= -size(d) && index < size(d), "select", "index ", index,
           " is out of range for dimension ", d, " of size ", size(d), " (", str(), ")");
  if (index < 0) index += size(d);
  return narrow(d, index, 1).squeeze(d);
}

// Each target size is >= 0, or -1 to keep the existing size (not allowed in a new leading
// dimension, which has none); a size-1 dimension may grow to any size (stride 0).
Tensor Tensor::expand(const Shape& target) const {
  TG_CHECK(static_cast<int64_t>(target.size()) >= dim(), "expand", "the number of sizes provided (",
           target.size(), ") must be at least the rank of ", str());
  const int64_t lead = static_cast<int64_t>(target.size()) - dim();
  Shape s(target.size()), st(target.size());
  for (int64_t i = 0; i < static_cast<int64_t>(target.size()); ++i) {
    TG_CHECK(target[i] >= -1, "expand", "invalid size ", target[i], " at dimension ", i, " of ",
             shape_str(target), " (sizes must be >= 0, or -1 to keep an existing size)");
    if (i < lead) {
      TG_CHECK(target[i] >= 0, "expand", "size -1 is not allowed in a new leading dimension (",
               i, " of ", shape_str(target), ")");
      s[i] = target[i];
      st[i] = 0;
      continue;
    }
    int64_t have = size(i - lead), want = target[i] == -1 ? have : target[i];
    TG_CHECK(have == want || have == 1, "expand", "the expanded size ", want, " must match the "
             "existing size ", have, " at non-singleton dimension ", i, "; target ",
             shape_str(target), ", tensor ", str());
    s[i] = want;
    st[i] = have == want ? stride(i - lead) : 0;
  }
  if (s == shape()) return *this;
  Tensor out = make_view(*this, s, st, storage_offset(), "expand");
  Shape in_shape = shape();
  autograd::record("ExpandBackward", {*this}, {out}, {}, [in_shape](const BackwardContext& c) {
    return TensorList{sum_to_size(c.grads[0], in_shape)};
  });
  return out;
}

Tensor Tensor::squeeze() const {
  // Dropping size-1 dims never needs a copy: keep the other dims' strides (always a view).
  Shape s, st;
  for (int64_t d = 0; d < dim(); ++d) {
    if (size(d) == 1) continue;
    s.push_back(size(d));
    st.push_back(stride(d));
  }
  if (s.size() == shape().size()) return *this;
  Tensor out = make_view(*this, s, st, storage_offset(), "squeeze");
  Shape in_shape = shape();
  autograd::record("SqueezeBackward", {*this}, {out}, {}, [in_shape](const BackwardContext& c) {
    return TensorList{c.grads[0].reshape(in_shape)};
  });
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0) return *this;
  d = wrap_dim(d, dim(), "squeeze");
  if (size(d) != 1) return *this;
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = make_view(*this, s, st, storage_offset(), "squeeze");
  autograd::record("SqueezeBackward", {*this}, {out}, {}, [d](const BackwardContext& c) {
    return TensorList{c.grads[0].unsqueeze(d)};
  });
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape(), st = strides();
  // The new size-1 dim's stride is never stepped; stride * size (PyTorch's choice) when that
  // fits int64, else the stride itself.
  int64_t new_stride = 1;
  if (d < dim() && __builtin_mul_overflow(stride(d), size(d), &new_stride)) new_stride = stride(d);
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, new_stride);
  Tensor out = make_view(*this, s, st, storage_offset(), "unsqueeze");
  autograd::record("UnsqueezeBackward", {*this}, {out}, {}, [d](const BackwardContext& c) {
    return TensorList{c.grads[0].squeeze(d)};
  });
  return out;
}

}  // namespace tg
