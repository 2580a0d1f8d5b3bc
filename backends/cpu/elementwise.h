// Elementwise row kernels (unary maps, arithmetic, comparisons, where), templated on the
// xsimd architecture and instantiated by backends/cpu/arch/*.cpp.
//
// A row is n elements with one stride per operand (elementwise.cpp collapses a tensor's dims
// into rows). Stride 1 everywhere runs straight on vectors; a stride-0 operand (a broadcast
// scalar, e.g. x * 2.0 or a bias along a row) is splatted into a register once; any other
// stride is gathered into a small aligned block, mapped, and scattered back. The tail of a row
// goes through a zero-padded vector too, so every element, wherever it sits, gets the same
// vector arithmetic: results do not depend on how rows are split among threads.
//
// These kernels are memory-bound except the transcendental ones (exp, log, tanh, sigmoid,
// softplus): a contiguous float add moves 12 bytes per element for one instruction per lane,
// so the only things that matter are full-width loads and stores and no per-element branches.
// exp / log / tanh / log1p are xsimd's polynomial approximations: within 1.9 ulp of the
// reference backend's libm as measured (tests/test_backend_agreement.cpp bounds them at 3), and
// the few input ranges where xsimd departs from libm are patched below, lane by lane. pow with
// a general exponent calls std::pow per element: xsimd's pow is exp(y log|x|), whose error
// grows with |y log x|, and it gets 0^-y wrong.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

#include "backends/cpu/isa.h"

