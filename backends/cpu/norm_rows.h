// Batch norm's per-channel loops, templated on the xsimd architecture (instantiated by
// backends/cpu/arch/*.cpp; norm.cpp decides the blocks). A channel block is `rows` runs of
// `len` contiguous elements, run r at p + r * ld: for an NCHW tensor rows = N, len = H W.
//
// Everything runs in double lanes, float32 widened on load and rounded once on store, as the
// reference computes: batch norm streams each element through a handful of flops, so it is
// bound by memory, not by the halved lane count. Sums keep two independent accumulators per
// quantity (hiding the add latency) and add scalar tails last, in a fixed order: a block's
// sums depend only on its shape.
#pragma once

#include "backends/cpu/fused_kernels.h"
#include "backends/cpu/fused_simd.h"

namespace tg::cpu::simd {

// Calls pair(i, j) for the two-vector steps of a run, then one(i) for a last whole vector,
// then tail(i) for the leftover elements. Always inlined, so the callers' accumulators stay in
// registers.
template <class Arch, class Pair, class One, class Tail>
[[gnu::always_inline]] inline void for_run(int64_t len, const Pair& pair, const One& one,
                                           const Tail& tail) {
  constexpr int64_t W = dbatch<Arch>::size;
  int64_t j = 0;
  for (; j + 2 * W <= len; j += 2 * W) pair(j, j + W);
  if (j + W <= len) {
    one(j);
    j += W;
  }
  for (; j < len; ++j) tail(j);
}

// Requests the start of the run at p (up to 8 cache lines) before it is read. The runs of a
// channel lie a whole [C, H, W] image apart (32 KiB for dcgan32's 128 x 8 x 8), beyond the
// hardware prefetchers, which follow streams within a page: without this, each run of the
// first pass over a channel starts with a miss that little overlaps (measured 2x slower at
// 128 x 8 x 8 with AVX2's 4 double lanes, 4x with SSE2's 2). The second pass finds the
// channel in L2.
template <class Arch, class T>
[[gnu::always_inline]] inline void prefetch_run(const T* p, int64_t len) {
  constexpr int64_t kLine = 64 / sizeof(T);
  const int64_t n = len < 8 * kLine ? len : 8 * kLine;
  for (int64_t j = 0; j < n; j += kLine) __builtin_prefetch(p + j);
}

template <class Arch, class T>
void bn_stats(int64_t rows, int64_t len, const T* x, int64_t ldx, double shift, double* sums) {
  using D = dbatch<Arch>;
  const D k(shift);
  D s1a(0.0), s1b(0.0), s2a(0.0), s2b(0.0);
  double t1 = 0, t2 = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    if (r + 1 < rows) prefetch_run<Arch>(xr + ldx, len);
    for_run<Arch>(
        len,
        [&](int64_t i, int64_t j) {
          const D a = load_wide<Arch>(xr + i) - k, b = load_wide<Arch>(xr + j) - k;
          s1a += a;
          s1b += b;
          s2a = xsimd::fma(a, a, s2a);
          s2b = xsimd::fma(b, b, s2b);
        },
        [&](int64_t i) {
          const D a = load_wide<Arch>(xr + i) - k;
          s1a += a;
          s2a = xsimd::fma(a, a, s2a);
        },
        [&](int64_t i) {
          const double d = static_cast<double>(xr[i]) - shift;
          t1 += d;
          t2 += d * d;
        });
  }
  sums[0] += xsimd::hadd(s1a + s1b) + t1;
  sums[1] += xsimd::hadd(s2a + s2b) + t2;
}

template <class Arch, class T>
void bn_normalize(int64_t rows, int64_t len, const T* x, int64_t ldx, T* y, int64_t ldy,
                  double mean, double scale, double bias) {
  using D = dbatch<Arch>;
  const D m(mean), s(scale), b(bias);
  const auto f = [&](D v) { return (v - m) * s + b; };
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * ldx;
    T* yr = y + r * ldy;
    const auto one = [&](int64_t i) { store_narrow<Arch>(yr + i, f(load_wide<Arch>(xr + i))); };
    for_run<Arch>(len, [&](int64_t i, int64_t j) { one(i), one(j); }, one, [&](int64_t i) {
      yr[i] = static_cast<T>((static_cast<double>(xr[i]) - mean) * scale + bias);
    });
  }
}

template <class Arch, class T>
void bn_grad_stats(int64_t rows, int64_t len, const T* g, int64_t ldg, const T* x, int64_t ldx,
                   double mean, double* sums) {
  using D = dbatch<Arch>;
  const D m(mean);
  D sga(0.0), sgb(0.0), sxa(0.0), sxb(0.0);
  double tg = 0, tx = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* gr = g + r * ldg;
    const T* xr = x + r * ldx;
    if (r + 1 < rows) {
      prefetch_run<Arch>(gr + ldg, len);
      prefetch_run<Arch>(xr + ldx, len);
    }
    for_run<Arch>(
        len,
        [&](int64_t i, int64_t j) {
          const D ga = load_wide<Arch>(gr + i), gb = load_wide<Arch>(gr + j);
          sga += ga;
          sgb += gb;
          sxa = xsimd::fma(ga, load_wide<Arch>(xr + i) - m, sxa);
          sxb = xsimd::fma(gb, load_wide<Arch>(xr + j) - m, sxb);
        },
        [&](int64_t i) {
          const D ga = load_wide<Arch>(gr + i);
          sga += ga;
          sxa = xsimd::fma(ga, load_wide<Arch>(xr + i) - m, sxa);
        },
        [&](int64_t i) {
          const double gi = static_cast<double>(gr[i]);
          tg += gi;
          tx += gi * (static_cast<double>(xr[i]) - mean);
        });
  }
  sums[0] += xsimd::hadd(sga + sgb) + tg;
  sums[1] += xsimd::hadd(sxa + sxb) + tx;
}

template <class Arch, class T>
void bn_grad_input(int64_t rows, int64_t len, const T* g, int64_t ldg, const T* x, int64_t ldx,
                   T* gx, int64_t ldgx, const BnGradInput& c) {
  using D = dbatch<Arch>;
  const D m(c.mean), invstd(c.invstd), k(c.k), mg(c.mg), mgx(c.mgx);
  const auto f = [&](D gv, D xv) { return k * ((gv - mg) - ((xv - m) * invstd) * mgx); };
  for (int64_t r = 0; r < rows; ++r) {
    const T* gr = g + r * ldg;
    const T* xr = x + r * ldx;
    T* out = gx + r * ldgx;
    const auto one = [&](int64_t i) {
      store_narrow<Arch>(out + i, f(load_wide<Arch>(gr + i), load_wide<Arch>(xr + i)));
    };
    for_run<Arch>(
        len, [&](int64_t i, int64_t j) { one(i), one(j); }, one,
        [&](int64_t i) {
          const double xhat = (static_cast<double>(xr[i]) - c.mean) * c.invstd;
          out[i] = static_cast<T>(c.k * ((static_cast<double>(gr[i]) - c.mg) - xhat * c.mgx));
        });
  }
}

}  // namespace tg::cpu::simd
