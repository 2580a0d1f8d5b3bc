// Activations: relu, leaky_relu, sigmoid, tanh, softplus. Backward formulas use the saved
// output where it gives the derivative directly (sigmoid' = y(1-y), tanh' = 1-y^2); relu and
// leaky_relu share one fused backward op (one pass instead of a compare, a scale and a select).
#include "autograd/ops/unary_op.h"

namespace tg {

using autograd::BackwardContext;
using detail::leaky_relu_backward;
using detail::run_unary;

namespace detail {

// gx = leaky_relu'(x) gy = (x > 0 ? 1 : slope) gy; relu's with slope 0 (0 exactly). Linear in
// gy with a derivative in x that is 0 almost everywhere, so its own backward is the same op on
// the incoming gradient, and x gets none: create_graph works to any order.
Tensor leaky_relu_backward(const Tensor& gy, const Tensor& x, double slope) {
  Tensor gx = detail::empty_with(x.shape(), x);
  TG_KERNEL(leaky_relu_backward, x)(gx, gy, x, slope);
  autograd::record("LeakyReluBackwardBackward", {gy, x}, {gx}, {x}, [slope](const BackwardContext& c) {
    return TensorList{c.needs(0) ? leaky_relu_backward(c.grads[0], c.saved[0], slope) : Tensor(),
                      Tensor()};
  });
  return gx;
}

Tensor tanh_backward(const Tensor& gy, const Tensor& y) { return gy * (1.0 - y * y); }
Tensor sigmoid_backward(const Tensor& gy, const Tensor& y) { return gy * (y * (1.0 - y)); }

}  // namespace detail

Tensor relu(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::relu, &kernel::KernelTable::relu);
  autograd::record("ReluBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
    return TensorList{leaky_relu_backward(c.grads[0], c.saved[0], 0.0)};  // y > 0 iff x > 0
  });
  return y;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = run_unary(x, kernel::OpId::leaky_relu, &kernel::KernelTable::leaky_relu, slope);
  autograd::record("LeakyReluBackward", {x}, {y}, {x}, [slope](const BackwardContext& c) {
    return TensorList{leaky_relu_backward(c.grads[0], c.saved[0], slope)};
  });
  return y;
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::sigmoid, &kernel::KernelTable::sigmoid);
  autograd::record("SigmoidBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
    return TensorList{detail::sigmoid_backward(c.grads[0], c.saved[0])};
  });
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::tanh, &kernel::KernelTable::tanh);
  autograd::record("TanhBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
    return TensorList{detail::tanh_backward(c.grads[0], c.saved[0])};
  });
  return y;
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  TG_CHECK(beta != 0.0, "softplus", "beta must be nonzero");
  Tensor y = run_unary(x, kernel::OpId::softplus, &kernel::KernelTable::softplus, beta, threshold);
  autograd::record("SoftplusBackward", {x}, {y}, {x}, [beta, threshold](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &v = c.saved[0];
    Tensor bx = v * beta;  // d/dx log(1 + e^(bx)) / b = sigmoid(bx); linear above threshold
    return TensorList{where(bx > threshold, g, g * sigmoid(bx))};
  });
  return y;
}

Tensor Tensor::relu() const { return tg::relu(*this); }
Tensor Tensor::sigmoid() const { return tg::sigmoid(*this); }
Tensor Tensor::tanh() const { return tg::tanh(*this); }

}  // namespace tg
