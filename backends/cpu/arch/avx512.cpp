// The kernels compiled for AVX-512F (this unit alone is built with -mavx512f -mfma).
//
// GCC 12's avx512fintrin.h starts intrinsics from `__m512 __Y = __Y;` (a deliberately
// undefined value) and then warns about it wherever they are inlined (GCC bug 105593, fixed in
// GCC 13); the warning says nothing about this code.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "backends/cpu/conv_micro.h"
#include "backends/cpu/fused_set.h"
#include "backends/cpu/kernel_set.h"

namespace tg::cpu {

const IsaKernels& avx512_kernels() {
  static const IsaKernels kernels = simd::make_isa_kernels<xsimd::avx512f>("avx512");
  return kernels;
}

const ConvIsaKernels& avx512_conv_kernels() {
  static const ConvIsaKernels kernels = simd::make_conv_kernels<xsimd::avx512f>("avx512");
  return kernels;
}

const FusedIsaKernels& avx512_fused_kernels() {
  static const FusedIsaKernels kernels = simd::make_fused_kernels<xsimd::avx512f>("avx512");
  return kernels;
}

}  // namespace tg::cpu
