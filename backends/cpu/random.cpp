// The cpu backend's random fills: the reference's Philox streams (backends/philox_draws.h),
// split among threads. Element i (row-major) draws from counter offset + i, so the values are
// bitwise those of the reference backend, whatever the thread count. The draws stay scalar:
// they feed weight initialisation and dropout masks, a small share of a training step.
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/strided.h"
#include "backends/philox_draws.h"

namespace tg::cpu {

namespace {

// One Philox block plus a log / cos per element: ~100 ns, so a few thousand pay for a thread.
constexpr int64_t kGrain = 1 << 12;

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
  fill_random(dst, kernel::UniformDraw{seed, offset, low, high, dst.dtype()});
}

void normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std) {
  fill_random(dst, kernel::NormalDraw{seed, offset, mean, std});
}

}  // namespace tg::cpu
