// The convolution tile kernels, templated on the xsimd architecture (instantiated by
// backends/cpu/arch/*.cpp): gemm.h's register tile with its A operand read through row
// pointers (indirect), gemm.h's packed micro-kernel itself, and a register transpose.
//
// The indirect tile keeps gemm.h's MR x NR accumulators and per k issues the same NV aligned
// loads of the packed B panel, MR broadcasts and MR * NV FMAs; only the broadcasts come from
// MR pointers (MR pixels' channel vectors, contiguous in k) instead of one packed A panel.
// Each segment (one tap of the kernel, a run of channels) moves the MR pointers by one shared
// offset, so the pointer work is MR additions per segment, not per k; a segment also names its
// piece of the B panel, so a tap that reads only padding for all MR pixels is simply left out.
#pragma once

#include <cstring>
#include <utility>

#include "backends/cpu/conv_kernels.h"
#include "backends/cpu/gemm.h"

namespace tg::cpu::simd {

template <class Arch, class T>
void indirect_tile(int64_t segments, int64_t len, const T* const* rows, const int64_t* a_off,
                   const int64_t* b_off, const T* b, T* c, int64_t ldc, bool accumulate) {
  using G = GemmBlocking<Arch, T>;
  using batch = typename G::batch;
  constexpr int MR = G::MR, NV = G::NV, NR = G::NR, W = G::W;
  batch acc[MR][NV];
  unroll<0, MR>([&]<int r>() { unroll<0, NV>([&]<int v>() { acc[r][v] = batch(T(0)); }); });
  for (int64_t s = 0; s < segments; ++s) {
    const T* a[MR];
    unroll<0, MR>([&]<int r>() { a[r] = rows[r] + a_off[s]; });
    const T* __restrict bs = b + b_off[s];
    for (int64_t k = 0; k < len; ++k, bs += NR) {
      batch bv[NV];
      unroll<0, NV>([&]<int v>() { bv[v] = batch::load_aligned(bs + v * W); });
      unroll<0, MR>([&]<int r>() {
        const batch av(a[r][k]);
        unroll<0, NV>([&]<int v>() { acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]); });
      });
    }
  }
  unroll<0, MR>([&]<int r>() {
    unroll<0, NV>([&]<int v>() {
      T* p = c + r * ldc + v * W;
      (accumulate ? acc[r][v] + batch::load_unaligned(p) : acc[r][v]).store_unaligned(p);
    });
  });
}

template <class Arch, class T>
void packed_tile(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, bool accumulate) {
  micro_kernel<Arch, T>(kc, a, b, c, ldc, T(1), T(1), accumulate);
}

// gemm.h's micro-kernel with B read in place: row k at b + b_rows[k], unaligned loads.
template <class Arch, class T>
void packed_tile_rows(int64_t kc, const T* a, const T* b, const int64_t* b_rows, T* c,
                      int64_t ldc, bool accumulate) {
  using G = GemmBlocking<Arch, T>;
  using batch = typename G::batch;
  constexpr int MR = G::MR, NV = G::NV, W = G::W;
  batch acc[MR][NV];
  unroll<0, MR>([&]<int r>() { unroll<0, NV>([&]<int v>() { acc[r][v] = batch(T(0)); }); });
  for (int64_t k = 0; k < kc; ++k, a += MR) {
    const T* row = b + b_rows[k];
    batch bv[NV];
    unroll<0, NV>([&]<int v>() { bv[v] = batch::load_unaligned(row + v * W); });
    unroll<0, MR>([&]<int r>() {
      const batch av(a[r]);
      unroll<0, NV>([&]<int v>() { acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]); });
    });
  }
  unroll<0, MR>([&]<int r>() {
    unroll<0, NV>([&]<int v>() {
      T* p = c + r * ldc + v * W;
      (accumulate ? acc[r][v] + batch::load_unaligned(p) : acc[r][v]).store_unaligned(p);
    });
  });
}

template <class Arch, class T>
ConvTileKernels<T> make_conv_tile_kernels() {
  return {GemmBlocking<Arch, T>::MR, GemmBlocking<Arch, T>::NR, indirect_tile<Arch, T>,
          packed_tile<Arch, T>,          packed_tile_rows<Arch, T>, GemmBlocking<Arch, T>::W,
          transpose_tile<Arch, T>};
}

template <class Arch>
ConvIsaKernels make_conv_kernels(const char* name) {
  return {name, make_conv_tile_kernels<Arch, float>(), make_conv_tile_kernels<Arch, double>()};
}

}  // namespace tg::cpu::simd
