// How a workload is timed and what every row carries, as torch_workloads.py does it: warm-up
// calls, then `repeats` blocks of `iters` timed calls (iters 0: enough calls for min_time
// seconds per block, 10 to 1000); median / min / max milliseconds over all timed calls.
#pragma once

#include <functional>
#include <string>

#include "json_row.h"
#include "tapegrad.h"

namespace workloads {

struct RunOptions {
  int iters = 0;
  double min_time = 0.5;  // seconds per repeat block when iters is 0
  int repeats = 3;
  int warmup = 3;
  bool profile = false;  // time the timed blocks under tg::profiler and print its table to stderr
  tg::Device device = tg::kCPU;
};

struct Timing {
  double ms_median = 0, ms_min = 0;
};

// Runs `step` as described above, sets the timing fields of `row` (iters, repeats, warmup,
// ms_median, ms_min, ms_max, ms_repeat_medians, steps_per_s) and returns the median and min.
// With options.profile the profiler's table for `label` goes to stderr.
Timing measure(const std::function<void()>& step, const RunOptions& options, const std::string& label,
               JsonRow& row);

// gflop_per_step, gflops_median, gflops_best (nothing when flop is 0, as the torch side).
void add_flops(JsonRow& row, double flop, const Timing& timing);

// Peak resident memory of this process so far (getrusage ru_maxrss), MiB.
double peak_rss_mib();
void add_memory(JsonRow& row, double rss_at_start);

// The fields every row shares: device, threads, backend, isa.
JsonRow common_fields(const RunOptions& options);

// Prints one row to stdout and flushes (the caller reads rows as they come).
void emit(const JsonRow& row);

}  // namespace workloads
