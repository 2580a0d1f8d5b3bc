// make_grid and save_image as torchvision.utils computes them (same layout, same rounding, in
// the input's precision), and a PNG encoder (ISO/IEC 15948: signature, IHDR, IDAT, IEND).
#include "nn/image.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/npz.h"

namespace tg {
namespace {

constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";
constexpr size_t kIdatChunk = 1 << 16;  // IDAT payload per chunk; a decoder joins them
constexpr int64_t kPngMaxSide = 0x7FFFFFFF;
constexpr uint8_t kGreyColorType = 0;
constexpr uint8_t kRgbColorType = 2;
constexpr uint8_t kFilterNone = 0;

// images as [B, C, H, W] (a view), or an error naming the accepted layouts.
Tensor as_batch(const Tensor& images, const char* op) {
  TG_CHECK(images.defined(), op, "the images tensor is undefined");
  TG_CHECK(is_floating(images.dtype()), op, "expected float32 or float64 images, got ", images.str());
  switch (images.dim()) {
    case 2: return images.unsqueeze(0).unsqueeze(0);
    case 3: return images.unsqueeze(0);
    case 4: return images;
    default: TG_ERROR(op, "expected images [B, C, H, W], [C, H, W] or [H, W], got ", images.str());
  }
}

// torchvision's norm_ip: clamp to [low, high], then (v - low) / max(high - low, 1e-5).
template <typename T>
void normalize_values(T* v, size_t n, double low, double high) {
  const T lo = static_cast<T>(low), hi = static_cast<T>(high);
  const T scale = static_cast<T>(std::max(high - low, 1e-5));
  for (size_t i = 0; i < n; ++i) v[i] = (std::clamp(v[i], lo, hi) - lo) / scale;
}

template <typename T>
ValueRange min_max(const T* v, size_t n) {
  const auto [lo, hi] = std::minmax_element(v, v + n);
  return {static_cast<double>(*lo), static_cast<double>(*hi)};
}

template <typename T>
Tensor make_grid_typed(const Tensor& batch, int64_t nrow, int64_t padding, bool normalize,
                       std::optional<ValueRange> value_range, bool scale_each, double pad_value) {
  const int64_t b = batch.size(0), c_in = batch.size(1), h = batch.size(2), w = batch.size(3);
  const int64_t c = c_in == 1 ? 3 : c_in;  // grey becomes RGB, as in torchvision
  const int64_t plane = h * w, image = c * plane;
  // The images with channels expanded: [B, c, H, W].
  std::vector<T> src(static_cast<size_t>(b * image));
  const std::vector<T> in = batch.to_vector<T>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      std::copy_n(in.begin() + (i * c_in + (c_in == 1 ? 0 : ch)) * plane, plane, src.begin() + i * image + ch * plane);
  if (normalize) {
    if (scale_each) {
      for (int64_t i = 0; i < b; ++i) {
        T* img = src.data() + i * image;
        const ValueRange r = value_range ? *value_range : min_max(img, image);
        normalize_values(img, image, r.first, r.second);
      }
    } else {
      const ValueRange r = value_range ? *value_range : min_max(src.data(), src.size());
      normalize_values(src.data(), src.size(), r.first, r.second);
    }
  }
  if (b == 1) return tensor<T>(src, {c, h, w});

  const int64_t xmaps = std::min(nrow, b);
  const int64_t ymaps = (b + xmaps - 1) / xmaps;
  const int64_t cell_h = h + padding, cell_w = w + padding;
  const int64_t grid_h = cell_h * ymaps + padding, grid_w = cell_w * xmaps + padding;
  std::vector<T> grid(static_cast<size_t>(c * grid_h * grid_w), static_cast<T>(pad_value));
  for (int64_t k = 0; k < b; ++k) {
    const int64_t top = (k / xmaps) * cell_h + padding, left = (k % xmaps) * cell_w + padding;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        std::copy_n(src.begin() + k * image + ch * plane + y * w, w,
                    grid.begin() + (ch * grid_h + top + y) * grid_w + left);
  }
  return tensor<T>(grid, {c, grid_h, grid_w});
}

// torchvision's grid.mul(255).add_(0.5).clamp_(0, 255).to(uint8), channel by channel.
template <typename T>
Tensor to_bytes(const Tensor& grid, int64_t channels, const std::string& path) {
  const int64_t plane = grid.size(1) * grid.size(2);
  const std::vector<T> v = grid.to_vector<T>();
  std::vector<uint8_t> out(static_cast<size_t>(channels * plane));
  for (size_t i = 0; i < out.size(); ++i) {
    TG_CHECK(!std::isnan(v[i]), "save_image", "'", path, "': the image contains NaN");
    const T scaled = v[i] * static_cast<T>(255);
    out[i] = static_cast<uint8_t>(std::clamp(scaled + static_cast<T>(0.5), T(0), T(255)));
  }
  return tensor<uint8_t>(out, {channels, grid.size(1), grid.size(2)});
}

void put_be32(std::string& out, uint64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

// A chunk: length, type, data, and the CRC-32 of type and data.
void put_chunk(std::string& out, const char* type, const char* data, size_t n) {
  std::string body(type, 4);
  body.append(data, n);
  put_be32(out, n);
  out += body;
  put_be32(out, crc32(crc32(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
}

}  // namespace

Tensor make_grid(const Tensor& images, int64_t nrow, int64_t padding, bool normalize,
                 std::optional<ValueRange> value_range, bool scale_each, double pad_value) {
  const Tensor batch = as_batch(images, "make_grid");
  TG_CHECK(batch.size(0) >= 1, "make_grid", "expected at least one image, got ", images.str());
  TG_CHECK(nrow >= 1, "make_grid", "nrow must be >= 1, got ", nrow);
  TG_CHECK(padding >= 0, "make_grid", "padding must be >= 0, got ", padding);
  TG_CHECK(!value_range || value_range->first <= value_range->second, "make_grid",
           "value_range must have low <= high, got (", value_range ? value_range->first : 0.0, ", ",
           value_range ? value_range->second : 0.0, ")");
  return dispatch_floating(batch.dtype(), "make_grid", [&]<typename T>() {
    return make_grid_typed<T>(batch, nrow, padding, normalize, value_range, scale_each, pad_value);
  });
}

void save_image(const Tensor& images, const std::string& path, int64_t nrow, int64_t padding, bool normalize,
                std::optional<ValueRange> value_range, bool scale_each, double pad_value) {
  const Tensor batch = as_batch(images, "save_image");
  const bool grey = batch.size(1) == 1;
  TG_CHECK(grey || batch.size(1) == 3, "save_image", "'", path, "': a PNG needs 1 or 3 channels, got ",
           images.str());
  const Tensor grid = make_grid(images, nrow, padding, normalize, value_range, scale_each, pad_value);
  const int64_t channels = grey ? 1 : 3;  // a grey grid's three channels are equal
  const Tensor bytes = dispatch_floating(grid.dtype(), "save_image", [&]<typename T>() {
    return to_bytes<T>(grid, channels, path);
  });
  write_file_atomically(path, encode_png(bytes));
}

std::string encode_png(const Tensor& image) {
  TG_CHECK(image.defined() && image.dtype() == kUInt8, "encode_png", "expected a uint8 image, got ",
           image.defined() ? image.str() : "an undefined tensor");
  TG_CHECK(image.dim() == 2 || (image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3)), "encode_png",
           "expected an image [H, W], [1, H, W] or [3, H, W], got ", image.str());
  const int64_t c = image.dim() == 2 ? 1 : image.size(0);
  const int64_t h = image.size(-2), w = image.size(-1);
  TG_CHECK(h >= 1 && w >= 1 && h <= kPngMaxSide && w <= kPngMaxSide, "encode_png",
           "PNG sides must be in 1 .. 2^31 - 1, got ", image.str());
  const Tensor contiguous = image.to(kCPU).contiguous();
  const uint8_t* px = contiguous.data_ptr<uint8_t>();

  // Scanlines: a filter-type byte, then the row's pixels with channels interleaved.
  std::string raw;
  raw.reserve(static_cast<size_t>(h * (1 + w * c)));
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back(static_cast<char>(kFilterNone));
    for (int64_t x = 0; x < w; ++x)
      for (int64_t ch = 0; ch < c; ++ch) raw.push_back(static_cast<char>(px[(ch * h + y) * w + x]));
  }
  uLongf zsize = compressBound(raw.size());
  std::string z(zsize, '\0');
  TG_CHECK(compress2(reinterpret_cast<Bytef*>(z.data()), &zsize, reinterpret_cast<const Bytef*>(raw.data()),
                     raw.size(), Z_DEFAULT_COMPRESSION) == Z_OK,
           "encode_png", "zlib compress2 failed for ", image.str());
  z.resize(zsize);

  std::string png(kPngSignature, 8);
  std::string ihdr;
  put_be32(ihdr, static_cast<uint64_t>(w));
  put_be32(ihdr, static_cast<uint64_t>(h));
  ihdr += {8, static_cast<char>(c == 1 ? kGreyColorType : kRgbColorType), 0, 0, 0};  // depth, colour, methods
  put_chunk(png, "IHDR", ihdr.data(), ihdr.size());
  for (size_t off = 0; off < z.size(); off += kIdatChunk)
    put_chunk(png, "IDAT", z.data() + off, std::min(kIdatChunk, z.size() - off));
  put_chunk(png, "IEND", "", 0);
  return png;
}

}  // namespace tg
