// The CUDA runtime as the backend's kernels use it: checked calls (every failure a tg::Error
// naming the call, where it was made and CUDA's message), the one stream, launch checks, and
// scratch tensors on the device.
#pragma once

#if defined(TAPEGRAD_CUDA_EMULATOR)
#include "backends/cuda/emulator/emulator.h"  // the same API, run on the CPU
#else
#include <cuda_runtime.h>
#endif

#include "autograd/tensor.h"

namespace tg::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line);

// TG_CUDA_CHECK(cudaMemcpyAsync(...)): throws "cuda: cudaMemcpyAsync(...) failed at
// backends/cuda/copy_fill.cu:42: an illegal memory access was encountered (cudaErrorIllegalAddress)".
#define TG_CUDA_CHECK(call)                                                     \
  do {                                                                          \
    const cudaError_t tg_cuda_error_ = (call);                                  \
    if (tg_cuda_error_ != cudaSuccess)                                          \
      ::tg::cuda::throw_cuda_error(tg_cuda_error_, #call, __FILE__, __LINE__);  \
  } while (0)

// After a kernel launch (launch.cuh's launch does it): a bad launch configuration is reported
// here; with TAPEGRAD_CUDA_SYNC=1, or while a profiler is alive (so its times are the kernel's,
// not the launch's), it waits for the kernel and reports what went wrong in it.
void check_launch(const char* kernel);

// The stream every kernel and copy of the backend is queued on (device 0, created on first use).
cudaStream_t stream();

// Threads per block of the elementwise kernels, and their grid: enough blocks to cover n
// elements, capped (the kernels loop with a grid stride beyond the cap).
constexpr int kThreads = 256;
unsigned blocks_for(int64_t n, int threads = kThreads);

// Makes the caching allocator serve cuda:0 (register.cpp, while the library loads).
void install_allocator();

// Uninitialised scratch memory on the device, from the caching allocator.
Tensor device_empty(const Shape& shape, DType dtype);

template <typename T>
T* typed(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

}  // namespace tg::cuda
