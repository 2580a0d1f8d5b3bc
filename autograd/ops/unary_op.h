// Forward plumbing shared by the elementwise unary ops and activations.
#pragma once

#include "autograd/ops/op_utils.h"

namespace tg::detail {

// y = kernel(x) elementwise (alpha, beta are the op's parameters, see op_list.def).
inline Tensor run_unary(const Tensor& x, kernel::OpId id,
                        kernel::Slot<kernel::unary_fn> kernel::KernelTable::*slot,
                        double alpha = 0.0, double beta = 0.0) {
  check_floating(x, kernel::op_name(id));
  Tensor y = empty_with(x.shape(), x);
  const auto& table = kernel::table_for(x.device());
  kernel::lookup(table.*slot, id, x.dtype(), x.device())(y, x, alpha, beta);
  return y;
}

}  // namespace tg::detail
