// GEMM entry points: the raw-pointer API (cpu.h), the split of C among threads, and the batched
// matmul kernel of the cpu table. The blocked single-thread kernel is gemm.h.
//
// Three schedules, by shape. When A fits one packed block (M <= MC: a batch of rows times a
// layer's weight), the threads first pack A once together and the units are column blocks that
// share it. When A is taller and B at least one block wide (large square products), each thread
// owns a band of C's rows and the threads pack every B block together (gemm_shared_b).
// Otherwise C is cut into about kUnitsPerThread units per thread, taken dynamically, rows and
// columns split so that the panels each unit packs for itself cost least. Every unit or band
// runs the whole K loop on its part of C. K is never split, so every element
// of C is the same sequence of FMAs whatever the thread count or split: results are bitwise
// identical for 1, 2 or n threads (parallel.h may also drop to one thread while the cores are
// shared).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

// Below ~2 MFLOP (a 100^3 product) one core finishes before a second would have started.
constexpr double kParallelFlops = 2e6;
// Units per thread, as long as each keeps kUnitFlops of work: below that, packing a unit's
// panels and handing it out cost too large a share.
constexpr int64_t kUnitsPerThread = 4;
constexpr double kUnitFlops = 8e6;

// An OpenMP barrier as a plain function, for gemm.h's gemm_shared_b (whose translation units
// see no OpenMP).
void team_barrier() {
#pragma omp barrier
}

// A product too tall for one shared packed A (M > MC) and at least one B block wide: the
// threads split C's rows into equal bands, each packs its own band of A, and they pack every
// B block together (gemm.h: gemm_shared_b). Splitting C into units instead packs B once per
// row unit and A once per column unit: for 2048^3 on 2 threads, B six times and A twice; with
// B packed together that product runs 11% faster (388 -> 431 GFLOP/s, medians of 12 runs). A
// band's A is taken in blocks of at most 2 MC rows: with no unit-private B to pack, the A
// blocks of two threads (2 x 1.5 MiB at MC rows) still sit in L3 together. The bands are
// static: while workers start late (parallel.h) the product takes the unit split instead.
template <typename T>
bool gemm_shared_b(const GemmProblem<T>& p, int threads) {
  const auto& k = active_kernels<T>();
  if (p.M <= k.gemm_mc || p.N < k.gemm_nc || workers_start_late()) return false;
  // Two B blocks, 64-byte aligned as the micro-kernel's loads of packed B need.
  static thread_local std::vector<T> buffers;
  const auto block = static_cast<size_t>(k.gemm_kc * k.gemm_nc);
  buffers.resize(2 * block + 64 / sizeof(T));
  const auto misaligned = reinterpret_cast<uintptr_t>(buffers.data()) % 64;
  T* const base = buffers.data() + (misaligned ? (64 - misaligned) / sizeof(T) : 0);
  T* const shared[2] = {base, base + block};
  const int64_t tiles_m = (p.M + k.gemm_mr - 1) / k.gemm_mr;
  const int64_t band_rows = (tiles_m + threads - 1) / threads * k.gemm_mr;
  const int64_t rounds = (band_rows + 2 * k.gemm_mc - 1) / (2 * k.gemm_mc);
#pragma omp parallel num_threads(threads)
  {
    // Bands by the team actually started (OpenMP may give fewer threads than asked).
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    const int64_t r0 = std::min(p.M, tiles_m * t / team * k.gemm_mr);
    const int64_t r1 = std::min(p.M, tiles_m * (t + 1) / team * k.gemm_mr);
    k.gemm_shared_b(p, r0, r1, rounds, t, team, shared, team_barrier);
  }
  return true;
}

