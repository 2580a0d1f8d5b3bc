// Data sets: the Dataset interface the DataLoader batches from; MNIST-format IDX folders (and
// Fashion-MNIST at its Debian location); procedural sets that need no files (Ring8, Shapes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "nn/arg.h"

namespace tg::data {

// Examples stacked along dim 0: data float32 [B, example shape...] (images: [B, C, H, W]) and
// target int64 [B] (the labels). The names are libtorch's (torch::data::Example).
struct Batch {
  Tensor data;
  Tensor target;
};

// Examples addressed by index 0 .. size() - 1. A subclass implements load_example, which is
// const and must be safe to call from several threads at once (the DataLoader calls it from its
// background thread).
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Shape example_shape() const = 0;  // [C, H, W] for images, [2] for points

  // Writes example `index` (numel(example_shape()) floats, row-major) to `out`; returns its label.
  int64_t get(int64_t index, float* out) const;
  // The examples at `indices`, stacked in that order.
  Batch get_batch(const std::vector<int64_t>& indices) const;

 protected:
  // get() for an index already checked to be in range.
  virtual int64_t load_example(int64_t index, float* out) const = 0;
};

enum class Split { Train, Test };

// How a pixel v in 0..255 becomes a float: [0, 1] as v / 255 (torchvision's ToTensor), or
// [-1, 1] as (v / 255 - 0.5) / 0.5 (ToTensor then Normalize(0.5, 0.5): a tanh generator's range).
enum class Range { ZeroOne, MinusOneOne };

struct MNISTOptions {
  TG_ARG(Split, split) = Split::Train;
  TG_ARG(Range, range) = Range::MinusOneOne;
  // Zero-pads each image (value 0 before scaling) to 32 x 32, centred: DCGAN's power-of-two size.
  TG_ARG(bool, pad_to_32) = false;
};

// A folder of MNIST-format IDX files: {train,t10k}-{images-idx3,labels-idx1}-ubyte, each raw
// or with ".gz" appended. Images are uint8 [N, H, W] (any H, W), labels uint8 [N]; examples are
// float32 [1, H, W] (or [1, 32, 32] padded), labels 0 .. 255 as int64.
class MNIST : public Dataset {
 public:
  explicit MNIST(const std::string& root, MNISTOptions options = {});

  int64_t size() const override { return images_.size(0); }
  Shape example_shape() const override;
  const Tensor& images() const { return images_; }   // uint8 [N, H, W], as in the files
  const Tensor& targets() const { return targets_; }  // int64 [N]
  const MNISTOptions& options() const { return options_; }

 protected:
  int64_t load_example(int64_t index, float* out) const override;

 private:
  Tensor images_;
  Tensor targets_;
  MNISTOptions options_;
};

// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 28 x 28 grey photos of clothing in 10 classes,
// 60,000 train and 10,000 test, read from Debian's dataset-fashion-mnist package by default.
class FashionMNIST : public MNIST {
 public:
  static constexpr const char* kDebianRoot = "/usr/share/datasets/fashion-mnist";
  static const std::array<const char*, 10> kClasses;  // "T-shirt/top", "Trouser", ...

  explicit FashionMNIST(MNISTOptions options = {}, const std::string& root = kDebianRoot)
      : MNIST(root, options) {}
};

struct Ring8Options {
  TG_ARG(double, radius) = 2.0;
  TG_ARG(double, stddev) = 0.02;
};

// The 2-D mixture of 8 Gaussians on a ring (Metz et al., "Unrolled GANs", 2017): the standard
// mode-collapse study. Example i is a pure function of (seed, i): a mode k uniform in 0..7 (the
// label) and the point centre(k) + stddev * N(0, I_2), centre(k) = radius (cos 2pi k/8, sin 2pi k/8).
class Ring8 : public Dataset {
 public:
  Ring8(int64_t size, uint64_t seed, Ring8Options options = {});

  int64_t size() const override { return size_; }
  Shape example_shape() const override { return {2}; }

  Tensor centers() const;  // float32 [8, 2]: the modes a generator should cover

 protected:
  int64_t load_example(int64_t index, float* out) const override;

 private:
  int64_t size_;
  uint64_t seed_;
  Ring8Options options_;
};

struct ShapesOptions {
  TG_ARG(int64_t, channels) = 1;  // 1: grey shapes, 3: coloured shapes
  TG_ARG(Range, range) = Range::MinusOneOne;
};

// What example i of Shapes draws (pixel units, y down, the image spans [0, 32) x [0, 32)).
struct ShapeSpec {
  int64_t label;  // 0 circle, 1 square, 2 triangle, 3 cross
  double cx, cy;  // centre
  double radius;  // circumradius: every point of the shape is within it of the centre
  double angle;   // rotation in radians
  std::array<double, 3> color;  // in [0, 1]; equal channels for grey
};

// 32 x 32 images of one white or coloured shape on black, anti-aliased (4 x 4 samples per
// pixel), deterministic from (seed, index): a tiny image set for a GAN that needs no files.
class Shapes : public Dataset {
 public:
  static constexpr int64_t kSize = 32;
  static const std::array<const char*, 4> kClasses;  // "circle", "square", "triangle", "cross"

  Shapes(int64_t size, uint64_t seed, ShapesOptions options = {});

  int64_t size() const override { return size_; }
  Shape example_shape() const override { return {options_.channels(), kSize, kSize}; }

  ShapeSpec spec(int64_t index) const;

 protected:
  int64_t load_example(int64_t index, float* out) const override;

 private:
  int64_t size_;
  uint64_t seed_;
  ShapesOptions options_;
};

}  // namespace tg::data
