// Philox4x32-10 for many consecutive counters at once, written so that the compiler vectorises
// it across counters in each per-ISA unit (the 32 x 32 -> 64-bit products become vpmuludq, 8 or
// 4 counters per instruction). Integer arithmetic only, so every level gives the same bits as
// the scalar tg::philox4x32 in autograd/random.cpp (same rounds, constants and key schedule).
#pragma once

#include <cstdint>

namespace tg::cpu::simd {

// bits[j] = the 53 random bits philox_uniform draws from counter + j:
// ((r0 << 21) ^ (r1 >> 11)) mod 2^53 of the block r = Philox4x32-10(counter + j, seed).
template <class Arch>
void philox_uniform_bits(uint64_t counter, uint64_t seed, int64_t n, uint64_t* bits) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  const auto key0 = static_cast<uint32_t>(seed), key1 = static_cast<uint32_t>(seed >> 32);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const uint64_t ctr = counter + static_cast<uint64_t>(j);
    uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = static_cast<uint64_t>(kM0) * c0, p1 = static_cast<uint64_t>(kM1) * c2;
      const auto hi0 = static_cast<uint32_t>(p0 >> 32), hi1 = static_cast<uint32_t>(p1 >> 32);
      c0 = hi1 ^ c1 ^ k0;
      c1 = static_cast<uint32_t>(p1);
      c2 = hi0 ^ c3 ^ k1;
      c3 = static_cast<uint32_t>(p0);
      k0 += kW0;
      k1 += kW1;
    }
    bits[j] = ((static_cast<uint64_t>(c0) << 21) ^ (c1 >> 11)) & ((uint64_t{1} << 53) - 1);
  }
}

}  // namespace tg::cpu::simd
