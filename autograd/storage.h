// Storage: a reference-counted block of device memory shared by a tensor and all its views,
// with the version counter that lets autograd detect in-place changes to saved tensors.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "autograd/dtype.h"

namespace tg {

// Memory of one device. The CPU allocator returns 64-byte aligned blocks (one cache line,
// one AVX-512 vector) so SIMD kernels may use aligned loads at a tensor's start.
struct Allocator {
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* p, size_t nbytes) = 0;
};
Allocator& allocator_for(Device d);
void set_allocator(Device d, Allocator* a);  // backends install theirs (CUDA, caching CPU)

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  // Wraps memory the caller owns and keeps alive (from_blob); never freed here.
  Storage(void* external, size_t nbytes, Device device);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  // Bumped by every in-place op that writes into this storage (views share it).
  uint32_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_;
  uint32_t version_ = 0;
};

namespace memory {
// Live storages and their bytes, over all devices: the leak test holds these flat.
int64_t live_allocations();
int64_t live_bytes();
}  // namespace memory

}  // namespace tg
