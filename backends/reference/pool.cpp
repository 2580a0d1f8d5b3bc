// Reference pooling kernels: max and average pooling over 2-D windows, plane by plane, with
// their adjoints (scatter for max via the saved indices, spread for average).
//
// Output (i, j) pools the input rows [i*sH - pH, i*sH - pH + kH) and the matching columns,
// clipped to the image: padding never wins a max (PyTorch pads max pooling with -inf) and
// counts in an average only with count_include_pad, where the window is clipped to the padded
// image instead (so ceil_mode's last window can be smaller). The output size comes from out.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {
namespace {

// One (n, c) plane of a 4-D tensor: element (h, w) is base[h * sh + w * sw].
template <typename T>
struct Plane {
  T* base;
  int64_t sh, sw;
  T& operator()(int64_t h, int64_t w) const { return base[h * sh + w * sw]; }
};

template <typename T>
Plane<T> plane(const Tensor& t, int64_t n, int64_t c) {
  return {typed<T>(t) + n * t.stride(0) + c * t.stride(1), t.stride(2), t.stride(3)};
}

// The input rows (or columns) [begin, end) that output position i pools, and the window's
// length counted within the padded image (avg_pool2d's divisor with count_include_pad).
struct Window {
  int64_t begin, end, padded;
};

Window window(int64_t i, int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
  const int64_t begin = i * stride - pad;
  const int64_t end = std::min(begin + kernel, size + pad);
  return {std::max<int64_t>(begin, 0), std::min(end, size), end - begin};
}

// Calls f(n, c, i, j, rows, cols) for every output element of a pooling whose input is
// [N, C, H, W] and output [N, C, Ho, Wo].
template <typename F>
void for_each_window(const Shape& in, const Shape& out, const kernel::Pool2dParams& p, F&& f) {
  for (int64_t n = 0; n < out[0]; ++n)
    for (int64_t c = 0; c < out[1]; ++c)
      for (int64_t i = 0; i < out[2]; ++i) {
        const Window rows = window(i, in[2], p.kernel[0], p.stride[0], p.padding[0]);
        for (int64_t j = 0; j < out[3]; ++j)
          f(n, c, i, j, rows, window(j, in[3], p.kernel[1], p.stride[1], p.padding[1]));
      }
}

// avg_pool2d divides each window's sum by this.
double divisor(const Window& rows, const Window& cols, const kernel::Pool2dParams& p) {
  if (p.count_include_pad) return static_cast<double>(rows.padded * cols.padded);
  return static_cast<double>((rows.end - rows.begin) * (cols.end - cols.begin));
}

template <typename T>
void zero_planes(const Tensor& t) {
  for (int64_t n = 0; n < t.size(0); ++n)
    for (int64_t c = 0; c < t.size(1); ++c) {
      const Plane<T> z = plane<T>(t, n, c);
      for (int64_t h = 0; h < t.size(2); ++h)
        for (int64_t w = 0; w < t.size(3); ++w) z(h, w) = T(0);
    }
}

}  // namespace

// out = the window's max; indices = its position h*W + w in the plane. Strict > keeps the
// first of equal maxima; a NaN always replaces the current max (the max is NaN), as PyTorch.
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& x, const kernel::Pool2dParams& p) {
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    const int64_t W = x.size(3);
    for_each_window(x.shape(), out.shape(), p, [&](int64_t n, int64_t c, int64_t i, int64_t j,
                                                    const Window& rows, const Window& cols) {
      const Plane<T> in = plane<T>(x, n, c);
      T best = -std::numeric_limits<T>::infinity();
      int64_t best_at = rows.begin * W + cols.begin;
      for (int64_t h = rows.begin; h < rows.end; ++h)
        for (int64_t w = cols.begin; w < cols.end; ++w) {
          const T v = in(h, w);
          if (v > best || std::isnan(v)) best = v, best_at = h * W + w;
        }
      plane<T>(out, n, c)(i, j) = best;
      plane<int64_t>(indices, n, c)(i, j) = best_at;
    });
  });
}

// gx (input-shaped) = sum of gy over the outputs whose index points at each element.
void max_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor& indices,
                         const kernel::Pool2dParams&) {
  dispatch_floating(gy.dtype(), "max_pool2d_backward", [&]<typename T>() {
    zero_planes<T>(gx);
    const int64_t W = gx.size(3);
    for (int64_t n = 0; n < gy.size(0); ++n)
      for (int64_t c = 0; c < gy.size(1); ++c) {
        const Plane<T> dst = plane<T>(gx, n, c), src = plane<T>(gy, n, c);
        const Plane<int64_t> idx = plane<int64_t>(indices, n, c);
        for (int64_t i = 0; i < gy.size(2); ++i)
          for (int64_t j = 0; j < gy.size(3); ++j) dst(idx(i, j) / W, idx(i, j) % W) += src(i, j);
      }
  });
}

// out (pooled) = in (input-shaped) read at the indices: the adjoint of max_pool2d_backward.
void max_pool2d_gather(const Tensor& out, const Tensor& in, const Tensor& indices,
                       const kernel::Pool2dParams&) {
  dispatch_floating(in.dtype(), "max_pool2d_gather", [&]<typename T>() {
    const int64_t W = in.size(3);
    for (int64_t n = 0; n < out.size(0); ++n)
      for (int64_t c = 0; c < out.size(1); ++c) {
        const Plane<T> dst = plane<T>(out, n, c), src = plane<T>(in, n, c);
        const Plane<int64_t> idx = plane<int64_t>(indices, n, c);
        for (int64_t i = 0; i < out.size(2); ++i)
          for (int64_t j = 0; j < out.size(3); ++j) dst(i, j) = src(idx(i, j) / W, idx(i, j) % W);
      }
  });
}

void avg_pool2d(const Tensor& out, const Tensor&, const Tensor& x, const kernel::Pool2dParams& p) {
  dispatch_floating(x.dtype(), "avg_pool2d", [&]<typename T>() {
    for_each_window(x.shape(), out.shape(), p, [&](int64_t n, int64_t c, int64_t i, int64_t j,
                                                    const Window& rows, const Window& cols) {
      const Plane<T> in = plane<T>(x, n, c);
      double sum = 0;
      for (int64_t h = rows.begin; h < rows.end; ++h)
        for (int64_t w = cols.begin; w < cols.end; ++w) sum += in(h, w);
      plane<T>(out, n, c)(i, j) = static_cast<T>(sum / divisor(rows, cols, p));
    });
  });
}

// The adjoint of avg_pool2d: each pooled gradient spread evenly (by the same divisor) over
// the input elements of its window, overlapping windows adding up.
void avg_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor&, const kernel::Pool2dParams& p) {
  dispatch_floating(gy.dtype(), "avg_pool2d_backward", [&]<typename T>() {
    zero_planes<T>(gx);
    for_each_window(gx.shape(), gy.shape(), p, [&](int64_t n, int64_t c, int64_t i, int64_t j,
                                                    const Window& rows, const Window& cols) {
      const Plane<T> dst = plane<T>(gx, n, c);
      const T share = static_cast<T>(plane<T>(gy, n, c)(i, j) / divisor(rows, cols, p));
      for (int64_t h = rows.begin; h < rows.end; ++h)
        for (int64_t w = cols.begin; w < cols.end; ++w) dst(h, w) += share;
    });
  });
}

}  // namespace tg::reference
