// tg::Scalar: the number in a tensor-scalar op (t * 2.5, t + 1, t < 0.5, where(c, t, 0)). It
// keeps whether the number was written as a floating-point, integer or bool value, since that
// decides the result's dtype, as in PyTorch: int64 [3] * 2.5 is float32 [7.5], not int64 [6].
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "autograd/dtype.h"

namespace tg {

class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Integral, Floating };  // PyTorch's categories, in order

  Scalar(double v) : kind_(Kind::Floating), f_(v), i_(0) {}  // NOLINT: implicit, as PyTorch's
  template <std::integral I>
  Scalar(I v)  // NOLINT: implicit; an exact match for integer arguments, so t + 1 stays integral
      : kind_(std::is_same_v<I, bool> ? Kind::Bool : Kind::Integral),
        f_(static_cast<double>(v)),
        i_(static_cast<int64_t>(v)) {}

  Kind kind() const { return kind_; }
  double to_double() const { return f_; }
  int64_t to_int64() const { return i_; }  // exact for integral scalars (int64 range)

 private:
  Kind kind_;
  double f_;
  int64_t i_;
};

// The dtype of `t op s` for a tensor of dtype t (PyTorch's result_type with a number operand):
// the scalar decides only when its category is higher than the tensor's (bool < integral <
// floating), and then gives that category's default dtype; otherwise t is kept. So int64 * 2.5
// and bool * 2.5 are float32, bool + 1 is int64, float64 * 2 and float32 * 2.5 keep their dtype.
inline DType result_type(DType t, const Scalar& s) {
  const auto category = [](DType d) {
    if (is_floating(d)) return Scalar::Kind::Floating;
    return d == kBool ? Scalar::Kind::Bool : Scalar::Kind::Integral;
  };
  if (s.kind() <= category(t)) return t;
  return s.kind() == Scalar::Kind::Floating ? kFloat32 : kInt64;
}

}  // namespace tg
