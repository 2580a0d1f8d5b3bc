// Max and average pooling over 2-D windows, with their adjoints, one thread per element.
//
// Windows are the reference's (backends/reference/pool.cpp; indexing.h's pool_window): output
// (i, j) pools input rows [i*sH - pH, i*sH - pH + kH) and the matching columns clipped to the
// image. The forward kernels run one thread per output. The adjoints run one thread per input
// element and gather from the outputs whose windows contain it (indexing.h's
// windows_containing), in the order the reference's scatter visits them, so they need no
// atomics and round exactly as the reference does. max_pool2d_backward assumes, as the op
// layer guarantees, that the indices came from max_pool2d with the same parameters (so an
// index always lies in its output's window).
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

// An [N, C, H, W] tensor's data and strides.
template <typename T>
struct Image {
  T* data;
  int64_t n, c, h, w;  // strides
  __device__ T& operator()(int64_t in, int64_t ic, int64_t ih, int64_t iw) const {
    return data[in * n + ic * c + ih * h + iw * w];
  }
};

template <typename T>
Image<T> image(const Tensor& t) {
  return {typed<T>(t), t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

// Pooling sizes: the input plane H x W, the output plane Ho x Wo, planes N*C, and the params.
struct PoolShape {
  int64_t C, H, W, Ho, Wo;
  int64_t kH, kW, sH, sW, pH, pW;
  bool count_include_pad;
};

PoolShape pool_shape(const Tensor& input_shaped, const Tensor& pooled, const kernel::Pool2dParams& p) {
  return {input_shaped.size(1), input_shaped.size(2), input_shaped.size(3), pooled.size(2), pooled.size(3),
          p.kernel[0],          p.kernel[1],          p.stride[0],          p.stride[1],     p.padding[0],
          p.padding[1],         p.count_include_pad};
}

__device__ Window row_window(const PoolShape& s, int64_t i) { return pool_window(i, s.H, s.kH, s.sH, s.pH); }
__device__ Window col_window(const PoolShape& s, int64_t j) { return pool_window(j, s.W, s.kW, s.sW, s.pW); }

// avg_pool2d divides each window's sum by this.
__device__ double divisor(const Window& rows, const Window& cols, bool count_include_pad) {
  if (count_include_pad) return static_cast<double>(rows.padded * cols.padded);
  return static_cast<double>((rows.end - rows.begin) * (cols.end - cols.begin));
}

// Splits a linear index over [N, C, rows, cols] into (n, c, i, j).
struct Index4 {
  int64_t n, c, i, j;
};
__device__ Index4 split(int64_t idx, int64_t C, int64_t rows, int64_t cols) {
  return {idx / (cols * rows * C), (idx / (cols * rows)) % C, (idx / cols) % rows, idx % cols};
}

// The window's max and its position h*W + w; strict > keeps the first of equal maxima and a
// NaN always replaces the current max (PyTorch's rule).
template <typename T>
__global__ void max_pool_kernel(Image<T> y, Image<int64_t> indices, Image<const T> x, PoolShape s, int64_t total) {
  TG_GRID_LOOP(idx, total) {
    const Index4 o = split(idx, s.C, s.Ho, s.Wo);
    const Window rows = row_window(s, o.i), cols = col_window(s, o.j);
    T best = -INFINITY;
    int64_t best_at = rows.begin * s.W + cols.begin;
    for (int64_t h = rows.begin; h < rows.end; ++h)
      for (int64_t w = cols.begin; w < cols.end; ++w) {
        const T v = x(o.n, o.c, h, w);
        if (v > best || isnan(v)) best = v, best_at = h * s.W + w;
      }
    y(o.n, o.c, o.i, o.j) = best;
    indices(o.n, o.c, o.i, o.j) = best_at;
  }
}

// gx(h, w) = the sum of gy over the outputs whose index is h*W + w, in row-major output order.
template <typename T>
__global__ void max_pool_backward_kernel(Image<T> gx, Image<const T> gy, Image<const int64_t> indices, PoolShape s,
                                         int64_t total) {
  TG_GRID_LOOP(idx, total) {
    const Index4 e = split(idx, s.C, s.H, s.W);
    const int64_t self = e.i * s.W + e.j;
    const Range rows = windows_containing(e.i, s.Ho, s.kH, s.sH, s.pH);
    const Range cols = windows_containing(e.j, s.Wo, s.kW, s.sW, s.pW);
    T acc = 0;
    for (int64_t i = rows.first; i <= rows.last; ++i)
      for (int64_t j = cols.first; j <= cols.last; ++j)
        if (indices(e.n, e.c, i, j) == self) acc += gy(e.n, e.c, i, j);
    gx(e.n, e.c, e.i, e.j) = acc;
  }
}

// out(i, j) = in at the position indices(i, j) names.
template <typename T>
__global__ void max_pool_gather_kernel(Image<T> out, Image<const T> in, Image<const int64_t> indices, PoolShape s,
                                       int64_t total) {
  TG_GRID_LOOP(idx, total) {
    const Index4 o = split(idx, s.C, s.Ho, s.Wo);
    const int64_t at = indices(o.n, o.c, o.i, o.j);
    out(o.n, o.c, o.i, o.j) = in(o.n, o.c, at / s.W, at % s.W);
  }
}

template <typename T>
__global__ void avg_pool_kernel(Image<T> y, Image<const T> x, PoolShape s, int64_t total) {
  TG_GRID_LOOP(idx, total) {
    const Index4 o = split(idx, s.C, s.Ho, s.Wo);
    const Window rows = row_window(s, o.i), cols = col_window(s, o.j);
    double sum = 0;
    for (int64_t h = rows.begin; h < rows.end; ++h)
      for (int64_t w = cols.begin; w < cols.end; ++w) sum += static_cast<double>(x(o.n, o.c, h, w));
    y(o.n, o.c, o.i, o.j) = static_cast<T>(sum / divisor(rows, cols, s.count_include_pad));
  }
}

// gx(h, w) = the sum, over the windows containing (h, w), of the window's gradient divided by
// its divisor (each share rounded to T first, as the reference's scatter does).
template <typename T>
__global__ void avg_pool_backward_kernel(Image<T> gx, Image<const T> gy, PoolShape s, int64_t total) {
  TG_GRID_LOOP(idx, total) {
    const Index4 e = split(idx, s.C, s.H, s.W);
    const Range rows = windows_containing(e.i, s.Ho, s.kH, s.sH, s.pH);
    const Range cols = windows_containing(e.j, s.Wo, s.kW, s.sW, s.pW);
    T acc = 0;
    for (int64_t i = rows.first; i <= rows.last; ++i)
      for (int64_t j = cols.first; j <= cols.last; ++j) {
        const double d = divisor(row_window(s, i), col_window(s, j), s.count_include_pad);
        acc += static_cast<T>(static_cast<double>(gy(e.n, e.c, i, j)) / d);
      }
    gx(e.n, e.c, e.i, e.j) = acc;
  }
}

}  // namespace

void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& x, const kernel::Pool2dParams& p) {
  const int64_t total = out.numel();
  if (total == 0) return;
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    launch<max_pool_kernel<T>>(blocks_for(total), kThreads, 0, image<T>(out), image<int64_t>(indices),
                                                                     image<const T>(x), pool_shape(x, out, p), total);
  });
}

