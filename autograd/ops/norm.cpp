// Normalisation: batch_norm (fused kernel, closed-form backward), instance_norm (batch_norm
// over [1, N·C, *], as PyTorch does) and layer_norm (a composite of tg ops).
#include <algorithm>
#include <cmath>

#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;

// The dims batch norm reduces over: every dim of a rank-`rank` input but the channel dim 1.
Shape non_channel_dims(int64_t rank) {
  Shape dims{0};
  for (int64_t d = 2; d < rank; ++d) dims.push_back(d);
  return dims;
}

// A per-channel [C] tensor as [1, C, 1, ...] so it broadcasts against x [N, C, *].
Tensor per_channel(const Tensor& t, int64_t rank) {
  Shape s(rank, 1);
  s[1] = t.numel();
  return t.reshape(s);
}

void check_eps_momentum(double eps, double momentum, const char* op) {
  TG_CHECK(eps >= 0 && std::isfinite(eps), op, "eps must be finite and >= 0, got ", eps);
  TG_CHECK(momentum >= 0 && momentum <= 1, op, "momentum must be in [0, 1], got ", momentum);
}

// An optional per-channel tensor: undefined, or [C] with x's dtype and device.
void check_per_channel(const Tensor& t, const char* what, const Tensor& x, const char* op) {
  if (!t.defined()) return;
  TG_CHECK(t.dim() == 1 && t.size(0) == x.size(1), op, what, " has shape ", shape_str(t.shape()),
           ", expected [", x.size(1), "] (one value per channel of input ", x.str(), ")");
  TG_CHECK(t.dtype() == x.dtype() && t.device() == x.device(), op, what, " is ", t.str(),
           " but input is ", x.str(), "; they must share dtype and device");
}

// Training-mode gradients in differentiable ops, for create_graph: the fused kernel's closed
// form with mean and invstd recomputed from x, so their dependence on x is on the tape too.
//   x̂ = (x − mean)·invstd,  dx = (w·invstd / M)·(M·g − Σg − x̂·Σ(g·x̂)),  dw = Σ(g·x̂),  db = Σg
TensorList batch_norm_training_grads(const BackwardContext& c, double eps) {
  const Tensor &g = c.grads[0], &x = c.saved[0], &w = c.saved[1];
  const Shape dims = non_channel_dims(x.dim());
  const double M = static_cast<double>(x.numel() / x.size(1));
  Tensor centred = x - mean(x, dims, true);
  Tensor invstd = rsqrt(mean(centred * centred, dims, true) + eps);
  Tensor xhat = centred * invstd;
  Tensor sg = sum(g, dims, true), sgx = sum(g * xhat, dims, true);
  Tensor gx;
  if (c.needs(0)) {
    Tensor scale = w.defined() ? per_channel(w, x.dim()) * invstd : invstd;
    gx = (scale / M) * (g * M - sg - xhat * sgx);
  }
  return {gx, c.needs(1) ? sgx.reshape({x.size(1)}) : Tensor(),
          c.needs(2) ? sg.reshape({x.size(1)}) : Tensor()};
}

// Training mode: the fused backward kernel, or its differentiable twin when create_graph is on.
void record_training(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                     const Tensor& save_mean, const Tensor& save_invstd, double eps) {
  autograd::record("BatchNormBackward", {x, weight, bias}, {y}, {x, weight, save_mean, save_invstd},
                   [eps](const BackwardContext& c) {
                     if (GradMode::is_enabled()) return batch_norm_training_grads(c, eps);
                     const Tensor &x = c.saved[0], &w = c.saved[1];
                     const int64_t C = x.size(1);
                     Tensor gx = detail::empty_with(x.shape(), x);
                     Tensor gw = c.needs(1) ? detail::empty_with({C}, x) : Tensor();
                     Tensor gb = c.needs(2) ? detail::empty_with({C}, x) : Tensor();
                     TG_KERNEL(batch_norm_backward, x)(gx, gw, gb, c.grads[0], x, w, c.saved[2], c.saved[3]);
                     return TensorList{c.needs(0) ? gx : Tensor(), gw, gb};
                   });
}

