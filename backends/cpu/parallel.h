// Splitting work among the cpu backend's threads (OpenMP). Pieces are taken dynamically and
// their boundaries depend on the thread count, so callers keep results independent of the
// split: elementwise kernels compute each element the same way wherever it lands, reductions
// fix their partial sums by shape alone, GEMM splits C and never K. That freedom is also what
// lets the thread count change from call to call (see workers_start_late below).
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "backends/cpu/cpu.h"

namespace tg::cpu {

// Pieces per thread: taken dynamically, so a thread that shares its core with another process
// does not hold up the others, as a static half-and-half split would.
inline constexpr int64_t kPiecesPerThread = 4;

// When another process keeps the cores busy, a worker may be woken only after the scheduler's
// next time slice (milliseconds), and every parallel region waits for it. A worker that starts
// later than kLateStart marks the cores as shared: kernels then run on the calling thread alone
// for kSerialBackoff before trying threads again. (A sleeping worker normally wakes in tens of
// microseconds.) Results do not depend on it; only speed does.
inline constexpr std::chrono::microseconds kLateStart{1000};
inline constexpr std::chrono::milliseconds kSerialBackoff{200};
bool workers_start_late();          // true while backing off
void note_workers_started_late();   // starts a back-off period

// Runs body(piece) for every piece in [0, pieces), on up to num_threads() threads.
template <class Body>
void parallel_pieces(int64_t pieces, const Body& body) {
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), pieces));
  if (threads <= 1 || omp_in_parallel() || workers_start_late()) {
    for (int64_t p = 0; p < pieces; ++p) body(p);
    return;
  }
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  std::atomic<int64_t> next{0};
  std::atomic<bool> late{false};
#pragma omp parallel num_threads(threads)
  {
    if (omp_get_thread_num() != 0 && clock::now() - start > kLateStart) late.store(true);
    for (int64_t p = next.fetch_add(1); p < pieces; p = next.fetch_add(1)) body(p);
  }
  if (late.load()) note_workers_started_late();
}

// Runs f(begin, end) over contiguous pieces of [0, n), each at least `grain` long (below that
// a fork/join, a few microseconds, costs more than it saves).
template <class F>
void parallel_for(int64_t n, int64_t grain, const F& f) {
  if (n <= 0) return;
  const int64_t pieces =
      std::min<int64_t>(num_threads() * kPiecesPerThread, n / std::max<int64_t>(grain, 1));
  if (pieces <= 1) return f(int64_t{0}, n);
  parallel_pieces(pieces, [&](int64_t p) { f(n * p / pieces, n * (p + 1) / pieces); });
}

}  // namespace tg::cpu
