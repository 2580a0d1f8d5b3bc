// The kernels compiled for AVX-512F (this unit alone is built with -mavx512f -mfma).
//
// GCC 12's avx512fintrin.h starts intrinsics from `__m512 __Y = __Y;` (a deliberately
// undefined value) and then warns about it wherever they are inlined (GCC bug 105593, fixed in
// GCC 13); the warning says nothing about this code.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "backends/cpu/kernel_set.h"

namespace tg::cpu {

const IsaKernels& avx512_kernels() {
  static const IsaKernels kernels = simd::make_isa_kernels<xsimd::avx512f>("avx512");
  return kernels;
}

}  // namespace tg::cpu
