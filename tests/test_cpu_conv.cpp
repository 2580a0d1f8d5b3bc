// The cpu backend's convolution kernels (backends/cpu/conv*.cpp) against the reference kernels:
// conv2d, conv_transpose2d (both its paths) and conv2d_weight at every instruction-set level,
// in float32 and float64, over shapes that reach every blocking path; bitwise identical results
// for 1, 2 and 3 threads; and gradients through the op layer with the cpu backend active.
#include <chrono>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cpu_test_helpers.h"

using namespace tg;
using test::BackendGuard;
using test::bitwise_equal;
using test::CpuStateGuard;
using test::cpu_table;
using test::ref_table;

namespace {

// One convolution: the image x [N, C, H, W], the weight w [O, C/G, kH, kW] and the conv2d
// output y [N, O, Ho, Wo]. Ho and Wo follow PyTorch's formula unless `crop` takes rows and
// columns off them: the kernels read every size from their tensors, so conv2d may drop
// trailing outputs and conv_transpose2d then leaves the input pixels they read at zero.
struct Case {
  std::string what;
  int64_t N, C, H, W, O, kH, kW;
  Size2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
  Size2 crop = 0;

  kernel::Conv2dParams params() const {
    kernel::Conv2dParams p;
    p.stride[0] = stride.h, p.stride[1] = stride.w;
    p.padding[0] = padding.h, p.padding[1] = padding.w;
    p.dilation[0] = dilation.h, p.dilation[1] = dilation.w;
    p.groups = groups;
    return p;
  }
  int64_t Ho() const {
    return (H + 2 * padding.h - dilation.h * (kH - 1) - 1) / stride.h + 1 - crop.h;
  }
  int64_t Wo() const {
    return (W + 2 * padding.w - dilation.w * (kW - 1) - 1) / stride.w + 1 - crop.w;
  }
  Shape x() const { return {N, C, H, W}; }
  Shape w() const { return {O, C / groups, kH, kW}; }
  Shape y() const { return {N, O, Ho(), Wo()}; }
};

// The cases. Sizes are chosen to reach: several units of images and several output chunks
// (more than 384 output pixels), K cut into several blocks (C/G kH kW or O/G kH kW > 384, and
// channel counts > 384), weight-gradient sums over several tiles or split into several groups
// of images (both schedules of conv_weight.cpp), every path
// (conv2d: columns when C/G kH kW <= O/G, else indirect; conv_transpose2d: columns when
// C/G < NR / 2, NR being 64 / 32 floats / doubles at AVX-512, 16 / 8 at AVX2, 8 / 4 generic,
// else indirect; all three: a plain product when one output pixel covers the whole image),
// border pixels of every tap class, an image too large for one unit, odd sizes everywhere, 1x1
// kernels, strides larger than the kernel (transposed-conv phases with no taps), dilation,
// groups and cropped outputs.
const std::vector<Case> kCases = {
    {"DCGAN first layer, C = 1", 9, 1, 16, 16, 16, 4, 4, 2, 1},
    {"few channels in, odd width (units split output rows)", 5, 1, 11, 13, 20, 3, 3, 1, 1},
    {"DCGAN middle layer", 4, 24, 8, 8, 40, 4, 4, 2, 1},
    {"DCGAN 4x4 layer, K > 384", 5, 40, 8, 8, 20, 4, 4, 2, 1},
    {"batch 1, odd sizes, 3x3", 1, 3, 7, 5, 5, 3, 3},
    {"many images, large batch units", 37, 5, 3, 3, 7, 2, 2},
    {"more than one output chunk", 2, 2, 30, 27, 3, 3, 3, 1, 1},
    {"1x1, channels > 384", 2, 400, 3, 2, 9, 1, 1},
    {"1x1 stride 2 (phases without taps)", 2, 6, 5, 6, 4, 1, 1, 2},
    {"dilation and unequal strides", 2, 4, 9, 8, 6, 3, 2, {2, 3}, {1, 2}, {2, 1}},
    {"groups", 3, 6, 6, 7, 9, 3, 3, 2, 1, 1, 3},
    {"depthwise", 2, 4, 5, 5, 4, 3, 3, 1, 1, 1, 4},
    {"wide groups (indirect transposed path)", 2, 80, 4, 4, 6, 3, 3, 2, 1, 1, 2},
    {"cropped output, stride 2", 3, 3, 9, 10, 4, 3, 3, 2, 1, 1, 1, {1, 2}},
    {"kernel wider than the padded image reach", 2, 2, 3, 4, 3, 3, 3, 1, 2, 2},
    {"few weight rows: sums split into groups of images", 6, 2, 20, 20, 8, 3, 3, 1, 1},
    {"one output pixel over the whole image (a product)", 7, 6, 4, 3, 5, 4, 3},
    {"one output pixel, groups", 3, 6, 2, 2, 4, 2, 2, 1, 0, 1, 2},
    {"an image past the 768 KiB unit budget (bands of rows)", 1, 56, 61, 57, 104, 3, 3, {1, 2}, 1,
     {2, 1}},
    {"a batch past the 2 MiB weight-gradient tile (several tiles)", 24, 72, 16, 16, 8, 3, 3, 1, 1},
};

std::string describe(const Case& c, DType dt) {
  return c.what + ": x " + shape_str(c.x()) + " w " + shape_str(c.w()) + " y " + shape_str(c.y()) +
         " stride " + shape_str({c.stride.h, c.stride.w}) + " padding " +
         shape_str({c.padding.h, c.padding.w}) + " dilation " +
         shape_str({c.dilation.h, c.dilation.w}) + " groups " + std::to_string(c.groups) + " " +
         dtype_name(dt);
}

// Values in the layouts the op layer may pass: contiguous, the last two dims transposed in
// memory, every other element of a wider tensor, and (for a gradient) one image expanded over
// the batch with stride 0.
enum class Layout { contiguous, transposed, sliced, expanded };

Tensor values(const Shape& s, DType dt, Layout layout) {
  switch (layout) {
    case Layout::contiguous:
      return randn(s, kFloat64).to(dt);
    case Layout::transposed:
      return randn({s[0], s[1], s[3], s[2]}, kFloat64).to(dt).transpose(2, 3);
    case Layout::sliced:
      return randn({s[0], s[1], s[2], 2 * s[3]}, kFloat64).to(dt).slice(3, 0, 2 * s[3], 2);
    case Layout::expanded:
      return randn({1, s[1], s[2], s[3]}, kFloat64).to(dt).expand(s);
  }
  return {};
}

double unit_roundoff(DType dt) {
  return (dt == kFloat32 ? std::numeric_limits<float>::epsilon()
                         : std::numeric_limits<double>::epsilon()) / 2;
}

// |got - want| <= (K + 2) u * magnitude elementwise, where magnitude is the reference kernel
// applied to the operands' absolute values and K the number of products summed into one output:
// the standard bound for a dot product of K terms in any summation order (float64 reference
// accumulation makes `want` exact to well within it).
void check_bounded(const Tensor& got, const Tensor& want, const Tensor& magnitude, int64_t K) {
  REQUIRE(got.shape() == want.shape());
  const double u = unit_roundoff(got.dtype());
  auto g = got.to_vector<double>(), w = want.to_vector<double>(), m = magnitude.to_vector<double>();
  size_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double bound = static_cast<double>(K + 2) * u * m[i], err = std::abs(g[i] - w[i]);
    worst = std::max(worst, bound > 0 ? err / bound : err);
    bad += !(err <= bound);
  }
  INFO("worst error / bound " << worst << ", " << bad << " of " << g.size() << " out of bounds");
  CHECK(bad == 0);
}

