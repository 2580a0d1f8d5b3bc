// Shared by the benchmark programs: running one case on a named backend and ISA level, and
// the list of levels to measure.
#pragma once

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "backends/cpu/cpu.h"
#include "tapegrad.h"

namespace tg::bench {

// A configuration a case runs under: "reference", or "cpu" at one ISA level and thread count.
struct Config {
  std::string backend;
  std::string isa;  // empty for the reference
  int threads = 1;

  std::string name() const {
    if (backend == "reference") return backend;
    return backend + "/" + isa + "/threads:" + std::to_string(threads);
  }
  const kernel::KernelTable& table() const { return kernel::table_named(backend); }
  // Makes this configuration the one kernels run under (the table is named explicitly; the
  // level and thread count are the cpu backend's global settings).
  void activate() const {
    if (backend == "cpu") {
      cpu::set_isa(isa);
      cpu::set_num_threads(threads);
    }
  }
};

// The cpu backend at every level this CPU supports, with 1 thread and with all of them.
inline std::vector<Config> cpu_configs() {
  std::vector<Config> out;
  const int all = cpu::num_threads();
  for (const std::string& isa : cpu::available_isas())
    for (int threads : {1, all}) {
      out.push_back({"cpu", isa, threads});
      if (all == 1) break;
    }
  return out;
}

}  // namespace tg::bench
