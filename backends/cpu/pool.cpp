// The cpu backend's pooling kernels (the reference's contract: backends/reference/pool.cpp):
// max_pool2d and avg_pool2d run output row by output row through pool_rows.h's vector loops,
// rows split among threads; the adjoints (max_pool2d_backward's scatter, avg_pool2d_backward's
// spread) and max_pool2d_gather run plane by plane, planes split among threads, each plane in
// the reference's order. Every result equals the reference's bit for bit: the maxima and
// indices are exact, the averages are the same double sums over the same divisors, and each
// gradient element receives the same additions in the same order.
#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/fused.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;  // window elements read per thread worth a fork/join

// One (n, c) plane of a 4-D tensor: element (h, w) is base[h * sh + w * sw].
template <typename T>
struct Plane {
  T* base;
  int64_t sh, sw;
  T& operator()(int64_t h, int64_t w) const { return base[h * sh + w * sw]; }
};

template <typename T>
Plane<T> plane(const Tensor& t, int64_t n, int64_t c) {
  return {data_of<T>(t) + n * t.stride(0) + c * t.stride(1), t.stride(2), t.stride(3)};
}

// The input rows (or columns) [begin, end) that output position i pools, and the window's
// length within the padded image (avg_pool2d's divisor with count_include_pad).
struct Window {
  int64_t begin, end, padded;
};

Window window(int64_t i, int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
  const int64_t begin = i * stride - pad;
  const int64_t end = std::min(begin + kernel, size + pad);
  return {std::max<int64_t>(begin, 0), std::min(end, size), end - begin};
}

double divisor(const Window& rows, const Window& cols, const kernel::Pool2dParams& p) {
  if (p.count_include_pad) return static_cast<double>(rows.padded * cols.padded);
  return static_cast<double>((rows.end - rows.begin) * (cols.end - cols.begin));
}

// Runs pool_rows.h's row loop for every output row of a pooling, in parallel. Output rows that
// are not contiguous are computed into a buffer and copied out.
template <typename T>
void pool_rows(const Tensor& out, const Tensor& indices, const Tensor& x,
               const kernel::Pool2dParams& p, void (*row_loop)(const PoolRow<T>&)) {
  const int64_t C = out.size(1), Ho = out.size(2), Wo = out.size(3);
  const int64_t items = out.size(0) * C * Ho;
  const int64_t work = std::max<int64_t>(1, Wo * p.kernel[0] * p.kernel[1]);
  const bool direct = out.stride(3) == 1 && (!indices.defined() || indices.stride(3) == 1);
  parallel_for(items, std::max<int64_t>(1, kGrain / work), [&](int64_t begin, int64_t end) {
    std::vector<T> y_buf(direct ? 0 : Wo);
    std::vector<int64_t> index_buf(direct ? 0 : Wo);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / (C * Ho), c = item / Ho % C, i = item % Ho;
      const Window rows = window(i, x.size(2), p.kernel[0], p.stride[0], p.padding[0]);
      const Plane<T> in = plane<T>(x, n, c);
      T* y = &plane<T>(out, n, c)(i, 0);
      int64_t* idx = indices.defined() ? &plane<int64_t>(indices, n, c)(i, 0) : nullptr;
      row_loop({in.base, in.sh, in.sw, x.size(2), x.size(3), rows.begin, rows.end, rows.padded,
                p.kernel[1], p.stride[1], p.padding[1], p.count_include_pad,
                direct ? y : y_buf.data(), direct ? idx : index_buf.data(), Wo});
      if (direct) continue;
      for (int64_t j = 0; j < Wo; ++j) {
        y[j * out.stride(3)] = y_buf[j];
        if (idx) idx[j * indices.stride(3)] = index_buf[j];
      }
    }
  });
}

// f(n, c) for every plane, planes split among threads.
template <class F>
void for_each_plane(const Tensor& t, int64_t work_per_plane, const F& f) {
  const int64_t C = t.size(1);
  parallel_for(t.size(0) * C, std::max<int64_t>(1, kGrain / std::max<int64_t>(work_per_plane, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t plane = begin; plane < end; ++plane) f(plane / C, plane % C);
               });
}

