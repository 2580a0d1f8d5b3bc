// Reference copy (with dtype conversion), fill, and the Philox random fills.
#include "backends/philox_draws.h"
#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {

void copy(const Tensor& dst, const Tensor& src) {
  dispatch_all(dst.dtype(), [&]<typename D>() {
    dispatch_all(src.dtype(), [&]<typename S>() {
      D* d = typed<D>(dst);
      const S* s = typed<S>(src);
      for_each_offset<2>(dst.shape(), {&dst.strides(), &src.strides()},
                         [&](const auto& o) { d[o[0]] = static_cast<D>(s[o[1]]); });
    });
  });
}

void fill(const Tensor& dst, double value) {
  dispatch_all(dst.dtype(), [&]<typename T>() {
    T* d = typed<T>(dst);
    const T v = static_cast<T>(value);
    for_each_offset<1>(dst.shape(), {&dst.strides()}, [&](const auto& o) { d[o[0]] = v; });
  });
}

// Element i (in row-major order) draws from counter offset + i: independent of strides,
// threads and device.
template <typename Draw>
static void fill_random(const Tensor& dst, Draw draw) {
  dispatch_floating(dst.dtype(), "random", [&]<typename T>() {
    T* d = typed<T>(dst);
    uint64_t i = 0;
    for_each_offset<1>(dst.shape(), {&dst.strides()},
                       [&](const auto& o) { d[o[0]] = static_cast<T>(draw(i++)); });
  });
}

void uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high) {
  fill_random(dst, kernel::UniformDraw{seed, offset, low, high, dst.dtype()});
}

void normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std) {
  fill_random(dst, kernel::NormalDraw{seed, offset, mean, std});
}

}  // namespace tg::reference
