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

// Activation derivatives applied to an incoming gradient gy, as the activations' backward
// nodes write them (autograd/ops/activation.cpp); fused convolutions share them.
// gx = (x > 0 ? 1 : slope) gy, relu's with slope 0; differentiable in gy to any order.
Tensor leaky_relu_backward(const Tensor& gy, const Tensor& x, double slope);
Tensor tanh_backward(const Tensor& gy, const Tensor& y);     // gy (1 - y^2), y = tanh(x)
Tensor sigmoid_backward(const Tensor& gy, const Tensor& y);  // gy y (1 - y), y = sigmoid(x)

}  // namespace tg::detail
