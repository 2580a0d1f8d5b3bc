// The per-ISA tile kernels of the cpu convolutions (backends/cpu/conv.cpp builds everything
// else around them). Plain data, like isa.h: included by the per-ISA translation units.
#pragma once

#include <cstdint>

namespace tg::cpu {

// Both compute one mr x nr tile of C, row stride ldc and unit column stride, in registers, and
// store it (accumulate: added to C; otherwise C is overwritten and never read). mr and nr are
// gemm.h's micro-tile, so B panels are [k][nr] (64-byte aligned) and A panels [k][mr].
template <typename T>
struct ConvTileKernels {
  int mr, nr;
  // C[r][j] (+)= sum_{s < segments} sum_{k < len} rows[r][a_off[s] + k] * b[b_off[s] + k nr + j]:
  // the A operand read in place, row r from its own pointer (a pixel's channels-last vector)
  // and a shared offset per segment (a tap), so im2col is never written; each segment has its
  // own [len][nr] piece of the packed B panel, so taps can be skipped.
  void (*indirect)(int64_t segments, int64_t len, const T* const* rows, const int64_t* a_off,
                   const int64_t* b_off, const T* b, T* c, int64_t ldc, bool accumulate);
  // C[r][j] (+)= sum_{k < kc} a[k mr + r] * b[k nr + j]: gemm.h's micro-kernel.
  void (*packed)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, bool accumulate);
  // The same with B's rows read in place, row k at b + b_rows[k] (nr contiguous values, any
  // alignment): a B operand that already has the panel's rows in memory is not copied, and
  // rows can be left out.
  void (*packed_rows)(int64_t kc, const T* a, const T* b, const int64_t* b_rows, T* c,
                      int64_t ldc, bool accumulate);
  // A tw x tw transpose in registers: dst[j][i] = src[i][j], each src[i] and dst[j] tw
  // contiguous values anywhere in memory (channels-first <-> channels-last, tw x tw at a time).
  int tw;
  void (*transpose)(const T* const* src, T* const* dst);
};

struct ConvIsaKernels {
  const char* name;  // the isa.h level it belongs to
  ConvTileKernels<float> f32;
  ConvTileKernels<double> f64;
};

// Defined by backends/cpu/arch/<isa>.cpp beside the level's IsaKernels.
const ConvIsaKernels& avx512_conv_kernels();
const ConvIsaKernels& avx2_conv_kernels();
const ConvIsaKernels& generic_conv_kernels();

}  // namespace tg::cpu
