// Broadcasting binary ops (add, sub, mul, div), comparisons and where, with their backward
// formulas. A gradient flowing into a broadcast operand is summed back to its shape.
#include <cmath>

#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;
using kernel::binary_fn;

// Broadcasts a and b to a common shape (stride-0 views, no copies) and runs `kernel`.
Tensor run_binary(const Tensor& a, const Tensor& b, const kernel::KernelCall<binary_fn>& kernel,
                  DType out_dtype, const char* op) {
  Shape s = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = detail::empty_with(s, out_dtype, a);
  NoGradGuard no_grad;  // the broadcast views are internal, not part of the tape
  kernel(out, a.expand(s), b.expand(s));
  return out;
}

template <kernel::OpId Op>
Tensor arithmetic(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_same_kind(a, b, op);
  const auto& slot = [&]() -> const kernel::Slot<binary_fn>& {
    const auto& t = kernel::table_for(a.device());
    if constexpr (Op == kernel::OpId::add) return t.add;
    if constexpr (Op == kernel::OpId::sub) return t.sub;
    if constexpr (Op == kernel::OpId::mul) return t.mul;
    if constexpr (Op == kernel::OpId::div) return t.div;
  }();
  return run_binary(a, b, kernel::lookup(slot, Op, a.dtype(), a.device()), a.dtype(), op);
}

Tensor compare(const Tensor& a, const Tensor& b, const kernel::Slot<binary_fn>& slot,
               kernel::OpId id) {
  const char* op = kernel::op_name(id);
  detail::check_same_kind(a, b, op);
  return run_binary(a, b, kernel::lookup(slot, id, a.dtype(), a.device()), kBool, op);
}

// alpha scales an integral b exactly only when it is a whole number (PyTorch refuses a floating
// alpha for integral tensors; here alpha is a double, so its value is what is checked).
void check_alpha(const Tensor& b, double alpha, const char* op) {
  detail::check_defined(b, op, "second operand");
  TG_CHECK(is_floating(b.dtype()) || alpha == std::trunc(alpha), op, "alpha ", alpha,
           " is not a whole number, but the operands are ", dtype_name(b.dtype()),
           " (it would be truncated); convert them to a floating dtype");
}

