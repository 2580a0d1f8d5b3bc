// The portable kernels: the compiler's baseline vectors (SSE2 on x86-64, NEON on arm64), built
// with no -m flags, so they run on any CPU the library runs on.
#include "backends/cpu/conv_micro.h"
#include "backends/cpu/fused_set.h"
#include "backends/cpu/kernel_set.h"

namespace tg::cpu {

const IsaKernels& generic_kernels() {
  static const IsaKernels kernels = simd::make_isa_kernels<xsimd::default_arch>("generic");
  return kernels;
}

const ConvIsaKernels& generic_conv_kernels() {
  static const ConvIsaKernels kernels = simd::make_conv_kernels<xsimd::default_arch>("generic");
  return kernels;
}

const FusedIsaKernels& generic_fused_kernels() {
  static const FusedIsaKernels kernels = simd::make_fused_kernels<xsimd::default_arch>("generic");
  return kernels;
}

}  // namespace tg::cpu
