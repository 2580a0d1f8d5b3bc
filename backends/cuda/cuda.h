// The CUDA backend ("cuda"): its public controls. Present in builds configured with
// TAPEGRAD_CUDA=ON (find_package(tapegrad COMPONENTS cuda) says whether an installed one is);
// it includes no CUDA header, so a program using it compiles with any C++20 compiler.
//
//   auto x = tg::randn({64, 100}).to(tg::kCUDA);   // tensors move with .to(device)
//   if (!tg::cuda::is_available()) std::cerr << tg::cuda::unavailable_reason();
//
// Every kernel and copy runs on one CUDA stream of device 0 (pick the GPU with
// CUDA_VISIBLE_DEVICES). Kernels are asynchronous: .item(), .to(kCPU) and printing wait for
// the results. TAPEGRAD_CUDA_SYNC=1 waits after every kernel, so an error in a kernel is
// reported by that kernel's call.
#pragma once

#include <cstdint>
#include <string>

#include "backends/kernels.h"

namespace tg::cuda {

// ---- devices ----
// Whether a CUDA device can be used: false, never a crash, without a GPU or without the
// driver library.
bool is_available();
int device_count();  // 0 when none is usable
// Why no device is usable ("cudaGetDeviceCount: CUDA driver version is insufficient for CUDA
// runtime version"), or "" when one is.
std::string unavailable_reason();
std::string device_name();  // of device 0, e.g. "NVIDIA H100 80GB HBM3"
void synchronize();         // waits until every queued kernel and copy has finished

// ---- memory ----
// CUDA storages come from a caching allocator: freed blocks are kept per size class and
// handed out again (all work is ordered on the one stream, so a block is reused safely as
// soon as it is freed), so a steady training loop stops calling cudaMalloc after its first
// step. When cudaMalloc fails the cache is returned to the driver and the call retried.
struct AllocatorStats {
  int64_t system_allocations = 0;  // cudaMalloc calls (cache misses)
  int64_t reuses = 0;              // requests served from the cache
  int64_t cached_bytes = 0;        // free blocks held for reuse
  int64_t in_use_bytes = 0;        // blocks handed out and not yet returned (size-class rounded)
};
AllocatorStats allocator_stats();
void empty_cache();  // cudaFree of every cached free block

// The cuda backend's kernel table (backends/cuda/register.cpp).
kernel::KernelTable make_table();

}  // namespace tg::cuda