// One kernel slot of the tables.
struct OpUnderTest {
  const char* name;
  kernel::Slot<kernel::conv_fn> kernel::KernelTable::*slot;
};

// Runs `op` of both tables on (a, b) into a tensor of `out_shape` (NaN-filled for the cpu, so
// an element it fails to write shows) and checks the cpu result at every level.
void check_against_reference(const OpUnderTest& op, const Case& c, const Shape& out_shape,
                             const Tensor& a, const Tensor& b, int64_t K) {
  INFO(op.name);
  const kernel::Conv2dParams p = c.params();
  const DType dt = a.dtype();
  Tensor want = empty(out_shape, dt), magnitude = empty(out_shape, dt);
  (ref_table().*op.slot).fn(want, a, b, p);
  (ref_table().*op.slot).fn(magnitude, a.abs(), b.abs(), p);
  CpuStateGuard guard;
  cpu::set_num_threads(1);
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    Tensor got = full(out_shape, std::numeric_limits<double>::quiet_NaN(), dt);
    (cpu_table().*op.slot).fn(got, a, b, p);
    check_bounded(got, want, magnitude, K);
  }
}

const OpUnderTest kConv2d{"conv2d", &kernel::KernelTable::conv2d};
const OpUnderTest kConvTranspose2d{"conv_transpose2d", &kernel::KernelTable::conv_transpose2d};
const OpUnderTest kConv2dWeight{"conv2d_weight", &kernel::KernelTable::conv2d_weight};

