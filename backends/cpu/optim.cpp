// The cpu backend's fused optimizer updates: SGD, Adam / AdamW and RMSprop in one pass over a
// parameter and its state (optim_rows.h), split among threads. The per-step scalars are
// computed as the reference computes them (backends/reference/optim.cpp) and the elementwise
// arithmetic is the reference's, up to the FMA contraction optim_rows.h describes. Any strides:
// operands that are not contiguous along their rows go through gathered blocks (fused.h).
#include <cmath>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/fused.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per thread: ~10 flops and 20-40 bytes each

// Runs f(n, p) over blocks of the parameter and its K - 1 companions (grad, state; undefined
// ones null), in parallel; operands set in `written` are stored back.
template <typename T, size_t K, class F>
void for_param_blocks(const std::array<const Tensor*, K>& t, unsigned written, const F& f) {
  const Tensor& param = *t[0];
  const Shape absent = absent_strides(param.shape());
  std::array<const Shape*, K> strides;
  std::array<T*, K> data;
  for (size_t k = 0; k < K; ++k) {
    strides[k] = t[k]->defined() ? &t[k]->strides() : &absent;
    data[k] = t[k]->defined() ? data_of<T>(*t[k]) : nullptr;
  }
  const RowLoop<K> loop(param.shape(), strides);
  parallel_for(loop.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for_blocks(loop, data, written, begin, end, f);
  });
}

}  // namespace

void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                const kernel::SgdUpdate& h) {
  dispatch_floating(param.dtype(), "sgd_update", [&]<typename T>() {
    const auto update = fused_kernels<T>().sgd_update;
    const SgdStep<T> s{T(h.lr), T(h.weight_decay), T(h.momentum), T(1 - h.dampening),
                       h.weight_decay != 0, momentum_buffer.defined(), h.nesterov,
                       h.init_momentum};
    for_param_blocks<T, 3>({&param, &grad, &momentum_buffer}, 1u | 4u,
                           [&](int64_t n, const auto& p) { update(n, p[0], p[1], p[2], s); });
  });
}

void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                 const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                 const kernel::AdamUpdate& h) {
  dispatch_floating(param.dtype(), "adam_update", [&]<typename T>() {
    const auto update = fused_kernels<T>().adam_update;
    const auto t = static_cast<double>(h.step);
    // The bias corrections in double, as the reference (and PyTorch's Python) compute them.
    AdamStep<T> s;
    s.step_size = T(h.lr / (1 - std::pow(h.beta1, t)));
    s.bc2_sqrt = T(std::sqrt(1 - std::pow(h.beta2, t)));
    s.beta1 = T(h.beta1), s.beta2 = T(h.beta2), s.eps = T(h.eps);
    s.weight_decay = T(h.weight_decay), s.decay = T(1 - h.lr * h.weight_decay);
    s.amsgrad = h.amsgrad, s.decoupled = h.decoupled_weight_decay;
    s.coupled_decay = !h.decoupled_weight_decay && h.weight_decay != 0;
    const Tensor vmax = h.amsgrad ? max_exp_avg_sq : Tensor();
    for_param_blocks<T, 5>({&param, &grad, &exp_avg, &exp_avg_sq, &vmax}, 1u | 4u | 8u | 16u,
                           [&](int64_t n, const auto& p) {
                             update(n, p[0], p[1], p[2], p[3], p[4], s);
                           });
  });
}

void rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                    const Tensor& momentum_buffer, const Tensor& grad_avg,
                    const kernel::RmspropUpdate& h) {
  dispatch_floating(param.dtype(), "rmsprop_update", [&]<typename T>() {
    const auto update = fused_kernels<T>().rmsprop_update;
    const RmspropStep<T> s{T(h.lr), T(h.alpha), T(h.eps), T(h.weight_decay), T(h.momentum),
                           h.weight_decay != 0, h.centered, momentum_buffer.defined()};
    const Tensor avg = h.centered ? grad_avg : Tensor();
    for_param_blocks<T, 5>({&param, &grad, &square_avg, &momentum_buffer, &avg},
                           1u | 4u | 8u | 16u, [&](int64_t n, const auto& p) {
                             update(n, p[0], p[1], p[2], p[3], p[4], s);
                           });
  });
}

}  // namespace tg::cpu