namespace tg::cpu::simd {

// Elements per gathered block of a strided row.
inline constexpr int64_t kGatherBlock = 256;

// Lanes where pred holds are recomputed with the scalar libm function (rare: one compare per
// vector otherwise).
template <class Arch, class T, class Scalar>
xsimd::batch<T, Arch> fix_lanes(xsimd::batch<T, Arch> y, xsimd::batch<T, Arch> x,
                                xsimd::batch_bool<T, Arch> pred, Scalar scalar) {
  using batch = xsimd::batch<T, Arch>;
  if (!xsimd::any(pred)) return y;
  alignas(64) T xs[batch::size], ys[batch::size];
  alignas(64) bool fix[batch::size];
  x.store_aligned(xs);
  y.store_aligned(ys);
  pred.store_aligned(fix);
  for (size_t l = 0; l < batch::size; ++l)
    if (fix[l]) ys[l] = scalar(xs[l]);
  return batch::load_aligned(ys);
}

// xsimd's exp gives inf above ~88.38 (float32) though e^x is finite up to 88.72, and flushes
// results below the smallest normal number to 0: those lanes take std::exp.
template <class Arch, class T>
xsimd::batch<T, Arch> exp_full_range(xsimd::batch<T, Arch> x) {
  using batch = xsimd::batch<T, Arch>;
  const batch lo(sizeof(T) == 4 ? T(-87) : T(-708)), hi(sizeof(T) == 4 ? T(88) : T(709));
  return fix_lanes<Arch>(xsimd::exp(x), x, (x < lo) | (x > hi), [](T v) { return std::exp(v); });
}

// xsimd's log is wrong for subnormal inputs (log(1e-310) = -746.5, not -713.8): lanes below the
// smallest normal number (zero and negatives included) take std::log.
template <class Arch, class T>
xsimd::batch<T, Arch> log_full_range(xsimd::batch<T, Arch> x) {
  using batch = xsimd::batch<T, Arch>;
  const batch smallest(std::numeric_limits<T>::min());
  return fix_lanes<Arch>(xsimd::log(x), x, x < smallest, [](T v) { return std::log(v); });
}

template <class Arch, class T, Unary Op>
struct UnaryMap {
  using batch = xsimd::batch<T, Arch>;
  batch alpha, beta;  // the op's parameters (see op_list.def)
  batch operator()(batch x) const {
    const batch zero(T(0)), one(T(1));
    // -1 * x is exact; xsimd 8.1's AVX-512 -x is 0 - x, which turns -0 into +0.
    if constexpr (Op == Unary::neg) return batch(T(-1)) * x;
    if constexpr (Op == Unary::exp) return exp_full_range<Arch>(x);
    if constexpr (Op == Unary::log) return log_full_range<Arch>(x);
    if constexpr (Op == Unary::sqrt) return xsimd::sqrt(x);
    if constexpr (Op == Unary::rsqrt) return one / xsimd::sqrt(x);  // both correctly rounded
    if constexpr (Op == Unary::abs) return xsimd::abs(x);
    if constexpr (Op == Unary::sign)
      return xsimd::select(x > zero, one, xsimd::select(x < zero, -one, zero));
    if constexpr (Op == Unary::relu) return xsimd::select(x < zero, zero, x);  // NaN passes
    if constexpr (Op == Unary::leaky_relu) return xsimd::select(x < zero, x * alpha, x);
    if constexpr (Op == Unary::sigmoid) {
      // 1 / (1 + e^-x), never exponentiating a positive number: e = e^-|x| <= 1.
      const batch e = exp_full_range<Arch>(-xsimd::abs(x));
      return xsimd::select(x >= zero, one / (one + e), e / (one + e));
    }
    if constexpr (Op == Unary::tanh) return xsimd::tanh(x);
    if constexpr (Op == Unary::softplus) {
      // log(1 + e^(beta x)) / beta, linear above the threshold (alpha = beta, beta = threshold).
      const batch bx = alpha * x;
      return xsimd::select(bx > beta, x, xsimd::log1p(exp_full_range<Arch>(bx)) / alpha);
    }
    if constexpr (Op == Unary::pow_scalar) return x * x;  // exponent 2 (unary_row handles the rest)
    if constexpr (Op == Unary::clamp) {
      // NaN passes; below min gives min even when min > max (the reference's order).
      const batch hi = xsimd::select(x > beta, beta, x);
      return xsimd::select(xsimd::isnan(x), x, xsimd::select(x < alpha, alpha, hi));
    }
  }
};

template <class Arch, class T, Arithmetic Op>
struct ArithmeticMap {
  using batch = xsimd::batch<T, Arch>;
  batch operator()(batch a, batch b) const {
    if constexpr (Op == Arithmetic::add) return a + b;
    if constexpr (Op == Arithmetic::sub) return a - b;
    if constexpr (Op == Arithmetic::mul) return a * b;
    if constexpr (Op == Arithmetic::div) return a / b;
  }
};

template <class Arch, class T, Compare Op>
struct CompareMap {
  using batch = xsimd::batch<T, Arch>;
  xsimd::batch_bool<T, Arch> operator()(batch a, batch b) const {
    if constexpr (Op == Compare::eq) return a == b;
    if constexpr (Op == Compare::ne) return !(a == b);  // xsimd 8.1's != is ordered: NaN != x false
    if constexpr (Op == Compare::lt) return a < b;
    if constexpr (Op == Compare::le) return a <= b;
    if constexpr (Op == Compare::gt) return a > b;
    if constexpr (Op == Compare::ge) return a >= b;
  }
};

// y[0:n] = f(x[0:n]) on contiguous arrays; the tail through a zero-padded vector.
template <class Arch, class T, class F>
void map_contiguous(int64_t n, T* y, const T* x, const F& f) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  int64_t i = 0;
  for (; i + W <= n; i += W) f(batch::load_unaligned(x + i)).store_unaligned(y + i);
  if (i == n) return;
  alignas(64) T buf[W] = {};
  for (int64_t j = i; j < n; ++j) buf[j - i] = x[j];
  f(batch::load_aligned(buf)).store_aligned(buf);
  for (int64_t j = i; j < n; ++j) y[j] = buf[j - i];
}

template <class Arch, class T, class F>
void map_row(int64_t n, T* y, int64_t ys, const T* x, int64_t xs, const F& f) {
  if (ys == 1 && xs == 1) return map_contiguous<Arch>(n, y, x, f);
  alignas(64) T bx[kGatherBlock], by[kGatherBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kGatherBlock) {
    const int64_t m = n - i0 < kGatherBlock ? n - i0 : kGatherBlock;
    for (int64_t j = 0; j < m; ++j) bx[j] = x[(i0 + j) * xs];
    map_contiguous<Arch>(m, by, bx, f);
    for (int64_t j = 0; j < m; ++j) y[(i0 + j) * ys] = by[j];
  }
}

