// Reference elementwise kernels: unary maps, binary arithmetic and comparisons, where.
// Math is done in the element type T (float32 rounds as the faster backends do).
#include <cmath>
#include <limits>
#include <type_traits>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {

using kernel::OpId;

template <OpId Op, typename T>
static T unary_value(T x, T alpha, T beta) {
  if constexpr (Op == OpId::neg) return -x;
  if constexpr (Op == OpId::exp) return std::exp(x);
  if constexpr (Op == OpId::log) return std::log(x);
  if constexpr (Op == OpId::sqrt) return std::sqrt(x);
  if constexpr (Op == OpId::rsqrt) return T(1) / std::sqrt(x);
  if constexpr (Op == OpId::abs) return std::abs(x);
  if constexpr (Op == OpId::sign) return static_cast<T>((x > 0) - (x < 0));
  if constexpr (Op == OpId::relu) return x < 0 ? T(0) : x;  // NaN passes through
  if constexpr (Op == OpId::leaky_relu) return x < 0 ? x * alpha : x;
  if constexpr (Op == OpId::sigmoid) {
    // Never exponentiate a positive number: exp(-|x|) <= 1 cannot overflow.
    T e = std::exp(-std::abs(x));
    return x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
  if constexpr (Op == OpId::tanh) return std::tanh(x);
  if constexpr (Op == OpId::softplus) {
    // softplus(x) = log(1 + exp(beta x)) / beta, linear above the threshold (as PyTorch).
    T bx = alpha * x;
    return bx > beta ? x : std::log1p(std::exp(bx)) / alpha;
  }
  if constexpr (Op == OpId::pow_scalar) return std::pow(x, alpha);
  if constexpr (Op == OpId::clamp) {
    if (std::isnan(x)) return x;
    return x < alpha ? alpha : (x > beta ? beta : x);
  }
}

template <OpId Op>
void unary(const Tensor& out, const Tensor& in, double alpha, double beta) {
  dispatch_floating(in.dtype(), kernel::op_name(Op), [&]<typename T>() {
    T* y = typed<T>(out);
    const T* x = typed<T>(in);
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    for_each_offset<2>(out.shape(), {&out.strides(), &in.strides()},
                       [&](const auto& o) { y[o[0]] = unary_value<Op, T>(x[o[1]], a, b); });
  });
}

template <OpId Op, typename T>
static auto binary_value(T a, T b) {
  // int64 add, sub and mul wrap around (two's complement) as in NumPy and PyTorch: computed in
  // uint64, since signed overflow is undefined behaviour in C++.
  using W = std::conditional_t<std::is_same_v<T, int64_t>, uint64_t, T>;
  if constexpr (Op == OpId::add) return static_cast<decltype(a + b)>(W(a) + W(b));
  if constexpr (Op == OpId::sub) return static_cast<decltype(a - b)>(W(a) - W(b));
  if constexpr (Op == OpId::mul) return static_cast<decltype(a * b)>(W(a) * W(b));
  if constexpr (Op == OpId::div) return a / b;
  if constexpr (Op == OpId::eq) return a == b;
  if constexpr (Op == OpId::ne) return a != b;
  if constexpr (Op == OpId::lt) return a < b;
  if constexpr (Op == OpId::le) return a <= b;
  if constexpr (Op == OpId::gt) return a > b;
  if constexpr (Op == OpId::ge) return a >= b;
}

template <OpId Op>
void binary(const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_all(a.dtype(), [&]<typename T>() {
    using R = decltype(binary_value<Op, T>(T(), T()));
    if constexpr (Op == OpId::div && !std::is_floating_point_v<T>) {
      // div is true division (torch.div): an integer quotient would truncate instead, and a
      // zero divisor or INT64_MIN / -1 would trap (SIGFPE) and end the process.
      TG_ERROR(kernel::op_name(Op), "integer division is not supported (", dtype_name(a.dtype()),
               " operands): div is true division, as torch.div; convert the operands to a floating dtype");
    } else if constexpr (!std::is_same_v<R, bool> && !std::is_same_v<R, T>) {
      TG_ERROR(kernel::op_name(Op), "arithmetic on ", dtype_name(a.dtype()), " is not supported");
    } else {
    R* y = typed<R>(out);
    const T* pa = typed<T>(a);
    const T* pb = typed<T>(b);
    for_each_offset<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()},
                       [&](const auto& o) { y[o[0]] = binary_value<Op, T>(pa[o[1]], pb[o[2]]); });
    }
  });
}

void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  dispatch_all(a.dtype(), [&]<typename T>() {
    T* y = typed<T>(out);
    const bool* c = typed<bool>(cond);
    const T* pa = typed<T>(a);
    const T* pb = typed<T>(b);
    for_each_offset<4>(out.shape(), {&out.strides(), &cond.strides(), &a.strides(), &b.strides()},
                       [&](const auto& o) { y[o[0]] = c[o[1]] ? pa[o[2]] : pb[o[3]]; });
  });
}

// The derivative of leaky_relu (relu: slope 0) applied to gy: 1 where x > 0, slope elsewhere.
void leaky_relu_backward(const Tensor& gx, const Tensor& gy, const Tensor& x, double slope) {
  dispatch_floating(x.dtype(), "leaky_relu_backward", [&]<typename T>() {
    T* out = typed<T>(gx);
    const T* g = typed<T>(gy);
    const T* v = typed<T>(x);
    const T s = static_cast<T>(slope);
    for_each_offset<3>(gx.shape(), {&gx.strides(), &gy.strides(), &x.strides()}, [&](const auto& o) {
      out[o[0]] = v[o[2]] > T(0) ? g[o[1]] : (s == T(0) ? T(0) : g[o[1]] * s);
    });
  });
}

#define TG_INSTANTIATE_UNARY(name) template void unary<OpId::name>(const Tensor&, const Tensor&, double, double);
#define TG_INSTANTIATE_BINARY(name) template void binary<OpId::name>(const Tensor&, const Tensor&, const Tensor&);
TG_INSTANTIATE_UNARY(neg) TG_INSTANTIATE_UNARY(exp) TG_INSTANTIATE_UNARY(log)
TG_INSTANTIATE_UNARY(sqrt) TG_INSTANTIATE_UNARY(rsqrt) TG_INSTANTIATE_UNARY(abs)
TG_INSTANTIATE_UNARY(sign) TG_INSTANTIATE_UNARY(relu) TG_INSTANTIATE_UNARY(leaky_relu)
TG_INSTANTIATE_UNARY(sigmoid) TG_INSTANTIATE_UNARY(tanh) TG_INSTANTIATE_UNARY(softplus)
TG_INSTANTIATE_UNARY(pow_scalar) TG_INSTANTIATE_UNARY(clamp)
TG_INSTANTIATE_BINARY(add) TG_INSTANTIATE_BINARY(sub) TG_INSTANTIATE_BINARY(mul)
TG_INSTANTIATE_BINARY(div) TG_INSTANTIATE_BINARY(eq) TG_INSTANTIATE_BINARY(ne)
TG_INSTANTIATE_BINARY(lt) TG_INSTANTIATE_BINARY(le) TG_INSTANTIATE_BINARY(gt)
TG_INSTANTIATE_BINARY(ge)
#undef TG_INSTANTIATE_UNARY
#undef TG_INSTANTIATE_BINARY

}  // namespace tg::reference
