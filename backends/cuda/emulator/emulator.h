// The CUDA emulator: the part of CUDA that backends/cuda/ uses, implemented on the CPU, so the
// same .cu sources compile as C++ (CMake option TAPEGRAD_CUDA_EMULATOR=ON) and run anywhere.
// It is for proving kernels without a GPU (CI runs the whole CUDA suite on it) and for stepping
// through a kernel in gdb; it is not fast.
//
// What it models, and how:
//  - Threads of a block run concurrently as fibers (one stack each, switched cooperatively), so
//    __syncthreads is a real barrier and warp shuffles a real exchange among the 32 lanes of a
//    warp. A barrier that some threads of the block never reach, a shuffle whose mask names a
//    lane that exited or disagrees between lanes, and a deadlock are reported, not hung on.
//    Under ThreadSanitizer every fiber is a TSan thread and only barriers order them, so a
//    missing __syncthreads between a shared-memory write and another thread's read is a race
//    report that names the kernel, the block and the thread.
//  - __shared__ variables are per block: one block runs at a time in the whole process (launches
//    hold one lock), so a __shared__ variable is a function-local static.
//  - Device memory is host memory from mmap with an inaccessible page on each side; freed
//    blocks stay inaccessible for a while. A kernel that reads past an allocation or touches a
//    freed one faults, and the fault becomes cudaErrorIllegalAddress with the kernel, block,
//    thread and the allocation in the message. Pointer arguments of a kernel that are not device
//    memory (a host pointer, a freed block) are refused at the launch.
//  - Launch limits as on a GPU: at most 1024 threads a block (x, y <= 1024, z <= 64), grid y and
//    z <= 65535, 48 KiB of dynamic shared memory, and no more threads than the kernel's
//    __launch_bounds__ (which the launcher passes in: launch.cuh's kLaunchBound).
//  - Errors come back through the runtime calls as on a GPU: a bad launch configuration from
//    cudaGetLastError, a fault inside a kernel as a sticky error from every later call.
//  - Kernels run synchronously at launch, on the calling thread; the stream is one queue.
#pragma once

#include <math.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- keywords ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

// The device math library: the host's <cmath>, visible unqualified as in device code.
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;

// ---- vector and index types ----
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(16) double2 {
  double x, y;
};

// ---- the runtime API ----
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

struct CUstream_st;
using cudaStream_t = CUstream_st*;
constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int multiProcessorCount;
  int major, minor;
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaMalloc(void** ptr, size_t size);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
// Clears a sticky error and frees every allocation, as on a GPU (the self-tests use it).
cudaError_t cudaDeviceReset();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
// For a fault found by the emulator, the message carries the kernel, block, thread and address.
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);

namespace tg::cuda::emu {

// ---- what a running CUDA thread sees ----
struct ThreadView {
  uint3 thread, block;
  dim3 block_dim, grid_dim;
};
const ThreadView& view();  // of the fiber running on this OS thread

void syncthreads();
void syncwarp(unsigned mask);

enum class ShuffleKind { kIndex, kUp, kDown, kXor };
// The value of another lane of the warp (an 8-byte slot; smaller types are widened).
uint64_t shuffle(unsigned mask, uint64_t value, ShuffleKind kind, int arg, int width);

template <typename T>
T shuffle_as(unsigned mask, T value, ShuffleKind kind, int arg, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
  uint64_t slot = 0;
  std::memcpy(&slot, &value, sizeof(T));
  slot = shuffle(mask, slot, kind, arg, width);
  std::memcpy(&value, &slot, sizeof(T));
  return value;
}

// ---- launching ----
// A launch's kernel, as the scheduler sees it: something that runs one CUDA thread.
struct KernelBody {
  const char* name;
  unsigned max_threads;  // its __launch_bounds__, or a block's limit
  void (*run_thread)(const void* params);
  const void* params;
};

// Validates the configuration (an error for cudaGetLastError when it is invalid), runs every
// block, and turns a fault inside the kernel into the sticky error. `pointers` are the kernel's
// pointer arguments, each checked to be device memory (or null) before any thread runs.
void launch(const KernelBody& body, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            const void* const* pointers, int pointer_count);

template <typename P>
void collect_pointer(const P& p, const void** out, int& count) {
  if constexpr (std::is_pointer_v<P>) out[count++] = static_cast<const void*>(p);
}

// Runs kernel(args...) on grid x block emulated threads. The arguments are converted to the
// kernel's parameter types once and passed by value to every thread, as a GPU does.
template <auto Kernel, typename... Params, typename... Args>
void launch_kernel(void (*)(Params...), const char* name, unsigned max_threads, dim3 grid, dim3 block,
                   size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  using Tuple = std::tuple<std::decay_t<Params>...>;
  const Tuple params(static_cast<std::decay_t<Params>>(std::forward<Args>(args))...);
  const void* pointers[sizeof...(Params) + 1] = {};
  int count = 0;
  std::apply([&](const auto&... p) { (collect_pointer(p, pointers, count), ...); }, params);
  const KernelBody body{name, max_threads,
                        [](const void* packed) { std::apply(Kernel, *static_cast<const Tuple*>(packed)); }, &params};
  launch(body, grid, block, shared_bytes, stream, pointers, count);
}

}  // namespace tg::cuda::emu

// ---- device built-ins ----
#define threadIdx (::tg::cuda::emu::view().thread)
#define blockIdx (::tg::cuda::emu::view().block)
#define blockDim (::tg::cuda::emu::view().block_dim)
#define gridDim (::tg::cuda::emu::view().grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() { ::tg::cuda::emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::tg::cuda::emu::syncwarp(mask); }

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  return ::tg::cuda::emu::shuffle_as(mask, var, ::tg::cuda::emu::ShuffleKind::kIndex, src_lane, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::tg::cuda::emu::shuffle_as(mask, var, ::tg::cuda::emu::ShuffleKind::kUp, static_cast<int>(delta), width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return ::tg::cuda::emu::shuffle_as(mask, var, ::tg::cuda::emu::ShuffleKind::kDown, static_cast<int>(delta), width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  return ::tg::cuda::emu::shuffle_as(mask, var, ::tg::cuda::emu::ShuffleKind::kXor, lane_mask, width);
}

// The high 32 bits of the 64-bit product.
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32);
}
// Round-to-nearest add and multiply that the compiler may not contract into an FMA: the host
// build uses -ffp-contract=off (ISO C++ mode), so plain operators are exactly that.
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
