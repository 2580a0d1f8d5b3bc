// The caching device allocator behind every CUDA storage. Blocks freed by a storage are kept
// per size class and handed to the next request of that class. Every kernel and copy runs on
// the backend's one stream, so a block is reusable as soon as it is freed: work queued by its
// next owner runs after the work queued by its previous one (stream order), with no event.
#include <bit>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "autograd/storage.h"
#include "backends/cuda/cuda.h"
#include "backends/cuda/runtime.h"

namespace tg::cuda {
namespace {

// Multiples of 512 B up to 8 KiB, then 8 classes per power of two: a request is rounded up
// by at most 12.5%, and a tensor of the same shape always lands in the same class.
size_t size_class(size_t n) {
  if (n <= 8192) return n <= 512 ? 512 : (n + 511) / 512 * 512;
  const size_t step = std::bit_floor(n) / 8;
  return (n + step - 1) / step * step;
}

class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    TG_CHECK(is_available(), "cuda", "cannot allocate ", nbytes, " bytes on cuda:0: no usable CUDA device (",
             unavailable_reason(), ")");
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++stats_.reuses;
      stats_.cached_bytes -= static_cast<int64_t>(size);
      stats_.in_use_bytes += static_cast<int64_t>(size);
      return p;
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {
      // Out of memory: give the cached blocks back to the driver and try once more.
      (void)cudaGetLastError();
      release_cached_locked();
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      TG_ERROR("cuda", "cudaMalloc of ", size, " bytes failed: ", cudaGetErrorString(e), " (",
               stats_.in_use_bytes, " bytes in use by tensors)");
    }
    ++stats_.system_allocations;
    stats_.in_use_bytes += static_cast<int64_t>(size);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.in_use_bytes -= static_cast<int64_t>(size);
    stats_.cached_bytes += static_cast<int64_t>(size);
    free_[size].push_back(p);
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

 private:
  // Waits for the stream first: queued kernels may still use a block freed on the host side.
  void release_cached_locked() {
    if (stats_.cached_bytes == 0) return;
    TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) TG_CUDA_CHECK(cudaFree(p));
    free_.clear();
    stats_.cached_bytes = 0;
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

CachingAllocator& caching_allocator() {
  static auto* a = new CachingAllocator();  // never destroyed: storages may outlive statics
  return *a;
}

}  // namespace

void install_allocator() { set_allocator(kCUDA, &caching_allocator()); }

AllocatorStats allocator_stats() { return caching_allocator().stats(); }

void empty_cache() { caching_allocator().release_cached(); }

}  // namespace tg::cuda
