// The cpu backend's kernel table: its SIMD kernels, and, named op by op, the reference kernels
// it runs for the ops it has no kernel of its own for yet.
#include "backends/cpu/cpu.h"
#include "backends/cpu/cpu_kernels.h"

namespace tg::cpu {

kernel::KernelTable make_table() {
  using kernel::kAllTypes;
  using kernel::kFloatingTypes;
  using kernel::OpId;
  constexpr kernel::DTypeMask kArithmetic = kFloatingTypes | kernel::mask_of(kInt64);
  kernel::KernelTable t;
  t.copy = {copy, kAllTypes};
  t.fill = {fill, kAllTypes};
  t.uniform = {uniform, kFloatingTypes};
  t.normal = {normal, kFloatingTypes};
#define TG_UNARY(name) t.name = {unary<OpId::name>, kFloatingTypes};
  TG_UNARY(neg) TG_UNARY(exp) TG_UNARY(log) TG_UNARY(sqrt) TG_UNARY(rsqrt) TG_UNARY(abs)
  TG_UNARY(sign) TG_UNARY(relu) TG_UNARY(leaky_relu) TG_UNARY(sigmoid) TG_UNARY(tanh)
  TG_UNARY(softplus) TG_UNARY(pow_scalar) TG_UNARY(clamp)
#undef TG_UNARY
#define TG_BINARY(name, types) t.name = {binary<OpId::name>, types};
  TG_BINARY(add, kArithmetic) TG_BINARY(sub, kArithmetic) TG_BINARY(mul, kArithmetic)
  TG_BINARY(div, kFloatingTypes)
  TG_BINARY(eq, kAllTypes) TG_BINARY(ne, kAllTypes) TG_BINARY(lt, kAllTypes)
  TG_BINARY(le, kAllTypes) TG_BINARY(gt, kAllTypes) TG_BINARY(ge, kAllTypes)
#undef TG_BINARY
  t.where = {where, kAllTypes};
  t.sum = {sum, kFloatingTypes};
  t.max = {max, kFloatingTypes};
  t.min = {min, kFloatingTypes};
  t.matmul = {matmul, kFloatingTypes};

  // The reference backend's kernels, by choice, for the ops below: they run correctly on the
  // cpu backend (TAPEGRAD_BACKEND=cpu runs every test) at reference speed until each gets its
  // own kernel here (conv via im2col on cpu::gemm, pooling, batch norm, softmax, fused losses,
  // fused optimizer updates).
  // A slot the reference leaves empty stays empty: asking for it is an error, not a fallback.
  const kernel::KernelTable ref = reference::make_table();
  t.conv2d = ref.conv2d;
  t.conv_transpose2d = ref.conv_transpose2d;
  t.conv2d_weight = ref.conv2d_weight;
  t.max_pool2d = ref.max_pool2d;
  t.max_pool2d_backward = ref.max_pool2d_backward;
  t.max_pool2d_gather = ref.max_pool2d_gather;
  t.avg_pool2d = ref.avg_pool2d;
  t.avg_pool2d_backward = ref.avg_pool2d_backward;
  t.batch_norm = ref.batch_norm;
  t.batch_norm_backward = ref.batch_norm_backward;
  t.softmax = ref.softmax;
  t.log_softmax = ref.log_softmax;
  t.softmax_backward = ref.softmax_backward;
  t.log_softmax_backward = ref.log_softmax_backward;
  t.binary_cross_entropy = ref.binary_cross_entropy;
  t.binary_cross_entropy_backward = ref.binary_cross_entropy_backward;
  t.bce_with_logits = ref.bce_with_logits;
  t.bce_with_logits_backward = ref.bce_with_logits_backward;
  t.cross_entropy = ref.cross_entropy;
  t.cross_entropy_backward = ref.cross_entropy_backward;
  t.sgd_update = ref.sgd_update;
  t.adam_update = ref.adam_update;
  t.rmsprop_update = ref.rmsprop_update;
  return t;
}

}  // namespace tg::cpu