template <class Arch, class T, Unary Op>
void unary_row(int64_t n, T* y, int64_t ys, const T* x, int64_t xs, T alpha, T beta) {
  if constexpr (Op == Unary::pow_scalar) {
    if (alpha != T(2)) {
      for (int64_t i = 0; i < n; ++i) y[i * ys] = std::pow(x[i * xs], alpha);
      return;
    }
  }
  using batch = xsimd::batch<T, Arch>;
  map_row<Arch>(n, y, ys, x, xs, UnaryMap<Arch, T, Op>{batch(alpha), batch(beta)});
}

// y[0:n] = f(a, b) where as and bs are 1 (contiguous) or 0 (a scalar splatted once); the tail
// through zero-padded vectors.
template <class Arch, class T, class F>
void binary_contiguous(int64_t n, T* y, const T* a, int64_t as, const T* b, int64_t bs,
                       const F& f) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  int64_t i = 0;
  if (as == 1 && bs == 1) {
    for (; i + W <= n; i += W)
      f(batch::load_unaligned(a + i), batch::load_unaligned(b + i)).store_unaligned(y + i);
  } else if (as == 1) {
    const batch vb(b[0]);
    for (; i + W <= n; i += W) f(batch::load_unaligned(a + i), vb).store_unaligned(y + i);
  } else if (bs == 1) {
    const batch va(a[0]);
    for (; i + W <= n; i += W) f(va, batch::load_unaligned(b + i)).store_unaligned(y + i);
  }
  if (i == n) return;
  alignas(64) T ba[W] = {}, bb[W] = {}, out[W];
  for (int64_t j = i; j < n; ++j) {
    ba[j - i] = a[j * as];
    bb[j - i] = b[j * bs];
  }
  f(batch::load_aligned(ba), batch::load_aligned(bb)).store_aligned(out);
  for (int64_t j = i; j < n; ++j) y[j] = out[j - i];
}

template <class Arch, class T, class F>
void binary_row(int64_t n, T* y, int64_t ys, const T* a, int64_t as, const T* b, int64_t bs,
                const F& f) {
  if (ys == 1 && (as == 0 || as == 1) && (bs == 0 || bs == 1) && (as | bs))
    return binary_contiguous<Arch>(n, y, a, as, b, bs, f);
  alignas(64) T ba[kGatherBlock], bb[kGatherBlock], by[kGatherBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kGatherBlock) {
    const int64_t m = n - i0 < kGatherBlock ? n - i0 : kGatherBlock;
    for (int64_t j = 0; j < m; ++j) {
      ba[j] = a[(i0 + j) * as];
      bb[j] = b[(i0 + j) * bs];
    }
    binary_contiguous<Arch>(m, by, ba, 1, bb, 1, f);
    for (int64_t j = 0; j < m; ++j) y[(i0 + j) * ys] = by[j];
  }
}

template <class Arch, class T, Arithmetic Op>
void arithmetic_row(int64_t n, T* y, int64_t ys, const T* a, int64_t as, const T* b, int64_t bs) {
  binary_row<Arch>(n, y, ys, a, as, b, bs, ArithmeticMap<Arch, T, Op>{});
}

// Comparisons compute 1 / 0 in T, block by block, then narrow to bytes in a plain loop the
// compiler vectorizes (xsimd 8.1 stores a lane mask to bool* one lane at a time).
template <class Arch, class T, Compare Op>
void compare_row(int64_t n, bool* y, int64_t ys, const T* a, int64_t as, const T* b, int64_t bs) {
  using batch = xsimd::batch<T, Arch>;
  const CompareMap<Arch, T, Op> compare;
  const auto as_number = [&](batch x, batch z) {
    return xsimd::select(compare(x, z), batch(T(1)), batch(T(0)));
  };
  auto* bytes = reinterpret_cast<unsigned char*>(y);  // a bool's object representation: 0 or 1
  alignas(64) T out[kGatherBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kGatherBlock) {
    const int64_t m = n - i0 < kGatherBlock ? n - i0 : kGatherBlock;
    binary_row<Arch>(m, out, 1, a + i0 * as, as, b + i0 * bs, bs, as_number);
    unsigned char* dst = bytes + i0 * ys;
    if (ys == 1) {
      for (int64_t j = 0; j < m; ++j) dst[j] = static_cast<unsigned char>(out[j] != T(0));
    } else {
      for (int64_t j = 0; j < m; ++j) dst[j * ys] = static_cast<unsigned char>(out[j] != T(0));
    }
  }
}

