// The cpu backend's caching allocator: 64-byte aligned blocks that are kept per size class when
// freed and handed out again, so a training loop that makes the same tensors every step stops
// calling malloc (and stops faulting in fresh pages) after its first step.
#include <sanitizer/asan_interface.h>

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "autograd/storage.h"
#include "backends/cpu/cpu.h"

namespace tg::cpu {

namespace {

// Free blocks beyond this are returned to the system instead of cached.
constexpr int64_t kMaxCachedBytes = int64_t{2} << 30;

// Multiples of 64 B up to 1 KiB, then 8 classes per power of two: a request is rounded up by
// at most 12.5%, and a tensor of the same shape always lands in the same class.
size_t size_class(size_t n) {
  if (n <= 1024) return n <= 64 ? 64 : (n + 63) / 64 * 64;
  const size_t step = std::bit_floor(n) / 8;
  return (n + step - 1) / step * step;
}

class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t size = size_class(nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.in_use_bytes += static_cast<int64_t>(size);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        ++stats_.reuses;
        stats_.cached_bytes -= static_cast<int64_t>(size);
        ASAN_UNPOISON_MEMORY_REGION(p, nbytes);
        return p;
      }
      ++stats_.system_allocations;
    }
    void* p = std::aligned_alloc(64, size);
    if (!p) {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.in_use_bytes -= static_cast<int64_t>(size);
      throw std::bad_alloc();
    }
    // Under AddressSanitizer the rounding slack is out of bounds and a cached block is freed
    // memory (the ASAN_* macros are no-ops otherwise).
    ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) + nbytes, size - nbytes);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.in_use_bytes -= static_cast<int64_t>(size);
    if (stats_.cached_bytes + static_cast<int64_t>(size) > kMaxCachedBytes) {
      std::free(p);
      return;
    }
    ASAN_POISON_MEMORY_REGION(p, size);
    free_[size].push_back(p);
    stats_.cached_bytes += static_cast<int64_t>(size);
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

CachingAllocator& caching_allocator() {
  static auto* a = new CachingAllocator();  // never destroyed: storages may outlive statics
  return *a;
}

std::mutex g_install_mutex;
Allocator* g_previous = nullptr;  // the allocator the caching one replaced

}  // namespace

AllocatorStats allocator_stats() { return caching_allocator().stats(); }

void empty_cache() { caching_allocator().release_cached(); }

void on_backend_selected(bool cpu_active) {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  Allocator* mine = &caching_allocator();
  Allocator* current = &allocator_for(kCPU);
  if (cpu_active && current != mine) {
    g_previous = current;
    set_allocator(kCPU, mine);
  } else if (!cpu_active && current == mine && g_previous) {
    set_allocator(kCPU, g_previous);
  }
}

}  // namespace tg::cpu
