// 2-D point sets (ring8) as pictures: the sample "grid" of a generator of points.
#pragma once

#include "tapegrad.h"

namespace examples {

constexpr int64_t kScatterSize = 128;    // pixels per side
constexpr double kScatterExtent = 3.0;   // the picture shows [-3, 3]^2 (the ring has radius 2)

// points [N, 2] as a white-on-black picture [1, kScatterSize, kScatterSize] in [0, 1], y up.
tg::Tensor scatter_image(const tg::Tensor& points);

}  // namespace examples
