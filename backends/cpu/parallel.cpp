// The cpu backend's thread count, and the back-off that runs kernels on one thread while the
// cores are shared with other processes (parallel.h).
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

std::atomic<int> g_threads{0};  // 0: OpenMP's maximum
std::atomic<int64_t> g_serial_until{0};  // steady_clock ticks

int64_t now_ticks() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

}  // namespace

void set_num_threads(int n) {
  TG_CHECK(n >= 1, "cpu::set_num_threads", "the thread count must be at least 1, got ", n);
  g_threads.store(n);
}

int num_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

bool workers_start_late() { return now_ticks() < g_serial_until.load(std::memory_order_relaxed); }

void note_workers_started_late() {
  using ticks = std::chrono::steady_clock::duration;
  const auto backoff = std::chrono::duration_cast<ticks>(kSerialBackoff);
  g_serial_until.store(now_ticks() + backoff.count(), std::memory_order_relaxed);
}

}  // namespace tg::cpu
