// Storage lifetime, the default CPU allocator and the live-allocation counters.
#include "autograd/storage.h"

#include <cstdlib>
#include <new>

namespace tg {
namespace {

std::atomic<int64_t> g_live_allocations{0};
std::atomic<int64_t> g_live_bytes{0};

struct AlignedCpuAllocator final : Allocator {
  void* allocate(size_t nbytes) override {
    size_t rounded = (nbytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, size_t) override { std::free(p); }
};

// Atomic: a backend switch installs another allocator while other threads allocate.
std::atomic<Allocator*>& slot(Device d) {
  static std::atomic<Allocator*> cpu{new AlignedCpuAllocator()};  // leaked: outlives all storages
  static std::atomic<Allocator*> cuda{nullptr};
  return d.is_cpu() ? cpu : cuda;
}

}  // namespace

Allocator& allocator_for(Device d) {
  Allocator* a = slot(d).load(std::memory_order_acquire);
  TG_CHECK(a != nullptr, "allocate", "no allocator for device ", d.str(),
           " (was tapegrad built with TAPEGRAD_CUDA=ON and is a GPU present?)");
  return *a;
}

void set_allocator(Device d, Allocator* a) { slot(d).store(a, std::memory_order_release); }

Storage::Storage(size_t nbytes, Device device)
    : nbytes_(nbytes), device_(device), allocator_(&allocator_for(device)) {
  data_ = allocator_->allocate(nbytes);
  g_live_allocations.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(static_cast<int64_t>(nbytes), std::memory_order_relaxed);
}

Storage::Storage(void* external, size_t nbytes, Device device)
    : data_(external), nbytes_(nbytes), device_(device), allocator_(nullptr) {}

Storage::~Storage() {
  if (!allocator_) return;  // external memory
  allocator_->deallocate(data_, nbytes_);
  g_live_allocations.fetch_sub(1, std::memory_order_relaxed);
  g_live_bytes.fetch_sub(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

namespace memory {
int64_t live_allocations() { return g_live_allocations.load(); }
int64_t live_bytes() { return g_live_bytes.load(); }
}  // namespace memory

}  // namespace tg
