// Batch norm, forward and training-mode backward, fused per channel: one 256-thread block
// per channel reduces the channel's M = N * H * W values (in double, fixed tree order) and
// then writes the channel's outputs, so each pass over x is one kernel. Formulas are the
// reference's (backends/reference/norm.cpp): two-pass mean and variance, running stats moved
// by momentum towards the batch mean and the unbiased variance,
//   y = (x - mean) * invstd * w + b,   invstd = 1 / sqrt(var + eps),
//   dx = (w * invstd / M) * (M g - sum g - xhat * sum(g xhat)),  dw = sum(g xhat),  db = sum g.
// Operands may have any strides; the per-channel [C] tensors may be strided 1-D views.
#include <cmath>

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

// A [C] tensor: element c at data[c * stride], or absent (data null).
template <typename T>
struct PerChannel {
  T* data;
  int64_t stride;
  __device__ bool defined() const { return data != nullptr; }
  __device__ T& operator[](int64_t c) const { return data[c * stride]; }
};

template <typename T>
PerChannel<T> per_channel(const Tensor& t) {
  if (!t.defined()) return {nullptr, 0};
  return {typed<T>(t), t.stride(0)};
}

// The sum over the block of one value per thread.
__device__ double block_sum(double v) {
  __shared__ double scratch[kThreads / 32];
  return group_combine<kThreads>(v, Plus{}, scratch);
}

// Block c normalises channel c. `slice` walks one channel's elements (x's shape with the
// channel dim set to 1) in x (operand 0) and y (operand 1); channel c starts at c * stride(1).
template <typename T>
__global__ void batch_norm_kernel(T* y, int64_t y_channel_stride, const T* x, int64_t x_channel_stride,
                                  OffsetCalculator<2> slice, int64_t M, PerChannel<T> save_mean,
                                  PerChannel<T> save_invstd, PerChannel<const T> weight, PerChannel<const T> bias,
                                  PerChannel<T> running_mean, PerChannel<T> running_var, bool training,
                                  double momentum, double eps) {
  const int64_t c = blockIdx.x;
  const T* xc = x + c * x_channel_stride;
  T* yc = y + c * y_channel_stride;
  double mean, invstd;
  if (training) {
    double sum = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      int64_t o[2];
      slice.offsets(i, o);
      sum += static_cast<double>(xc[o[0]]);
    }
    mean = block_sum(sum) / static_cast<double>(M);
    double sq = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      int64_t o[2];
      slice.offsets(i, o);
      const double d = static_cast<double>(xc[o[0]]) - mean;
      sq += d * d;
    }
    sq = block_sum(sq);
    invstd = 1.0 / sqrt(sq / static_cast<double>(M) + eps);
    if (threadIdx.x == 0) {
      if (running_mean.defined())
        running_mean[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) + momentum * mean);
      if (running_var.defined())
        running_var[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) +
                                        momentum * sq / static_cast<double>(M - 1));
    }
  } else {
    mean = static_cast<double>(running_mean[c]);
    invstd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
  }
  if (threadIdx.x == 0) {
    if (save_mean.defined()) save_mean[c] = static_cast<T>(mean);
    if (save_invstd.defined()) save_invstd[c] = static_cast<T>(invstd);
  }
  const double w = weight.defined() ? static_cast<double>(weight[c]) : 1.0;
  const double b = bias.defined() ? static_cast<double>(bias[c]) : 0.0;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    int64_t o[2];
    slice.offsets(i, o);
    yc[o[1]] = static_cast<T>((static_cast<double>(xc[o[0]]) - mean) * invstd * w + b);
  }
}

