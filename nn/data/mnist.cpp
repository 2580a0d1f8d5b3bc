// MNIST-format folders: IDX images and labels read, checked against each other, and scaled
// (and optionally padded to 32 x 32) one example at a time.
#include <algorithm>
#include <filesystem>

#include "nn/data/datasets.h"
#include "nn/data/idx.h"

namespace tg::data {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kPaddedSize = 32;

// The path of `stem` or `stem`.gz in `root`, whichever exists (the raw file first).
std::string find_idx_file(const std::string& root, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"}) {
    const fs::path p = fs::path(root) / name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  TG_ERROR("MNIST", "'", root, "' has neither ", stem, " nor ", stem,
           ".gz (an MNIST-format folder holds {train,t10k}-{images-idx3,labels-idx1}-ubyte, raw or .gz)");
}

// ToTensor's v / 255 in float32, then Normalize(0.5, 0.5) for [-1, 1], rounded as torchvision.
float scale_pixel(uint8_t v, Range range) {
  const float unit = static_cast<float>(v) / 255.0f;
  return range == Range::ZeroOne ? unit : (unit - 0.5f) / 0.5f;
}

}  // namespace

const std::array<const char*, 10> FashionMNIST::kClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

MNIST::MNIST(const std::string& root, MNISTOptions options) : options_(options) {
  std::error_code ec;
  TG_CHECK(fs::is_directory(root, ec), "MNIST", "'", root, "' is not a folder",
           root == FashionMNIST::kDebianRoot ? " (install Debian's dataset-fashion-mnist package)" : "");
  const std::string prefix = options.split() == Split::Train ? "train" : "t10k";
  const std::string images_path = find_idx_file(root, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(root, prefix + "-labels-idx1-ubyte");
  images_ = read_idx(images_path);
  const Tensor labels = read_idx(labels_path);
  TG_CHECK(images_.dtype() == kUInt8 && images_.dim() == 3, "MNIST", "'", images_path,
           "': expected uint8 images [N, H, W], got ", images_.str());
  TG_CHECK(labels.dtype() == kUInt8 && labels.dim() == 1, "MNIST", "'", labels_path,
           "': expected uint8 labels [N], got ", labels.str());
  TG_CHECK(labels.size(0) == images_.size(0), "MNIST", "'", root, "': ", images_.size(0), " images but ",
           labels.size(0), " labels in the ", prefix, " split");
  TG_CHECK(!options.pad_to_32() || (images_.size(1) <= kPaddedSize && images_.size(2) <= kPaddedSize),
           "MNIST", "'", images_path, "': pad_to_32 needs images of at most 32 x 32, these are ",
           images_.size(1), " x ", images_.size(2));
  targets_ = labels.to(kInt64);
}

Shape MNIST::example_shape() const {
  if (options_.pad_to_32()) return {1, kPaddedSize, kPaddedSize};
  return {1, images_.size(1), images_.size(2)};
}

int64_t MNIST::load_example(int64_t index, float* out) const {
  const int64_t h = images_.size(1), w = images_.size(2);
  const int64_t out_h = options_.pad_to_32() ? kPaddedSize : h;
  const int64_t out_w = options_.pad_to_32() ? kPaddedSize : w;
  const int64_t top = (out_h - h) / 2, left = (out_w - w) / 2;
  const uint8_t* pixels = images_.data_ptr<uint8_t>() + index * h * w;
  if (options_.pad_to_32()) std::fill(out, out + out_h * out_w, scale_pixel(0, options_.range()));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      out[(top + y) * out_w + left + x] = scale_pixel(pixels[y * w + x], options_.range());
  return targets_.data_ptr<int64_t>()[index];
}

}  // namespace tg::data
