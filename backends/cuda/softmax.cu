// softmax and log_softmax along one dim, forward and backward. A group of threads (one
// thread, a warp or a block, by the slice length) owns one 1-D slice: it finds the slice's
// max, sums exp(x - max) in double, then writes (the reference's formulas,
// backends/reference/softmax.cpp):
//   softmax_i = exp(x_i - m) / s,   log_softmax_i = (x_i - m) - log s,   s = sum_j exp(x_j - m)
//   backward:  softmax  dx_i = y_i (g_i - sum_j g_j y_j);  log_softmax  dx_i = g_i - exp(y_i) sum_j g_j.
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

// The slice (of `count`) this thread's group owns, the thread's lane in the group, and
// whether the slice exists (the last block may have groups past the end).
template <int Lanes>
struct SliceGroup {
  int64_t slice;
  int lane;
  bool active;
  __device__ SliceGroup(int64_t count)
      : slice(static_cast<int64_t>(blockIdx.x) * (kThreads / Lanes) + threadIdx.x / Lanes),
        lane(threadIdx.x % Lanes),
        active(slice < count) {}
};

// Operands: 0 = out, 1 = in.
template <typename T, bool Log, int Lanes>
__global__ void softmax_kernel(T* y, const T* x, OffsetCalculator<2> slices, int64_t count, int64_t n,
                               int64_t sy, int64_t sx) {
  __shared__ T max_scratch[kThreads / 32];
  __shared__ double sum_scratch[kThreads / 32];
  const SliceGroup<Lanes> g(count);
  int64_t o[2] = {0, 0};
  if (g.active) slices.offsets(g.slice, o);
  T m = -INFINITY;
  if (g.active)
    for (int64_t i = g.lane; i < n; i += Lanes) m = Larger{}(m, x[o[1] + i * sx]);
  m = group_combine<Lanes>(m, Larger{}, max_scratch);
  double s = 0;
  if (g.active)
    for (int64_t i = g.lane; i < n; i += Lanes) s += exp(static_cast<double>(x[o[1] + i * sx]) - m);
  s = group_combine<Lanes>(s, Plus{}, sum_scratch);
  if (!g.active) return;
  const double log_s = log(s);
  for (int64_t i = g.lane; i < n; i += Lanes) {
    const double d = static_cast<double>(x[o[1] + i * sx]) - m;
    // (x - m) is exact for nearby values; adding log s to m first would round at m's scale.
    y[o[0] + i * sy] = static_cast<T>(Log ? d - log_s : exp(d) / s);
  }
}

// Operands: 0 = grad_in, 1 = grad_out, 2 = out.
template <typename T, bool Log, int Lanes>
__global__ void softmax_backward_kernel(T* dx, const T* g, const T* y, OffsetCalculator<3> slices, int64_t count,
                                        int64_t n, int64_t sdx, int64_t sg, int64_t sy) {
  __shared__ double scratch[kThreads / 32];
  const SliceGroup<Lanes> grp(count);
  int64_t o[3] = {0, 0, 0};
  double s = 0;
  if (grp.active) {
    slices.offsets(grp.slice, o);
    for (int64_t i = grp.lane; i < n; i += Lanes) {
      const double gi = static_cast<double>(g[o[1] + i * sg]);
      s += Log ? gi : gi * static_cast<double>(y[o[2] + i * sy]);
    }
  }
  s = group_combine<Lanes>(s, Plus{}, scratch);
  if (!grp.active) return;
  for (int64_t i = grp.lane; i < n; i += Lanes) {
    const double gi = static_cast<double>(g[o[1] + i * sg]), yi = static_cast<double>(y[o[2] + i * sy]);
    dx[o[0] + i * sdx] = static_cast<T>(Log ? gi - exp(yi) * s : yi * (gi - s));
  }
}

// Slices of `t` along dim: how many, and the shape that walks their first elements.
Shape slice_starts(const Tensor& t, int64_t dim) {
  Shape s = t.shape();
  s[dim] = 1;
  return s;
}

template <int Lanes>
unsigned slice_blocks(int64_t count, const char* op) {
  const int64_t blocks = (count + kThreads / Lanes - 1) / (kThreads / Lanes);
  TG_CHECK(blocks < (int64_t{1} << 31), op, "too many slices for one launch: ", count);
  return static_cast<unsigned>(blocks);
}

// Calls f.template operator()<Lanes>() with the group size for slices of length n.
template <typename F>
void with_lanes(int64_t n, F&& f) {
  if (n <= 32) f.template operator()<1>();
  else if (n <= 1024) f.template operator()<32>();
  else f.template operator()<kThreads>();
}

template <bool Log>
void softmax_forward(const Tensor& out, const Tensor& in, int64_t dim) {
  const int64_t n = in.size(dim);
  if (in.numel() == 0) return;
  const int64_t count = in.numel() / n;
  const auto slices = make_offsets<2>(slice_starts(in, dim), {&out.strides(), &in.strides()});
  const char* op = Log ? "log_softmax" : "softmax";
  dispatch_floating(in.dtype(), op, [&]<typename T>() {
    with_lanes(n, [&]<int Lanes>() {
      launch<softmax_kernel<T, Log, Lanes>>(slice_blocks<Lanes>(count, op), kThreads, 0, typed<T>(out), typed<const T>(in), slices, count, n, out.stride(dim), in.stride(dim));
    });
  });
}

template <bool Log>
void softmax_backward_impl(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out, int64_t dim) {
  const int64_t n = out.size(dim);
  if (out.numel() == 0) return;
  const int64_t count = out.numel() / n;
  const auto slices =
      make_offsets<3>(slice_starts(out, dim), {&grad_in.strides(), &grad_out.strides(), &out.strides()});
  const char* op = Log ? "log_softmax_backward" : "softmax_backward";
  dispatch_floating(out.dtype(), op, [&]<typename T>() {
    with_lanes(n, [&]<int Lanes>() {
      launch<softmax_backward_kernel<T, Log, Lanes>>(slice_blocks<Lanes>(count, op), kThreads, 0, typed<T>(grad_in), typed<const T>(grad_out), typed<const T>(out), slices, count, n, grad_in.stride(dim),
          grad_out.stride(dim), out.stride(dim));
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

}  // namespace tg::cuda