void max_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor& indices, const kernel::Pool2dParams& p) {
  const int64_t total = gx.numel();
  if (total == 0) return;
  dispatch_floating(gy.dtype(), "max_pool2d_backward", [&]<typename T>() {
    launch<max_pool_backward_kernel<T>>(blocks_for(total), kThreads, 0, image<T>(gx), image<const T>(gy), image<const int64_t>(indices), pool_shape(gx, gy, p), total);
  });
}

void max_pool2d_gather(const Tensor& out, const Tensor& in, const Tensor& indices, const kernel::Pool2dParams& p) {
  const int64_t total = out.numel();
  if (total == 0) return;
  dispatch_floating(in.dtype(), "max_pool2d_gather", [&]<typename T>() {
    launch<max_pool_gather_kernel<T>>(blocks_for(total), kThreads, 0, image<T>(out), image<const T>(in), image<const int64_t>(indices), pool_shape(in, out, p), total);
  });
}

void avg_pool2d(const Tensor& out, const Tensor&, const Tensor& x, const kernel::Pool2dParams& p) {
  const int64_t total = out.numel();
  if (total == 0) return;
  dispatch_floating(x.dtype(), "avg_pool2d", [&]<typename T>() {
    launch<avg_pool_kernel<T>>(blocks_for(total), kThreads, 0, image<T>(out), image<const T>(x),
                                                                     pool_shape(x, out, p), total);
  });
}

void avg_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor&, const kernel::Pool2dParams& p) {
  const int64_t total = gx.numel();
  if (total == 0) return;
  dispatch_floating(gy.dtype(), "avg_pool2d_backward", [&]<typename T>() {
    launch<avg_pool_backward_kernel<T>>(blocks_for(total), kThreads, 0, image<T>(gx), image<const T>(gy),
                                                                              pool_shape(gx, gy, p), total);
  });
}

}  // namespace tg::cuda