// `a cmp b` compared in result_type(a's dtype, b).
template <Tensor (*Compare)(const Tensor&, const Tensor&)>
Tensor compare_scalar(const Tensor& a, const Scalar& b, const char* op) {
  const Tensor t = detail::promote_for(a, b, op);
  return Compare(t, detail::scalar_like(b, t));
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    TG_CHECK(da == db || da == 1 || db == 1, op, "shapes ", shape_str(a), " and ", shape_str(b),
             " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to_size(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const int64_t lead = t.dim() - static_cast<int64_t>(shape.size());
  TG_CHECK(lead >= 0, "sum_to_size", "cannot sum ", t.str(), " to the larger shape ", shape_str(shape));
  Shape dims;
  for (int64_t i = 0; i < t.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
    } else {
      int64_t want = shape[i - lead];
      TG_CHECK(want == t.size(i) || want == 1, "sum_to_size", "shape ", shape_str(shape),
               " is not broadcastable to ", t.str());
      if (want == 1 && t.size(i) != 1) dims.push_back(i);
    }
  }
  return dims.empty() ? t.reshape(shape) : sum(t, dims, true).reshape(shape);
}

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  if (alpha != 1.0) {
    check_alpha(b, alpha, "add");
    return add(a, mul(b, detail::scalar_like(alpha, b)));
  }
  Tensor out = arithmetic<kernel::OpId::add>(a, b, "add");
  Shape sa = a.shape(), sb = b.shape();
  autograd::record("AddBackward", {a, b}, {out}, {}, [sa, sb](const BackwardContext& c) {
    const Tensor& g = c.grads[0];
    return TensorList{c.needs(0) ? sum_to_size(g, sa) : Tensor(),
                      c.needs(1) ? sum_to_size(g, sb) : Tensor()};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  if (alpha != 1.0) {
    check_alpha(b, alpha, "sub");
    return sub(a, mul(b, detail::scalar_like(alpha, b)));
  }
  Tensor out = arithmetic<kernel::OpId::sub>(a, b, "sub");
  Shape sa = a.shape(), sb = b.shape();
  autograd::record("SubBackward", {a, b}, {out}, {}, [sa, sb](const BackwardContext& c) {
    const Tensor& g = c.grads[0];
    return TensorList{c.needs(0) ? sum_to_size(g, sa) : Tensor(),
                      c.needs(1) ? sum_to_size(neg(g), sb) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic<kernel::OpId::mul>(a, b, "mul");
  autograd::record("MulBackward", {a, b}, {out}, {a, b}, [](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &y = c.saved[1];
    return TensorList{c.needs(0) ? sum_to_size(g * y, x.shape()) : Tensor(),
                      c.needs(1) ? sum_to_size(g * x, y.shape()) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic<kernel::OpId::div>(a, b, "div");
  autograd::record("DivBackward", {a, b}, {out}, {a, b}, [](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &y = c.saved[1];
    // d(x/y)/dx = 1/y;  d(x/y)/dy = -x / y^2
    return TensorList{c.needs(0) ? sum_to_size(g / y, x.shape()) : Tensor(),
                      c.needs(1) ? sum_to_size(-(g * x) / (y * y), y.shape()) : Tensor()};
  });
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
// Tensor-scalar forms: the tensor is promoted to result_type(dtype, scalar) first, and the
// scalar becomes a 0-dim tensor of that dtype.
Tensor operator+(const Tensor& a, Scalar b) {
  const Tensor t = detail::promote_for(a, b, "add");
  return add(t, detail::scalar_like(b, t));
}
Tensor operator-(const Tensor& a, Scalar b) {
  const Tensor t = detail::promote_for(a, b, "sub");
  return sub(t, detail::scalar_like(b, t));
}
Tensor operator*(const Tensor& a, Scalar b) {
  const Tensor t = detail::promote_for(a, b, "mul");
  return mul(t, detail::scalar_like(b, t));
}
Tensor operator/(const Tensor& a, Scalar b) {
  const Tensor t = detail::promote_for(a, b, "div");
  return div(t, detail::scalar_like(b, t));
}
Tensor operator+(Scalar a, const Tensor& b) {
  const Tensor t = detail::promote_for(b, a, "add");
  return add(detail::scalar_like(a, t), t);
}
Tensor operator-(Scalar a, const Tensor& b) {
  const Tensor t = detail::promote_for(b, a, "sub");
  return sub(detail::scalar_like(a, t), t);
}
Tensor operator*(Scalar a, const Tensor& b) {
  const Tensor t = detail::promote_for(b, a, "mul");
  return mul(detail::scalar_like(a, t), t);
}
Tensor operator/(Scalar a, const Tensor& b) {
  const Tensor t = detail::promote_for(b, a, "div");
  return div(detail::scalar_like(a, t), t);
}
Tensor operator-(const Tensor& a) { return neg(a); }

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, kernel::table_for(a.device()).eq, kernel::OpId::eq); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, kernel::table_for(a.device()).ne, kernel::OpId::ne); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, kernel::table_for(a.device()).lt, kernel::OpId::lt); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, kernel::table_for(a.device()).le, kernel::OpId::le); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, kernel::table_for(a.device()).gt, kernel::OpId::gt); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, kernel::table_for(a.device()).ge, kernel::OpId::ge); }
Tensor operator==(const Tensor& a, Scalar b) { return compare_scalar<eq>(a, b, "eq"); }
Tensor operator!=(const Tensor& a, Scalar b) { return compare_scalar<ne>(a, b, "ne"); }
Tensor operator<(const Tensor& a, Scalar b) { return compare_scalar<lt>(a, b, "lt"); }
Tensor operator<=(const Tensor& a, Scalar b) { return compare_scalar<le>(a, b, "le"); }
Tensor operator>(const Tensor& a, Scalar b) { return compare_scalar<gt>(a, b, "gt"); }
Tensor operator>=(const Tensor& a, Scalar b) { return compare_scalar<ge>(a, b, "ge"); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_same_kind(a, b, "where");
  detail::check_defined(cond, "where", "condition");
  TG_CHECK(cond.dtype() == kBool, "where", "condition must be a bool tensor, got ", cond.str());
  TG_CHECK(cond.device() == a.device(), "where", "device mismatch: condition ", cond.str(),
           " and operand ", a.str());
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = detail::empty_with(s, a);
  {
    NoGradGuard no_grad;
    TG_KERNEL(where, a)(out, cond.expand(s), a.expand(s), b.expand(s));
  }
  Shape sa = a.shape(), sb = b.shape();
  autograd::record("WhereBackward", {a, b}, {out}, {cond}, [sa, sb](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &m = c.saved[0];
    return TensorList{c.needs(0) ? sum_to_size(where(m, g, 0.0), sa) : Tensor(),
                      c.needs(1) ? sum_to_size(where(m, 0.0, g), sb) : Tensor()};
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, Scalar b) {
  const Tensor t = detail::promote_for(a, b, "where");
  return where(cond, t, detail::scalar_like(b, t));
}
Tensor where(const Tensor& cond, Scalar a, const Tensor& b) {
  const Tensor t = detail::promote_for(b, a, "where");
  return where(cond, detail::scalar_like(a, t), t);
}

}  // namespace tg
