// Normalisation (torch.nn.functional.batch_norm / layer_norm / instance_norm).
#pragma once

#include "autograd/tensor.h"

namespace tg {

// x [N, C] or [N, C, H, W]. Training: batch statistics (biased variance normalises, the
// unbiased one updates running_var), running stats updated in place with `momentum` when
// defined. Eval: running statistics. weight / bias optional.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

// Normalises over the trailing dims given by normalized_shape; weight / bias of that shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// Per-sample, per-channel statistics over (H, W) of x [N, C, H, W] (or [N, C, L]).
Tensor instance_norm(const Tensor& x, const Tensor& running_mean = {}, const Tensor& running_var = {},
                     const Tensor& weight = {}, const Tensor& bias = {}, bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

}  // namespace tg
