// The cpu backend's random fills: the reference's Philox streams (backends/philox_draws.h),
// split among threads. Element i (row-major) draws from counter offset + i, so the values are
// bitwise those of the reference backend, whatever the thread count. Uniform draws (dropout
// masks, every step) take their Philox bits from the ISA level's vectorised generator
// (philox_simd.h); normal draws (initialisation, latent codes) stay scalar.
#include <algorithm>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/strided.h"
#include "backends/philox_draws.h"

namespace tg::cpu {

namespace {

// One Philox block plus a double log and cos per element: about 40 ns (a VAE's 128 x 20 noise
// took 0.1 ms on one thread), so a few hundred elements pay for a thread.
constexpr int64_t kGrain = 1 << 9;
// A vectorised uniform draw costs a few ns.
constexpr int64_t kUniformGrain = 1 << 14;

template <typename Draw>
void fill_random(const Tensor& dst, const Draw& draw) {
  dispatch_floating(dst.dtype(), "random", [&]<typename T>() {
    T* d = data_of<T>(dst);
    const RowLoop<1> loop(dst.shape(), {&dst.strides()});
    parallel_for(loop.numel(), kGrain, [&](int64_t begin, int64_t end) {
      auto i = static_cast<uint64_t>(begin);
      loop.for_rows(begin, end, [&](const auto& o, int64_t n, const auto& s) {
        for (int64_t j = 0; j < n; ++j) d[o[0] + j * s[0]] = static_cast<T>(draw(i++));
      });
    });
  });
}

}  // namespace

void uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high) {
  const kernel::UniformDraw draw{seed, offset, low, high, dst.dtype()};
  const auto philox_bits = active_isa().philox_uniform_bits;
  constexpr int64_t kBlock = 256;
  dispatch_floating(dst.dtype(), "uniform", [&]<typename T>() {
    T* d = data_of<T>(dst);
    const RowLoop<1> loop(dst.shape(), {&dst.strides()});
    parallel_for(loop.numel(), kUniformGrain, [&](int64_t begin, int64_t end) {
      uint64_t bits[kBlock];
      auto i = static_cast<uint64_t>(begin);
      loop.for_rows(begin, end, [&](const auto& o, int64_t n, const auto& s) {
        for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
          const int64_t m = std::min(kBlock, n - j0);
          philox_bits(offset + i, seed, m, bits);
          for (int64_t j = 0; j < m; ++j)  // as philox_uniform: bits 2^-53
            d[o[0] + (j0 + j) * s[0]] =
                static_cast<T>(draw.from_unit(static_cast<double>(bits[j]) * 0x1.0p-53));
          i += static_cast<uint64_t>(m);
        }
      });
    });
  });
}

void normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std) {
  fill_random(dst, kernel::NormalDraw{seed, offset, mean, std});
}

}  // namespace tg::cpu
