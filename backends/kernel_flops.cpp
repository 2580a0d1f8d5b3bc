// The profiler's cost model of a kernel call: FLOPs (2 per multiply-add for products and
// convolutions, 1 per output element otherwise) and bytes (every tensor operand once).
#include "backends/kernels.h"

namespace tg::kernel {

double kernel_flops(OpId id, const std::vector<const Tensor*>& t) {
  auto numel = [&](size_t i) { return i < t.size() && t[i]->defined() ? double(t[i]->numel()) : 0.0; };
  auto size = [&](size_t i, int64_t d) { return double(t[i]->size(d)); };
  switch (id) {
    case OpId::matmul:  // out [B, M, N] = a [B, M, K] x b [B, K, N]
      return 2.0 * numel(0) * size(1, 2);
    case OpId::conv2d:  // out [N, Co, Ho, Wo], w [Co, Ci/g, kh, kw]
      return 2.0 * numel(0) * size(2, 1) * size(2, 2) * size(2, 3);
    case OpId::conv_transpose2d:  // x [N, Ci, H, W] scatters, w [Ci, Co/g, kh, kw]
      return 2.0 * numel(1) * size(2, 1) * size(2, 2) * size(2, 3);
    case OpId::conv2d_weight:  // gw [Co, Ci/g, kh, kw], gy [N, Co, Ho, Wo]
      return 2.0 * numel(2) * size(0, 1) * size(0, 2) * size(0, 3);
    default:
      return numel(0);
  }
}

void profile_kernel_call(OpId id, double seconds, const std::vector<const Tensor*>& operands) {
  double bytes = 0;
  for (const Tensor* t : operands)
    if (t->defined()) bytes += double(t->numel()) * double(dtype_size(t->dtype()));
  profiler::record(op_name(id), false, seconds, kernel_flops(id, operands), bytes);
}

}  // namespace tg::kernel
