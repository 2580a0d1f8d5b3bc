// make_grid and save_image as torchvision computes them, and PNG files that an independent
// decoder (Python's zlib and struct) reads back pixel for pixel.
#include <zlib.h>

#include <filesystem>
#include <map>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::TempDir;

namespace {

// Image k of a [n, c, h, w] batch is filled with k + 1.
Tensor numbered_batch(int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<float> v;
  for (int64_t k = 0; k < n; ++k)
    for (int64_t i = 0; i < c * h * w; ++i) v.push_back(static_cast<float>(k + 1));
  return tensor<float>(v, {n, c, h, w});
}

// torchvision's conversion of one value: floor(clamp(255 v + 0.5, 0, 255)), in float32.
uint8_t to_byte(float v) { return static_cast<uint8_t>(std::clamp(v * 255.0f + 0.5f, 0.0f, 255.0f)); }

// The bytes a PNG of `grid` [C, H, W] must decode to: rows, then pixels, then channels.
std::string expected_pixels(const Tensor& grid, int64_t channels) {
  const auto v = grid.to_vector<float>();
  const int64_t h = grid.size(1), w = grid.size(2);
  std::string out;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < channels; ++c) out.push_back(static_cast<char>(to_byte(v[(c * h + y) * w + x])));
  return out;
}

// Decodes `png` with tests/data/io/decode_png.py and compares with `pixels`; "OK w h c" or why not.
std::string python_decode(const TempDir& dir, const std::string& png, const std::string& pixels) {
  tg::test::write_bytes(dir.file("expected.raw"), pixels);
  const auto r = tg::test::run_command("/usr/bin/python3 " + tg::test::io_data("decode_png.py") + " " + png + " " +
                                       dir.file("expected.raw"));
  return r.output;
}

uint32_t be32(const std::string& b, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[pos + i]);
  return v;
}

}  // namespace

TEST_CASE("make_grid tiles nrow images per row with padding between and around them") {
  // 5 images of 2 x 3, nrow 2, padding 1: 3 rows of cells 3 high and 2 columns of cells 4 wide.
  const Tensor grid = make_grid(numbered_batch(5, 1, 2, 3), 2, 1, false, std::nullopt, false, -1.0);
  REQUIRE(grid.shape() == Shape{3, 3 * 3 + 1, 2 * 4 + 1});
  for (int64_t c = 0; c < 3; ++c) {  // grey images become three equal channels
    CHECK(grid.at({c, 0, 0}) == -1.0);
    CHECK(grid.at({c, 1, 1}) == 1.0);
    CHECK(grid.at({c, 2, 3}) == 1.0);
    CHECK(grid.at({c, 1, 4}) == -1.0);  // padding between columns
    CHECK(grid.at({c, 1, 5}) == 2.0);
    CHECK(grid.at({c, 4, 1}) == 3.0);
    CHECK(grid.at({c, 5, 7}) == 4.0);
    CHECK(grid.at({c, 7, 1}) == 5.0);
    CHECK(grid.at({c, 7, 5}) == -1.0);  // no sixth image
    CHECK(grid.at({c, 9, 8}) == -1.0);
  }
  std::map<double, int> counts;
  for (double v : grid.to_vector<double>()) ++counts[v];
  for (int k = 1; k <= 5; ++k) CHECK(counts[k] == 3 * 6);
  CHECK(counts[-1.0] == 3 * 10 * 9 - 5 * 18);
}

TEST_CASE("make_grid keeps three channels, defaults to 8 per row, and returns one image unpadded") {
  const Tensor rgb = make_grid(numbered_batch(10, 3, 4, 4));
  CHECK(rgb.shape() == Shape{3, 2 * 6 + 2, 8 * 6 + 2});
  CHECK(make_grid(numbered_batch(1, 3, 4, 5)).shape() == Shape{3, 4, 5});
  CHECK(make_grid(ones({1, 4, 5})).shape() == Shape{3, 4, 5});
  CHECK(make_grid(ones({4, 5})).shape() == Shape{3, 4, 5});
  CHECK(make_grid(numbered_batch(2, 2, 3, 3), 8, 0).shape() == Shape{2, 3, 6});
  const Tensor f64 = make_grid(ones({2, 1, 2, 2}, kFloat64));
  CHECK(f64.dtype() == kFloat64);
  // A non-contiguous batch tiles the same as its contiguous copy.
  const Tensor base = randn({3, 3, 5, 4});
  const Tensor view = base.transpose(2, 3);
  CHECK(tg::test::max_abs_diff(make_grid(view, 2), make_grid(view.contiguous(), 2)) == 0.0);
}

