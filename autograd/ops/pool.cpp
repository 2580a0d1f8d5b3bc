// max_pool2d, avg_pool2d and adaptive_avg_pool2d: parameter checks, kernel calls, backward formulas.
//
// Once the max's choices (the indices) are fixed, both pools are linear maps of x, so each
// backward is the adjoint map's kernel and the adjoint's own backward is the map again:
//   MaxPool2d          y = gather(x, idx):   dx = scatter(g, idx)    (max_pool2d_backward)
//   its backward       v = scatter(g, idx):  dg = gather(G, idx)     (max_pool2d_gather)
//   AvgPool2d          y = A x:              dx = A^T g              (avg_pool2d_backward)
//   its backward       v = A^T g:            dg = A G                (avg_pool2d)
// so gradients of every order are exact (the max's second derivative in x is zero wherever
// it is defined; it is the scatter / gather chain that carries double backward).
#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;
using kernel::Pool2dParams;

Tensor max_pool2d_scatter(const Tensor& g, const Tensor& indices, const Shape& in_shape, const Pool2dParams& p);

// in (input-shaped) read at the indices -> indices' shape.
Tensor max_pool2d_gather(const Tensor& in, const Tensor& indices, const Pool2dParams& p) {
  Tensor out = detail::empty_with(indices.shape(), in);
  TG_KERNEL(max_pool2d_gather, in)(out, in, indices, p);
  Shape in_shape = in.shape();
  autograd::record("MaxPool2dGatherBackward", {in}, {out}, {indices},
                   [in_shape, p](const BackwardContext& c) {
                     return TensorList{max_pool2d_scatter(c.grads[0], c.saved[0], in_shape, p)};
                   });
  return out;
}

// g (pooled) added at the indices into zeros of in_shape.
Tensor max_pool2d_scatter(const Tensor& g, const Tensor& indices, const Shape& in_shape, const Pool2dParams& p) {
  Tensor gx = detail::empty_with(in_shape, g);
  TG_KERNEL(max_pool2d_backward, g)(gx, g, indices, p);
  autograd::record("MaxPool2dBackwardBackward", {g}, {gx}, {indices}, [p](const BackwardContext& c) {
    return TensorList{max_pool2d_gather(c.grads[0], c.saved[0], p)};
  });
  return gx;
}

std::tuple<Tensor, Tensor> max_pool2d_sized(const Tensor& x, const Pool2dParams& p, int64_t ho, int64_t wo) {
  Tensor y = detail::empty_with({x.size(0), x.size(1), ho, wo}, x);
  Tensor indices = detail::empty_with(y.shape(), kInt64, x);
  TG_KERNEL(max_pool2d, x)(y, indices, x, p);
  Shape in_shape = x.shape();
  autograd::record("MaxPool2dBackward", {x}, {y}, {indices}, [in_shape, p](const BackwardContext& c) {
    return TensorList{max_pool2d_scatter(c.grads[0], c.saved[0], in_shape, p)};
  });
  return {y, indices};
}

Tensor avg_pool2d_spread(const Tensor& g, const Shape& in_shape, const Pool2dParams& p);

Tensor avg_pool2d_sized(const Tensor& x, const Pool2dParams& p, int64_t ho, int64_t wo) {
  Tensor y = detail::empty_with({x.size(0), x.size(1), ho, wo}, x);
  TG_KERNEL(avg_pool2d, x)(y, Tensor(), x, p);
  Shape in_shape = x.shape();
  autograd::record("AvgPool2dBackward", {x}, {y}, {}, [in_shape, p](const BackwardContext& c) {
    return TensorList{avg_pool2d_spread(c.grads[0], in_shape, p)};
  });
  return y;
}

// A^T g: g (pooled) spread over the windows into in_shape.
Tensor avg_pool2d_spread(const Tensor& g, const Shape& in_shape, const Pool2dParams& p) {
  Tensor gx = detail::empty_with(in_shape, g);
  TG_KERNEL(avg_pool2d_backward, g)(gx, g, Tensor(), p);
  const int64_t ho = g.size(2), wo = g.size(3);
  autograd::record("AvgPool2dBackwardBackward", {g}, {gx}, {}, [p, ho, wo](const BackwardContext& c) {
    return TensorList{avg_pool2d_sized(c.grads[0], p, ho, wo)};
  });
  return gx;
}

std::string pair_str(Size2 s) { return shape_str({s.h, s.w}); }  // "[h, w]"

// floor (or ceil) of (size + 2 pad - kernel) / stride, plus one; in ceil_mode the last window
// must start inside the input or its left padding (PyTorch's pooling_output_shape).
// Evaluated in 128 bits: a hostile kernel, stride or padding overflows int64.
int64_t pooled_size(const char* op, int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                    bool ceil_mode) {
  using detail::Wide;
  const Wide span = Wide(size) + 2 * Wide(pad) - kernel + (ceil_mode ? stride - 1 : 0);
  Wide out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= Wide(size) + pad) --out;
  return detail::output_size(out, op, "output size");
}

