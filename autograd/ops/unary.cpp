// Elementwise math: neg, exp, log, sqrt, rsqrt, abs, sign, pow (scalar exponent), clamp.
// Each backward is the derivative times the incoming gradient, in differentiable ops.
#include <limits>

#include "autograd/ops/unary_op.h"

namespace tg {

using autograd::BackwardContext;
using detail::run_unary;

Tensor neg(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::neg, &kernel::KernelTable::neg);
  autograd::record("NegBackward", {x}, {y}, {}, [](const BackwardContext& c) {
    return TensorList{neg(c.grads[0])};
  });
  return y;
}

Tensor exp(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::exp, &kernel::KernelTable::exp);
  autograd::record("ExpBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
    return TensorList{c.grads[0] * c.saved[0]};  // d/dx e^x = e^x
  });
  return y;
}

Tensor log(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::log, &kernel::KernelTable::log);
  autograd::record("LogBackward", {x}, {y}, {x}, [](const BackwardContext& c) {
    return TensorList{c.grads[0] / c.saved[0]};
  });
  return y;
}

Tensor sqrt(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::sqrt, &kernel::KernelTable::sqrt);
  autograd::record("SqrtBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
    return TensorList{c.grads[0] / (c.saved[0] * 2.0)};  // d/dx sqrt(x) = 1 / (2 sqrt(x))
  });
  return y;
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::rsqrt, &kernel::KernelTable::rsqrt);
  autograd::record("RsqrtBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
    const Tensor& r = c.saved[0];  // d/dx x^(-1/2) = -1/2 x^(-3/2) = -r^3 / 2
    return TensorList{c.grads[0] * (r * r * r) * -0.5};
  });
  return y;
}

Tensor abs(const Tensor& x) {
  Tensor y = run_unary(x, kernel::OpId::abs, &kernel::KernelTable::abs);
  autograd::record("AbsBackward", {x}, {y}, {x}, [](const BackwardContext& c) {
    return TensorList{c.grads[0] * sign(c.saved[0])};  // subgradient 0 at 0, as PyTorch
  });
  return y;
}

Tensor sign(const Tensor& x) {
  NoGradGuard no_grad;  // piecewise constant: no gradient flows through it
  return run_unary(x, kernel::OpId::sign, &kernel::KernelTable::sign);
}

// The floating exponent promotes an integral or bool x to float32 (x is x otherwise).
Tensor pow(const Tensor& x_in, double p) {
  const Tensor x = detail::promote_for(x_in, p, "pow");
  Tensor y = run_unary(x, kernel::OpId::pow_scalar, &kernel::KernelTable::pow_scalar, p);
  autograd::record("PowBackward", {x}, {y}, {x}, [p](const BackwardContext& c) {
    if (p == 0.0) return TensorList{zeros_like(c.grads[0])};
    return TensorList{c.grads[0] * (pow(c.saved[0], p - 1.0) * p)};  // p x^(p-1)
  });
  return y;
}

Tensor square(const Tensor& x) { return pow(x, 2.0); }

// The floating bounds promote an integral or bool x to float32, as pow's exponent does.
Tensor clamp(const Tensor& x_in, std::optional<double> min, std::optional<double> max) {
  TG_CHECK(min || max, "clamp", "at least one of min and max must be given");
  const Tensor x = detail::promote_for(x_in, min.value_or(0.0), "clamp");
  const double lo = min.value_or(-std::numeric_limits<double>::infinity());
  const double hi = max.value_or(std::numeric_limits<double>::infinity());
  Tensor y = run_unary(x, kernel::OpId::clamp, &kernel::KernelTable::clamp, lo, hi);
  autograd::record("ClampBackward", {x}, {y}, {x}, [lo, hi](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &v = c.saved[0];
    // The gradient passes where lo <= x <= hi (both ends included, as PyTorch).
    return TensorList{where(v < lo, 0.0, where(v > hi, 0.0, g))};
  });
  return y;
}

Tensor clamp_min(const Tensor& x, double min) { return clamp(x, min, std::nullopt); }

Tensor Tensor::pow(double e) const { return tg::pow(*this, e); }
Tensor Tensor::exp() const { return tg::exp(*this); }
Tensor Tensor::log() const { return tg::log(*this); }
Tensor Tensor::sqrt() const { return tg::sqrt(*this); }
Tensor Tensor::abs() const { return tg::abs(*this); }
Tensor Tensor::neg() const { return tg::neg(*this); }

}  // namespace tg