TEST_CASE("normalize maps value_range, the batch's range, or each image's range to [0, 1]") {
  // Grid rows: image 0's row 0, image 1's row 0; then image 0's row 1, image 1's row 1.
  const Tensor images = tensor<float>({-1.0f, 0.0f, 1.0f, 2.0f, 3.0f, 5.0f, 4.0f, 4.0f}, {2, 1, 2, 2});
  const Tensor fixed = make_grid(images, 2, 0, true, ValueRange{-1.0, 1.0});
  CHECK(fixed.select(0, 0).to_vector<float>() == std::vector<float>{0.0f, 0.5f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f});
  const Tensor global = make_grid(images, 2, 0, true);
  CHECK(global.select(0, 0).to_vector<float>() ==
        std::vector<float>{0.0f, 1 / 6.0f, 4 / 6.0f, 1.0f, 2 / 6.0f, 3 / 6.0f, 5 / 6.0f, 5 / 6.0f});
  const Tensor each = make_grid(images, 2, 0, true, std::nullopt, true);
  CHECK(each.select(0, 0).to_vector<float>() ==
        std::vector<float>{0.0f, 1 / 3.0f, 0.0f, 1.0f, 2 / 3.0f, 1.0f, 0.5f, 0.5f});
  // A constant image divides by 1e-5, as torchvision does: it becomes 0.
  CHECK(make_grid(full({1, 2, 2}, 7.0), 8, 2, true).sum().item<double>() == 0.0);
}

TEST_CASE("make_grid names bad arguments") {
  CHECK_THROWS_WITH_ALL(make_grid(ones({1, 1, 1, 2, 2})), "make_grid", "[B, C, H, W]", "float32[1, 1, 1, 2, 2]");
  CHECK_THROWS_WITH_ALL(make_grid(ones({2, 2}, kInt64)), "make_grid", "float32 or float64", "int64");
  CHECK_THROWS_WITH_ALL(make_grid(ones({0, 1, 2, 2})), "make_grid", "at least one image");
  CHECK_THROWS_WITH_ALL(make_grid(ones({2, 1, 2, 2}), 0), "make_grid", "nrow must be >= 1", "0");
  CHECK_THROWS_WITH_ALL(make_grid(ones({2, 1, 2, 2}), 2, -1), "make_grid", "padding must be >= 0", "-1");
  CHECK_THROWS_WITH_ALL(make_grid(ones({2, 1, 2, 2}), 2, 1, true, ValueRange{1.0, -1.0}), "make_grid",
                        "low <= high", "(1, -1)");
  CHECK_THROWS_WITH_ALL(make_grid(Tensor()), "make_grid", "undefined");
}