void check_case(const Case& c, DType dt, Layout layout) {
  INFO(describe(c, dt));
  const int64_t taps = c.kH * c.kW;
  const Tensor x = values(c.x(), dt, layout == Layout::expanded ? Layout::contiguous : layout);
  const Tensor w = values(c.w(), dt, layout == Layout::expanded ? Layout::contiguous : layout);
  const Tensor y = values(c.y(), dt, layout);
  check_against_reference(kConv2d, c, c.y(), x, w, c.C / c.groups * taps);
  check_against_reference(kConvTranspose2d, c, c.x(), y, w, c.O / c.groups * taps);
  check_against_reference(kConv2dWeight, c, c.w(), x, y, c.N * c.Ho() * c.Wo());
}

}  // namespace

TEST_CASE("conv kernels agree with the reference in float32 and float64 at every level") {
  manual_seed(1);
  for (DType dt : {kFloat32, kFloat64})
    for (const Case& c : kCases) check_case(c, dt, Layout::contiguous);
}

TEST_CASE("conv kernels read transposed, sliced and stride-0 operands") {
  manual_seed(2);
  const std::vector<Case> cases = {kCases[0], kCases[2], kCases[4], kCases[10],
                                   kCases[12], kCases[13], kCases[16]};
  for (Layout layout : {Layout::transposed, Layout::sliced, Layout::expanded})
    for (DType dt : {kFloat32, kFloat64})
      for (const Case& c : cases) {
        INFO("layout " << static_cast<int>(layout));
        check_case(c, dt, layout);
      }
}

TEST_CASE("conv kernels handle empty batches, empty images and empty sums") {
  CpuStateGuard guard;
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    const kernel::Conv2dParams p;
    // No output pixels: conv_transpose2d writes zeros, conv2d_weight sums nothing.
    Tensor image = full({2, 3, 4, 4}, 7.0), gw = full({5, 3, 5, 5}, 7.0);
    cpu_table().conv_transpose2d.fn(image, randn({2, 5, 0, 0}), randn({5, 3, 5, 5}), p);
    CHECK(test::max_abs_diff(image, zeros({2, 3, 4, 4})) == 0);
    cpu_table().conv2d_weight.fn(gw, randn({2, 3, 4, 4}), randn({2, 5, 0, 0}), p);
    CHECK(test::max_abs_diff(gw, zeros({5, 3, 5, 5})) == 0);
    // An empty batch: conv2d has nothing to write, conv2d_weight is zero.
    Tensor y = empty({0, 5, 2, 2});
    cpu_table().conv2d.fn(y, randn({0, 3, 4, 4}), randn({5, 3, 3, 3}), p);
    Tensor gw1 = full({5, 3, 3, 3}, 7.0);
    cpu_table().conv2d_weight.fn(gw1, randn({0, 3, 4, 4}), randn({0, 5, 2, 2}), p);
    CHECK(test::max_abs_diff(gw1, zeros({5, 3, 3, 3})) == 0);
  }
}

