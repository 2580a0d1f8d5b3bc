// Helpers of the suites that test the cpu backend against the reference: the two kernel
// tables, guards that restore the cpu backend's settings and the selected backend, and
// bitwise comparison.
#pragma once

#include <cstring>
#include <string>

#include "backends/cpu/cpu.h"
#include "test_helpers.h"

namespace tg::test {

inline const kernel::KernelTable& ref_table() { return kernel::table_named("reference"); }
inline const kernel::KernelTable& cpu_table() { return kernel::table_named("cpu"); }

// Restores the cpu backend's instruction-set level and thread count at the end of a scope.
struct CpuStateGuard {
  std::string isa = cpu::isa_name();
  int threads = cpu::num_threads();
  ~CpuStateGuard() {
    cpu::set_isa(isa);
    cpu::set_num_threads(threads);
  }
};

// Selects a backend (the cpu one unless named) for a scope.
struct BackendGuard {
  std::string initial = kernel::current_backend();
  explicit BackendGuard(const std::string& name = "cpu") { kernel::set_backend(name); }
  ~BackendGuard() { kernel::set_backend(initial); }
};

// Same shape, dtype and bytes, whatever the two layouts.
inline bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.shape() == cb.shape() && ca.dtype() == cb.dtype() &&
         std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * dtype_size(ca.dtype())) == 0;
}

}  // namespace tg::test
