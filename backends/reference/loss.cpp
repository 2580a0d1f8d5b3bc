// Reference fused losses and their input gradients: binary_cross_entropy, bce_with_logits,
// cross_entropy. Per-element math in the element type T, sums accumulated in double.
//
// Operands as the op layer (autograd/ops/loss.cpp) passes them: for the binary losses input
// and target share a shape and weight / pos_weight are undefined or expanded to it; for
// cross_entropy input is [N, C], target int64 [N] with values in [0, C), weight [C] or
// undefined. out and grad_out are 0-dim for mean / sum and per-element (per-row) for none.
#include <algorithm>
#include <cmath>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {
namespace {

constexpr int kNone = 0, kMean = 1;

// An optional operand: its data and strides, or the constant 1 (all strides 0) when undefined.
template <typename T>
struct OrOne {
  const T* data;
  Shape strides;
};

template <typename T>
OrOne<T> or_one(const Tensor& t, size_t ndim, const T& one) {
  if (t.defined()) return {typed<T>(t), t.strides()};
  return {&one, Shape(ndim, 0)};
}

// out = reduce_i w_i * f(x_i, y_i, pw_i) for a binary loss f.
template <typename T, typename F>
void binary_loss(const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& weight,
                 const Tensor& pos_weight, int reduction, F f) {
  const size_t nd = input.dim();
  const T one = 1;
  const OrOne<T> w = or_one(weight, nd, one), pw = or_one(pos_weight, nd, one);
  const Shape no_strides(nd, 0);
  const Shape& out_strides = reduction == kNone ? out.strides() : no_strides;
  T* y = typed<T>(out);
  const T *xi = typed<T>(input), *ti = typed<T>(target);
  double acc = 0;
  for_each_offset<5>(input.shape(), {&out_strides, &input.strides(), &target.strides(), &w.strides, &pw.strides},
                     [&](const auto& o) {
                       const T l = w.data[o[3]] * f(xi[o[1]], ti[o[2]], pw.data[o[4]]);
                       if (reduction == kNone) y[o[0]] = l;
                       else acc += l;
                     });
  if (reduction != kNone) *y = static_cast<T>(reduction == kMean ? acc / input.numel() : acc);
}

// grad_input_i = g_i * scale * w_i * df(x_i, y_i, pw_i), scale = 1/n for mean.
template <typename T, typename F>
void binary_loss_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                          const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                          int reduction, F df) {
  const size_t nd = input.dim();
  const T one = 1;
  const OrOne<T> w = or_one(weight, nd, one), pw = or_one(pos_weight, nd, one);
  const Shape no_strides(nd, 0);
  const Shape& g_strides = reduction == kNone ? grad_out.strides() : no_strides;
  const T scale = reduction == kMean ? T(1) / static_cast<T>(input.numel()) : T(1);
  T* dx = typed<T>(grad_input);
  const T *g = typed<T>(grad_out), *xi = typed<T>(input), *ti = typed<T>(target);
  for_each_offset<6>(input.shape(),
                     {&grad_input.strides(), &g_strides, &input.strides(), &target.strides(), &w.strides, &pw.strides},
                     [&](const auto& o) {
                       dx[o[0]] = g[o[1]] * scale * w.data[o[4]] * df(xi[o[2]], ti[o[3]], pw.data[o[5]]);
                     });
}

// -(y log x + (1 - y) log(1 - x)), each log clamped at -100 so x = 0 or 1 stays finite.
template <typename T>
T bce(T x, T y, T) {
  const T log_x = std::max(std::log(x), T(-100)), log_1mx = std::max(std::log1p(-x), T(-100));
  return (y - 1) * log_1mx - y * log_x;
}

// d/dx = (x - y) / (x (1 - x)), the denominator kept >= PyTorch's EPSILON (the float 1e-12f).
template <typename T>
T bce_grad(T x, T y, T) {
  return (x - y) / std::max((1 - x) * x, static_cast<T>(1e-12f));
}

// With lw = 1 + (pw - 1) y:  -(pw y log s(x) + (1 - y) log(1 - s(x)))
//   = (1 - y) x + lw log(1 + e^-x) = (1 - y) x + lw (log1p(e^-|x|) + max(-x, 0)):
// no exp of a positive number, exact for |x| = 1000.
template <typename T>
T bce_logits(T x, T y, T pw) {
  const T lw = 1 + (pw - 1) * y;
  return (1 - y) * x + lw * (std::log1p(std::exp(-std::abs(x))) + std::max(-x, T(0)));
}

// d/dx = (1 - y) - lw s(-x) = lw s(x) - pw y.
template <typename T>
T bce_logits_grad(T x, T y, T pw) {
  const T e = std::exp(-std::abs(x)), s = x >= 0 ? 1 / (1 + e) : e / (1 + e);
  return (1 + (pw - 1) * y) * s - pw * y;
}

