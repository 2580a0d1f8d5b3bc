// Reference softmax and log_softmax along one dim, with their backward kernels. Each 1-D
// slice along `dim` is shifted by its max before exponentiating, so no exp overflows, and
// its sums are accumulated in double (as the reference reductions are).
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {
namespace {

// Calls f(offsets) once per 1-D slice of `shape` along `dim`; offsets[k] is the slice's first
// element in operand k. The slice itself is walked by f with each operand's stride at dim.
template <size_t K, typename F>
void for_each_slice(const Shape& shape, int64_t dim, const std::array<const Shape*, K>& strides, F&& f) {
  Shape outer = shape;
  outer[dim] = 1;
  for_each_offset<K>(outer, strides, f);
}

// out = softmax (Log = false) or log_softmax (Log = true) of in along dim.
template <bool Log>
void softmax_forward(const Tensor& out, const Tensor& in, int64_t dim) {
  dispatch_floating(in.dtype(), Log ? "log_softmax" : "softmax", [&]<typename T>() {
    const int64_t n = in.size(dim), sx = in.stride(dim), sy = out.stride(dim);
    T* y = typed<T>(out);
    const T* x = typed<T>(in);
    for_each_slice<2>(in.shape(), dim, {&out.strides(), &in.strides()}, [&](const auto& o) {
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < n; ++i) m = std::max(m, x[o[1] + i * sx]);
      // softmax_i = exp(x_i - m) / sum_j exp(x_j - m);  log_softmax_i = x_i - m - log sum_j ...
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[o[1] + i * sx]) - m);
      if constexpr (Log) {
        // (x_i - m) is exact for nearby values; adding log s to m first would round at m's scale.
        const double log_s = std::log(s);
        for (int64_t i = 0; i < n; ++i)
          y[o[0] + i * sy] = static_cast<T>((static_cast<double>(x[o[1] + i * sx]) - m) - log_s);
      } else {
        for (int64_t i = 0; i < n; ++i)
          y[o[0] + i * sy] = static_cast<T>(std::exp(static_cast<double>(x[o[1] + i * sx]) - m) / s);
      }
    });
  });
}

// softmax:     dx_i = y_i (g_i - sum_j g_j y_j)   (Jacobian diag(y) - y y^T)
// log_softmax: dx_i = g_i - exp(y_i) sum_j g_j   (Jacobian I - 1 softmax^T)
template <bool Log>
void softmax_backward_impl(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out, int64_t dim) {
  dispatch_floating(out.dtype(), Log ? "log_softmax_backward" : "softmax_backward", [&]<typename T>() {
    const int64_t n = out.size(dim), sdx = grad_in.stride(dim), sg = grad_out.stride(dim),
                  sy = out.stride(dim);
    T* dx = typed<T>(grad_in);
    const T* g = typed<T>(grad_out);
    const T* y = typed<T>(out);
    for_each_slice<3>(out.shape(), dim, {&grad_in.strides(), &grad_out.strides(), &out.strides()},
                      [&](const auto& o) {
                        double s = 0;
                        for (int64_t i = 0; i < n; ++i) {
                          const double gi = g[o[1] + i * sg];
                          s += Log ? gi : gi * y[o[2] + i * sy];
                        }
                        for (int64_t i = 0; i < n; ++i) {
                          const double gi = g[o[1] + i * sg], yi = y[o[2] + i * sy];
                          dx[o[0] + i * sdx] = static_cast<T>(Log ? gi - std::exp(yi) * s : yi * (gi - s));
                        }
                      });
  });
}

}  // namespace

void softmax(const Tensor& out, const Tensor& in, int64_t dim) { softmax_forward<false>(out, in, dim); }
void log_softmax(const Tensor& out, const Tensor& in, int64_t dim) { softmax_forward<true>(out, in, dim); }

void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out, int64_t dim) {
  softmax_backward_impl<false>(grad_in, grad_out, out, dim);
}
void log_softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out, int64_t dim) {
  softmax_backward_impl<true>(grad_in, grad_out, out, dim);
}

}  // namespace tg::reference
