// The values of the uniform and normal fills, one Philox counter per element: every backend's
// fill calls these, so the draws agree bit for bit whatever the backend, layout or thread split.
// Element i (row-major) of a fill with counter offset `offset` reads counter offset + i.
#pragma once

#include <cmath>
#include <cstdint>

#include "autograd/dtype.h"
#include "autograd/random.h"

namespace tg::kernel {

// U[low, high), rounded later to the destination dtype.
struct UniformDraw {
  uint64_t seed, offset;
  double low, high;
  DType dtype;
  double operator()(uint64_t i) const { return from_unit(philox_uniform(offset + i, seed)); }
  // The value for a uniform u in [0, 1) (backends that draw u's bits themselves call this).
  double from_unit(double u) const {
    double v = low + (high - low) * u;
    // A float32 rounding of a value just below `high` may equal it; keep the interval open.
    if (dtype == kFloat32 && static_cast<float>(v) >= static_cast<float>(high))
      v = std::nextafter(static_cast<float>(high), static_cast<float>(low));
    return v;
  }
};

// N(mean, std^2).
struct NormalDraw {
  uint64_t seed, offset;
  double mean, std;
  double operator()(uint64_t i) const { return mean + std * philox_normal(offset + i, seed); }
};

}  // namespace tg::kernel