TEST_CASE("encode_png writes the signature, IHDR, IDAT and IEND chunks with valid CRC-32s") {
  const Tensor img = randint(0, 256, {3, 5, 7}).to(kUInt8);
  const std::string png = encode_png(img);
  REQUIRE(png.size() > 8 + 25 + 12 + 12);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  std::vector<std::string> types;
  for (size_t pos = 8; pos < png.size();) {
    const uint32_t len = be32(png, pos);
    REQUIRE(pos + 12 + len <= png.size());
    const std::string body = png.substr(pos + 4, 4 + len);
    types.push_back(body.substr(0, 4));
    CHECK(be32(png, pos + 8 + len) == crc32(0, reinterpret_cast<const Bytef*>(body.data()), len + 4));
    pos += 12 + len;
  }
  CHECK(types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  CHECK(be32(png, 16) == 7);  // width
  CHECK(be32(png, 20) == 5);  // height
  CHECK(png.substr(24, 5) == std::string("\x08\x02\x00\x00\x00", 5));  // 8-bit RGB, no interlace
  CHECK(png.substr(24, 2) != encode_png(img.select(0, 0)).substr(24, 2));  // grey: colour type 0
  CHECK_THROWS_WITH_ALL(encode_png(ones({2, 2})), "encode_png", "uint8", "float32[2, 2]");
  CHECK_THROWS_WITH_ALL(encode_png(zeros({2, 3, 3}).to(kUInt8)), "encode_png", "[3, H, W]", "uint8[2, 3, 3]");
  CHECK_THROWS_WITH_ALL(encode_png(zeros({0, 3}).to(kUInt8)), "encode_png", "1 .. 2^31 - 1");
}

TEST_CASE("save_image writes PNGs that an independent decoder reads back pixel for pixel") {
  if (!tg::test::python_has("zlib, struct")) {
    MESSAGE("skipped: /usr/bin/python3 is not available to decode the PNGs");
    return;
  }
  TempDir dir;
  manual_seed(21);
  // Values past [0, 1] clamp; 0.5 / 255 steps check the rounding.
  const Tensor grey = rand({5, 1, 6, 7}) * 1.4 - 0.2;
  const Tensor rgb = rand({3, 3, 4, 5});
  const Tensor noise = rand({3, 256, 256});  // incompressible: several IDAT chunks
  const Tensor steps = (arange(0.0, 512.0) / 510.0).reshape({1, 16, 32});
  struct Case {
    const char* name;
    Tensor images;
    int64_t channels;
  };
  for (const Case& c : {Case{"grey.png", grey, 1}, Case{"rgb.png", rgb, 3}, Case{"noise.png", noise, 3},
                        Case{"steps.png", steps, 1}}) {
    CAPTURE(c.name);
    const std::string path = dir.file(c.name);
    save_image(c.images, path, 3, 2, false, std::nullopt, false, 0.5);
    const Tensor grid = make_grid(c.images, 3, 2, false, std::nullopt, false, 0.5);
    const std::string out = python_decode(dir, path, expected_pixels(grid, c.channels));
    INFO(out);
    CHECK(out.find("OK " + std::to_string(grid.size(2)) + " " + std::to_string(grid.size(1)) + " " +
                   std::to_string(c.channels)) == 0);
  }
  const std::string noise_png = tg::test::read_bytes(dir.file("noise.png"));
  size_t idat = 0;
  for (size_t p = noise_png.find("IDAT"); p != std::string::npos; p = noise_png.find("IDAT", p + 1)) ++idat;
  CHECK(idat >= 3);
  // Normalized output goes through the same path.
  save_image(grey, dir.file("norm.png"), 8, 2, true);
  const Tensor norm_grid = make_grid(grey, 8, 2, true);
  CHECK(python_decode(dir, dir.file("norm.png"), expected_pixels(norm_grid, 1)).find("OK") == 0);
  // The decoder does fail on a wrong pixel.
  std::string wrong = expected_pixels(norm_grid, 1);
  wrong[10] = static_cast<char>(wrong[10] ^ 1);
  CHECK(python_decode(dir, dir.file("norm.png"), wrong).find("pixels differ") == 0);
}

TEST_CASE("save_image rounds as torchvision and refuses NaN and other channel counts") {
  TempDir dir;
  CHECK(to_byte(0.5f / 255.0f) == 1);
  CHECK(to_byte(0.49f / 255.0f) == 0);
  CHECK(to_byte(-3.0f) == 0);
  CHECK(to_byte(2.0f) == 255);
  const std::string path = dir.file("x.png");
  save_image(zeros({1, 2, 2}), path);
  const std::string before = tg::test::read_bytes(path);
  Tensor bad = zeros({1, 2, 2});
  bad.data_ptr<float>()[3] = std::nanf("");
  CHECK_THROWS_WITH_ALL(save_image(bad, path), "save_image", "x.png", "NaN");
  CHECK(tg::test::read_bytes(path) == before);  // the earlier image is untouched
  CHECK_THROWS_WITH_ALL(save_image(zeros({2, 2, 3, 3}), path), "save_image", "1 or 3 channels", "[2, 2, 3, 3]");
  CHECK_THROWS_WITH_ALL(save_image(zeros({1, 3, 3}), dir.file("no/such/dir.png")), "no/such/dir.png");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
}
