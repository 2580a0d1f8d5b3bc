// scatter_image: one white pixel per point of [-3, 3]^2.
#include "scatter.h"

#include <vector>

namespace examples {

tg::Tensor scatter_image(const tg::Tensor& points) {
  tg::Tensor image = tg::zeros({1, kScatterSize, kScatterSize});
  float* pixel = image.data_ptr<float>();
  std::vector<float> xy = points.contiguous().to_vector<float>();
  auto to_pixel = [](float v) { return static_cast<int64_t>((v + kScatterExtent) / (2 * kScatterExtent) * kScatterSize); };
  for (size_t i = 0; i + 1 < xy.size(); i += 2) {
    const int64_t col = to_pixel(xy[i]), row = kScatterSize - 1 - to_pixel(xy[i + 1]);
    if (col >= 0 && col < kScatterSize && row >= 0 && row < kScatterSize) pixel[row * kScatterSize + col] = 1.0f;
  }
  return image;
}

}  // namespace examples