template <typename T>
void zero_plane(const Plane<T>& z, int64_t H, int64_t W) {
  for (int64_t h = 0; h < H; ++h)
    for (int64_t w = 0; w < W; ++w) z(h, w) = T(0);
}

}  // namespace

void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& x,
                const kernel::Pool2dParams& p) {
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    pool_rows<T>(out, indices, x, p, fused_kernels<T>().max_pool_row);
  });
}

void avg_pool2d(const Tensor& out, const Tensor&, const Tensor& x, const kernel::Pool2dParams& p) {
  dispatch_floating(x.dtype(), "avg_pool2d", [&]<typename T>() {
    pool_rows<T>(out, Tensor(), x, p, fused_kernels<T>().avg_pool_row);
  });
}

// gx (input-shaped) = sum of gy over the outputs whose index points at each element, added in
// output order as the reference adds them.
void max_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor& indices,
                         const kernel::Pool2dParams&) {
  dispatch_floating(gy.dtype(), "max_pool2d_backward", [&]<typename T>() {
    const int64_t H = gx.size(2), W = gx.size(3), Ho = gy.size(2), Wo = gy.size(3);
    for_each_plane(gx, H * W + Ho * Wo, [&](int64_t n, int64_t c) {
      const Plane<T> dst = plane<T>(gx, n, c), src = plane<T>(gy, n, c);
      const Plane<int64_t> idx = plane<int64_t>(indices, n, c);
      zero_plane(dst, H, W);
      for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) dst(idx(i, j) / W, idx(i, j) % W) += src(i, j);
    });
  });
}

// out (pooled) = in (input-shaped) read at the indices.
void max_pool2d_gather(const Tensor& out, const Tensor& in, const Tensor& indices,
                       const kernel::Pool2dParams&) {
  dispatch_floating(in.dtype(), "max_pool2d_gather", [&]<typename T>() {
    const int64_t W = in.size(3), Ho = out.size(2), Wo = out.size(3);
    for_each_plane(out, Ho * Wo, [&](int64_t n, int64_t c) {
      const Plane<T> dst = plane<T>(out, n, c), src = plane<T>(in, n, c);
      const Plane<int64_t> idx = plane<int64_t>(indices, n, c);
      for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) dst(i, j) = src(idx(i, j) / W, idx(i, j) % W);
    });
  });
}

// avg_pool2d's adjoint: each pooled gradient spread evenly (by the same divisor) over its
// window, overlapping windows adding up in output order.
void avg_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor&,
                         const kernel::Pool2dParams& p) {
  dispatch_floating(gy.dtype(), "avg_pool2d_backward", [&]<typename T>() {
    const int64_t H = gx.size(2), W = gx.size(3), Ho = gy.size(2), Wo = gy.size(3);
    std::vector<Window> cols(Wo);
    for (int64_t j = 0; j < Wo; ++j) cols[j] = window(j, W, p.kernel[1], p.stride[1], p.padding[1]);
    for_each_plane(gx, H * W + Ho * Wo * p.kernel[0] * p.kernel[1], [&](int64_t n, int64_t c) {
      const Plane<T> dst = plane<T>(gx, n, c), src = plane<T>(gy, n, c);
      zero_plane(dst, H, W);
      for (int64_t i = 0; i < Ho; ++i) {
        const Window rows = window(i, H, p.kernel[0], p.stride[0], p.padding[0]);
        for (int64_t j = 0; j < Wo; ++j) {
          const T share = static_cast<T>(src(i, j) / divisor(rows, cols[j], p));
          for (int64_t h = rows.begin; h < rows.end; ++h)
            for (int64_t w = cols[j].begin; w < cols[j].end; ++w) dst(h, w) += share;
        }
      }
    });
  });
}

}  // namespace tg::cpu
