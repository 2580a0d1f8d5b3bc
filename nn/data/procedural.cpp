// Procedural data sets that need no files: Ring8 (8 Gaussians on a circle) and Shapes (32 x 32
// anti-aliased shapes). Example i is a pure function of (seed, i) through Philox blocks, so a
// data set needs no memory and any example can be read from any thread in any order.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/random.h"
#include "nn/data/datasets.h"

namespace tg::data {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr int kModes = 8;
constexpr int kSamplesPerAxis = 4;  // 4 x 4 samples per pixel for anti-aliasing

// A 32-bit word as a uniform in the open interval (0, 1).
double open_uniform(uint32_t w) { return (static_cast<double>(w) + 0.5) / 4294967296.0; }

// Hue, saturation, value in [0, 1] to RGB (the hexcone model, Smith 1978).
std::array<double, 3> hsv_to_rgb(double h, double s, double v) {
  const double h6 = h * 6.0;
  const int sector = static_cast<int>(std::floor(h6)) % 6;
  const double f = h6 - std::floor(h6);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0: return {v, t, p};
    case 1: return {q, v, p};
    case 2: return {p, v, t};
    case 3: return {p, q, v};
    case 4: return {t, p, v};
    default: return {v, p, q};
  }
}

// Whether the point (x, y), relative to the centre in the shape's unrotated frame, is inside.
// Each shape has circumradius r: square half-side r / sqrt 2; equilateral triangle with
// inradius r / 2 (edge normals at 90, 210, 330 degrees, apex up); plus sign with arms of
// half-width r / 4 and half-length sqrt(r^2 - (r / 4)^2).
bool inside(int64_t label, double x, double y, double r) {
  switch (label) {
    case 0: return x * x + y * y <= r * r;
    case 1: return std::abs(x) <= r * std::numbers::sqrt2 / 2 && std::abs(y) <= r * std::numbers::sqrt2 / 2;
    case 2: {
      const double s = std::numbers::sqrt3 / 2;
      return y <= r / 2 && -s * x - 0.5 * y <= r / 2 && s * x - 0.5 * y <= r / 2;
    }
    default: {
      const double w = r / 4, len = std::sqrt(r * r - w * w);
      const double ax = std::abs(x), ay = std::abs(y);
      return (ax <= len && ay <= w) || (ax <= w && ay <= len);
    }
  }
}

}  // namespace

Ring8::Ring8(int64_t size, uint64_t seed, Ring8Options options)
    : size_(size), seed_(seed), options_(options) {
  TG_CHECK(size >= 0, "Ring8", "size must be >= 0, got ", size);
  TG_CHECK(options.radius() > 0 && options.stddev() >= 0, "Ring8", "expected radius > 0 and stddev >= 0, got radius ",
           options.radius(), ", stddev ", options.stddev());
}

Tensor Ring8::centers() const {
  std::vector<float> c;
  for (int k = 0; k < kModes; ++k) {
    c.push_back(static_cast<float>(options_.radius() * std::cos(kTwoPi * k / kModes)));
    c.push_back(static_cast<float>(options_.radius() * std::sin(kTwoPi * k / kModes)));
  }
  return tensor<float>(c, {kModes, 2});
}

int64_t Ring8::load_example(int64_t index, float* out) const {
  const auto w = philox4x32(static_cast<uint64_t>(index), seed_);
  const int64_t mode = w[0] >> 29;  // the top 3 bits: uniform over 0..7
  // Box-Muller: two independent N(0, 1) from two uniforms in (0, 1).
  const double rho = std::sqrt(-2.0 * std::log(open_uniform(w[1])));
  const double phi = kTwoPi * open_uniform(w[2]);
  const double theta = kTwoPi * mode / kModes;
  out[0] = static_cast<float>(options_.radius() * std::cos(theta) + options_.stddev() * rho * std::cos(phi));
  out[1] = static_cast<float>(options_.radius() * std::sin(theta) + options_.stddev() * rho * std::sin(phi));
  return mode;
}

const std::array<const char*, 4> Shapes::kClasses = {"circle", "square", "triangle", "cross"};

Shapes::Shapes(int64_t size, uint64_t seed, ShapesOptions options) : size_(size), seed_(seed), options_(options) {
  TG_CHECK(size >= 0, "Shapes", "size must be >= 0, got ", size);
  TG_CHECK(options.channels() == 1 || options.channels() == 3, "Shapes", "channels must be 1 or 3, got ",
           options.channels());
}

ShapeSpec Shapes::spec(int64_t index) const {
  TG_CHECK(index >= 0 && index < size_, "Shapes::spec", "index ", index,
           " is out of range for a data set of ", size_, " examples");
  const auto a = philox4x32(2 * static_cast<uint64_t>(index), seed_);
  const auto b = philox4x32(2 * static_cast<uint64_t>(index) + 1, seed_);
  ShapeSpec s{};
  s.label = a[0] >> 30;  // the top 2 bits: uniform over the 4 classes
  s.radius = 6.0 + 6.0 * open_uniform(a[1]);
  // The centre keeps the circumcircle, hence the shape, inside the image.
  s.cx = s.radius + (kSize - 2 * s.radius) * open_uniform(a[2]);
  s.cy = s.radius + (kSize - 2 * s.radius) * open_uniform(a[3]);
  s.angle = kTwoPi * open_uniform(b[0]);
  if (options_.channels() == 1) {
    const double v = 0.5 + 0.5 * open_uniform(b[1]);
    s.color = {v, v, v};
  } else {
    s.color = hsv_to_rgb(open_uniform(b[1]), 0.5 + 0.5 * open_uniform(b[2]), 0.6 + 0.4 * open_uniform(b[3]));
  }
  return s;
}

int64_t Shapes::load_example(int64_t index, float* out) const {
  const ShapeSpec s = spec(index);
  const int64_t channels = options_.channels();
  const auto to_range = [&](double v) {
    return static_cast<float>(options_.range() == Range::ZeroOne ? v : 2.0 * v - 1.0);
  };
  std::fill(out, out + channels * kSize * kSize, to_range(0.0));
  const double c = std::cos(s.angle), sn = std::sin(s.angle);
  // Only pixels that meet the circumcircle's bounding box can be covered.
  const auto lo = [](double v) { return std::max<int64_t>(0, static_cast<int64_t>(std::floor(v))); };
  const auto hi = [](double v) { return std::min<int64_t>(kSize, static_cast<int64_t>(std::ceil(v))); };
  for (int64_t py = lo(s.cy - s.radius); py < hi(s.cy + s.radius); ++py) {
    for (int64_t px = lo(s.cx - s.radius); px < hi(s.cx + s.radius); ++px) {
      int hits = 0;
      for (int j = 0; j < kSamplesPerAxis; ++j) {
        for (int i = 0; i < kSamplesPerAxis; ++i) {
          const double dx = px + (i + 0.5) / kSamplesPerAxis - s.cx;
          const double dy = py + (j + 0.5) / kSamplesPerAxis - s.cy;
          // Rotate by -angle into the shape's frame.
          hits += inside(s.label, c * dx + sn * dy, -sn * dx + c * dy, s.radius);
        }
      }
      const double coverage = static_cast<double>(hits) / (kSamplesPerAxis * kSamplesPerAxis);
      for (int64_t ch = 0; ch < channels; ++ch)
        out[(ch * kSize + py) * kSize + px] = to_range(coverage * s.color[ch]);
    }
  }
  return s.label;
}

}  // namespace tg::data
