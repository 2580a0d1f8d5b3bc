// The SIMD CPU backend ("cpu"): its public controls. The instruction-set level in use and how
// to force one, the thread count, the raw-pointer GEMM (what conv via im2col builds on), and
// the caching allocator's counters.
//
//   TAPEGRAD_BACKEND=cpu|reference      which backend runs CPU ops (cpu is the default)
//   TAPEGRAD_CPU_ISA=avx512|avx2|generic the level the cpu backend uses (default: the best the
//                                        CPU and this build support)
//   OMP_NUM_THREADS=n                    the default thread count
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/kernels.h"

namespace tg::cpu {

// ---- instruction-set level ----
// "avx512" (AVX-512F), "avx2" (AVX2 + FMA) and "generic" (the compiler's baseline vectors,
// SSE2 on x86-64): the kernels are compiled once per level and chosen here at run time, so one
// binary compares levels. A level the CPU or the build lacks is a tg::Error naming the others.
void set_isa(const std::string& name);
std::string isa_name();
std::vector<std::string> available_isas();  // fastest first

// ---- threads ----
// Threads the cpu kernels use (OpenMP); while other processes keep the cores busy, kernels
// fall back to the calling thread for a while (backends/cpu/parallel.h). Results do not depend
// on the count: elementwise kernels are per element, reductions split work into pieces fixed
// by the shape alone, and GEMM splits C, never K. Default: OpenMP's maximum (the core count,
// or OMP_NUM_THREADS).
void set_num_threads(int n);
int num_threads();

// ---- GEMM on raw pointers ----
// C = alpha * op(A) op(B) + beta * C, row-major, with op(X) = X or X^T (BLAS's contract in
// row-major form): op(A) is M x K, op(B) is K x N, C is M x N with leading dimensions lda, ldb,
// ldc. beta == 0 never reads C. Multithreaded; bitwise identical for any thread count.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc);
// The general-stride form: element (i, j) of X at x[i * rs_x + j * cs_x].
void gemm_strided(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t rs_a,
                  int64_t cs_a, const float* b, int64_t rs_b, int64_t cs_b, float beta, float* c,
                  int64_t rs_c, int64_t cs_c);
void gemm_strided(int64_t M, int64_t N, int64_t K, double alpha, const double* a, int64_t rs_a,
                  int64_t cs_a, const double* b, int64_t rs_b, int64_t cs_b, double beta, double* c,
                  int64_t rs_c, int64_t cs_c);

// ---- memory ----
// While the cpu backend is active, CPU storages come from a caching allocator: freed blocks
// are kept per size class and handed out again, so a steady training loop stops calling
// malloc after its first step. tg::memory::live_* still count live storages.
struct AllocatorStats {
  int64_t system_allocations = 0;  // blocks obtained from the system (cache misses)
  int64_t reuses = 0;              // requests served from the cache
  int64_t cached_bytes = 0;        // free blocks held for reuse
  int64_t in_use_bytes = 0;        // blocks handed out and not yet returned (size-class rounded)
};
AllocatorStats allocator_stats();
void empty_cache();  // returns every cached free block to the system

// Called by the backend registry when the active CPU backend changes: installs the caching
// allocator for "cpu" (tg::set_allocator) and restores the previous one otherwise.
void on_backend_selected(bool cpu_active);

// The cpu backend's kernel table (backends/cpu/register.cpp).
kernel::KernelTable make_table();

}  // namespace tg::cpu
