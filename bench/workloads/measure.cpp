// Timing, FLOP-rate and memory fields of the workload rows (measure.h).
#include "measure.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <vector>

namespace workloads {
namespace {

// Waits for the device to finish queued work. A CPU kernel has finished when it returns; on a
// stream-ordered device, copying a value back to the host waits for everything queued before it.
void sync(const tg::Device& device) {
  if (device.is_cuda()) (void)tg::zeros({1}, tg::TensorOptions(device)).to(tg::kCPU);
}

double time_once_ms(const std::function<void()>& step, const tg::Device& device) {
  const auto start = std::chrono::steady_clock::now();
  step();
  sync(device);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Python's statistics.median: the mean of the two middle values for an even count.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

Timing measure(const std::function<void()>& step, const RunOptions& options, const std::string& label,
               JsonRow& row) {
  for (int i = 0; i < options.warmup; ++i) step();
  sync(options.device);
  int iters = options.iters;
  if (iters <= 0) {
    const double probe = time_once_ms(step, options.device);
    const double wanted = std::ceil(options.min_time * 1e3 / std::max(probe, 1e-3));
    iters = static_cast<int>(std::min(1000.0, std::max(10.0, wanted)));
  }
  std::optional<tg::profiler::Profiler> profiler;
  if (options.profile) profiler.emplace();
  std::vector<double> all, repeat_medians;
  for (int r = 0; r < options.repeats; ++r) {
    std::vector<double> block;
    for (int i = 0; i < iters; ++i) block.push_back(time_once_ms(step, options.device));
    repeat_medians.push_back(round_to(median(block), 4));
    all.insert(all.end(), block.begin(), block.end());
  }
  if (profiler) {
    std::cerr << "profile of " << label << ": totals over " << all.size() << " timed calls ("
              << options.repeats << " x " << iters << ")\n"
              << profiler->table() << std::flush;
  }
  const Timing t{median(all), *std::min_element(all.begin(), all.end())};
  row.set("iters", iters)
      .set("repeats", options.repeats)
      .set("warmup", options.warmup)
      .set("ms_median", round_to(t.ms_median, 4))
      .set("ms_min", round_to(t.ms_min, 4))
      .set("ms_max", round_to(*std::max_element(all.begin(), all.end()), 4))
      .set("ms_repeat_medians", repeat_medians)
      .set("steps_per_s", round_to(1e3 / t.ms_median, 3));
  if (options.profile) row.set("profiled", true);
  return t;
}

void add_flops(JsonRow& row, double flop, const Timing& timing) {
  if (flop == 0) return;
  // rates from the rounded times, as the torch side computes them
  row.set("gflop_per_step", round_to(flop / 1e9, 4))
      .set("gflops_median", round_to(flop / round_to(timing.ms_median, 4) / 1e6, 2))
      .set("gflops_best", round_to(flop / round_to(timing.ms_min, 4) / 1e6, 2));
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: KiB
}

void add_memory(JsonRow& row, double rss_at_start) {
  row.set("peak_rss_mib", round_to(peak_rss_mib(), 1)).set("peak_rss_mib_at_start", round_to(rss_at_start, 1));
}

JsonRow common_fields(const RunOptions& options) {
  const std::string backend = tg::kernel::current_backend(options.device.type);
  JsonRow row;
  row.set("device", options.device.is_cuda() ? "cuda" : "cpu")
      .set("threads", backend == "cpu" ? tg::cpu::num_threads() : 1)
      .set("backend", backend);
  if (backend == "cpu") row.set("isa", tg::cpu::isa_name());
  return row;
}

void emit(const JsonRow& row) {
  std::cout << row.str() << "\n" << std::flush;
}

}  // namespace workloads
