// Data sets: MNIST-format folders (scaling, padding, splits, bad folders), Fashion-MNIST from
// Debian, and the procedural Ring8 and Shapes sets (determinism and the geometry they promise).
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using namespace tg::data;
using tg::test::idx_bytes;
using tg::test::TempDir;

namespace {

// An MNIST-format folder: `n` images h x w whose pixel (y, x) of image k is (k * 50 + y * w + x) % 256,
// labels k % 10; the train split raw, the test split gzip'd with one image fewer.
void write_mnist_folder(const TempDir& dir, uint32_t n, uint32_t h, uint32_t w) {
  for (const char* split : {"train", "t10k"}) {
    const bool test = std::string(split) == "t10k";
    const uint32_t count = test ? n - 1 : n;
    std::string pixels, labels;
    for (uint32_t k = 0; k < count; ++k) {
      labels.push_back(static_cast<char>(k % 10));
      for (uint32_t i = 0; i < h * w; ++i) pixels.push_back(static_cast<char>((k * 50 + i) % 256));
    }
    const std::string images = idx_bytes(0x08, {count, h, w}, pixels);
    const std::string label_file = idx_bytes(0x08, {count}, labels);
    const std::string suffix = test ? ".gz" : "";
    tg::test::write_bytes(dir.file(std::string(split) + "-images-idx3-ubyte" + suffix),
                          test ? tg::test::gzip_bytes(images) : images);
    tg::test::write_bytes(dir.file(std::string(split) + "-labels-idx1-ubyte" + suffix),
                          test ? tg::test::gzip_bytes(label_file) : label_file);
  }
}

float unit(int v) { return static_cast<float>(v) / 255.0f; }
float symmetric(int v) { return (unit(v) - 0.5f) / 0.5f; }

std::vector<float> example(const Dataset& d, int64_t index, int64_t* label = nullptr) {
  std::vector<float> out(static_cast<size_t>(numel_of(d.example_shape())));
  const int64_t l = d.get(index, out.data());
  if (label) *label = l;
  return out;
}

const char* kFashion = "/usr/share/datasets/fashion-mnist";

}  // namespace

TEST_CASE("MNIST reads a folder's train and test splits, raw or gzip, scaled to [0, 1] or [-1, 1]") {
  TempDir dir;
  write_mnist_folder(dir, 4, 5, 7);
  const MNIST train(dir.path().string(), MNISTOptions().range(Range::ZeroOne));
  const MNIST test(dir.path().string(), MNISTOptions().split(Split::Test));
  CHECK(train.size() == 4);
  CHECK(test.size() == 3);
  CHECK(train.example_shape() == Shape{1, 5, 7});
  CHECK(train.images().shape() == Shape{4, 5, 7});
  CHECK(train.targets().dtype() == kInt64);
  int64_t label = -1;
  const std::vector<float> a = example(train, 3, &label);
  CHECK(label == 3);
  for (int i = 0; i < 35; ++i) CHECK(a[i] == unit((150 + i) % 256));
  const std::vector<float> b = example(test, 2, &label);
  CHECK(label == 2);
  for (int i = 0; i < 35; ++i) CHECK(b[i] == symmetric((100 + i) % 256));
  CHECK(symmetric(0) == -1.0f);
  CHECK(symmetric(255) == 1.0f);
}

TEST_CASE("pad_to_32 centres each image on a 32 x 32 background of pixel value 0") {
  TempDir dir;
  write_mnist_folder(dir, 2, 5, 7);
  for (Range range : {Range::ZeroOne, Range::MinusOneOne}) {
    const MNIST d(dir.path().string(), MNISTOptions().pad_to_32(true).range(range));
    CHECK(d.example_shape() == Shape{1, 32, 32});
    const std::vector<float> img = example(d, 1);
    const float background = range == Range::ZeroOne ? 0.0f : -1.0f;
    const int top = (32 - 5) / 2, left = (32 - 7) / 2;
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        const bool inside = y >= top && y < top + 5 && x >= left && x < left + 7;
        const int v = (50 + (y - top) * 7 + (x - left)) % 256;
        const float want = !inside ? background : (range == Range::ZeroOne ? unit(v) : symmetric(v));
        CHECK(img[y * 32 + x] == want);
      }
    }
  }
}

TEST_CASE("get_batch stacks examples in the order asked, and checks every index") {
  TempDir dir;
  write_mnist_folder(dir, 4, 3, 3);
  const MNIST d(dir.path().string());
  const Batch batch = d.get_batch({2, 0, 2});
  CHECK(batch.data.shape() == Shape{3, 1, 3, 3});
  CHECK(batch.data.dtype() == kFloat32);
  CHECK(batch.target.to_vector<int64_t>() == std::vector<int64_t>{2, 0, 2});
  const std::vector<float> two = example(d, 2);
  const std::vector<float> stacked = batch.data.select(0, 2).contiguous().to_vector<float>();
  CHECK(stacked == two);
  CHECK_THROWS_WITH_ALL(d.get_batch({0, 4}), "get_batch", "index 4", "4 examples");
  std::vector<float> out(9);
  CHECK_THROWS_WITH_ALL(d.get(-1, out.data()), "Dataset::get", "index -1");
}

