// The index arithmetic of the CUDA kernels, kept free of CUDA headers so the host test suite
// checks it on machines without a GPU: strided offsets of several operands sharing a shape,
// and the inverse maps of pooling windows and convolution taps that let backward kernels
// gather (one thread per input element, fixed order) instead of scattering with atomics.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "autograd/error.h"

#if defined(__CUDACC__)
#define TG_HOST_DEVICE __host__ __device__
#else
#define TG_HOST_DEVICE
#endif

namespace tg::cuda {

// Most dims an operand may keep after merging (make_offsets): kernel parameters are passed
// by value, so the calculator is a fixed-size struct.
constexpr int kMaxDims = 12;

// Element offsets of K operands that share a shape, each with its own strides. A linear
// index walks the shape in row-major order, so element i is the same element for every
// operand (and for the random kernels, draws counter offset + i as the reference does).
template <int K>
struct OffsetCalculator {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims][K] = {};

  TG_HOST_DEVICE void offsets(int64_t linear, int64_t (&out)[K]) const {
    for (int k = 0; k < K; ++k) out[k] = 0;
    // Innermost dim first; the outermost needs no division (its index is what is left).
    for (int d = ndim - 1; d > 0; --d) {
      const int64_t q = linear / sizes[d], i = linear - q * sizes[d];
      for (int k = 0; k < K; ++k) out[k] += i * strides[d][k];
      linear = q;
    }
    if (ndim > 0)
      for (int k = 0; k < K; ++k) out[k] += linear * strides[0][k];
  }
};

// The calculator of `shape` with one stride vector per operand. Size-1 dims are dropped and
// neighbouring dims that are contiguous in every operand are merged (a contiguous tensor
// becomes one dim), which keeps the per-element divisions few and the rank under kMaxDims.
template <int K>
OffsetCalculator<K> make_offsets(const std::vector<int64_t>& shape,
                                 const std::array<const std::vector<int64_t>*, K>& strides) {
  OffsetCalculator<K> c;
  std::vector<int64_t> sizes;
  std::vector<std::array<int64_t, K>> st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    std::array<int64_t, K> s;
    for (int k = 0; k < K; ++k) s[k] = (*strides[k])[d];
    bool mergeable = !sizes.empty();
    for (int k = 0; k < K && mergeable; ++k) mergeable = st.back()[k] == s[k] * shape[d];
    if (mergeable) {
      sizes.back() *= shape[d];
      st.back() = s;
    } else {
      sizes.push_back(shape[d]);
      st.push_back(s);
    }
  }
  TG_CHECK(sizes.size() <= static_cast<size_t>(kMaxDims), "cuda",
           "an operand layout needs ", sizes.size(), " dims after merging contiguous ones; the CUDA "
           "kernels take at most ", kMaxDims, " (make the tensor contiguous first)");
  c.ndim = static_cast<int>(sizes.size());
  for (int d = 0; d < c.ndim; ++d) {
    c.sizes[d] = sizes[d];
    for (int k = 0; k < K; ++k) c.strides[d][k] = st[d][k];
  }
  return c;
}

// ---- pooling windows (backends/reference/pool.cpp's geometry) ----
// Output i pools the inputs [i*stride - pad, i*stride - pad + kernel) clipped to the image;
// `padded` is the window's length clipped to the padded image (avg_pool2d's divisor with
// count_include_pad).
struct Window {
  int64_t begin, end, padded;
};

TG_HOST_DEVICE inline Window pool_window(int64_t i, int64_t size, int64_t kernel, int64_t stride,
                                         int64_t pad) {
  const int64_t begin = i * stride - pad;
  const int64_t end = begin + kernel < size + pad ? begin + kernel : size + pad;
  return {begin > 0 ? begin : 0, end < size ? end : size, end - begin};
}

// The outputs [first, last] whose window contains input position h (empty when first > last):
// i*stride - pad <= h < i*stride - pad + kernel, i.e. (h + pad - kernel)/stride < i <= (h + pad)/stride.
// (The clipping in pool_window never removes h: 0 <= h < size <= size + pad.)
struct Range {
  int64_t first, last;
};

TG_HOST_DEVICE inline Range windows_containing(int64_t h, int64_t outputs, int64_t kernel,
                                               int64_t stride, int64_t pad) {
  const int64_t hi = (h + pad) / stride;
  const int64_t lo_num = h + pad - kernel;  // i > lo_num / stride
  const int64_t first = lo_num < 0 ? 0 : lo_num / stride + 1;
  return {first, hi < outputs - 1 ? hi : outputs - 1};
}

// ---- convolution taps (backends/reference/conv.cpp's im2col) ----
// Output position i reads input row i*stride - pad + a*dilation for kernel row a. For col2im's
// gather: the output position whose tap a lands on input row h, or -1 when none does.
TG_HOST_DEVICE inline int64_t tap_source(int64_t h, int64_t a, int64_t outputs, int64_t stride,
                                         int64_t pad, int64_t dilation) {
  const int64_t t = h + pad - a * dilation;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t i = t / stride;
  return i < outputs ? i : -1;
}

}  // namespace tg::cuda
