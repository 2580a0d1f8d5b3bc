// kernels.h's ConvEpilogue applied after a convolution in two elementwise passes, through a
// backend's own add and activation kernels: how the reference backend computes it (the truth
// the fused versions are checked against) and how the CUDA backend applies it. The cpu backend
// fuses it into its tiles instead (backends/cpu/conv_epilogue.h), while the output is in L2.
#pragma once

#include "autograd/grad_mode.h"
#include "backends/kernels.h"

namespace tg::kernel {

// A backend's kernels the passes run: out = out + bias (bias broadcast along [1, C, 1, 1] with
// stride-0 views), then out = act(out) in place.
struct EpilogueKernels {
  binary_fn add;
  unary_fn relu, leaky_relu, tanh, sigmoid;
};

inline void apply_conv_epilogue(const Tensor& out, const ConvEpilogue& e, const EpilogueKernels& k) {
  if (e.bias) {
    NoGradGuard no_grad;  // views of the bias for the kernel, nothing to record
    k.add(out, out, e.bias->unsqueeze(0).unsqueeze(2).unsqueeze(3).expand(out.shape()));
  }
  switch (e.activation) {
    case ConvActivation::none: break;
    case ConvActivation::relu: k.relu(out, out, 0.0, 0.0); break;
    case ConvActivation::leaky_relu: k.leaky_relu(out, out, e.slope, 0.0); break;
    case ConvActivation::tanh: k.tanh(out, out, 0.0, 0.0); break;
    case ConvActivation::sigmoid: k.sigmoid(out, out, 0.0, 0.0); break;
  }
}

}  // namespace tg::kernel