// Eval mode: y = w·(x − mean)·invstd + b with constant (running) mean and invstd, so
//   dx = g·w·invstd,  dw = Σ g·(x − mean)·invstd,  db = Σg   (tg ops: differentiable as is).
void record_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y,
                 const Tensor& mean_c, const Tensor& invstd_c) {
  autograd::record("BatchNormBackward", {x, weight, bias}, {y}, {x, weight, mean_c, invstd_c},
                   [](const BackwardContext& c) {
                     const Tensor &g = c.grads[0], &x = c.saved[0], &w = c.saved[1];
                     const int64_t r = x.dim();
                     Tensor invstd = per_channel(c.saved[3], r);
                     Tensor gx, gw, gb;
                     if (c.needs(0)) gx = g * (w.defined() ? per_channel(w, r) * invstd : invstd);
                     if (c.needs(1))
                       gw = sum(g * ((x - per_channel(c.saved[2], r)) * invstd), non_channel_dims(r));
                     if (c.needs(2)) gb = sum(g, non_channel_dims(r));
                     return TensorList{gx, gw, gb};
                   });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  detail::check_floating(x, op);
  TG_CHECK(x.dim() >= 2, op, "expected input of rank >= 2 ([N, C] or [N, C, H, W]), got ", x.str());
  check_per_channel(running_mean, "running_mean", x, op);
  check_per_channel(running_var, "running_var", x, op);
  check_per_channel(weight, "weight", x, op);
  check_per_channel(bias, "bias", x, op);
  check_eps_momentum(eps, momentum, op);
  TG_CHECK(training || (running_mean.defined() && running_var.defined()), op,
           "running_mean and running_var must be defined in evaluation mode (training = false)");
  // The unbiased variance divides by M - 1: one value per channel has no batch statistics.
  TG_CHECK(!training || x.numel() / std::max<int64_t>(x.size(1), 1) > 1, op,
           "Expected more than 1 value per channel when training, got input size ", shape_str(x.shape()));

  const int64_t C = x.size(1);
  Tensor y = detail::empty_with(x.shape(), x);
  // Written in training (the kernel contract); allocated in eval too, so no kernel meets an
  // undefined output.
  Tensor save_mean = detail::empty_with({C}, x), save_invstd = detail::empty_with({C}, x);
  TG_KERNEL(batch_norm, x)(y, save_mean, save_invstd, x, weight, bias, running_mean, running_var,
                           training, momentum, eps);
  if (training) {
    for (const Tensor& r : {running_mean, running_var})
      if (r.defined()) r.impl()->storage->bump_version();  // updated in place by the kernel
    record_training(x, weight, bias, y, save_mean, save_invstd, eps);
  } else if (autograd::any_requires_grad({x, weight, bias})) {
    // Copies: the running stats may change in place (a later training step) before backward.
    Tensor mean_c, invstd_c;
    {
      NoGradGuard no_grad;
      mean_c = running_mean.clone();
      invstd_c = rsqrt(running_var + eps);
    }
    record_eval(x, weight, bias, y, mean_c, invstd_c);
  }
  return y;
}

Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                     const Tensor& weight, const Tensor& bias, bool use_input_stats, double momentum,
                     double eps) {
  const char* op = "instance_norm";
  detail::check_floating(x, op);
  TG_CHECK(x.dim() >= 3, op, "expected input of rank >= 3 ([N, C, L] or [N, C, H, W]), got ", x.str());
  check_per_channel(running_mean, "running_mean", x, op);
  check_per_channel(running_var, "running_var", x, op);
  check_per_channel(weight, "weight", x, op);
  check_per_channel(bias, "bias", x, op);
  check_eps_momentum(eps, momentum, op);
  TG_CHECK(use_input_stats || (running_mean.defined() && running_var.defined()), op,
           "Expected running_mean and running_var to be defined when use_input_stats is false");
  const int64_t N = x.size(0), C = x.size(1);
  TG_CHECK(!use_input_stats || x.numel() / std::max<int64_t>(N * C, 1) > 1, op,
           "Expected more than 1 spatial element when training, got input size ", shape_str(x.shape()));

  // Each (sample, channel) pair is a channel of a batch of one: x [N, C, *] -> [1, N·C, *],
  // per-channel tensors repeated N times.
  auto repeat = [N, C](const Tensor& t) {
    return t.defined() ? t.unsqueeze(0).expand({N, C}).reshape({N * C}) : Tensor();
  };
  Shape folded = x.shape();
  folded[0] = 1;
  folded[1] = N * C;
  Tensor rm, rv;
  if (running_mean.defined()) rm = repeat(running_mean.detach()).clone();
  if (running_var.defined()) rv = repeat(running_var.detach()).clone();
  Tensor y = batch_norm(x.reshape(folded), rm, rv, repeat(weight), repeat(bias), use_input_stats,
                        momentum, eps).reshape(x.shape());
  if (use_input_stats) {
    // Each running stat moves towards the average over the batch of its per-sample updates.
    NoGradGuard no_grad;
    if (rm.defined()) running_mean.copy_(mean(rm.view({N, C}), {0}));
    if (rv.defined()) running_var.copy_(mean(rv.view({N, C}), {0}));
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const char* op = "layer_norm";
  detail::check_floating(x, op);
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  TG_CHECK(k >= 1, op, "Expected normalized_shape to be at least 1-dimensional, got ",
           shape_str(normalized_shape));
  TG_CHECK(x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape, op,
           "Given normalized_shape=", shape_str(normalized_shape), ", expected input with shape [*, ",
           shape_str(normalized_shape).substr(1), ", but got input ", x.str());
  for (const auto& [t, what] : {std::pair{weight, "weight"}, std::pair{bias, "bias"}}) {
    if (!t.defined()) continue;
    TG_CHECK(t.shape() == normalized_shape, op, "Expected ", what, " to be of same shape as normalized_shape, but got ",
             what, " of shape ", shape_str(t.shape()), " and normalized_shape = ", shape_str(normalized_shape));
    TG_CHECK(t.dtype() == x.dtype() && t.device() == x.device(), op, what, " is ", t.str(),
             " but input is ", x.str(), "; they must share dtype and device");
  }
  TG_CHECK(eps >= 0 && std::isfinite(eps), op, "eps must be finite and >= 0, got ", eps);

  // y = (x − mean)·rsqrt(var + eps)·w + b over the trailing k dims (biased variance); every
  // step is a tg op, so backward and double backward come from the tape.
  Shape dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  Tensor centred = x - mean(x, dims, true);
  Tensor y = centred * rsqrt(mean(centred * centred, dims, true) + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

}  // namespace tg
