// The loop peak_fma times: independent chains of FMAs on registers, and the per-ISA entry points.
#pragma once

#include <cstdint>

namespace peak_fma {

// Independent accumulators per thread. A core issuing 2 FMAs a cycle at a 4-cycle latency needs
// 8 chains in flight to keep both pipes busy; 12 covers a 5- or 6-cycle latency as well, and
// with the two operands it takes 14 of AVX2's 16 vector registers, so nothing spills.
constexpr int kChains = 12;

// Each runs `iterations` rounds of kChains vector FMAs (acc = acc * a + b) on one thread and
// returns the sum over every lane of every chain. The caller must use that sum (peak_fma prints
// it): otherwise nothing would stop a compiler from dropping the loop. With 0 < a < 1 every
// chain converges to b / (1 - a), so no lane ever overflows or goes subnormal.
float avx2_chains(int64_t iterations, float a, float b);    // 8 floats a vector; -mavx2 -mfma
float avx512_chains(int64_t iterations, float a, float b);  // 16 floats a vector; -mavx512f
constexpr int kAvx2Lanes = 8, kAvx512Lanes = 16;

// The loop itself, for the ISA files: Isa gives Vec, splat, fma(x, y, z) = x * y + z, add and
// store (to 64-byte aligned memory). The chains are a fixed-size array the compiler unrolls and
// keeps in registers.
template <class Isa>
float run_chains(int64_t iterations, float a, float b) {
  using Vec = typename Isa::Vec;
  const Vec va = Isa::splat(a), vb = Isa::splat(b);
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = Isa::splat(static_cast<float>(c));
  for (int64_t i = 0; i < iterations; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = Isa::fma(acc[c], va, vb);
  Vec total = acc[0];
  for (int c = 1; c < kChains; ++c) total = Isa::add(total, acc[c]);
  alignas(64) float lanes[sizeof(Vec) / sizeof(float)];
  Isa::store(lanes, total);
  float sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

}  // namespace peak_fma
