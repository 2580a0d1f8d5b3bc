// Reference fused optimizer updates: PyTorch's single-tensor SGD, Adam/AdamW and RMSprop
// formulas, one pass over each parameter element. Math in the element type T, with the
// per-step scalars (bias corrections, step size) computed in double as PyTorch's Python does.
#include <algorithm>
#include <cmath>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {

// SGD (torch.optim.SGD):
//   d = g + wd p;  b = d (new buffer) or mu b + (1 - dampening) d;
//   d = d + mu b (Nesterov) or b;  p = p - lr d.
void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                const kernel::SgdUpdate& h) {
  dispatch_floating(param.dtype(), "sgd_update", [&]<typename T>() {
    T* p = typed<T>(param);
    const T* g = typed<T>(grad);
    const bool use_momentum = momentum_buffer.defined();
    T* b = use_momentum ? typed<T>(momentum_buffer) : nullptr;
    const Shape& b_strides = use_momentum ? momentum_buffer.strides() : param.strides();
    const T lr = T(h.lr), wd = T(h.weight_decay), mu = T(h.momentum), damp = T(1 - h.dampening);
    for_each_offset<3>(param.shape(), {&param.strides(), &grad.strides(), &b_strides},
                       [&](const auto& o) {
      T d = g[o[1]];
      if (h.weight_decay != 0) d += wd * p[o[0]];
      if (use_momentum) {
        T& buf = b[o[2]];
        buf = h.init_momentum ? d : mu * buf + damp * d;
        d = h.nesterov ? d + mu * buf : buf;
      }
      p[o[0]] -= lr * d;
    });
  });
}

// Adam (torch.optim.Adam) and AdamW (decoupled weight decay, Loshchilov & Hutter 2019):
//   AdamW: p = p (1 - lr wd);  Adam: g = g + wd p;
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  vmax = max(vmax, v) (amsgrad);
//   p = p - lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps).
void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const kernel::AdamUpdate& h) {
  dispatch_floating(param.dtype(), "adam_update", [&]<typename T>() {
    T* p = typed<T>(param);
    const T* g = typed<T>(grad);
    T* m = typed<T>(exp_avg);
    T* v = typed<T>(exp_avg_sq);
    T* vmax = h.amsgrad ? typed<T>(max_exp_avg_sq) : nullptr;
    const Shape& vmax_strides = h.amsgrad ? max_exp_avg_sq.strides() : param.strides();
    const auto t = static_cast<double>(h.step);
    const T step_size = T(h.lr / (1 - std::pow(h.beta1, t)));
    const T bc2_sqrt = T(std::sqrt(1 - std::pow(h.beta2, t)));
    const T b1 = T(h.beta1), b2 = T(h.beta2), eps = T(h.eps), wd = T(h.weight_decay);
    const T decay = T(1 - h.lr * h.weight_decay);
    for_each_offset<5>(param.shape(),
                       {&param.strides(), &grad.strides(), &exp_avg.strides(),
                        &exp_avg_sq.strides(), &vmax_strides},
                       [&](const auto& o) {
      T gi = g[o[1]];
      T& pi = p[o[0]];
      if (h.decoupled_weight_decay) pi *= decay;
      else if (h.weight_decay != 0) gi += wd * pi;
      T& mi = m[o[2]];
      T& vi = v[o[3]];
      mi = b1 * mi + (1 - b1) * gi;
      vi = b2 * vi + (1 - b2) * gi * gi;
      T second = vi;
      if (h.amsgrad) second = vmax[o[4]] = std::max(vmax[o[4]], vi);
      pi -= step_size * mi / (std::sqrt(second) / bc2_sqrt + eps);
    });
  });
}

// RMSprop (torch.optim.RMSprop; Hinton's lecture 6e, centered form from Graves 2013):
//   g = g + wd p;  s = a s + (1 - a) g^2;  c = a c + (1 - a) g (centered);
//   r = sqrt(s - c^2 or s) + eps;  b = mu b + g / r, p = p - lr b (momentum) or p = p - lr g / r.
void rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                    const Tensor& momentum_buffer, const Tensor& grad_avg, const kernel::RmspropUpdate& h) {
  dispatch_floating(param.dtype(), "rmsprop_update", [&]<typename T>() {
    T* p = typed<T>(param);
    const T* g = typed<T>(grad);
    T* s = typed<T>(square_avg);
    const bool use_momentum = momentum_buffer.defined();
    T* b = use_momentum ? typed<T>(momentum_buffer) : nullptr;
    T* c = h.centered ? typed<T>(grad_avg) : nullptr;
    const Shape& b_strides = use_momentum ? momentum_buffer.strides() : param.strides();
    const Shape& c_strides = h.centered ? grad_avg.strides() : param.strides();
    const T lr = T(h.lr), a = T(h.alpha), eps = T(h.eps), wd = T(h.weight_decay), mu = T(h.momentum);
    for_each_offset<5>(param.shape(),
                       {&param.strides(), &grad.strides(), &square_avg.strides(), &b_strides,
                        &c_strides},
                       [&](const auto& o) {
      T gi = g[o[1]];
      T& pi = p[o[0]];
      if (h.weight_decay != 0) gi += wd * pi;
      T& si = s[o[2]];
      si = a * si + (1 - a) * gi * gi;
      T r;
      if (h.centered) {
        T& ci = c[o[4]];
        ci = a * ci + (1 - a) * gi;
        r = std::sqrt(si - ci * ci) + eps;
      } else {
        r = std::sqrt(si) + eps;
      }
      if (use_momentum) {
        T& bi = b[o[3]];
        bi = mu * bi + gi / r;
        pi -= lr * bi;
      } else {
        pi -= lr * gi / r;
      }
    });
  });
}

}  // namespace tg::reference
