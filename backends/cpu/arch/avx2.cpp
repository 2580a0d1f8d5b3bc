// The kernels compiled for AVX2 + FMA (this unit alone is built with -mavx2 -mfma).
#include "backends/cpu/kernel_set.h"

namespace tg::cpu {

const IsaKernels& avx2_kernels() {
  static const IsaKernels kernels = simd::make_isa_kernels<xsimd::fma3<xsimd::avx2>>("avx2");
  return kernels;
}

}  // namespace tg::cpu
