// conv2d, conv_transpose2d and conv2d_weight: parameter checks, kernel calls, backward formulas.
//
// The three are one bilinear map B(x, w) = conv2d(x, w) read from each side:
//   conv_transpose2d(y, w) = (dB/dx)^T y   (the adjoint of conv2d in x)
//   conv2d_weight(x, y)    = (dB/dw)^T y   (the adjoint of conv2d in w)
// so each backward is written with the other two and double backward needs nothing more:
//   Conv2d           y = conv2d(x, w):     dx = convT(g, w),   dw = conv2d_weight(x, g)
//   ConvTranspose2d  y = convT(x, w):      dx = conv2d(g, w),  dw = conv2d_weight(g, x)
//     since <convT(x, w), g> = <x, conv2d(g, w)>: conv2d with g as the image.
//   Conv2dWeight     v = conv2d_weight(x, gy):  for a cotangent G of w's shape,
//     <v, G> = <conv2d(x, G), gy> = <x, convT(gy, G)>, so dx = convT(gy, G), dgy = conv2d(x, G).
// The internal ops take their output size explicitly (the kernels read sizes from their
// tensors), so each backward gives back exactly its input's size, including the rows that a
// stride or output_padding leaves over.
#include <cmath>

#include "autograd/ops/unary_op.h"

