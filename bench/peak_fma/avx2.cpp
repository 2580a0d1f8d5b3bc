// peak_fma's chains on 256-bit registers (compiled with -mavx2 -mfma; run only where the CPU has both).
#include <immintrin.h>

#include "fma_chains.h"

namespace peak_fma {
namespace {

struct Avx2 {
  using Vec = __m256;
  static Vec splat(float x) { return _mm256_set1_ps(x); }
  static Vec fma(Vec x, Vec y, Vec z) { return _mm256_fmadd_ps(x, y, z); }
  static Vec add(Vec x, Vec y) { return _mm256_add_ps(x, y); }
  static void store(float* to, Vec v) { _mm256_store_ps(to, v); }
};

}  // namespace

float avx2_chains(int64_t iterations, float a, float b) { return run_chains<Avx2>(iterations, a, b); }

}  // namespace peak_fma
