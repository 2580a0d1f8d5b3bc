// Reduction inner loops (sums, arg-max / arg-min), templated on the xsimd architecture and
// instantiated by backends/cpu/arch/*.cpp; reduce.cpp decides which loop a tensor needs.
//
// Sums accumulate in double, as the reference backend does, so a float32 sum of a million
// elements keeps ~7 correct digits instead of drifting with the running total. A contiguous run
// is summed with four independent vector accumulators (hiding the 4-cycle add latency; the
// loop is then bound by loads, ~1 vector per cycle), combined in a fixed order, so the result
// depends only on the run's length. Column sums (reducing an outer dim, e.g. a bias gradient
// over the batch) add whole rows into a vector of double accumulators.
//
// Arg-reductions are exact (a comparison picks an element; nothing is rounded), so every path
// returns exactly the reference's answer: the largest (smallest) value and its first index,
// and the first NaN if there is one. Along a contiguous dim each vector lane scans every W-th
// element and the lanes are merged by (NaN, value, index); across columns each lane owns a
// column. Lane indices are held as T, exact below 2^24 elements for float32 (longer dims take
// the scalar loop).
#pragma once

#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>

#include "backends/cpu/isa.h"

namespace tg::cpu::simd {

template <class Arch, class T>
double sum_contiguous(int64_t n, const T* x) {
  using dbatch = xsimd::batch<double, Arch>;
  constexpr int64_t W = dbatch::size;
  // Loads of T widened to double: for float32, W floats converted per vector.
  const auto load = [x](int64_t i) { return dbatch::load_unaligned(x + i); };
  dbatch s0(0.0), s1(0.0), s2(0.0), s3(0.0);
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 += load(i);
    s1 += load(i + W);
    s2 += load(i + 2 * W);
    s3 += load(i + 3 * W);
  }
  for (; i + W <= n; i += W) s0 += load(i);
  double total = xsimd::hadd((s0 + s1) + (s2 + s3));
  for (; i < n; ++i) total += static_cast<double>(x[i]);
  return total;
}

template <class Arch, class T>
void accumulate(int64_t n, const T* x, double* acc) {
  using dbatch = xsimd::batch<double, Arch>;
  constexpr int64_t W = dbatch::size;
  int64_t j = 0;
  for (; j + W <= n; j += W)
    (dbatch::load_unaligned(acc + j) + dbatch::load_unaligned(x + j)).store_unaligned(acc + j);
  for (; j < n; ++j) acc[j] += static_cast<double>(x[j]);
}

// c replaces the current best: strictly better, or the first NaN. (Every helper here takes
// Arch, so no scalar symbol is shared between ISA units built with different flags.)
template <class Arch, bool IsMax, class T>
bool replaces(T c, T best) {
  return !std::isnan(best) && (std::isnan(c) || (IsMax ? c > best : c < best));
}

template <class Arch, bool IsMax, class T>
xsimd::batch_bool<T, Arch> replaces(const xsimd::batch<T, Arch>& c,
                                    const xsimd::batch<T, Arch>& best) {
  return !xsimd::isnan(best) && (xsimd::isnan(c) || (IsMax ? c > best : c < best));
}

// Lane indices are held as T: exact below 2^24 (float32) or 2^53 (float64).
template <class T>
constexpr int64_t kExactIndexLimit = sizeof(T) == 4 ? (int64_t{1} << 24) : (int64_t{1} << 53);

template <class Arch, class T, bool IsMax>
void arg_reduce_row(int64_t n, const T* x, T* value, int64_t* index) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  T best = x[0];
  int64_t best_i = 0, i = 1;
  if (n >= 2 * W && n < kExactIndexLimit<T>) {
    alignas(64) T lane_index[W];
    for (int64_t l = 0; l < W; ++l) lane_index[l] = static_cast<T>(l);
    batch vbest = batch::load_unaligned(x), vidx = batch::load_aligned(lane_index), cur = vidx;
    const batch step(static_cast<T>(W));
    for (i = W; i + W <= n; i += W) {
      cur += step;
      const batch v = batch::load_unaligned(x + i);
      const auto take = replaces<Arch, IsMax>(v, vbest);
      vbest = xsimd::select(take, v, vbest);
      vidx = xsimd::select(take, cur, vidx);
    }
    alignas(64) T lane_best[W];
    vbest.store_aligned(lane_best);
    vidx.store_aligned(lane_index);
    best = lane_best[0];
    best_i = static_cast<int64_t>(lane_index[0]);
    for (int64_t l = 1; l < W; ++l) {
      const T c = lane_best[l];
      const auto ci = static_cast<int64_t>(lane_index[l]);
      const bool same = (std::isnan(c) && std::isnan(best)) || c == best;
      if (replaces<Arch, IsMax>(c, best) || (same && ci < best_i)) best = c, best_i = ci;
    }
  }
  // The rest have larger indices than any lane's: the reference's scan, continued.
  for (; i < n && !std::isnan(best); ++i)
    if (replaces<Arch, IsMax>(x[i], best)) best = x[i], best_i = i;
  *value = best;
  *index = best_i;
}

template <class Arch, class T, bool IsMax>
void arg_reduce_cols(int64_t rows, int64_t cols, const T* x, int64_t row_stride, T* values,
                     int64_t* indices) {
  using batch = xsimd::batch<T, Arch>;
  constexpr int64_t W = batch::size;
  int64_t j = 0;
  if (rows < kExactIndexLimit<T>) {
    for (; j + W <= cols; j += W) {
      batch vbest = batch::load_unaligned(x + j), vidx(T(0));
      for (int64_t i = 1; i < rows; ++i) {
        const batch v = batch::load_unaligned(x + i * row_stride + j);
        const auto take = replaces<Arch, IsMax>(v, vbest);
        vbest = xsimd::select(take, v, vbest);
        vidx = xsimd::select(take, batch(static_cast<T>(i)), vidx);
      }
      alignas(64) T idx[W];
      vbest.store_unaligned(values + j);
      vidx.store_aligned(idx);
      for (int64_t l = 0; l < W; ++l) indices[j + l] = static_cast<int64_t>(idx[l]);
    }
  }
  for (; j < cols; ++j) {
    T best = x[j];
    int64_t best_i = 0;
    for (int64_t i = 1; i < rows && !std::isnan(best); ++i)
      if (const T c = x[i * row_stride + j]; replaces<Arch, IsMax>(c, best)) best = c, best_i = i;
    values[j] = best;
    indices[j] = best_i;
  }
}

}  // namespace tg::cpu::simd