template <typename T>
void gemm_threads(const GemmProblem<T>& problem) {
  const auto& k = active_kernels<T>();
  if (problem.M <= 0 || problem.N <= 0) return;
  // A product the kernel runs transposed (few columns) is split transposed, so that the units
  // cut its long side and each still fills whole tiles.
  const GemmProblem<T> p =
      k.gemm_swaps(problem.M, problem.N)
          ? GemmProblem<T>{problem.N, problem.M, problem.K, problem.alpha, problem.b,
                           problem.cs_b, problem.rs_b, problem.a, problem.cs_a, problem.rs_a,
                           problem.beta, problem.c, problem.cs_c, problem.rs_c}
          : problem;
  const int threads = num_threads();
  const double flops =
      2.0 * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  if (threads <= 1 || flops < kParallelFlops || omp_in_parallel()) return k.gemm(p);
  const auto target = std::clamp<int64_t>(static_cast<int64_t>(flops / kUnitFlops), threads,
                                          kUnitsPerThread * threads);
  const int64_t tiles_m = (p.M + k.gemm_mr - 1) / k.gemm_mr;
  const int64_t tiles_n = (p.N + k.gemm_nr - 1) / k.gemm_nr;
  if (p.M <= k.gemm_mc && tiles_n >= threads) {
    // A fits one packed block (a batch of 128 rows times a layer's weight): the threads pack
    // it once, panel by panel, and share it; units are column blocks, each packing its own B.
    static thread_local std::vector<T> packed;
    packed.resize(static_cast<size_t>(k.packed_a_size(p.M, p.K)));
    T* a = packed.data();
    parallel_for(tiles_m, 1, [&](int64_t begin, int64_t end) { k.gemm_pack_a(p, begin, end, a); });
    const int64_t col_blocks = std::min(target, tiles_n);
    return parallel_pieces(col_blocks, [&](int64_t jb) {
      const int64_t j0 = std::min(p.N, tiles_n * jb / col_blocks * k.gemm_nr);
      const int64_t j1 = std::min(p.N, tiles_n * (jb + 1) / col_blocks * k.gemm_nr);
      GemmProblem<T> part = p;
      part.N = j1 - j0;
      part.b = p.b + j0 * p.cs_b;
      part.c = p.c + j0 * p.cs_c;
      if (part.N > 0) k.gemm_prepacked(part, a);
    });
  }
  if (gemm_shared_b(p, threads)) return;
  // Otherwise a unit packs its own rows of A and its own columns of B (gemm.h), so r row
  // blocks repack B r times and c column blocks repack A c times. With r c = target units, the
  // packing cost r N w_b + c M w_a is least at r = sqrt(target M w_a / (N w_b)); a transposing
  // pack (the operand's rows not contiguous) costs w = 4 times a straight copy (w = 1).
  const double w_a = p.cs_a == 1 ? 4.0 : 1.0, w_b = p.cs_b == 1 ? 1.0 : 4.0;
  const double m = static_cast<double>(p.M), n = static_cast<double>(p.N);
  const double t = static_cast<double>(target);
  const auto best_rows = static_cast<int64_t>(std::lround(std::sqrt(t * m * w_a / (n * w_b))));
  const int64_t row_blocks = std::clamp<int64_t>(best_rows, 1, std::max<int64_t>(1, tiles_m / 4));
  const int64_t col_blocks =
      std::clamp<int64_t>((target + row_blocks - 1) / row_blocks, 1, tiles_n);
  const int64_t units = row_blocks * col_blocks;
  if (units <= 1) return k.gemm(p);
  parallel_pieces(units, [&](int64_t u) {
    const int64_t ib = u / col_blocks, jb = u % col_blocks;
    const int64_t i0 = std::min(p.M, tiles_m * ib / row_blocks * k.gemm_mr);
    const int64_t i1 = std::min(p.M, tiles_m * (ib + 1) / row_blocks * k.gemm_mr);
    const int64_t j0 = std::min(p.N, tiles_n * jb / col_blocks * k.gemm_nr);
    const int64_t j1 = std::min(p.N, tiles_n * (jb + 1) / col_blocks * k.gemm_nr);
    GemmProblem<T> part = p;
    part.M = i1 - i0;
    part.N = j1 - j0;
    part.a = p.a + i0 * p.rs_a;
    part.b = p.b + j0 * p.cs_b;
    part.c = p.c + i0 * p.rs_c + j0 * p.cs_c;
    if (part.M > 0 && part.N > 0) k.gemm(part);
  });
}

void check_gemm_args(int64_t M, int64_t N, int64_t K) {
  TG_CHECK(M >= 0 && N >= 0 && K >= 0, "cpu::gemm", "sizes must be non-negative, got M=", M,
           " N=", N, " K=", K);
}

template <typename T>
void gemm_blas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  check_gemm_args(M, N, K);
  TG_CHECK(lda >= std::max<int64_t>(1, trans_a ? M : K) &&
               ldb >= std::max<int64_t>(1, trans_b ? K : N) && ldc >= std::max<int64_t>(1, N),
           "cpu::gemm", "leading dimensions too small: lda=", lda, " ldb=", ldb, " ldc=", ldc,
           " for M=", M, " N=", N, " K=", K, (trans_a ? " (A transposed)" : ""),
           (trans_b ? " (B transposed)" : ""));
  // Row-major op(A)(i, k): A[i * lda + k], or A[k * lda + i] when transposed.
  gemm_threads<T>({M, N, K, alpha, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, trans_b ? 1 : ldb,
                   trans_b ? ldb : 1, beta, c, ldc, 1});
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_blas<float>(trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc) {
  gemm_blas<double>(trans_a, trans_b, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_strided(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t rs_a,
                  int64_t cs_a, const float* b, int64_t rs_b, int64_t cs_b, float beta, float* c,
                  int64_t rs_c, int64_t cs_c) {
  check_gemm_args(M, N, K);
  gemm_threads<float>({M, N, K, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c});
}

void gemm_strided(int64_t M, int64_t N, int64_t K, double alpha, const double* a, int64_t rs_a,
                  int64_t cs_a, const double* b, int64_t rs_b, int64_t cs_b, double beta, double* c,
                  int64_t rs_c, int64_t cs_c) {
  check_gemm_args(M, N, K);
  gemm_threads<double>({M, N, K, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c});
}

// out[b] = a[b] x b[b] for [B, M, K] x [B, K, N], any strides (stride-0 batches included).
void matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    const int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* pc = static_cast<T*>(out.raw_data());
    const auto problem = [&](int64_t i, int64_t rows) {
      return GemmProblem<T>{rows, N, K, T(1), pa + i * a.stride(0), a.stride(1), a.stride(2),
                            pb + i * b.stride(0), b.stride(1), b.stride(2), T(0),
                            pc + i * out.stride(0), out.stride(1), out.stride(2)};
    };
    // x[B, M, K] times one shared W[K, N] (b's batch stride 0, e.g. a linear layer on a 3-D
    // input): when a's and out's batches stack into taller matrices, it is one GEMM of B * M rows.
    const bool stacks = a.stride(0) == M * a.stride(1) && out.stride(0) == M * out.stride(1);
    if (B == 1 || (b.stride(0) == 0 && stacks))
      return gemm_threads<T>(problem(0, B * M));
    // Many small products: one thread per product. Otherwise: each product uses all threads.
    const double flops =
        2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
    if (flops < 16 * kParallelFlops) {
      const auto& k = active_kernels<T>();
      const auto grain =
          std::max<int64_t>(1, static_cast<int64_t>(kParallelFlops / std::max(flops, 1.0)));
      return parallel_for(B, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) k.gemm(problem(i, M));
      });
    }
    for (int64_t i = 0; i < B; ++i) gemm_threads<T>(problem(i, M));
  });
}

}  // namespace tg::cpu
