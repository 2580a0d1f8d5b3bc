// The fused optimizer updates (SGD, Adam / AdamW, RMSprop) over contiguous blocks, templated
// on the xsimd architecture (instantiated by backends/cpu/arch/*.cpp; optim.cpp splits the
// parameters into blocks).
//
// One pass: each element of the parameter and its state is read once and written once, which
// is all an update can cost (Adam moves 5 tensors of 4 bytes per float32 parameter in, 3 out).
// The formulas are the reference's (backends/reference/optim.cpp), operation for operation and
// in the same order, in the element type. Where the level has FMA (AVX2, AVX-512) the compiler
// contracts a product and the sum it feeds (GCC's default for C++), rounding once where the
// reference rounds twice: the updates then agree with the reference's within a few units in
// the last place per step; without FMA (generic on x86-64) they are the reference's bit for
// bit.
#pragma once

#include "backends/cpu/fused_kernels.h"
#include "backends/cpu/fused_simd.h"

namespace tg::cpu::simd {

// d = g + wd p;  b = d (new buffer) or mu b + (1 - dampening) d;
// d = d + mu b (Nesterov) or b;  p = p - lr d.
template <class Arch, class T>
void sgd_update(int64_t n, T* p, const T* g, T* buf, const SgdStep<T>& h) {
  using batch = xsimd::batch<T, Arch>;
  const batch lr(h.lr), wd(h.weight_decay), mu(h.momentum), damp(h.damp);
  map_operands<Arch, T, 3>(n, {p, const_cast<T*>(g), buf}, h.use_momentum ? 5u : 1u,
                           [&](std::array<batch, 3>& v) {
    batch d = v[1];
    if (h.decay) d = d + wd * v[0];
    if (h.use_momentum) {
      v[2] = h.init_momentum ? d : mu * v[2] + damp * d;
      d = h.nesterov ? d + mu * v[2] : v[2];
    }
    v[0] = v[0] - lr * d;
  });
}

// AdamW: p = p (1 - lr wd);  Adam: g = g + wd p;
// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  vmax = max(vmax, v) (amsgrad);
// p = p - lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps).
template <class Arch, class T>
void adam_update(int64_t n, T* p, const T* g, T* m, T* v, T* vmax, const AdamStep<T>& h) {
  using batch = xsimd::batch<T, Arch>;
  const batch step_size(h.step_size), bc2_sqrt(h.bc2_sqrt), b1(h.beta1), b2(h.beta2), eps(h.eps),
      wd(h.weight_decay), decay(h.decay), one_b1(T(1) - h.beta1), one_b2(T(1) - h.beta2);
  map_operands<Arch, T, 5>(n, {p, const_cast<T*>(g), m, v, vmax}, h.amsgrad ? 29u : 13u,
                           [&](std::array<batch, 5>& a) {
    batch gi = a[1];
    if (h.decoupled) {
      a[0] = a[0] * decay;
    } else if (h.coupled_decay) {
      gi = gi + wd * a[0];
    }
    a[2] = b1 * a[2] + one_b1 * gi;
    a[3] = b2 * a[3] + one_b2 * gi * gi;
    batch second = a[3];
    if (h.amsgrad) second = a[4] = xsimd::select(a[4] < a[3], a[3], a[4]);  // std::max's NaN rule
    a[0] = a[0] - step_size * a[2] / (xsimd::sqrt(second) / bc2_sqrt + eps);
  });
}

// g = g + wd p;  s = a s + (1 - a) g^2;  c = a c + (1 - a) g (centered);
// r = sqrt(s - c^2 or s) + eps;  b = mu b + g / r, p = p - lr b (momentum) or p = p - lr g / r.
template <class Arch, class T>
void rmsprop_update(int64_t n, T* p, const T* g, T* s, T* buf, T* avg, const RmspropStep<T>& h) {
  using batch = xsimd::batch<T, Arch>;
  const batch lr(h.lr), alpha(h.alpha), eps(h.eps), wd(h.weight_decay), mu(h.momentum),
      one_a(T(1) - h.alpha);
  const unsigned written = 1u | 4u | (h.use_momentum ? 8u : 0u) | (h.centered ? 16u : 0u);
  map_operands<Arch, T, 5>(n, {p, const_cast<T*>(g), s, buf, avg}, written,
                           [&](std::array<batch, 5>& a) {
    batch gi = a[1];
    if (h.decay) gi = gi + wd * a[0];
    a[2] = alpha * a[2] + one_a * gi * gi;
    batch r;
    if (h.centered) {
      a[4] = alpha * a[4] + one_a * gi;
      r = xsimd::sqrt(a[2] - a[4] * a[4]) + eps;
    } else {
      r = xsimd::sqrt(a[2]) + eps;
    }
    if (h.use_momentum) {
      a[3] = mu * a[3] + gi / r;
      a[0] = a[0] - lr * a[3];
    } else {
      a[0] = a[0] - lr * gi / r;
    }
  });
}

}  // namespace tg::cpu::simd
