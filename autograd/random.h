// The default random generator: Philox4x32-10, a counter-based generator (Salmon et al.,
// "Parallel random numbers: as easy as 1, 2, 3", SC'11). Element i of a random tensor is a
// pure function of (seed, offset + i), so values do not depend on thread count or device, and
// a CUDA kernel can reproduce the CPU stream exactly.
#pragma once

#include <array>
#include <cstdint>

namespace tg {

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // counters consumed so far
};

// Seeds the default generator; every random factory and dropout draws from it.
void manual_seed(uint64_t seed);
GeneratorState get_rng_state();
void set_rng_state(const GeneratorState& s);
// Reserves n counters and returns the first: the caller uses (seed, first .. first + n - 1).
GeneratorState reserve_counters(uint64_t n);

// The Philox4x32-10 block for one 128-bit counter (counter, key = seed).
std::array<uint32_t, 4> philox4x32(uint64_t counter, uint64_t seed);

// Scalar draws from one counter: a uniform in [0, 1) (53 random bits for double, 24 for float)
// and a standard normal (Box-Muller on two uniforms of the block).
double philox_uniform(uint64_t counter, uint64_t seed);
double philox_normal(uint64_t counter, uint64_t seed);

}  // namespace tg
