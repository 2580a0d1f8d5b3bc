// Elementwise loops of the binary losses (binary_cross_entropy on probabilities,
// binary_cross_entropy_with_logits), forward and input gradient, templated on the xsimd
// architecture (instantiated by backends/cpu/arch/*.cpp; loss.cpp hands them contiguous
// blocks and sums the per-element losses for mean / sum).
//
// The formulas are the reference's (backends/reference/loss.cpp), operation for operation,
// in the element type: log / exp / log1p are the vector versions of elementwise.h (within 2
// ulp of libm), everything else rounds as the reference does. Comparisons are written so a
// NaN passes through where std::max lets it through in the reference.
#pragma once

#include "backends/cpu/elementwise.h"
#include "backends/cpu/fused_simd.h"

namespace tg::cpu::simd {

template <class Arch, class T>
struct BinaryLoss {
  using batch = xsimd::batch<T, Arch>;

  // std::max(a, lo) of the reference: lo only where a < lo, so NaN stays.
  static batch at_least(batch a, batch lo) { return xsimd::select(a < lo, lo, a); }

  // -(y log x + (1 - y) log(1 - x)), each log clamped at -100.
  static batch bce(batch x, batch y) {
    const batch lo(T(-100)), one(T(1));
    const batch log_x = at_least(log_full_range<Arch>(x), lo);
    const batch log_1mx = at_least(xsimd::log1p(T(-1) * x), lo);
    return (y - one) * log_1mx - y * log_x;
  }
  // (x - y) / max(x (1 - x), 1e-12f).
  static batch bce_grad(batch x, batch y) {
    return (x - y) / at_least((batch(T(1)) - x) * x, batch(static_cast<T>(1e-12f)));
  }
  // (1 - y) x + lw (log1p(e^-|x|) + max(-x, 0)),  lw = 1 + (pw - 1) y.
  static batch logits(batch x, batch y, batch pw) {
    const batch one(T(1)), zero(T(0));
    const batch lw = one + (pw - one) * y;
    const batch neg_x = T(-1) * x;  // -1 * x keeps -0 (xsimd 8.1's AVX-512 -x is 0 - x)
    return (one - y) * x +
           lw * (xsimd::log1p(exp_full_range<Arch>(T(-1) * xsimd::abs(x))) +
                 xsimd::select(neg_x < zero, zero, neg_x));
  }
  // lw s(x) - pw y, s(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = e^-|x|.
  static batch logits_grad(batch x, batch y, batch pw) {
    const batch one(T(1));
    const batch e = exp_full_range<Arch>(T(-1) * xsimd::abs(x));
    const batch s = xsimd::select(x >= batch(T(0)), one / (one + e), e / (one + e));
    return (one + (pw - one) * y) * s - pw * y;
  }
};

// out = w loss(x, y, pw).
template <class Arch, class T, bool Logits>
void binary_loss_row(int64_t n, const T* x, const T* y, const T* w, const T* pw, T* out) {
  using L = BinaryLoss<Arch, T>;
  using batch = typename L::batch;
  const bool has_w = w, has_pw = pw;
  map_operands<Arch, T, 5>(n, {out, const_cast<T*>(x), const_cast<T*>(y), const_cast<T*>(w),
                               const_cast<T*>(pw)},
                           1u, [&](std::array<batch, 5>& v) {
    batch l;
    if constexpr (Logits) {
      l = L::logits(v[1], v[2], has_pw ? v[4] : batch(T(1)));
    } else {
      l = L::bce(v[1], v[2]);
    }
    v[0] = has_w ? v[3] * l : l;
  });
}

// dx = ((g scale) w) dloss/dx; a null g (a reduced loss) stands for g scale = scale.
template <class Arch, class T, bool Logits>
void binary_loss_grad_row(int64_t n, const T* g, T scale, const T* x, const T* y, const T* w,
                          const T* pw, T* dx) {
  using L = BinaryLoss<Arch, T>;
  using batch = typename L::batch;
  const bool has_w = w, has_pw = pw;
  const batch vs(scale);
  map_operands<Arch, T, 6>(n, {dx, const_cast<T*>(g), const_cast<T*>(x), const_cast<T*>(y),
                               const_cast<T*>(w), const_cast<T*>(pw)},
                           1u, [&](std::array<batch, 6>& v) {
    batch d;
    if constexpr (Logits) {
      d = L::logits_grad(v[2], v[3], has_pw ? v[5] : batch(T(1)));
    } else {
      d = L::bce_grad(v[2], v[3]);
    }
    const batch gs = g ? v[1] * vs : vs;
    v[0] = (has_w ? gs * v[4] : gs) * d;
  });
}

}  // namespace tg::cpu::simd
