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

// A 0-dim tensor holding `value` with t's dtype and device (the scalar forms of binary ops).
inline Tensor scalar_like(double value, const Tensor& t) {
  return full({}, value, TensorOptions(t.dtype()).device(t.device()));
}

}  // namespace tg::detail