// A block of m elements of a strided operand as a contiguous array: the operand itself when its
// stride is 1, else gathered (or, for stride 0, splatted) into buf.
template <class Arch, class T>
const T* contiguous_block(const T* p, int64_t stride, int64_t m, T* buf) {
  if (stride == 1) return p;
  if (stride == 0) {
    const T v = p[0];
    for (int64_t j = 0; j < m; ++j) buf[j] = v;
  } else {
    for (int64_t j = 0; j < m; ++j) buf[j] = p[j * stride];
  }
  return buf;
}

// y = c ? a : b, block by block: the condition is widened from bytes to T (0 or 1) in a plain
// loop the compiler vectorizes (xsimd 8.1 loads a bool* mask one lane at a time), then the
// selection runs on vectors. A selection is exact, so the row's tail needs no vector path.
template <class Arch, class T>
void where_row(int64_t n, T* y, int64_t ys, const bool* c, int64_t cs, const T* a, int64_t as,
               const T* b, int64_t bs) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  const auto* cond = reinterpret_cast<const unsigned char*>(c);
  alignas(64) T cf[kGatherBlock], ba[kGatherBlock], bb[kGatherBlock], by[kGatherBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kGatherBlock) {
    const int64_t m = n - i0 < kGatherBlock ? n - i0 : kGatherBlock;
    const unsigned char* ci = cond + i0 * cs;
    if (cs == 1) {
      for (int64_t j = 0; j < m; ++j) cf[j] = static_cast<T>(ci[j]);
    } else {
      for (int64_t j = 0; j < m; ++j) cf[j] = static_cast<T>(ci[j * cs]);
    }
    const T* pa = contiguous_block<Arch>(a + i0 * as, as, m, ba);
    const T* pb = contiguous_block<Arch>(b + i0 * bs, bs, m, bb);
    T* py = ys == 1 ? y + i0 : by;
    int64_t j = 0;
    for (; j + W <= m; j += W)
      xsimd::select(batch::load_aligned(cf + j) != batch(T(0)), batch::load_unaligned(pa + j),
                    batch::load_unaligned(pb + j))
          .store_unaligned(py + j);
    for (; j < m; ++j) py[j] = cf[j] != T(0) ? pa[j] : pb[j];
    if (ys != 1)
      for (j = 0; j < m; ++j) y[(i0 + j) * ys] = by[j];
  }
}

// y = x > 0 ? g : slope g (leaky_relu's backward; relu's with slope 0, where it is 0 exactly,
// not 0 g, so that an inf or NaN gradient is not passed through). Exact, like the reference.
template <class Arch, class T>
void leaky_relu_backward_row(int64_t n, T* y, int64_t ys, const T* g, int64_t gs, const T* x,
                             int64_t xs, T slope) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  alignas(64) T bg[kGatherBlock], bx[kGatherBlock], by[kGatherBlock];
  const batch zero(T(0)), s(slope);
  for (int64_t i0 = 0; i0 < n; i0 += kGatherBlock) {
    const int64_t m = n - i0 < kGatherBlock ? n - i0 : kGatherBlock;
    const T* pg = contiguous_block<Arch>(g + i0 * gs, gs, m, bg);
    const T* px = contiguous_block<Arch>(x + i0 * xs, xs, m, bx);
    T* py = ys == 1 ? y + i0 : by;
    int64_t j = 0;
    for (; j + W <= m; j += W) {
      const batch gv = batch::load_unaligned(pg + j);
      const batch other = slope == T(0) ? zero : gv * s;
      xsimd::select(batch::load_unaligned(px + j) > zero, gv, other).store_unaligned(py + j);
    }
    for (; j < m; ++j) py[j] = px[j] > T(0) ? pg[j] : (slope == T(0) ? T(0) : pg[j] * slope);
    if (ys != 1)
      for (j = 0; j < m; ++j) y[(i0 + j) * ys] = by[j];
  }
}

}  // namespace tg::cpu::simd