TEST_CASE("MNIST names the folder or file and the problem") {
  TempDir dir;
  CHECK_THROWS_WITH_ALL(MNIST(dir.file("nowhere")), "MNIST", "nowhere", "is not a folder");
  CHECK_THROWS_WITH_ALL(MNIST(dir.path().string()), "MNIST", "train-images-idx3-ubyte", "nor",
                        "train-images-idx3-ubyte.gz");
  write_mnist_folder(dir, 3, 4, 4);
  // Labels from the test split (2) beside train images (3).
  std::filesystem::remove(dir.file("train-labels-idx1-ubyte"));
  tg::test::write_bytes(dir.file("train-labels-idx1-ubyte"), idx_bytes(0x08, {2}, "\x01\x02"));
  CHECK_THROWS_WITH_ALL(MNIST(dir.path().string()), "MNIST", "3 images but 2 labels", "train split");
  tg::test::write_bytes(dir.file("train-labels-idx1-ubyte"), idx_bytes(0x0C, {3}, std::string(12, '\0')));
  CHECK_THROWS_WITH_ALL(MNIST(dir.path().string()), "MNIST", "train-labels-idx1-ubyte", "uint8 labels",
                        "int64[3]");
  tg::test::write_bytes(dir.file("train-images-idx3-ubyte"), idx_bytes(0x08, {3, 16}, std::string(48, '\0')));
  CHECK_THROWS_WITH_ALL(MNIST(dir.path().string()), "MNIST", "uint8 images [N, H, W]", "uint8[3, 16]");
  tg::test::write_bytes(dir.file("train-images-idx3-ubyte"), idx_bytes(0x08, {3, 40, 1}, std::string(120, '\0')));
  tg::test::write_bytes(dir.file("train-labels-idx1-ubyte"), idx_bytes(0x08, {3}, "abc"));
  CHECK_THROWS_WITH_ALL(MNIST(dir.path().string(), MNISTOptions().pad_to_32(true)), "pad_to_32", "40 x 1");
  tg::test::write_bytes(dir.file("train-images-idx3-ubyte"), "garbage");
  CHECK_THROWS_WITH_ALL(MNIST(dir.path().string()), "read_idx", "train-images-idx3-ubyte", "wrong magic");
}

TEST_CASE("FashionMNIST reads Debian's package: 60,000 train and 10,000 test images in 10 classes") {
  if (!std::filesystem::exists(std::string(kFashion) + "/train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: Fashion-MNIST is not installed at ", kFashion, " (Debian: dataset-fashion-mnist)");
    return;
  }
  const FashionMNIST train(MNISTOptions().pad_to_32(true));
  const FashionMNIST test(MNISTOptions().split(Split::Test));
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  CHECK(train.example_shape() == Shape{1, 32, 32});
  CHECK(test.example_shape() == Shape{1, 28, 28});
  int64_t label = -1;
  const std::vector<float> img = example(train, 0, &label);
  CHECK(std::string(FashionMNIST::kClasses[label]) == "Ankle boot");
  CHECK(img[(10 + 2) * 32 + 13 + 2] == symmetric(193));  // pixel (10, 13) of image 0, padded by 2
  CHECK(img[0] == -1.0f);
  std::map<int64_t, int64_t> counts;
  for (int64_t t : test.targets().to_vector<int64_t>()) ++counts[t];
  CHECK(counts.size() == 10);
  for (const auto& [cls, n] : counts) CHECK(n == 1000);
}

TEST_CASE("Ring8 is deterministic per seed, balanced over 8 modes, each N(centre, stddev^2 I)") {
  const Ring8 ring(16000, 42);
  const Ring8 same(16000, 42), other(16000, 43);
  CHECK(ring.example_shape() == Shape{2});
  const Batch a = ring.get_batch([] { std::vector<int64_t> v(16000); for (int i = 0; i < 16000; ++i) v[i] = i; return v; }());
  CHECK(example(same, 123) == example(ring, 123));
  CHECK(example(other, 123) != example(ring, 123));
  const std::vector<float> xy = a.data.to_vector<float>();
  const std::vector<int64_t> modes = a.target.to_vector<int64_t>();
  const std::vector<float> centers = ring.centers().to_vector<float>();
  CHECK(std::abs(centers[2 * 2 + 1] - 2.0f) < 1e-6);  // mode 2 at angle pi / 2
  std::vector<double> n(8), sx(8), sy(8), sq(8);
  for (size_t i = 0; i < modes.size(); ++i) {
    const int64_t k = modes[i];
    REQUIRE((k >= 0 && k < 8));
    const double dx = xy[2 * i] - centers[2 * k], dy = xy[2 * i + 1] - centers[2 * k + 1];
    n[k] += 1;
    sx[k] += dx;
    sy[k] += dy;
    sq[k] += dx * dx + dy * dy;
  }
  for (int k = 0; k < 8; ++k) {
    CAPTURE(k);
    // About 2000 per mode; the binomial's sigma is about 42, so 250 is 6 sigma.
    CHECK(std::abs(n[k] - 2000.0) < 250.0);
    // The mean offset has sigma 0.02 / sqrt(2000) = 0.00045 per axis.
    CHECK(std::abs(sx[k] / n[k]) < 0.003);
    CHECK(std::abs(sy[k] / n[k]) < 0.003);
    // E|d|^2 = 2 stddev^2.
    CHECK(std::sqrt(sq[k] / n[k] / 2) == doctest::Approx(0.02).epsilon(0.05));
  }
  const Ring8 wide(100, 1, Ring8Options().radius(5.0).stddev(0.0));
  int64_t k = 0;
  const std::vector<float> p = example(wide, 7, &k);
  CHECK(p[0] == doctest::Approx(5.0 * std::cos(std::numbers::pi * k / 4)).epsilon(1e-6));
  CHECK(p[1] == doctest::Approx(5.0 * std::sin(std::numbers::pi * k / 4)).epsilon(1e-6));
  CHECK_THROWS_WITH_ALL(Ring8(-1, 0), "Ring8", "size", "-1");
  CHECK_THROWS_WITH_ALL(Ring8(10, 0, Ring8Options().radius(0)), "Ring8", "radius > 0");
}

