// Profiler state: one accumulator per (name, kind), guarded by a mutex (kernels may be called
// from several host threads).
#include "autograd/profiler.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

namespace tg::profiler {
namespace {

std::atomic<int> g_active{0};
std::mutex g_mutex;
std::map<std::pair<std::string, bool>, Row>& accumulators() {
  static auto* m = new std::map<std::pair<std::string, bool>, Row>();
  return *m;
}

}  // namespace

Profiler::Profiler() {
  reset();
  g_active.fetch_add(1);
}

Profiler::~Profiler() { g_active.fetch_sub(1); }

bool enabled() { return g_active.load(std::memory_order_relaxed) > 0; }

void record(const std::string& name, bool is_backward_node, double seconds, double flops, double bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Row& r = accumulators()[{name, is_backward_node}];
  r.name = name;
  r.is_backward_node = is_backward_node;
  r.calls += 1;
  r.seconds += seconds;
  r.flops += flops;
  r.bytes += bytes;
}

void Profiler::reset() {
  std::lock_guard<std::mutex> lock(g_mutex);
  accumulators().clear();
}

std::vector<Row> Profiler::rows() const {
  std::vector<Row> out;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (const auto& [key, row] : accumulators()) out.push_back(row);
  }
  std::sort(out.begin(), out.end(), [](const Row& a, const Row& b) { return a.seconds > b.seconds; });
  return out;
}

std::string Profiler::table() const {
  std::vector<Row> all = rows();
  std::string s;
  char line[256];
  for (bool backward : {false, true}) {
    double total = 0;
    for (const Row& r : all) total += r.is_backward_node == backward ? r.seconds : 0;
    std::snprintf(line, sizeof line, "%-28s %8s %10s %7s %10s %9s\n",
                  backward ? "backward node" : "kernel", "calls", "total ms", "%", "GFLOP/s", "GB/s");
    s += line;
    for (const Row& r : all) {
      if (r.is_backward_node != backward) continue;
      const double pct = total > 0 ? 100.0 * r.seconds / total : 0.0;
      const double gflops = r.seconds > 0 ? r.flops / r.seconds / 1e9 : 0.0;
      const double gbs = r.seconds > 0 ? r.bytes / r.seconds / 1e9 : 0.0;
      std::snprintf(line, sizeof line, "%-28s %8lld %10.3f %6.1f%% %10.1f %9.1f\n", r.name.c_str(),
                    static_cast<long long>(r.calls), r.seconds * 1e3, pct, gflops, gbs);
      s += line;
    }
    std::snprintf(line, sizeof line, "%-28s %8s %10.3f\n\n", "total", "", total * 1e3);
    s += line;
  }
  return s;
}

}  // namespace tg::profiler
