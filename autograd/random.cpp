// Philox4x32-10 and the default generator's state.
#include "autograd/random.h"

#include <cmath>
#include <mutex>

namespace tg {
namespace {

std::mutex g_mutex;
GeneratorState g_state{67280421310721ULL, 0};  // PyTorch's default seed

inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_state = {seed, 0};
}

GeneratorState get_rng_state() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_state;
}

void set_rng_state(const GeneratorState& s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_state = s;
}

GeneratorState reserve_counters(uint64_t n) {
  std::lock_guard<std::mutex> lock(g_mutex);
  GeneratorState first = g_state;
  g_state.offset += n;
  return first;
}

std::array<uint32_t, 4> philox4x32(uint64_t counter, uint64_t seed) {
  // Round constants and Weyl key increments from the Random123 reference.
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(kM0, c0, &hi0);
    uint32_t lo1 = mulhilo(kM1, c2, &hi1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return {c0, c1, c2, c3};
}

double philox_uniform(uint64_t counter, uint64_t seed) {
  auto r = philox4x32(counter, seed);
  uint64_t bits = (static_cast<uint64_t>(r[0]) << 21) ^ (r[1] >> 11);  // 53 bits
  return static_cast<double>(bits & ((1ULL << 53) - 1)) * 0x1.0p-53;
}

double philox_normal(uint64_t counter, uint64_t seed) {
  auto r = philox4x32(counter, seed);
  // u1 in (0, 1] so log(u1) is finite; u2 in [0, 1).
  double u1 = (static_cast<double>(((static_cast<uint64_t>(r[0]) << 21) ^ (r[1] >> 11)) &
                                   ((1ULL << 53) - 1)) + 1.0) * 0x1.0p-53;
  double u2 = static_cast<double>(((static_cast<uint64_t>(r[2]) << 21) ^ (r[3] >> 11)) &
                                  ((1ULL << 53) - 1)) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace tg
