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
  t.sum = {sum, kFloatingTypes};
  t.max = {max, kFloatingTypes};
  t.min = {min, kFloatingTypes};
  t.matmul = {matmul, kFloatingTypes};
  // convolution and pooling (conv.cpp, pool.cpp)
  // normalisation (norm.cpp)
  // softmax and fused losses (softmax.cpp, loss.cpp)
  return t;
}

}  // namespace tg::reference
