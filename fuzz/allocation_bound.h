// "No allocation larger than the file justifies", checked per input: the sanitizer allocator's
// malloc hook records the largest single allocation while a harness runs one input, and an
// AllocationBound aborts (a crash libFuzzer reports with the input) when it exceeds
// `bytes_per_input_byte * size + kFixedSlack`. A reader that trusted a declared size would
// allocate gigabytes from a few bytes; one that validates first stays linear in the file.
#pragma once

#include <sanitizer/allocator_interface.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "backends/cpu/cpu.h"

namespace fuzz {

// Fixed costs independent of the input: error messages, the model a harness builds, small
// tables. Measured at well under this.
constexpr size_t kFixedSlack = size_t{1} << 20;

inline std::atomic<size_t> g_largest_allocation{0};

inline void record_malloc(const volatile void*, size_t n) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
}
inline void record_free(const volatile void*) {}

class AllocationBound {
 public:
  AllocationBound(size_t input_size, size_t bytes_per_input_byte)
      : limit_(kFixedSlack + bytes_per_input_byte * input_size) {
    static const bool installed = __sanitizer_install_malloc_and_free_hooks(record_malloc, record_free) != 0;
    if (!installed) {
      std::fprintf(stderr, "fuzz: cannot install the sanitizer malloc hook\n");
      std::abort();
    }
    g_largest_allocation.store(0, std::memory_order_relaxed);
  }
  AllocationBound(const AllocationBound&) = delete;
  AllocationBound& operator=(const AllocationBound&) = delete;

  // Frees the cpu backend's cached blocks (which would otherwise pile up over millions of inputs
  // of different sizes) and checks the bound.
  ~AllocationBound() {
    tg::cpu::empty_cache();
    const size_t largest = g_largest_allocation.load(std::memory_order_relaxed);
    if (largest > limit_) {
      std::fprintf(stderr, "fuzz: an allocation of %zu bytes exceeds the %zu bytes this input justifies\n",
                   largest, limit_);
      std::abort();
    }
  }

 private:
  size_t limit_;
};

}  // namespace fuzz
