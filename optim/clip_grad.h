// Gradient clipping (torch::nn::utils::clip_grad_norm_ / clip_grad_value_), in place on the
// parameters' .grad(); parameters without a gradient are skipped.
#pragma once

#include <limits>
#include <vector>

#include "autograd/tensor.h"

namespace tg::nn::utils {

// Scales all gradients by max_norm / (total_norm + 1e-6) when that is below 1, where
// total_norm is the norm_type-norm of all gradients together (inf: the largest |g|).
// Returns total_norm. error_if_nonfinite: a NaN or infinite total norm raises tg::Error.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);

}  // namespace tg::nn::utils

namespace tg::optim {
using nn::utils::clip_grad_norm_;
using nn::utils::clip_grad_value_;
}  // namespace tg::optim
