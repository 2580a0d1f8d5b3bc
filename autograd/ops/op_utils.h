// Small helpers shared by the op files: operand checks and output allocation.
#pragma once

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "backends/kernels.h"

namespace tg::detail {

inline void check_defined(const Tensor& t, const char* op, const char* what) {
  TG_CHECK(t.defined(), op, what, " is an undefined tensor");
}

// Both operands share dtype and device, or a tg::Error names the op and both operands.
inline void check_same_kind(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "first operand");
  check_defined(b, op, "second operand");
  TG_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", a.str(), " and ", b.str(),
           "; convert one with .to(dtype)");
  TG_CHECK(a.device() == b.device(), op, "device mismatch: ", a.str(), " and ", b.str(),
           "; move one with .to(device)");
}

inline void check_floating(const Tensor& t, const char* op) {
  check_defined(t, op, "input");
  TG_CHECK(is_floating(t.dtype()), op, "expected a float32 or float64 tensor, got ", t.str());
}

inline Tensor empty_with(const Shape& shape, const Tensor& like) {
  return empty(shape, TensorOptions(like.dtype()).device(like.device()));
}

inline Tensor empty_with(const Shape& shape, DType dtype, const Tensor& like) {
  return empty(shape, TensorOptions(dtype).device(like.device()));
}

// Output-size formulas (convolution, pooling) evaluated in 128 bits: a hostile stride, padding
// or dilation (each up to 2^63 - 1) times or plus a size can leave int64, never __int128.
using Wide = __int128;

// v in decimal (iostreams do not print __int128).
inline std::string wide_str(Wide v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  for (; v != 0; v /= 10) {
    const int digit = static_cast<int>(negative ? -(v % 10) : v % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + digit));
  }
  return negative ? "-" + digits : digits;
}

// A computed output size as int64, or a tg::Error naming the op when it does not fit.
inline int64_t output_size(Wide v, const char* op, const char* what) {
  TG_CHECK(v >= INT64_MIN && v <= INT64_MAX, op, what, " ", wide_str(v), " does not fit in int64");
  return static_cast<int64_t>(v);
}

// A 0-dim tensor holding `value` with t's dtype and device (the scalar forms of binary ops;
// their callers first promote t to result_type). An integral value stays exact in int64.
inline Tensor scalar_like(const Scalar& value, const Tensor& t) {
  if (t.dtype() == kInt64 && value.kind() != Scalar::Kind::Floating)
    return tensor<int64_t>({value.to_int64()}, {}).to(t.device());
  return full({}, value.to_double(), TensorOptions(t.dtype()).device(t.device()));
}

// t converted to result_type(t's dtype, s) (a no-op unless the scalar promotes it).
inline Tensor promote_for(const Tensor& t, const Scalar& s, const char* op) {
  check_defined(t, op, "tensor operand");
  return t.to(result_type(t.dtype(), s));
}

}  // namespace tg::detail