namespace tg {
namespace {

using autograd::BackwardContext;
using kernel::Conv2dParams;

Tensor conv2d_sized(const Tensor& x, const Tensor& w, const Conv2dParams& p, int64_t ho, int64_t wo);
Tensor conv_transpose2d_sized(const Tensor& x, const Tensor& w, const Conv2dParams& p, int64_t h,
                              int64_t wd);
Tensor conv2d_weight_sized(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p);

// x [N, C, H, W], w [O, C/G, kH, kW] -> [N, O, ho, wo].
Tensor conv2d_sized(const Tensor& x, const Tensor& w, const Conv2dParams& p, int64_t ho, int64_t wo) {
  Tensor y = detail::empty_with({x.size(0), w.size(0), ho, wo}, x);
  TG_KERNEL(conv2d, x)(y, x, w, p);
  autograd::record("Conv2dBackward", {x, w}, {y}, {x, w}, [p](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &w = c.saved[1];
    return TensorList{c.needs(0) ? conv_transpose2d_sized(g, w, p, x.size(2), x.size(3)) : Tensor(),
                      c.needs(1) ? conv2d_weight_sized(x, g, w.shape(), p) : Tensor()};
  });
  return y;
}

// x [N, O, H', W'], w [O, C/G, kH, kW] (the weight of the conv2d it is the adjoint of)
// -> [N, C, h, wd].
Tensor conv_transpose2d_sized(const Tensor& x, const Tensor& w, const Conv2dParams& p, int64_t h,
                              int64_t wd) {
  Tensor y = detail::empty_with({x.size(0), w.size(1) * p.groups, h, wd}, x);
  TG_KERNEL(conv_transpose2d, x)(y, x, w, p);
  autograd::record("ConvTranspose2dBackward", {x, w}, {y}, {x, w}, [p](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &w = c.saved[1];
    return TensorList{c.needs(0) ? conv2d_sized(g, w, p, x.size(2), x.size(3)) : Tensor(),
                      c.needs(1) ? conv2d_weight_sized(g, x, w.shape(), p) : Tensor()};
  });
  return y;
}

// d<conv2d(x, w), gy>/dw for w of w_shape.
Tensor conv2d_weight_sized(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p) {
  Tensor gw = detail::empty_with(w_shape, x);
  TG_KERNEL(conv2d_weight, x)(gw, x, gy, p);
  autograd::record("Conv2dWeightBackward", {x, gy}, {gw}, {x, gy}, [p](const BackwardContext& c) {
    const Tensor &G = c.grads[0], &x = c.saved[0], &gy = c.saved[1];
    return TensorList{c.needs(0) ? conv_transpose2d_sized(gy, G, p, x.size(2), x.size(3)) : Tensor(),
                      c.needs(1) ? conv2d_sized(x, G, p, gy.size(2), gy.size(3)) : Tensor()};
  });
  return gw;
}

std::string pair_str(Size2 s) { return shape_str({s.h, s.w}); }  // "[h, w]"

Conv2dParams make_params(const char* op, Size2 stride, Size2 padding, Size2 dilation, int64_t groups) {
  TG_CHECK(stride.h > 0 && stride.w > 0, op, "stride must be positive, got stride ", pair_str(stride));
  TG_CHECK(padding.h >= 0 && padding.w >= 0, op, "padding must be non-negative, got padding ",
           pair_str(padding));
  TG_CHECK(dilation.h > 0 && dilation.w > 0, op, "dilation must be positive, got dilation ",
           pair_str(dilation));
  TG_CHECK(groups > 0, op, "groups must be positive, got groups = ", groups);
  Conv2dParams p;
  p.stride[0] = stride.h, p.stride[1] = stride.w;
  p.padding[0] = padding.h, p.padding[1] = padding.w;
  p.dilation[0] = dilation.h, p.dilation[1] = dilation.w;
  p.groups = groups;
  return p;
}

// Input and weight: same dtype and device, floating, ranks, a non-empty kernel.
void check_operands(const char* op, const Tensor& x, const Tensor& w, const char* w_layout) {
  detail::check_floating(x, op);
  detail::check_defined(w, op, "weight");
  detail::check_same_kind(x, w, op);
  TG_CHECK(x.dim() == 3 || x.dim() == 4, op, "input must be 3-D [C, H, W] or 4-D [N, C, H, W], got ",
           x.str());
  TG_CHECK(w.dim() == 4, op, "weight must be 4-D ", w_layout, ", got ", w.str());
  TG_CHECK(w.size(2) > 0 && w.size(3) > 0, op, "weight ", w.str(), " has an empty kernel");
}

// bias is undefined or [C_out], like x.
void check_bias(const char* op, const Tensor& x, const Tensor& bias, int64_t out_channels) {
  if (!bias.defined()) return;
  detail::check_same_kind(x, bias, op);
  TG_CHECK(bias.dim() == 1 && bias.size(0) == out_channels, op, "bias must be 1-D with C_out = ",
           out_channels, " elements, got ", bias.str());
}

// ---- bias and activation fused into the convolution ----
// y = act(z), z = conv(x, w) + bias, with the epilogue in the kernel (kernels.h: ConvEpilogue).
// Backward from the saved output: dz = act'(z) g, the activation's own formula (relu and
// leaky_relu with slope >= 0: z > 0 iff y > 0; tanh' = 1 - y^2; sigmoid' = y (1 - y)), then
// the convolution's backward taken at dz, and dbias = dz summed over N, H, W, as the
// broadcast add's backward sums it. So values and gradients are those of the unfused ops.
enum class Direction { forward, transpose };

// Whether act(z) can be written with y alone: leaky_relu with a negative slope maps z < 0 to
// y > 0 and loses z's sign; it runs unfused.
bool fusable(Activation a) { return a.kind != Activation::leaky_relu || a.negative_slope >= 0.0; }

Tensor activation_grad(const Tensor& g, const Tensor& y, Activation a) {
  switch (a.kind) {
    case Activation::none: return g;
    case Activation::relu: return detail::leaky_relu_backward(g, y, 0.0);
    case Activation::leaky_relu: return detail::leaky_relu_backward(g, y, a.negative_slope);
    case Activation::tanh: return detail::tanh_backward(g, y);
    case Activation::sigmoid: return detail::sigmoid_backward(g, y);
  }
  return g;
}

// The node's name says what was fused: Conv2dLeakyReluBackward, ConvTranspose2dTanhBackward,
// Conv2dBiasBackward (a bias alone), ...
const char* fused_node_name(Direction d, Activation::Kind kind) {
  static const char* const names[2][5] = {
      {"Conv2dBiasBackward", "Conv2dReluBackward", "Conv2dLeakyReluBackward", "Conv2dTanhBackward",
       "Conv2dSigmoidBackward"},
      {"ConvTranspose2dBiasBackward", "ConvTranspose2dReluBackward",
       "ConvTranspose2dLeakyReluBackward", "ConvTranspose2dTanhBackward",
       "ConvTranspose2dSigmoidBackward"}};
  return names[d == Direction::transpose][kind];
}

// conv2d (forward) or conv_transpose2d (transpose) of a 4-D x into [N, channels, ho, wo], with
// bias and activation fused.
Tensor fused_convolution(Direction d, const Tensor& x, const Tensor& w, const Tensor& bias,
                         Activation a, const Conv2dParams& p, int64_t ho, int64_t wo) {
  const int64_t channels = d == Direction::forward ? w.size(0) : w.size(1) * p.groups;
  Tensor y = detail::empty_with({x.size(0), channels, ho, wo}, x);
  Conv2dParams fused = p;
  fused.epilogue = {bias.defined() ? &bias : nullptr, static_cast<kernel::ConvActivation>(a.kind),
                    a.negative_slope};
  if (d == Direction::forward) {
    TG_KERNEL(conv2d, x)(y, x, w, fused);
  } else {
    TG_KERNEL(conv_transpose2d, x)(y, x, w, fused);
  }
  const Tensor saved_y = a.kind == Activation::none ? Tensor() : y;
  autograd::record(fused_node_name(d, a.kind), {x, w, bias}, {y}, {x, w, saved_y},
                   [d, a, p, channels](const BackwardContext& c) {
    const Tensor &x = c.saved[0], &w = c.saved[1];
    const Tensor gz = activation_grad(c.grads[0], c.saved[2], a);
    const bool fwd = d == Direction::forward;
    Tensor gx, gw, gb;
    if (c.needs(0))
      gx = fwd ? conv_transpose2d_sized(gz, w, p, x.size(2), x.size(3))
               : conv2d_sized(gz, w, p, x.size(2), x.size(3));
    if (c.needs(1))
      gw = fwd ? conv2d_weight_sized(x, gz, w.shape(), p) : conv2d_weight_sized(gz, x, w.shape(), p);
    if (c.needs(2)) gb = sum_to_size(gz, {1, channels, 1, 1}).view({channels});
    return TensorList{gx, gw, gb};
  });
  return y;
}

// The convolution with whatever of bias and activation there is: fused when the activation
// allows it, else the fused bias followed by the activation op.
Tensor convolution(Direction d, const Tensor& x, const Tensor& w, const Tensor& bias,
                   Activation a, const Conv2dParams& p, int64_t ho, int64_t wo) {
  if (fusable(a)) {
    if (!bias.defined() && a.kind == Activation::none)
      return d == Direction::forward ? conv2d_sized(x, w, p, ho, wo)
                                     : conv_transpose2d_sized(x, w, p, ho, wo);
    return fused_convolution(d, x, w, bias, a, p, ho, wo);
  }
  return leaky_relu(convolution(d, x, w, bias, {}, p, ho, wo), a.negative_slope);
}

void check_activation(const char* op, Activation a) {
  TG_CHECK(a.kind >= Activation::none && a.kind <= Activation::sigmoid, op,
           "activation kind must be none, relu, leaky_relu, tanh or sigmoid, got ",
           static_cast<int>(a.kind));
  TG_CHECK(std::isfinite(a.negative_slope), op, "activation negative_slope must be finite, got ",
           a.negative_slope);
}

// The extent of a dilated kernel, d (k - 1) + 1 (128-bit: a hostile dilation overflows int64).
detail::Wide effective_kernel(int64_t k, int64_t dilation) {
  return detail::Wide(dilation) * (k - 1) + 1;
}

// conv2d's output size floor((H + 2p - d (k - 1) - 1) / s) + 1 in each dim, once the dilated
// kernel is checked to fit in the padded input. `weight` describes the kernel in the message.
std::pair<int64_t, int64_t> conv2d_output_size(const char* op, const Tensor& x, int64_t H, int64_t W,
                                               int64_t kH, int64_t kW, const std::string& weight,
                                               Size2 stride, Size2 padding, Size2 dilation) {
  using detail::Wide;
  const Wide kh = effective_kernel(kH, dilation.h), kw = effective_kernel(kW, dilation.w);
  const Wide padded_h = Wide(H) + 2 * Wide(padding.h), padded_w = Wide(W) + 2 * Wide(padding.w);
  TG_CHECK(kh <= padded_h && kw <= padded_w, op, "kernel size ", detail::wide_str(kh), " x ",
           detail::wide_str(kw), " (", weight, " with dilation ", pair_str(dilation),
           ") is larger than the padded input ", detail::wide_str(padded_h), " x ",
           detail::wide_str(padded_w), " (input ", x.str(), " with padding ", pair_str(padding), ")");
  return {detail::output_size((padded_h - kh) / stride.h + 1, op, "output height"),
          detail::output_size((padded_w - kw) / stride.w + 1, op, "output width")};
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
              Size2 dilation, int64_t groups, Activation activation) {
  const char* op = "conv2d";
  check_operands(op, x, weight, "[C_out, C_in / groups, kH, kW]");
  const Conv2dParams p = make_params(op, stride, padding, dilation, groups);
  const Tensor xb = x.dim() == 4 ? x : x.unsqueeze(0);
  const int64_t C = xb.size(1), H = xb.size(2), W = xb.size(3);
  TG_CHECK(C == weight.size(1) * groups, op, "input ", x.str(), " has ", C, " channels but weight ",
           weight.str(), " with groups = ", groups, " expects ", weight.size(1) * groups,
           " (weight.size(1) * groups)");
  TG_CHECK(weight.size(0) % groups == 0, op, "weight ", weight.str(), " has ", weight.size(0),
           " output channels, not divisible by groups = ", groups);
  const auto [ho, wo] = conv2d_output_size(op, x, H, W, weight.size(2), weight.size(3),
                                           "weight " + weight.str(), stride, padding, dilation);
  check_bias(op, x, bias, weight.size(0));
  check_activation(op, activation);
  Tensor y = convolution(Direction::forward, xb, weight, bias, activation, p, ho, wo);
  return x.dim() == 4 ? y : y.squeeze(0);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride,
                        Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation,
                        Activation activation) {
  const char* op = "conv_transpose2d";
  check_operands(op, x, weight, "[C_in, C_out / groups, kH, kW]");
  Conv2dParams p = make_params(op, stride, padding, dilation, groups);
  TG_CHECK(output_padding.h >= 0 && output_padding.w >= 0, op,
           "output_padding must be non-negative, got output_padding ", pair_str(output_padding));
  // A larger output_padding would add rows no input pixel reaches (PyTorch's rule).
  TG_CHECK((output_padding.h < stride.h || output_padding.h < dilation.h) &&
               (output_padding.w < stride.w || output_padding.w < dilation.w),
           op, "output_padding ", pair_str(output_padding), " must be smaller than either stride ",
           pair_str(stride), " or dilation ", pair_str(dilation), " in each dimension");
  p.output_padding[0] = output_padding.h, p.output_padding[1] = output_padding.w;
  const Tensor xb = x.dim() == 4 ? x : x.unsqueeze(0);
  const int64_t C = xb.size(1), H = xb.size(2), W = xb.size(3);
  TG_CHECK(C == weight.size(0), op, "input ", x.str(), " has ", C, " channels but weight ",
           weight.str(), " expects ", weight.size(0), " (weight.size(0))");
  TG_CHECK(C % groups == 0, op, "input channels ", C, " (weight ", weight.str(),
           ") are not divisible by groups = ", groups);
  // (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1
  using detail::Wide;
  const int64_t ho = detail::output_size(Wide(H - 1) * stride.h - 2 * Wide(padding.h) +
                                             effective_kernel(weight.size(2), dilation.h) + output_padding.h,
                                         op, "output height");
  const int64_t wo = detail::output_size(Wide(W - 1) * stride.w - 2 * Wide(padding.w) +
                                             effective_kernel(weight.size(3), dilation.w) + output_padding.w,
                                         op, "output width");
  TG_CHECK(ho > 0 && wo > 0, op, "output size ", ho, " x ", wo, " is not positive (input ", x.str(),
           ", weight ", weight.str(), ", stride ", pair_str(stride), ", padding ", pair_str(padding),
           ", dilation ", pair_str(dilation), ", output_padding ", pair_str(output_padding), ")");
  check_bias(op, x, bias, weight.size(1) * groups);
  check_activation(op, activation);
  Tensor y = convolution(Direction::transpose, xb, weight, bias, activation, p, ho, wo);
  return x.dim() == 4 ? y : y.squeeze(0);
}

Tensor conv2d_weight(const Tensor& x, const Tensor& grad_out, const Shape& weight_shape, Size2 stride,
                     Size2 padding, Size2 dilation, int64_t groups) {
  const char* op = "conv2d_weight";
  detail::check_floating(x, op);
  detail::check_defined(grad_out, op, "grad_out");
  detail::check_same_kind(x, grad_out, op);
  const Conv2dParams p = make_params(op, stride, padding, dilation, groups);
  TG_CHECK(x.dim() == 4 && grad_out.dim() == 4, op, "input and grad_out must be 4-D, got ", x.str(),
           " and ", grad_out.str());
  TG_CHECK(weight_shape.size() == 4 && weight_shape[2] > 0 && weight_shape[3] > 0, op,
           "weight_shape must be [C_out, C_in / groups, kH, kW] with a non-empty kernel, got ",
           shape_str(weight_shape));
  TG_CHECK(x.size(1) == weight_shape[1] * groups && weight_shape[0] % groups == 0, op, "input ",
           x.str(), " does not match weight_shape ", shape_str(weight_shape), " with groups = ",
           groups, " (input channels must be weight_shape[1] * groups, and weight_shape[0] "
           "divisible by groups)");
  const auto [ho, wo] = conv2d_output_size(op, x, x.size(2), x.size(3), weight_shape[2], weight_shape[3],
                                           "weight_shape " + shape_str(weight_shape), stride, padding,
                                           dilation);
  const Shape expected{x.size(0), weight_shape[0], ho, wo};
  TG_CHECK(grad_out.shape() == expected, op, "grad_out must have conv2d's output shape ",
           shape_str(expected), " (input ", x.str(), ", weight_shape ", shape_str(weight_shape),
           ", stride ", pair_str(stride), ", padding ", pair_str(padding), ", dilation ",
           pair_str(dilation), "), got ", grad_out.str());
  return conv2d_weight_sized(x, grad_out, weight_shape, p);
}

}  // namespace tg