TEST_CASE("conv kernels are bitwise identical for 1, 2 and 3 threads, run to run") {
  CpuStateGuard guard;
  manual_seed(3);
  // Several units of images, several chunks, several pixel groups in the weight sum, every path.
  const std::vector<Case> cases = {kCases[0], kCases[1],  kCases[2],  kCases[3],  kCases[5],
                                   kCases[6], kCases[12], kCases[15], kCases[16], kCases[19]};
  struct Run {
    std::string what;
    Case c;
    Tensor x, w, y;
    TensorList first;
  };
  std::vector<Run> runs;
  for (DType dt : {kFloat32, kFloat64})
    for (const Case& c : cases)
      runs.push_back({describe(c, dt), c, values(c.x(), dt, Layout::contiguous),
                      values(c.w(), dt, Layout::contiguous), values(c.y(), dt, Layout::contiguous),
                      {}});
  const auto run = [](const Run& r) {
    const kernel::Conv2dParams p = r.c.params();
    const DType dt = r.x.dtype();
    Tensor a = empty(r.c.y(), dt), b = empty(r.c.x(), dt), d = empty(r.c.w(), dt);
    cpu_table().conv2d.fn(a, r.x, r.w, p);
    cpu_table().conv_transpose2d.fn(b, r.y, r.w, p);
    cpu_table().conv2d_weight.fn(d, r.x, r.y, p);
    return TensorList{a, b, d};
  };
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    cpu::set_num_threads(1);
    for (Run& r : runs) r.first = run(r);
    for (int threads : {2, 2, 3}) {
      cpu::set_num_threads(threads);
      INFO("threads: " << threads);
      // parallel.h runs kernels on one thread for 200 ms after a worker starts late (the
      // machine is shared); waiting that out gives the threads their chance.
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      for (const Run& r : runs) {
        INFO(r.what);
        const TensorList again = run(r);
        for (size_t i = 0; i < again.size(); ++i) CHECK(bitwise_equal(again[i], r.first[i]));
      }
    }
  }
}

TEST_CASE("conv2d and conv_transpose2d gradients match finite differences on the cpu backend") {
  BackendGuard backend;
  manual_seed(4);
  // Small float64 leaves; the transposed cases take both paths (1 or 2 output channels: the
  // columns path; 16: the indirect product, at every level's float64 NR).
  struct Grad {
    Shape x, w;
    Size2 stride = 1, padding = 0, dilation = 1, output_padding = 0;
    int64_t groups = 1;
  };
  const std::vector<Grad> conv_cases = {
      {{2, 1, 6, 6}, {3, 1, 4, 4}, 2, 1},
      {{1, 4, 5, 4}, {4, 2, 3, 3}, {1, 2}, 1, {2, 1}, 0, 2},
  };
  for (const Grad& c : conv_cases) {
    INFO("conv2d x " << shape_str(c.x) << " w " << shape_str(c.w));
    CHECK_GRADCHECK(
        [&](const TensorList& in) {
          return TensorList{conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups)};
        },
        TensorList({test::transposed_leaf(c.x), test::leaf(c.w), test::leaf({c.w[0]})}));
  }
  const std::vector<Grad> transposed_cases = {
      {{2, 3, 3, 3}, {3, 1, 4, 4}, 2, 1, 1, 1},
      {{1, 2, 2, 3}, {2, 16, 2, 2}, 2, 1, 1, {1, 0}},
      {{1, 4, 3, 2}, {4, 1, 3, 2}, {2, 3}, {1, 0}, {1, 2}, {1, 2}, 2},
  };
  for (const Grad& c : transposed_cases) {
    INFO("conv_transpose2d x " << shape_str(c.x) << " w " << shape_str(c.w));
    CHECK_GRADCHECK(
        [&](const TensorList& in) {
          return TensorList{conv_transpose2d(in[0], in[1], in[2], c.stride, c.padding,
                                             c.output_padding, c.groups, c.dilation)};
        },
        TensorList({test::strided_leaf(c.x), test::leaf(c.w), test::leaf({c.w[1] * c.groups})}));
  }
}
