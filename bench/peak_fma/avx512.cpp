// peak_fma's chains on 512-bit registers (compiled with -mavx512f; run only where the CPU has it).
#include <immintrin.h>

#include "fma_chains.h"

namespace peak_fma {
namespace {

struct Avx512 {
  using Vec = __m512;
  static Vec splat(float x) { return _mm512_set1_ps(x); }
  static Vec fma(Vec x, Vec y, Vec z) { return _mm512_fmadd_ps(x, y, z); }
  static Vec add(Vec x, Vec y) { return _mm512_add_ps(x, y); }
  static void store(float* to, Vec v) { _mm512_store_ps(to, v); }
};

}  // namespace

float avx512_chains(int64_t iterations, float a, float b) { return run_chains<Avx512>(iterations, a, b); }

}  // namespace peak_fma
