// What the fused ops' tensor-level code shares (norm.cpp, softmax.cpp, loss.cpp, optim.cpp,
// pool.cpp): the active level's fused loops, and K same-shaped strided operands handed to a
// loop as contiguous blocks.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

#include "backends/cpu/fused_kernels.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/strided.h"

namespace tg::cpu {

// The fused loops of the active instruction-set level.
inline const FusedIsaKernels& fused_isa_kernels() {
  const std::string_view name = active_isa().name;
#ifdef TAPEGRAD_CPU_AVX512
  if (name == "avx512") return avx512_fused_kernels();
#endif
#ifdef TAPEGRAD_CPU_AVX2
  if (name == "avx2") return avx2_fused_kernels();
#endif
  return generic_fused_kernels();
}
template <typename T> const FusedTypedKernels<T>& fused_kernels();
template <> inline const FusedTypedKernels<float>& fused_kernels<float>() {
  return fused_isa_kernels().f32;
}
template <> inline const FusedTypedKernels<double>& fused_kernels<double>() {
  return fused_isa_kernels().f64;
}

// Elements per gathered block of a strided operand.
inline constexpr int64_t kFusedBlock = 256;

// The strides of an absent operand: all 0, so it never stops dims from merging.
inline Shape absent_strides(const Shape& shape) { return Shape(shape.size(), 0); }

// Calls f(n, p) for consecutive blocks covering the linear (row-major) indices [begin, end) of
// loop's shape, p[k] pointing at n contiguous elements of operand k: the operand itself where
// its rows are contiguous, else a gathered copy (a stride-0 operand splatted), scattered back
// after f for the operands whose bit is set in `written`. A null operand stays null. Blocks
// are cut by the shape and strides alone, so a reduction over them does not depend on how
// [0, numel) is split among threads as long as the split falls on the caller's fixed chunks.
template <typename T, size_t K, class F>
void for_blocks(const RowLoop<K>& loop, const std::array<T*, K>& data, unsigned written,
                int64_t begin, int64_t end, const F& f) {
  alignas(64) T buf[K][kFusedBlock];
  loop.for_rows(begin, end, [&](const auto& o, int64_t n, const auto& s) {
    bool contiguous = true;
    for (size_t k = 0; k < K; ++k) contiguous = contiguous && (!data[k] || s[k] == 1);
    std::array<T*, K> p;
    if (contiguous) {
      for (size_t k = 0; k < K; ++k) p[k] = data[k] ? data[k] + o[k] : nullptr;
      return f(n, p);
    }
    for (int64_t i0 = 0; i0 < n; i0 += kFusedBlock) {
      const int64_t m = std::min(kFusedBlock, n - i0);
      for (size_t k = 0; k < K; ++k) {
        T* src = data[k] ? data[k] + o[k] + i0 * s[k] : nullptr;
        p[k] = src;
        if (!src || s[k] == 1) continue;
        p[k] = buf[k];
        for (int64_t j = 0; j < m; ++j) buf[k][j] = src[j * s[k]];
      }
      f(m, p);
      for (size_t k = 0; k < K; ++k) {
        if (!(written >> k & 1u) || p[k] != buf[k]) continue;
        T* dst = data[k] + o[k] + i0 * s[k];
        for (int64_t j = 0; j < m; ++j) dst[j * s[k]] = buf[k][j];
      }
    }
  });
}

}  // namespace tg::cpu
