// Convolution and transposed convolution (torch.nn.functional.conv2d / conv_transpose2d).
#pragma once

#include "autograd/tensor.h"

namespace tg {

// A pair of (height, width) sizes that also accepts one number for both, as PyTorch's
// ExpandingArray<2>: conv2d(x, w, {}, 2) or conv2d(x, w, {}, {2, 1}).
struct Size2 {
  int64_t h = 0, w = 0;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
};

// An activation fused into a convolution: y = act(conv(x, w) + bias) comes out of the
// convolution's own tiles (no separate pass over y, no intermediate tensor) and records one
// backward node. Values and gradients are those of conv, + bias, then tg::relu / leaky_relu /
// tanh / sigmoid. nn::Sequential fuses a convolution followed by such a module by itself.
struct Activation {
  enum Kind : int8_t { none, relu, leaky_relu, tanh, sigmoid };
  Kind kind = none;
  double negative_slope = 0.0;  // leaky_relu only
};

// x [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1,
              Activation activation = {});

// x [N, C_in, H, W], weight [C_in, C_out / groups, kH, kW]; output size
// (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        Size2 stride = 1, Size2 padding = 0, Size2 output_padding = 0,
                        int64_t groups = 1, Size2 dilation = 1, Activation activation = {});

// The gradient of conv2d with respect to its weight: d<conv2d(x, w), grad_out>/dw, with w of
// weight_shape. Differentiable in x and grad_out (conv2d's backward uses it).
Tensor conv2d_weight(const Tensor& x, const Tensor& grad_out, const Shape& weight_shape,
                     Size2 stride = 1, Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);

}  // namespace tg
