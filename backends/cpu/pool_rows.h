// One output row of max_pool2d / avg_pool2d, templated on the xsimd architecture
// (instantiated by backends/cpu/arch/*.cpp; pool.cpp hands out the rows).
//
// Output column j pools input columns [j s - p, j s - p + k) clipped to the image (and rows
// [h0, h1), fixed for the row). The columns whose window lies wholly inside the image (all but
// a few at each edge) run as vectors, one output per lane: per window element one load of
// every lane's input (contiguous for stride 1, gathered otherwise). The edges and the rest of
// the interior run the reference's scalar loop. Both give the reference's results exactly:
//   max: the first largest value in row-major window order, or the last NaN (a NaN replaces
//        the max), and its flat index h W + w (held in lanes of T: exact below 2^24 elements
//        per plane in float32; larger planes take the scalar loop);
//   avg: the window's sum in double, in row-major order, over the divisor, rounded once.
#pragma once

#include <cmath>
#include <limits>

#include "backends/cpu/fused_kernels.h"
#include "backends/cpu/fused_simd.h"
#include "backends/cpu/reduce.h"

namespace tg::cpu::simd {

// Input columns [begin, end) of output column j and the window's length within the padded
// image (reference pool.cpp's window()).
struct PoolColumns {
  int64_t begin, end, padded;
};

template <class Arch, class T>
PoolColumns pool_columns(const PoolRow<T>& r, int64_t j) {
  const int64_t begin = j * r.stride - r.pad;
  const int64_t end = begin + r.kernel < r.W + r.pad ? begin + r.kernel : r.W + r.pad;
  return {begin > 0 ? begin : 0, end < r.W ? end : r.W, end - begin};
}

// The output columns [lo, hi) whose windows need no clipping: j s - p >= 0, j s - p + k <= W.
template <class Arch, class T>
void interior_columns(const PoolRow<T>& r, int64_t* lo, int64_t* hi) {
  *lo = (r.pad + r.stride - 1) / r.stride;
  const int64_t last = r.W + r.pad - r.kernel;
  *hi = last < 0 ? 0 : last / r.stride + 1;
  if (*hi > r.wo) *hi = r.wo;
  if (*lo > r.wo) *lo = r.wo;
  if (*hi < *lo) *hi = *lo;
}

// n elements p[0], p[step], ... as a vector of U (n = U's lane count).
template <class Arch, class U, class T>
xsimd::batch<U, Arch> load_strided(const T* p, int64_t step) {
  using batch = xsimd::batch<U, Arch>;
  if constexpr (std::is_same_v<U, T>)
    if (step == 1) return batch::load_unaligned(p);
  alignas(64) U buf[batch::size];
  for (size_t l = 0; l < batch::size; ++l) buf[l] = static_cast<U>(p[l * step]);
  return batch::load_aligned(buf);
}

template <class Arch, class T>
void max_pool_scalar(const PoolRow<T>& r, int64_t j) {
  const PoolColumns c = pool_columns<Arch>(r, j);
  T best = -std::numeric_limits<T>::infinity();
  int64_t best_at = r.h0 * r.W + c.begin;
  for (int64_t h = r.h0; h < r.h1; ++h)
    for (int64_t w = c.begin; w < c.end; ++w) {
      const T v = r.x[h * r.sh + w * r.sw];
      if (v > best || std::isnan(v)) best = v, best_at = h * r.W + w;
    }
  r.y[j] = best;
  r.indices[j] = best_at;
}

template <class Arch, class T>
void max_pool_row(const PoolRow<T>& r) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  int64_t lo, hi;
  interior_columns<Arch>(r, &lo, &hi);
  if (r.H * r.W >= kExactIndexLimit<T>) lo = hi = 0;
  int64_t j = 0;
  for (; j < lo; ++j) max_pool_scalar<Arch>(r, j);
  alignas(64) T lane[W];
  for (int64_t l = 0; l < W; ++l) lane[l] = static_cast<T>(l * r.stride);
  const batch lane_offset = batch::load_aligned(lane);
  const int64_t step = r.stride * r.sw;
  for (; j + W <= hi; j += W) {
    const int64_t first = j * r.stride - r.pad;  // lane 0's first input column
    const batch column = lane_offset + batch(static_cast<T>(first));
    batch best(-std::numeric_limits<T>::infinity());
    batch at = column + batch(static_cast<T>(r.h0 * r.W));
    for (int64_t h = r.h0; h < r.h1; ++h) {
      const T* row = r.x + h * r.sh + first * r.sw;
      for (int64_t kw = 0; kw < r.kernel; ++kw) {
        const batch v = load_strided<Arch, T>(row + kw * r.sw, step);
        const auto take = (v > best) | xsimd::isnan(v);
        best = xsimd::select(take, v, best);
        at = xsimd::select(take, column + batch(static_cast<T>(h * r.W + kw)), at);
      }
    }
    best.store_unaligned(r.y + j);
    alignas(64) T index[W];
    at.store_aligned(index);
    for (int64_t l = 0; l < W; ++l) r.indices[j + l] = static_cast<int64_t>(index[l]);
  }
  for (; j < r.wo; ++j) max_pool_scalar<Arch>(r, j);
}

template <class Arch, class T>
void avg_pool_scalar(const PoolRow<T>& r, int64_t j) {
  const PoolColumns c = pool_columns<Arch>(r, j);
  double sum = 0;
  for (int64_t h = r.h0; h < r.h1; ++h)
    for (int64_t w = c.begin; w < c.end; ++w) sum += r.x[h * r.sh + w * r.sw];
  const int64_t count =
      r.count_include_pad ? r.rows_padded * c.padded : (r.h1 - r.h0) * (c.end - c.begin);
  const double divisor = static_cast<double>(count);
  r.y[j] = static_cast<T>(sum / divisor);
}

template <class Arch, class T>
void avg_pool_row(const PoolRow<T>& r) {
  using D = dbatch<Arch>;
  constexpr int64_t W = D::size;
  int64_t lo, hi;
  interior_columns<Arch>(r, &lo, &hi);
  int64_t j = 0;
  for (; j < lo; ++j) avg_pool_scalar<Arch>(r, j);
  // Interior windows are never clipped along W: kernel columns, padded or not.
  const D divisor(static_cast<double>(r.count_include_pad ? r.rows_padded * r.kernel
                                                          : (r.h1 - r.h0) * r.kernel));
  const int64_t step = r.stride * r.sw;
  for (; j + W <= hi; j += W) {
    const T* first = r.x + (j * r.stride - r.pad) * r.sw;
    D sum(0.0);
    for (int64_t h = r.h0; h < r.h1; ++h)
      for (int64_t kw = 0; kw < r.kernel; ++kw)
        sum += load_strided<Arch, double>(first + h * r.sh + kw * r.sw, step);
    store_narrow<Arch>(r.y + j, sum / divisor);
  }
  for (; j < r.wo; ++j) avg_pool_scalar<Arch>(r, j);
}

}  // namespace tg::cpu::simd
