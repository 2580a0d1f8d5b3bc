// Vector building blocks of the fused-op loops (norm_rows.h, softmax_rows.h, loss_rows.h,
// optim_rows.h, pool_rows.h), templated on the xsimd architecture like every per-ISA helper,
// so no two ISA units share a symbol (and plain loops rather than std:: algorithms, for the
// same reason).
#pragma once

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace tg::cpu::simd {

template <class Arch>
using dbatch = xsimd::batch<double, Arch>;

// dbatch::size elements of p as doubles (float32 widened exactly) and back, rounded to T. The
// float32 forms convert whole vectors (vcvtps2pd / vcvtpd2ps) through GCC's vector extension:
// xsimd 8.1 has no widening or narrowing conversion, and its element-wise fallback stores lane
// by lane.
// (One specialisation per lane count: GCC drops a vector_size that depends on a template
// parameter.)
template <size_t Lanes>
struct FloatVector;
template <>
struct FloatVector<2> {
  typedef float type __attribute__((vector_size(8)));
};
template <>
struct FloatVector<4> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct FloatVector<8> {
  typedef float type __attribute__((vector_size(32)));
};
template <class Arch>
using narrow_vector = typename FloatVector<dbatch<Arch>::size>::type;

template <class Arch, class T>
dbatch<Arch> load_wide(const T* p) {
  if constexpr (std::is_same_v<T, double>) {
    return dbatch<Arch>::load_unaligned(p);
  } else {
    narrow_vector<Arch> f;
    std::memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, typename dbatch<Arch>::register_type);
  }
}

template <class Arch, class T>
void store_narrow(T* p, dbatch<Arch> v) {
  if constexpr (std::is_same_v<T, double>) {
    v.store_unaligned(p);
  } else {
    const narrow_vector<Arch> f = __builtin_convertvector(v.data, narrow_vector<Arch>);
    std::memcpy(p, &f, sizeof f);
  }
}

// Runs f(v) on vectors of K contiguous operands, v[k] holding operand k's elements (zeros for
// a null operand), and stores back the operands whose bit is set in `written`. The tail goes
// through zero-padded vectors, so every element gets the same vector arithmetic.
template <class Arch, class T, size_t K, class F>
void map_operands(int64_t n, const std::array<T*, K>& a, unsigned written, const F& f) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  std::array<batch, K> v;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    for (size_t k = 0; k < K; ++k) v[k] = a[k] ? batch::load_unaligned(a[k] + i) : batch(T(0));
    f(v);
    for (size_t k = 0; k < K; ++k)
      if (written >> k & 1u) v[k].store_unaligned(a[k] + i);
  }
  if (i == n) return;
  const int64_t rest = n - i;
  alignas(64) T buf[K][W] = {};
  for (size_t k = 0; k < K; ++k) {
    if (a[k])
      for (int64_t j = 0; j < rest; ++j) buf[k][j] = a[k][i + j];
    v[k] = batch::load_aligned(buf[k]);
  }
  f(v);
  for (size_t k = 0; k < K; ++k) {
    if (!(written >> k & 1u)) continue;
    v[k].store_aligned(buf[k]);
    for (int64_t j = 0; j < rest; ++j) a[k][i + j] = buf[k][j];
  }
}

// The largest of x[0, n), n >= 1 (-inf pads the tail). Which NaN-free value a NaN leaves
// behind does not matter to the callers: a NaN makes their sums NaN anyway.
template <class Arch, class T>
T max_contiguous(int64_t n, const T* x) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  constexpr T lowest = -std::numeric_limits<T>::infinity();
  batch m0(lowest), m1(lowest);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = xsimd::max(m0, batch::load_unaligned(x + i));
    m1 = xsimd::max(m1, batch::load_unaligned(x + i + W));
  }
  alignas(64) T buf[W];
  xsimd::max(m0, m1).store_aligned(buf);
  T m = buf[0];
  for (int64_t l = 1; l < W; ++l) m = m < buf[l] ? buf[l] : m;
  for (; i < n; ++i) m = m < x[i] ? x[i] : m;
  return m;
}

// sum a[i] b[i] over [0, n) in double (float32 products are exact in double); fixed lane
// order, so the result depends only on n.
template <class Arch, class T>
double dot_contiguous(int64_t n, const T* a, const T* b) {
  using D = dbatch<Arch>;
  constexpr int64_t W = D::size;
  D s0(0.0), s1(0.0);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = xsimd::fma(load_wide<Arch>(a + i), load_wide<Arch>(b + i), s0);
    s1 = xsimd::fma(load_wide<Arch>(a + i + W), load_wide<Arch>(b + i + W), s1);
  }
  double total = xsimd::hadd(s0 + s1);
  for (; i < n; ++i) total += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return total;
}

}  // namespace tg::cpu::simd