// A checked pooling call on a 4-D view of x: its parameters and output size.
struct Pooling {
  Tensor x;  // x, or x with a batch dim of 1 added
  Pool2dParams p;
  int64_t ho, wo;
};

Pooling make_pooling(const char* op, const Tensor& x, Size2 kernel, std::optional<Size2> stride_opt,
                     Size2 padding, bool ceil_mode) {
  detail::check_floating(x, op);
  TG_CHECK(x.dim() == 3 || x.dim() == 4, op, "input must be 3-D [C, H, W] or 4-D [N, C, H, W], got ",
           x.str());
  const Size2 stride = stride_opt.value_or(kernel);
  TG_CHECK(kernel.h > 0 && kernel.w > 0, op, "kernel_size must be positive, got kernel_size ",
           pair_str(kernel));
  TG_CHECK(stride.h > 0 && stride.w > 0, op, "stride must be positive, got stride ", pair_str(stride));
  TG_CHECK(padding.h >= 0 && padding.w >= 0, op, "padding must be non-negative, got padding ",
           pair_str(padding));
  TG_CHECK(2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w, op, "padding ", pair_str(padding),
           " must be at most half of kernel_size ", pair_str(kernel));
  Pooling r{x.dim() == 4 ? x : x.unsqueeze(0), {}, 0, 0};
  r.p.kernel[0] = kernel.h, r.p.kernel[1] = kernel.w;
  r.p.stride[0] = stride.h, r.p.stride[1] = stride.w;
  r.p.padding[0] = padding.h, r.p.padding[1] = padding.w;
  r.p.ceil_mode = ceil_mode;
  const int64_t H = r.x.size(2), W = r.x.size(3);
  r.ho = pooled_size(op, H, kernel.h, stride.h, padding.h, ceil_mode);
  r.wo = pooled_size(op, W, kernel.w, stride.w, padding.w, ceil_mode);
  TG_CHECK(r.ho > 0 && r.wo > 0, op, "kernel_size ", pair_str(kernel), " is larger than the padded input ",
           H + 2 * padding.h, " x ", W + 2 * padding.w, " (input ", x.str(), " with padding ",
           pair_str(padding), ")");
  return r;
}

// Removes the batch dim that make_pooling added to a 3-D input.
Tensor unbatch(const Tensor& y, const Tensor& x) { return x.dim() == 4 ? y : y.squeeze(0); }

// The [out, in] matrix of adaptive average pooling along one dim: row i averages the inputs
// [floor(i * in / out), ceil((i + 1) * in / out)) (PyTorch's start / end index rule).
Tensor adaptive_matrix(int64_t out, int64_t in, const Tensor& like) {
  std::vector<double> m(out * in, 0.0);
  for (int64_t i = 0; i < out; ++i) {
    const int64_t begin = i * in / out, end = ((i + 1) * in + out - 1) / out;
    for (int64_t j = begin; j < end; ++j) m[i * in + j] = 1.0 / static_cast<double>(end - begin);
  }
  return tensor<double>(m, {out, in}).to(like.dtype()).to(like.device());
}

}  // namespace

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2 kernel_size,
                                                   std::optional<Size2> stride, Size2 padding,
                                                   bool ceil_mode) {
  Pooling r = make_pooling("max_pool2d", x, kernel_size, stride, padding, ceil_mode);
  auto [y, indices] = max_pool2d_sized(r.x, r.p, r.ho, r.wo);
  return {unbatch(y, x), unbatch(indices, x)};
}

Tensor max_pool2d(const Tensor& x, Size2 kernel_size, std::optional<Size2> stride, Size2 padding,
                  bool ceil_mode) {
  return std::get<0>(max_pool2d_with_indices(x, kernel_size, stride, padding, ceil_mode));
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel_size, std::optional<Size2> stride, Size2 padding,
                  bool ceil_mode, bool count_include_pad) {
  Pooling r = make_pooling("avg_pool2d", x, kernel_size, stride, padding, ceil_mode);
  r.p.count_include_pad = count_include_pad;
  return unbatch(avg_pool2d_sized(r.x, r.p, r.ho, r.wo), x);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
  const char* op = "adaptive_avg_pool2d";
  detail::check_floating(x, op);
  TG_CHECK(x.dim() == 3 || x.dim() == 4, op, "input must be 3-D [C, H, W] or 4-D [N, C, H, W], got ",
           x.str());
  TG_CHECK(output_size.h > 0 && output_size.w > 0, op, "output_size must be positive, got output_size ",
           pair_str(output_size));
  const int64_t H = x.size(-2), W = x.size(-1);
  TG_CHECK(H > 0 && W > 0, op, "input ", x.str(), " has an empty plane");
  // Equal windows when the sizes divide: plain average pooling with kernel = stride.
  if (H % output_size.h == 0 && W % output_size.w == 0)
    return avg_pool2d(x, {H / output_size.h, W / output_size.w});
  // Otherwise the average is separable: y = P_h x P_w^T with the matrices above.
  return matmul(matmul(adaptive_matrix(output_size.h, H, x), x),
                adaptive_matrix(output_size.w, W, x).t());
}

}  // namespace tg
