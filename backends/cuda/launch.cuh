// The one way kernels are launched, and device-side building blocks shared by the kernel
// files: the grid-stride loop, and sums and other combines over a group of threads (one
// thread, a warp, or a 256-thread block) in a fixed tree order, so a result never depends on
// timing (no floating-point atomics anywhere in the backend).
#pragma once

#include <string>
#include <utility>

#include "backends/cuda/indexing.h"
#include "backends/cuda/runtime.h"

namespace tg::cuda {

// "gemm_kernel<float>" from a signature such as "const char* tg::cuda::kernel_name() [with
// auto Kernel = tg::cuda::{anonymous}::gemm_kernel<float>]" (device.cpp).
std::string kernel_name_from_signature(const char* signature);

template <auto Kernel>
const char* kernel_name() {
  static const std::string name = kernel_name_from_signature(__PRETTY_FUNCTION__);
  return name.c_str();
}

// The most threads a block of Kernel may have, for the emulator, which cannot read a
// __launch_bounds__ attribute: a kernel declared with one specializes this beside it
// (gemm.cu); others may have a block's limit, 1024.
template <auto Kernel>
inline constexpr unsigned kLaunchBound = 1024;

// launch<kernel<T>>(grid, block, shared_bytes, args...) runs kernel<T>(args...) on the
// backend's stream and checks the launch (check_launch). It is <<<...>>> under nvcc and the
// emulator (backends/cuda/emulator/) in a TAPEGRAD_CUDA_EMULATOR build; no kernel is launched
// any other way.
template <auto Kernel, typename... Args>
void launch(dim3 grid, dim3 block, size_t shared_bytes, Args&&... args) {
#if defined(TAPEGRAD_CUDA_EMULATOR)
  emu::launch_kernel<Kernel>(Kernel, kernel_name<Kernel>(), kLaunchBound<Kernel>, grid, block, shared_bytes,
                             stream(), std::forward<Args>(args)...);
#else
  Kernel<<<grid, block, shared_bytes, stream()>>>(std::forward<Args>(args)...);
#endif
  check_launch(kernel_name<Kernel>());
}

// for (i : grid-stride range over [0, n)) — each thread visits i, i + stride, ...
#define TG_GRID_LOOP(i, n)                                                                \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

constexpr unsigned kFullMask = 0xffffffffu;

// A value and where it was found, for max / min with indices.
template <typename T>
struct ArgBest {
  T value;
  int64_t index;
};

// __shfl_xor_sync over the whole warp, for plain values and for ArgBest field by field.
template <typename T>
__device__ T shuffle_xor(T v, int offset) {
  return __shfl_xor_sync(kFullMask, v, offset);
}
template <typename T>
__device__ ArgBest<T> shuffle_xor(ArgBest<T> v, int offset) {
  return {__shfl_xor_sync(kFullMask, v.value, offset), __shfl_xor_sync(kFullMask, v.index, offset)};
}

// Combines v over the Lanes threads of a group and gives every thread of the group the
// result. Lanes is 1, 32 (a warp) or kThreads (the whole block; `scratch` then holds one value
// per warp and every thread of the block must call). The xor butterfly hands each lane the
// same bits: each step combines the same two values on both sides, and combine is commutative.
// Every thread of a warp must call (the shuffles name all 32 lanes).
template <int Lanes, typename T, typename Combine>
__device__ T group_combine(T v, Combine combine, T* scratch) {
  static_assert(Lanes == 1 || Lanes == 32 || Lanes == kThreads, "a thread, a warp or the block");
  if constexpr (Lanes >= 32) {
    for (int offset = 16; offset > 0; offset /= 2) v = combine(v, shuffle_xor(v, offset));
  }
  if constexpr (Lanes == kThreads) {
    constexpr int kWarps = kThreads / 32;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = scratch[0];
    for (int w = 1; w < kWarps; ++w) v = combine(v, scratch[w]);
    __syncthreads();  // scratch may be reused right after
  }
  return v;
}

struct Plus {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};

// The larger of two values, NaN skipped (as a running std::max(m, v) from -inf skips it) and
// +0 taken over -0, so the combine is commutative, as group_combine needs.
struct Larger {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    if (isnan(b)) return a;
    if (isnan(a)) return b;
    if (a < b) return b;
    if (b < a) return a;
    return signbit(a) ? b : a;
  }
};

}  // namespace tg::cuda
