// Row loops of softmax, log_softmax and cross_entropy, templated on the xsimd architecture
// (instantiated by backends/cpu/arch/*.cpp; softmax.cpp and loss.cpp hand them contiguous
// rows).
//
// A row is shifted by its max m before exponentiating, so no exp overflows:
//   softmax_i = e_i / s,  log_softmax_i = (x_i - m) - log s,  e_i = exp(x_i - m), s = sum e_i,
// with exp the vector exp of elementwise.h (within 2 ulp of libm) in the element type and s
// accumulated in double (reduce.h's sum_contiguous), as the reference accumulates it. A row is
// at most four passes over memory that, for rows up to tens of thousands of elements, stays
// in L1 / L2 after the first.
#pragma once

#include <cmath>

#include "backends/cpu/elementwise.h"
#include "backends/cpu/fused_simd.h"
#include "backends/cpu/reduce.h"

namespace tg::cpu::simd {

template <class Arch, class T>
void softmax_row(int64_t n, const T* x, T* y, bool log) {
  using batch = xsimd::batch<T, Arch>;
  if (n == 0) return;
  const batch m(max_contiguous<Arch>(n, x));
  map_contiguous<Arch>(n, y, x, [&](batch v) { return exp_full_range<Arch>(v - m); });
  const double s = sum_contiguous<Arch>(n, y);
  if (log) {
    const batch log_s(static_cast<T>(std::log(s)));
    map_contiguous<Arch>(n, y, x, [&](batch v) { return (v - m) - log_s; });
  } else {
    const batch vs(static_cast<T>(s));
    map_contiguous<Arch>(n, y, y, [&](batch e) { return e / vs; });
  }
}

// softmax:     dx_i = y_i (g_i - sum_j g_j y_j)   (Jacobian diag(y) - y y^T)
// log_softmax: dx_i = g_i - exp(y_i) sum_j g_j   (Jacobian I - 1 softmax^T)
template <class Arch, class T>
void softmax_backward_row(int64_t n, const T* g, const T* y, T* dx, bool log) {
  using batch = xsimd::batch<T, Arch>;
  if (log) {
    const batch s(static_cast<T>(sum_contiguous<Arch>(n, g)));
    binary_contiguous<Arch>(n, dx, g, 1, y, 1,
                            [&](batch gv, batch yv) { return gv - exp_full_range<Arch>(yv) * s; });
  } else {
    const batch s(static_cast<T>(dot_contiguous<Arch>(n, g, y)));
    binary_contiguous<Arch>(n, dx, g, 1, y, 1, [&](batch gv, batch yv) { return yv * (gv - s); });
  }
}

template <class Arch, class T>
void logsumexp_row(int64_t n, const T* x, T* scratch, double* m, double* log_sum) {
  using batch = xsimd::batch<T, Arch>;
  const T mx = max_contiguous<Arch>(n, x);
  const batch vm(mx);
  map_contiguous<Arch>(n, scratch, x, [&](batch v) { return exp_full_range<Arch>(v - vm); });
  *m = static_cast<double>(mx);
  *log_sum = std::log(sum_contiguous<Arch>(n, scratch));
}

// d/dx_c of scale (logsumexp(x) - x_target) = scale (softmax(x)_c - [c = target]), the softmax
// as exp((x_c - m) - log s): no division, and the same rounding for every c. The target's
// element is recomputed through the same vector function (lanes do not interact), then
// corrected.
template <class Arch, class T>
void cross_entropy_grad_row(int64_t n, const T* x, double m, double log_sum, T scale,
                            int64_t target, T* dx) {
  using batch = xsimd::batch<T, Arch>;
  const batch vm(static_cast<T>(m)), ls(static_cast<T>(log_sum));
  const auto p = [&](batch v) { return exp_full_range<Arch>((v - vm) - ls); };
  const batch vs(scale);
  map_contiguous<Arch>(n, dx, x, [&](batch v) { return vs * p(v); });
  T pt;
  map_contiguous<Arch>(1, &pt, x + target, p);
  dx[target] = scale * (pt - T(1));
}

}  // namespace tg::cpu::simd
