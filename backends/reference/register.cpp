// The reference backend's kernel table.
#include "backends/reference/reference.h"

namespace tg::reference {

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
  t.leaky_relu_backward = {leaky_relu_backward, kFloatingTypes};
  t.sum = {sum, kFloatingTypes};
  t.max = {max, kFloatingTypes};
  t.min = {min, kFloatingTypes};
  t.matmul = {matmul, kFloatingTypes};
  // convolution and pooling (conv.cpp, pool.cpp)
  t.conv2d = {conv2d, kFloatingTypes};
  t.conv_transpose2d = {conv_transpose2d, kFloatingTypes};
  t.conv2d_weight = {conv2d_weight, kFloatingTypes};
  t.max_pool2d = {max_pool2d, kFloatingTypes};
  t.max_pool2d_backward = {max_pool2d_backward, kFloatingTypes};
  t.max_pool2d_gather = {max_pool2d_gather, kFloatingTypes};
  t.avg_pool2d = {avg_pool2d, kFloatingTypes};
  t.avg_pool2d_backward = {avg_pool2d_backward, kFloatingTypes};
  // normalisation (norm.cpp)
  t.batch_norm = {batch_norm, kFloatingTypes};
  t.batch_norm_backward = {batch_norm_backward, kFloatingTypes};
  // softmax and fused losses (softmax.cpp, loss.cpp)
  t.softmax = {softmax, kFloatingTypes};
  t.log_softmax = {log_softmax, kFloatingTypes};
  t.softmax_backward = {softmax_backward, kFloatingTypes};
  t.log_softmax_backward = {log_softmax_backward, kFloatingTypes};
  t.binary_cross_entropy = {binary_cross_entropy, kFloatingTypes};
  t.binary_cross_entropy_backward = {binary_cross_entropy_backward, kFloatingTypes};
  t.bce_with_logits = {bce_with_logits, kFloatingTypes};
  t.bce_with_logits_backward = {bce_with_logits_backward, kFloatingTypes};
  t.cross_entropy = {cross_entropy, kFloatingTypes};
  t.cross_entropy_backward = {cross_entropy_backward, kFloatingTypes};
  // fused optimizer updates (optim.cpp)
  t.sgd_update = {sgd_update, kFloatingTypes};
  t.adam_update = {adam_update, kFloatingTypes};
  t.rmsprop_update = {rmsprop_update, kFloatingTypes};
  return t;
}

}  // namespace tg::reference