// logsumexp of row `row` of an [N, C] input as max m and log s = log sum_c exp(x_c - m), kept
// apart: x_c - m is exact for nearby values, m + log s would round at m's scale.
struct RowLogSumExp {
  double m, log_s;
};

template <typename T>
RowLogSumExp row_logsumexp(const T* x, int64_t row, int64_t n, int64_t stride) {
  T m = x[row];
  for (int64_t c = 1; c < n; ++c) m = std::max(m, x[row + c * stride]);
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += std::exp(static_cast<double>(x[row + c * stride]) - m);
  return {static_cast<double>(m), std::log(s)};
}

// Visits the rows of a cross_entropy problem: f(i, row offset, class t, class weight w[t]).
template <typename T, typename F>
void for_each_row(const Tensor& input, const Tensor& target, const Tensor& weight, F&& f) {
  const int64_t n = input.size(0);
  const T* w = weight.defined() ? typed<T>(weight) : nullptr;
  const int64_t* t = typed<int64_t>(target);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cls = t[i * target.stride(0)];
    f(i, i * input.stride(0), cls, w ? static_cast<double>(w[cls * weight.stride(0)]) : 1.0);
  }
}

}  // namespace

void binary_cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target,
                          const Tensor& weight, const Tensor& pos_weight, int reduction) {
  dispatch_floating(input.dtype(), "binary_cross_entropy", [&]<typename T>() {
    binary_loss<T>(out, input, target, weight, pos_weight, reduction, bce<T>);
  });
}

void binary_cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                                   const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                                   int reduction) {
  dispatch_floating(input.dtype(), "binary_cross_entropy_backward", [&]<typename T>() {
    binary_loss_backward<T>(grad_input, grad_out, input, target, weight, pos_weight, reduction, bce_grad<T>);
  });
}

void bce_with_logits(const Tensor& out, const Tensor& input, const Tensor& target,
                     const Tensor& weight, const Tensor& pos_weight, int reduction) {
  dispatch_floating(input.dtype(), "bce_with_logits", [&]<typename T>() {
    binary_loss<T>(out, input, target, weight, pos_weight, reduction, bce_logits<T>);
  });
}

void bce_with_logits_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                              const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                              int reduction) {
  dispatch_floating(input.dtype(), "bce_with_logits_backward", [&]<typename T>() {
    binary_loss_backward<T>(grad_input, grad_out, input, target, weight, pos_weight, reduction, bce_logits_grad<T>);
  });
}

// loss_i = w[t_i] (logsumexp(x_i) - x_i[t_i]); mean divides by sum_i w[t_i] (PyTorch).
void cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target,
                   const Tensor& weight, const Tensor&, int reduction) {
  dispatch_floating(input.dtype(), "cross_entropy", [&]<typename T>() {
    const int64_t c = input.size(1), sc = input.stride(1);
    const T* x = typed<T>(input);
    T* y = typed<T>(out);
    double acc = 0, weight_sum = 0;
    for_each_row<T>(input, target, weight, [&](int64_t i, int64_t row, int64_t cls, double wt) {
      const RowLogSumExp lse = row_logsumexp(x, row, c, sc);
      const double l = wt * ((lse.m - x[row + cls * sc]) + lse.log_s);
      if (reduction == kNone) y[i * out.stride(0)] = static_cast<T>(l);
      acc += l;
      weight_sum += wt;
    });
    if (reduction != kNone) *y = static_cast<T>(reduction == kMean ? acc / weight_sum : acc);
  });
}

// dx_ic = g_i * scale * w[t_i] (softmax(x_i)_c - [c = t_i]), scale = 1 / sum_i w[t_i] for mean.
void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor&, int reduction) {
  dispatch_floating(input.dtype(), "cross_entropy_backward", [&]<typename T>() {
    const int64_t c = input.size(1), sc = input.stride(1), dsc = grad_input.stride(1);
    const T* x = typed<T>(input);
    const T* g = typed<T>(grad_out);
    T* dx = typed<T>(grad_input);
    double scale = 1;
    if (reduction == kMean) {
      double weight_sum = 0;
      for_each_row<T>(input, target, weight, [&](int64_t, int64_t, int64_t, double wt) { weight_sum += wt; });
      scale = 1 / weight_sum;
    }
    for_each_row<T>(input, target, weight, [&](int64_t i, int64_t row, int64_t cls, double wt) {
      const RowLogSumExp lse = row_logsumexp(x, row, c, sc);
      const double gi = (reduction == kNone ? g[i * grad_out.stride(0)] : *g) * scale * wt;
      for (int64_t k = 0; k < c; ++k) {
        const double p = std::exp((static_cast<double>(x[row + k * sc]) - lse.m) - lse.log_s);
        dx[i * grad_input.stride(0) + k * dsc] = static_cast<T>(gi * (p - (k == cls ? 1.0 : 0.0)));
      }
    });
  });
}

}  // namespace tg::reference