// Block c: the channel's sums of g and g * xhat, then gx. Operands of `slice`: gy, x, gx.
template <typename T>
__global__ void batch_norm_backward_kernel(T* gx, int64_t gx_channel_stride, const T* gy, int64_t gy_channel_stride,
                                           const T* x, int64_t x_channel_stride, OffsetCalculator<3> slice,
                                           int64_t M, PerChannel<T> gw, PerChannel<T> gb, PerChannel<const T> weight,
                                           PerChannel<const T> save_mean, PerChannel<const T> save_invstd) {
  const int64_t c = blockIdx.x;
  const T* gyc = gy + c * gy_channel_stride;
  const T* xc = x + c * x_channel_stride;
  const double mean = static_cast<double>(save_mean[c]), invstd = static_cast<double>(save_invstd[c]);
  double sg = 0, sgx = 0;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    int64_t o[3];
    slice.offsets(i, o);
    const double g = static_cast<double>(gyc[o[0]]);
    sg += g;
    sgx += g * (static_cast<double>(xc[o[1]]) - mean) * invstd;
  }
  sg = block_sum(sg);
  sgx = block_sum(sgx);
  if (threadIdx.x == 0) {
    if (gb.defined()) gb[c] = static_cast<T>(sg);
    if (gw.defined()) gw[c] = static_cast<T>(sgx);
  }
  if (gx == nullptr) return;
  T* gxc = gx + c * gx_channel_stride;
  const double w = weight.defined() ? static_cast<double>(weight[c]) : 1.0;
  const double k = w * invstd, mg = sg / static_cast<double>(M), mgx = sgx / static_cast<double>(M);
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    int64_t o[3];
    slice.offsets(i, o);
    const double xhat = (static_cast<double>(xc[o[1]]) - mean) * invstd;
    gxc[o[2]] = static_cast<T>(k * (static_cast<double>(gyc[o[0]]) - mg - xhat * mgx));
  }
}

// x's shape with the channel dim set to 1: one channel's elements.
Shape channel_slice(const Tensor& x) {
  Shape s = x.shape();
  s[1] = 1;
  return s;
}

}  // namespace

void batch_norm(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, const Tensor& running_mean, const Tensor& running_var,
                bool training, double momentum, double eps) {
  const int64_t C = x.size(1);
  if (C == 0) return;
  const int64_t M = x.numel() / C;
  TG_CHECK(C < (int64_t{1} << 31), "batch_norm", "too many channels for one launch: ", C);
  const auto slice = make_offsets<2>(channel_slice(x), {&x.strides(), &y.strides()});
  dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    launch<batch_norm_kernel<T>>(static_cast<unsigned>(C), kThreads, 0, typed<T>(y), y.stride(1), typed<const T>(x), x.stride(1), slice, M, per_channel<T>(save_mean),
        per_channel<T>(save_invstd), per_channel<const T>(weight), per_channel<const T>(bias),
        per_channel<T>(running_mean), per_channel<T>(running_var), training, momentum, eps);
  });
}

void batch_norm_backward(const Tensor& gx, const Tensor& gw, const Tensor& gb, const Tensor& gy, const Tensor& x,
                         const Tensor& weight, const Tensor& save_mean, const Tensor& save_invstd) {
  const int64_t C = x.size(1);
  if (C == 0) return;
  const int64_t M = x.numel() / C;
  TG_CHECK(C < (int64_t{1} << 31), "batch_norm_backward", "too many channels for one launch: ", C);
  const Shape& gx_strides = gx.defined() ? gx.strides() : x.strides();  // unused without gx
  const auto slice = make_offsets<3>(channel_slice(x), {&gy.strides(), &x.strides(), &gx_strides});
  dispatch_floating(x.dtype(), "batch_norm_backward", [&]<typename T>() {
    launch<batch_norm_backward_kernel<T>>(static_cast<unsigned>(C), kThreads, 0, gx.defined() ? typed<T>(gx) : nullptr, gx.defined() ? gx.stride(1) : 0, typed<const T>(gy), gy.stride(1),
        typed<const T>(x), x.stride(1), slice, M, per_channel<T>(gw), per_channel<T>(gb),
        per_channel<const T>(weight), per_channel<const T>(save_mean), per_channel<const T>(save_invstd));
  });
}

}  // namespace tg::cuda
