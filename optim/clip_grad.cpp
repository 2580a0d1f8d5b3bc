// clip_grad_norm_ and clip_grad_value_.
#include "optim/clip_grad.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace tg::nn::utils {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  TG_CHECK(max_norm >= 0, "clip_grad_norm_", "max_norm must be non-negative, got ", max_norm);
  TG_CHECK(norm_type > 0, "clip_grad_norm_", "norm_type must be positive (or inf), got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  // ||g||_p over all gradients together = (sum_i sum |g_i|^p)^(1/p); the inf-norm is max |g|.
  const bool inf = std::isinf(norm_type);
  double total = 0.0;
  for (const Tensor& g : grads) {
    if (g.numel() == 0) continue;
    const Tensor a = abs(g);
    if (inf) total = std::max(total, max(a).item<double>());
    else total += (norm_type == 2.0 ? (a * a).sum() : pow(a, norm_type).sum()).item<double>();
  }
  if (!inf) total = std::pow(total, 1.0 / norm_type);
  TG_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_", "the total norm of order ",
           norm_type, " for gradients from `parameters` is non-finite (", total, "), so it cannot be "
           "clipped; pass error_if_nonfinite=false to clip anyway");
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (Tensor& g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  TG_CHECK(clip_value >= 0, "clip_grad_value_", "clip_value must be non-negative, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : parameters) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace tg::nn::utils
