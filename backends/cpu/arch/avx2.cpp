// The kernels compiled for AVX2 + FMA (this unit alone is built with -mavx2 -mfma).
#include "backends/cpu/conv_micro.h"
#include "backends/cpu/fused_set.h"
#include "backends/cpu/kernel_set.h"

namespace tg::cpu {

const IsaKernels& avx2_kernels() {
  static const IsaKernels kernels = simd::make_isa_kernels<xsimd::fma3<xsimd::avx2>>("avx2");
  return kernels;
}

const ConvIsaKernels& avx2_conv_kernels() {
  static const ConvIsaKernels kernels = simd::make_conv_kernels<xsimd::fma3<xsimd::avx2>>("avx2");
  return kernels;
}

const FusedIsaKernels& avx2_fused_kernels() {
  static const FusedIsaKernels kernels =
      simd::make_fused_kernels<xsimd::fma3<xsimd::avx2>>("avx2");
  return kernels;
}

}  // namespace tg::cpu
