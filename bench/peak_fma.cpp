// peak_fma: the machine's float32 FMA ceiling in GFLOP/s, for AVX2 and (where the CPU has it)
// AVX-512, on 1 thread and on N, one thread per core; bench/compare.py reports tapegrad's
// GFLOP/s as a share of it.
//
//   peak_fma                  table on stdout
//   peak_fma --json           one JSON line: {"peak_fma": {...}}
//   peak_fma --threads 2 --repeats 5 --seconds 0.2
//
// Each figure is the best of --repeats runs of about --seconds each: a run only loses speed to
// things outside it (another process on the core, a lower clock), so the best one is the ceiling.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>

#include "peak_fma/fma_chains.h"
#include "workloads/json_row.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Kernel {
  const char* isa;
  int lanes;
  float (*chains)(int64_t, float, float);
  bool supported;
};

std::vector<Kernel> kernels() {
  __builtin_cpu_init();
  return {{"avx2", peak_fma::kAvx2Lanes, peak_fma::avx2_chains,
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
          {"avx512", peak_fma::kAvx512Lanes, peak_fma::avx512_chains, __builtin_cpu_supports("avx512f") != 0}};
}

// The chains' operands, read at run time so that no compiler (not even with link-time
// optimisation) can fold the loop into a constant; the chains converge to kB / (1 - kA) = 1.
volatile float kA = 0.999f, kB = 0.001f;

// One run: `threads` threads, released together once all have started, each `iterations`
// rounds of the kernel's chains. Returns the wall seconds from release to the last one done;
// adds the results to `checksum`.
double run_once(const Kernel& k, int threads, int64_t iterations, double& checksum) {
  const float a = kA, b = kB;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<float> results(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      results[t] = k.chains(iterations, a, b);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (float r : results) checksum += r;
  return seconds;
}

// Iterations for about `seconds` of one thread: doubled until a run takes 10 ms, then scaled.
int64_t calibrate(const Kernel& k, double seconds, double& checksum) {
  int64_t iterations = 1 << 12;
  double took = run_once(k, 1, iterations, checksum);
  while (took < 0.01) {
    iterations *= 2;
    took = run_once(k, 1, iterations, checksum);
  }
  return std::max<int64_t>(1, static_cast<int64_t>(iterations * seconds / took));
}

struct Options {
  int threads = 0;  // 0: every core this process may run on
  int repeats = 5;
  double seconds = 0.2;
  bool json = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(flag + " needs a value");
      return argv[++i];
    };
    auto number = [&] {
      const std::string v = value();
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0') throw std::runtime_error(flag + ": not a number: '" + v + "'");
      return x;
    };
    if (flag == "--json") {
      o.json = true;
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(number());
    } else if (flag == "--repeats") {
      o.repeats = static_cast<int>(number());
    } else if (flag == "--seconds") {
      o.seconds = number();
    } else if (flag == "--help" || flag == "-h") {
      std::puts("usage: peak_fma [--threads N] [--repeats R] [--seconds S] [--json]\n"
                "  float32 FMA GFLOP/s per ISA on 1 and N threads (default N: every core this process may use),\n"
                "  best of R runs (default 5) of about S seconds each (default 0.2)");
      std::exit(0);
    } else {
      throw std::runtime_error("unknown option " + flag + " (see --help)");
    }
  }
  if (o.threads < 0 || o.repeats < 1 || o.seconds <= 0)
    throw std::runtime_error("--threads must not be negative, --repeats at least 1, --seconds positive");
  if (o.threads == 0) {
    cpu_set_t set;
    o.threads = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : static_cast<int>(std::thread::hardware_concurrency());
    o.threads = std::max(o.threads, 1);
  }
  return o;
}

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "";
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::vector<int> thread_counts = {1};
  if (o.threads > 1) thread_counts.push_back(o.threads);

  double checksum = 0;
  workloads::JsonRow gflops, best, best_isa;
  std::vector<double> best_value(thread_counts.size(), 0);
  if (!o.json) std::printf("peak_fma: %s, %d chains a thread, best of %d runs of ~%.2f s\n", cpu_model().c_str(),
                           peak_fma::kChains, o.repeats, o.seconds);
  if (!o.json) std::printf("%-7s %7s %9s %11s\n", "isa", "threads", "GFLOP/s", "per thread");
  for (const Kernel& k : kernels()) {
    if (!k.supported) continue;
    const int64_t iterations = calibrate(k, o.seconds, checksum);
    const double flop_per_thread = 2.0 * peak_fma::kChains * k.lanes * static_cast<double>(iterations);
    workloads::JsonRow per_count;
    for (size_t i = 0; i < thread_counts.size(); ++i) {
      const int t = thread_counts[i];
      double fastest = 1e300;
      for (int r = 0; r < o.repeats; ++r) fastest = std::min(fastest, run_once(k, t, iterations, checksum));
      const double rate = workloads::round_to(t * flop_per_thread / fastest / 1e9, 1);
      per_count.set(std::to_string(t), rate);
      if (rate > best_value[i]) {
        best_value[i] = rate;
        best.set(std::to_string(t), rate);
        best_isa.set(std::to_string(t), k.isa);
      }
      if (!o.json) std::printf("%-7s %7d %9.1f %11.1f\n", k.isa, t, rate, rate / t);
    }
    gflops.set(k.isa, per_count);
  }
  if (o.json) {
    workloads::JsonRow m;
    m.set("cpu_model", cpu_model()).set("chains", peak_fma::kChains).set("repeats", o.repeats);
    m.set("seconds", o.seconds).set("gflops", gflops).set("best", best).set("best_isa", best_isa);
    m.set("checksum", checksum);
    std::puts(workloads::JsonRow().set("peak_fma", m).str().c_str());
  } else {
    std::printf("checksum %.6g (the chains' results, printed so the loop cannot be optimised away)\n", checksum);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "peak_fma: %s\n", e.what());
  return 1;
}