TEST_CASE("Shapes draws the shape its label names, where its spec says, in the spec's colour") {
  // Area / radius^2 of each class: circle pi, square 2, triangle 3 sqrt(3) / 4, cross with arms of
  // half-width r / 4 and half-length sqrt(15) r / 4: 2 (2 L)(2 w) - (2 w)^2.
  const double cross = 8 * (std::sqrt(15.0) / 4) * 0.25 - 0.25;
  const double area_ratio[4] = {std::numbers::pi, 2.0, 3 * std::sqrt(3.0) / 4, cross};
  for (int64_t channels : {1, 3}) {
    const Shapes shapes(400, 9, ShapesOptions().channels(channels).range(Range::ZeroOne));
    CHECK(shapes.example_shape() == Shape{channels, 32, 32});
    std::vector<int64_t> per_class(4);
    for (int64_t i = 0; i < shapes.size(); ++i) {
      CAPTURE(i);
      const ShapeSpec s = shapes.spec(i);
      int64_t label = -1;
      const std::vector<float> img = example(shapes, i, &label);
      REQUIRE(label == s.label);
      ++per_class[label];
      // Coverage from the brightest channel: its sum is the area, its centroid the centre (the
      // circle, square and cross are symmetric about the centre, the triangle's centroid is it).
      const auto brightest = std::max_element(s.color.begin(), s.color.begin() + channels) - s.color.begin();
      const float* plane = img.data() + brightest * 1024;
      double area = 0, mx = 0, my = 0;
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          const double c = plane[y * 32 + x] / s.color[brightest];
          area += c;
          mx += c * (x + 0.5);
          my += c * (y + 0.5);
        }
      }
      CHECK(area / (s.radius * s.radius) == doctest::Approx(area_ratio[label]).epsilon(0.04));
      CHECK(mx / area == doctest::Approx(s.cx).epsilon(0.02));
      CHECK(my / area == doctest::Approx(s.cy).epsilon(0.02));
      // A fully covered pixel holds the colour exactly, in every channel.
      for (int64_t ch = 0; ch < channels; ++ch) {
        const float peak = *std::max_element(img.begin() + ch * 1024, img.begin() + (ch + 1) * 1024);
        CHECK(peak == doctest::Approx(s.color[ch]).epsilon(1e-6));
      }
    }
    for (int64_t n : per_class) CHECK(std::abs(n - 100) < 45);
  }
}

TEST_CASE("Shapes is deterministic, spans [-1, 1] by default, and colour differs from grey") {
  const Shapes grey(50, 5), again(50, 5), other(50, 6);
  const Shapes colour(50, 5, ShapesOptions().channels(3));
  const Shapes unit_range(50, 5, ShapesOptions().range(Range::ZeroOne));
  bool any_different_seed = false;
  for (int64_t i = 0; i < 50; ++i) {
    const std::vector<float> a = example(grey, i), u = example(unit_range, i);
    CHECK(a == example(again, i));
    any_different_seed = any_different_seed || a != example(other, i);
    for (size_t p = 0; p < a.size(); ++p) CHECK(a[p] == doctest::Approx(2.0f * u[p] - 1.0f));
    CHECK(*std::min_element(a.begin(), a.end()) == -1.0f);
    CHECK(*std::max_element(a.begin(), a.end()) <= 1.0f);
    const ShapeSpec s = colour.spec(i);
    CHECK((s.color[0] != s.color[1] || s.color[1] != s.color[2]));
    CHECK(grey.spec(i).color[0] == grey.spec(i).color[2]);
  }
  CHECK(any_different_seed);
  CHECK(std::string(Shapes::kClasses[2]) == "triangle");
  CHECK_THROWS_WITH_ALL(Shapes(10, 0, ShapesOptions().channels(2)), "Shapes", "channels must be 1 or 3", "2");
  CHECK_THROWS_WITH_ALL(grey.spec(50), "Shapes::spec", "index 50");
}
