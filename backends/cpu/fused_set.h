// Fills one FusedIsaKernels table with the fused-op loops instantiated for an xsimd
// architecture; each backends/cpu/arch/<isa>.cpp includes this and calls
// make_fused_kernels<its arch>, beside its IsaKernels (kernel_set.h).
#pragma once

#include "backends/cpu/fused_kernels.h"
#include "backends/cpu/loss_rows.h"
#include "backends/cpu/norm_rows.h"
#include "backends/cpu/optim_rows.h"
#include "backends/cpu/pool_rows.h"
#include "backends/cpu/softmax_rows.h"

namespace tg::cpu::simd {

template <class Arch, class T>
FusedTypedKernels<T> make_fused_typed_kernels() {
  FusedTypedKernels<T> k{};
  k.bn_stats = bn_stats<Arch, T>;
  k.bn_normalize = bn_normalize<Arch, T>;
  k.bn_grad_stats = bn_grad_stats<Arch, T>;
  k.bn_grad_input = bn_grad_input<Arch, T>;
  k.softmax_row = softmax_row<Arch, T>;
  k.softmax_backward_row = softmax_backward_row<Arch, T>;
  k.logsumexp_row = logsumexp_row<Arch, T>;
  k.cross_entropy_grad_row = cross_entropy_grad_row<Arch, T>;
  k.binary_loss[0] = binary_loss_row<Arch, T, false>;
  k.binary_loss[1] = binary_loss_row<Arch, T, true>;
  k.binary_loss_grad[0] = binary_loss_grad_row<Arch, T, false>;
  k.binary_loss_grad[1] = binary_loss_grad_row<Arch, T, true>;
  k.sgd_update = sgd_update<Arch, T>;
  k.adam_update = adam_update<Arch, T>;
  k.rmsprop_update = rmsprop_update<Arch, T>;
  k.max_pool_row = max_pool_row<Arch, T>;
  k.avg_pool_row = avg_pool_row<Arch, T>;
  return k;
}

template <class Arch>
FusedIsaKernels make_fused_kernels(const char* name) {
  return {name, make_fused_typed_kernels<Arch, float>(), make_fused_typed_kernels<Arch, double>()};
}

}  // namespace tg::cpu::simd
