// Fused optimizer updates: one pass over each parameter tensor, reading the gradient and
// updating the parameter and its state in place (PyTorch's single-tensor SGD, Adam / AdamW
// and RMSprop formulas, as backends/reference/optim.cpp writes them). Math in the element
// type T; the per-step scalars (bias corrections, step size) are computed once on the host in
// double and rounded to T, as the reference does. State tensors an option does not use are
// undefined and arrive as null pointers.
#include <cmath>

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/math.cuh"

namespace tg::cuda {
namespace {

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? typed<T>(t) : nullptr;
}

const Shape& strides_or(const Tensor& t, const Tensor& fallback) { return (t.defined() ? t : fallback).strides(); }

// d = g + wd p;  b = d (new buffer) or mu b + (1 - dampening) d;  d = d + mu b (Nesterov) or b;
// p = p - lr d.   Operands: 0 = param, 1 = grad, 2 = momentum buffer.
template <typename T>
struct SgdScalars {
  T lr, wd, mu, damp;
  bool weight_decay, nesterov, init_momentum;
};

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, SgdScalars<T> h, OffsetCalculator<3> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[3];
    at.offsets(i, o);
    T d = g[o[1]];
    if (h.weight_decay) d += h.wd * p[o[0]];
    if (buf) {
      T& b = buf[o[2]];
      b = h.init_momentum ? d : h.mu * b + h.damp * d;
      d = h.nesterov ? d + h.mu * b : b;
    }
    p[o[0]] -= h.lr * d;
  }
}

// AdamW: p = p (1 - lr wd);  Adam: g = g + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// vmax = max(vmax, v) (amsgrad);  p = p - lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps).
// Operands: 0 = param, 1 = grad, 2 = exp_avg, 3 = exp_avg_sq, 4 = max_exp_avg_sq.
template <typename T>
struct AdamScalars {
  T step_size, bc2_sqrt, b1, b2, eps, wd, decay;
  bool decoupled, weight_decay;
};

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, AdamScalars<T> h, OffsetCalculator<5> at,
                            int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[5];
    at.offsets(i, o);
    T gi = g[o[1]];
    T& pi = p[o[0]];
    if (h.decoupled) pi *= h.decay;
    else if (h.weight_decay) gi += h.wd * pi;
    T& mi = m[o[2]];
    T& vi = v[o[3]];
    mi = h.b1 * mi + (1 - h.b1) * gi;
    vi = h.b2 * vi + (1 - h.b2) * gi * gi;
    T second = vi;
    if (vmax) second = vmax[o[4]] = max_of(vmax[o[4]], vi);
    pi -= h.step_size * mi / (sqrt_of(second) / h.bc2_sqrt + h.eps);
  }
}

// g = g + wd p;  s = a s + (1 - a) g^2;  c = a c + (1 - a) g (centered);  r = sqrt(s - c^2 or s) + eps;
// b = mu b + g / r, p = p - lr b (momentum) or p = p - lr g / r.
// Operands: 0 = param, 1 = grad, 2 = square_avg, 3 = momentum buffer, 4 = grad_avg.
template <typename T>
struct RmspropScalars {
  T lr, alpha, eps, wd, mu;
  bool weight_decay;
};

template <typename T>
__global__ void rmsprop_kernel(T* p, const T* g, T* s, T* buf, T* c, RmspropScalars<T> h, OffsetCalculator<5> at,
                               int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[5];
    at.offsets(i, o);
    T gi = g[o[1]];
    T& pi = p[o[0]];
    if (h.weight_decay) gi += h.wd * pi;
    T& si = s[o[2]];
    si = h.alpha * si + (1 - h.alpha) * gi * gi;
    T r;
    if (c) {
      T& ci = c[o[4]];
      ci = h.alpha * ci + (1 - h.alpha) * gi;
      r = sqrt_of(si - ci * ci) + h.eps;
    } else {
      r = sqrt_of(si) + h.eps;
    }
    if (buf) {
      T& bi = buf[o[3]];
      bi = h.mu * bi + gi / r;
      pi -= h.lr * bi;
    } else {
      pi -= h.lr * gi / r;
    }
  }
}

}  // namespace

void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const kernel::SgdUpdate& h) {
  const int64_t n = param.numel();
  if (n == 0) return;
  const auto at = make_offsets<3>(param.shape(), {&param.strides(), &grad.strides(), &strides_or(momentum_buffer, param)});
  dispatch_floating(param.dtype(), "sgd_update", [&]<typename T>() {
    const SgdScalars<T> s{T(h.lr), T(h.weight_decay), T(h.momentum), T(1 - h.dampening), h.weight_decay != 0,
                          h.nesterov, h.init_momentum};
    launch<sgd_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(param), typed<const T>(grad),
                                                            data_or_null<T>(momentum_buffer), s, at, n);
  });
}

void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const kernel::AdamUpdate& h) {
  const int64_t n = param.numel();
  if (n == 0) return;
  const Tensor vmax = h.amsgrad ? max_exp_avg_sq : Tensor();
  const auto at = make_offsets<5>(param.shape(), {&param.strides(), &grad.strides(), &exp_avg.strides(),
                                                  &exp_avg_sq.strides(), &strides_or(vmax, param)});
  dispatch_floating(param.dtype(), "adam_update", [&]<typename T>() {
    const auto t = static_cast<double>(h.step);
    const AdamScalars<T> s{T(h.lr / (1 - std::pow(h.beta1, t))),
                           T(std::sqrt(1 - std::pow(h.beta2, t))),
                           T(h.beta1),
                           T(h.beta2),
                           T(h.eps),
                           T(h.weight_decay),
                           T(1 - h.lr * h.weight_decay),
                           h.decoupled_weight_decay,
                           h.weight_decay != 0};
    launch<adam_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(param), typed<const T>(grad), typed<T>(exp_avg),
                                                             typed<T>(exp_avg_sq), data_or_null<T>(vmax), s, at, n);
  });
}

void rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& momentum_buffer,
                    const Tensor& grad_avg, const kernel::RmspropUpdate& h) {
  const int64_t n = param.numel();
  if (n == 0) return;
  const Tensor centered = h.centered ? grad_avg : Tensor();
  const auto at = make_offsets<5>(param.shape(), {&param.strides(), &grad.strides(), &square_avg.strides(),
                                                  &strides_or(momentum_buffer, param), &strides_or(centered, param)});
  dispatch_floating(param.dtype(), "rmsprop_update", [&]<typename T>() {
    const RmspropScalars<T> s{T(h.lr), T(h.alpha), T(h.eps), T(h.weight_decay), T(h.momentum), h.weight_decay != 0};
    launch<rmsprop_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(param), typed<const T>(grad),
                                                                typed<T>(square_avg), data_or_null<T>(momentum_buffer),
                                                                data_or_null<T>(centered), s, at, n);
  });
}

}  // namespace tg::cuda
