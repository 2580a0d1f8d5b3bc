// Image output as torchvision.utils does it: make_grid tiles a batch into one image and
// save_image writes an 8-bit PNG (grey or RGB, zlib-compressed), atomically.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "autograd/tensor.h"

namespace tg {

using ValueRange = std::pair<double, double>;  // (low, high)

// torchvision.utils.make_grid: images [B, C, H, W], [C, H, W] or [H, W] (float32/float64) tiled
// nrow per row, `padding` pixels of pad_value around and between them. Single-channel images
// become 3 channels. With normalize, values are clamped to value_range (default: the min and
// max of all images, or of each image with scale_each) and mapped to [0, 1]. One image comes
// back without padding as [3 or C, H, W]. The result is a new tensor with no autograd history.
Tensor make_grid(const Tensor& images, int64_t nrow = 8, int64_t padding = 2, bool normalize = false,
                 std::optional<ValueRange> value_range = std::nullopt, bool scale_each = false,
                 double pad_value = 0.0);

// torchvision.utils.save_image: make_grid, then each value v becomes the byte
// floor(clamp(255 v + 0.5, 0, 255)). Single-channel input is written as an 8-bit grey PNG
// (torchvision writes the same pixels as RGB), three-channel input as RGB; NaN is an error.
void save_image(const Tensor& images, const std::string& path, int64_t nrow = 8, int64_t padding = 2,
                bool normalize = false, std::optional<ValueRange> value_range = std::nullopt,
                bool scale_each = false, double pad_value = 0.0);

// A PNG file's bytes (8-bit, non-interlaced) for a uint8 image [H, W] or [C, H, W], C = 1 (grey)
// or 3 (RGB).
std::string encode_png(const Tensor& image);

}  // namespace tg
