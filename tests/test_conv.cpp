// conv2d, conv_transpose2d and conv2d_weight: the kernels against the definition, gradients
// (first and second order) by finite differences over a grid of configurations, the adjoint
// identities that tie the three together, agreement with PyTorch, and the parameter errors.
#include <filesystem>
#include <random>

#include "test_helpers.h"

using namespace tg;

namespace {

// One configuration: shapes and parameters as conv2d / conv_transpose2d take them.
struct ConvCase {
  Shape x, w;
  Size2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
  bool bias = false;
  bool non_contiguous = false;
  Size2 output_padding = 0;  // conv_transpose2d only
};

std::string describe(const ConvCase& c) {
  return "x " + shape_str(c.x) + " w " + shape_str(c.w) + " stride " + shape_str({c.stride.h, c.stride.w}) +
         " padding " + shape_str({c.padding.h, c.padding.w}) + " dilation " +
         shape_str({c.dilation.h, c.dilation.w}) + " output_padding " +
         shape_str({c.output_padding.h, c.output_padding.w}) + " groups " + std::to_string(c.groups) +
         (c.bias ? " bias" : "") + (c.non_contiguous ? " non-contiguous" : "");
}

// Inputs x, w, b (b undefined without bias), float64 leaves.
TensorList make_inputs(const ConvCase& c, int64_t bias_size) {
  Tensor x = c.non_contiguous ? test::transposed_leaf(c.x) : test::leaf(c.x);
  return {x, test::leaf(c.w), c.bias ? test::leaf({bias_size}) : Tensor()};
}

TensorList run_conv2d(const ConvCase& c, const TensorList& in) {
  return {conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups)};
}

TensorList run_conv_transpose2d(const ConvCase& c, const TensorList& in) {
  return {conv_transpose2d(in[0], in[1], in[2], c.stride, c.padding, c.output_padding, c.groups,
                           c.dilation)};
}

double dot(const Tensor& a, const Tensor& b) { return (a * b).sum().item<double>(); }

// conv2d from its definition, one output element at a time:
// y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] x[n, g C/G + c, i s - p + a d, j s - p + b d], g = o / (O/G)
std::vector<double> conv2d_by_definition(const Tensor& x, const Tensor& w, const ConvCase& c, const Shape& out) {
  std::vector<double> y;
  const int64_t cg = w.size(1), og = w.size(0) / c.groups;
  for (int64_t n = 0; n < out[0]; ++n)
    for (int64_t o = 0; o < out[1]; ++o)
      for (int64_t i = 0; i < out[2]; ++i)
        for (int64_t j = 0; j < out[3]; ++j) {
          double acc = 0;
          for (int64_t ch = 0; ch < cg; ++ch)
            for (int64_t a = 0; a < w.size(2); ++a)
              for (int64_t b = 0; b < w.size(3); ++b) {
                const int64_t h = i * c.stride.h - c.padding.h + a * c.dilation.h;
                const int64_t v = j * c.stride.w - c.padding.w + b * c.dilation.w;
                if (h < 0 || h >= x.size(2) || v < 0 || v >= x.size(3)) continue;
                acc += w.at({o, ch, a, b}) * x.at({n, (o / og) * cg + ch, h, v});
              }
          y.push_back(acc);
        }
  return y;
}

const std::vector<ConvCase> kConv2dGrid = {
    {.x = {1, 1, 5, 5}, .w = {1, 1, 3, 3}},  // batch 1, channel 1
    {.x = {2, 2, 5, 7}, .w = {3, 2, 3, 2}, .stride = 2, .padding = 1, .bias = true, .non_contiguous = true},
    {.x = {1, 2, 7, 6}, .w = {2, 2, 2, 3}, .padding = 2, .dilation = 2, .bias = true},
    {.x = {2, 4, 5, 5}, .w = {4, 2, 3, 3}, .stride = 2, .padding = 1, .groups = 2, .bias = true},
    {.x = {1, 3, 6, 5}, .w = {3, 1, 3, 3}, .padding = 1, .groups = 3, .bias = true, .non_contiguous = true},
    {.x = {1, 2, 4, 5}, .w = {2, 2, 1, 1}, .stride = {2, 1}},
    {.x = {1, 1, 5, 6}, .w = {2, 1, 3, 2}, .stride = {1, 2}, .padding = {0, 2}, .dilation = {2, 1}, .bias = true},
    {.x = {1, 2, 3, 3}, .w = {1, 2, 3, 3}, .padding = 1, .dilation = 2},  // kernel reaches past the image
};

// Includes the configurations whose stride / dilation / output_padding gradients other engines
// have got wrong: stride 2 with output_padding, dilation 2 with groups, output_padding that
// only dilation allows (>= stride), unequal stride and dilation per dimension.
const std::vector<ConvCase> kConvTranspose2dGrid = {
    {.x = {1, 1, 3, 3}, .w = {1, 1, 3, 3}},
    {.x = {2, 2, 3, 4}, .w = {2, 3, 4, 4}, .stride = 2, .padding = 1, .bias = true},  // DCGAN's layer
    {.x = {1, 2, 3, 3}, .w = {2, 2, 3, 2}, .stride = 2, .padding = 1, .bias = true, .non_contiguous = true,
     .output_padding = 1},
    {.x = {1, 4, 3, 3}, .w = {4, 1, 3, 3}, .stride = 2, .dilation = 2, .groups = 2, .output_padding = 1},
    {.x = {1, 3, 4, 3}, .w = {3, 1, 3, 3}, .stride = 2, .padding = 1, .groups = 3, .bias = true,
     .output_padding = 1},
    {.x = {1, 2, 3, 3}, .w = {2, 2, 2, 3}, .dilation = 2, .output_padding = 1},
    {.x = {1, 2, 3, 4}, .w = {2, 1, 3, 2}, .stride = {2, 3}, .padding = {2, 0}, .dilation = {1, 2},
     .bias = true, .non_contiguous = true, .output_padding = {1, 2}},
};

}  // namespace

TEST_CASE("conv2d matches its definition over the grid") {
  manual_seed(1);
  for (const auto& c : kConv2dGrid) {
    INFO(describe(c));
    TensorList in = make_inputs(c, c.w[0]);
    NoGradGuard no_grad;
    Tensor y = conv2d(in[0], in[1], {}, c.stride, c.padding, c.dilation, c.groups);
    std::vector<double> want = conv2d_by_definition(in[0], in[1], c, y.shape());
    std::vector<double> got = y.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
  }
}

TEST_CASE("conv2d output shapes follow PyTorch's formula") {
  manual_seed(2);
  Tensor x = randn({2, 4, 9, 8});
  // floor((H + 2p - d (k - 1) - 1) / s) + 1
  CHECK(conv2d(x, randn({6, 4, 3, 3})).shape() == Shape{2, 6, 7, 6});
  CHECK(conv2d(x, randn({6, 2, 3, 2}), {}, 2, 1, 1, 2).shape() == Shape{2, 6, 5, 5});
  CHECK(conv2d(x, randn({4, 1, 3, 3}), {}, {2, 3}, {0, 2}, {2, 1}, 4).shape() == Shape{2, 4, 3, 4});
  // (H - 1) s - 2p + d (k - 1) + output_padding + 1
  CHECK(conv_transpose2d(x, randn({4, 3, 4, 4}), {}, 2, 1).shape() == Shape{2, 3, 18, 16});
  CHECK(conv_transpose2d(x, randn({4, 1, 3, 3}), {}, 2, 0, {1, 0}, 2, 2).shape() == Shape{2, 2, 22, 19});
}

TEST_CASE("conv2d gradients match finite differences over the grid") {
  manual_seed(3);
  for (const auto& c : kConv2dGrid) {
    INFO(describe(c));
    CHECK_GRADCHECK([&](const TensorList& in) { return run_conv2d(c, in); }, make_inputs(c, c.w[0]));
  }
}

TEST_CASE("conv2d second derivatives match finite differences") {
  manual_seed(4);
  const std::vector<ConvCase> cases = {
      {.x = {1, 2, 4, 4}, .w = {2, 1, 3, 3}, .stride = 2, .padding = 1, .groups = 2, .bias = true},
      {.x = {2, 1, 5, 4}, .w = {2, 1, 2, 3}, .padding = 1, .dilation = 2, .non_contiguous = true},
  };
  for (const auto& c : cases) {
    INFO(describe(c));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return run_conv2d(c, in); }, make_inputs(c, c.w[0]));
  }
}

TEST_CASE("conv_transpose2d gradients match finite differences over the grid") {
  manual_seed(5);
  for (const auto& c : kConvTranspose2dGrid) {
    INFO(describe(c));
    CHECK_GRADCHECK([&](const TensorList& in) { return run_conv_transpose2d(c, in); },
                    make_inputs(c, c.w[1] * c.groups));
  }
}

TEST_CASE("conv_transpose2d second derivatives match finite differences") {
  manual_seed(6);
  const std::vector<ConvCase> cases = {
      {.x = {1, 2, 2, 3}, .w = {2, 2, 3, 3}, .stride = 2, .padding = 1, .bias = true, .output_padding = 1},
      {.x = {2, 2, 2, 2}, .w = {2, 1, 2, 2}, .dilation = 2, .groups = 2, .non_contiguous = true,
       .output_padding = 1},
  };
  for (const auto& c : cases) {
    INFO(describe(c));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return run_conv_transpose2d(c, in); },
                        make_inputs(c, c.w[1] * c.groups));
  }
}

TEST_CASE("conv2d_weight: first and second derivatives match finite differences") {
  manual_seed(7);
  struct Case { Shape x, w, gy; Size2 stride, padding, dilation; int64_t groups; };
  const std::vector<Case> cases = {
      {{1, 2, 5, 5}, {2, 2, 3, 3}, {1, 2, 3, 3}, 2, 1, 1, 1},
      {{2, 4, 4, 5}, {2, 2, 2, 3}, {2, 2, 4, 3}, 1, 1, 2, 2},
  };
  for (const auto& c : cases) {
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w));
    auto fn = [&](const TensorList& in) {
      return TensorList{conv2d_weight(in[0], in[1], c.w, c.stride, c.padding, c.dilation, c.groups)};
    };
    const TensorList non_contiguous_gy = {test::leaf(c.x), test::transposed_leaf(c.gy)};
    CHECK_GRADCHECK(fn, non_contiguous_gy);
    const TensorList inputs = {test::leaf(c.x), test::leaf(c.gy)};
    CHECK_GRADGRADCHECK(fn, inputs);
  }
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d, and conv2d_weight its weight gradient") {
  manual_seed(8);
  std::mt19937 rng(8);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int trial = 0; trial < 25; ++trial) {
    const int64_t groups = pick(1, 3), cg = pick(1, 2), og = pick(1, 2);
    const Size2 k(pick(1, 4), pick(1, 4)), s(pick(1, 3), pick(1, 3)), d(pick(1, 2), pick(1, 2));
    const Size2 p(pick(0, 2), pick(0, 2));
    const int64_t H = std::max<int64_t>(d.h * (k.h - 1) + 1 - 2 * p.h, 1) + pick(0, 5);
    const int64_t W = std::max<int64_t>(d.w * (k.w - 1) + 1 - 2 * p.w, 1) + pick(0, 5);
    Tensor x = randn({pick(1, 2), groups * cg, H, W}, kFloat64);
    Tensor w = randn({groups * og, cg, k.h, k.w}, kFloat64);
    Tensor y = conv2d(x, w, {}, s, p, d, groups);
    Tensor v = randn(y.shape(), kFloat64);
    // conv2d drops the last (H + 2p - d (kH - 1) - 1) mod s rows; output_padding puts them back.
    const Size2 op((H + 2 * p.h - d.h * (k.h - 1) - 1) % s.h, (W + 2 * p.w - d.w * (k.w - 1) - 1) % s.w);
    Tensor xt = conv_transpose2d(v, w, {}, s, p, op, groups, d);
    INFO("trial " << trial << ": x " << x.str() << " w " << w.str());
    REQUIRE(xt.shape() == x.shape());
    // <conv2d(x, w), v> = <x, conv_transpose2d(v, w)> = <w, conv2d_weight(x, v)>
    const double lhs = dot(y, v);
    CHECK(dot(x, xt) == doctest::Approx(lhs).epsilon(1e-10));
    CHECK(dot(w, conv2d_weight(x, v, w.shape(), s, p, d, groups)) == doctest::Approx(lhs).epsilon(1e-10));
  }
}

TEST_CASE("unbatched 3-D input is a batch of one") {
  manual_seed(9);
  Tensor x = randn({2, 5, 4}, kFloat64), w = randn({3, 2, 2, 2}, kFloat64), b = randn({3}, kFloat64);
  Tensor y = conv2d(x, w, b, 1, 1);
  CHECK(y.shape() == Shape{3, 6, 5});
  CHECK(test::max_abs_diff(y, conv2d(x.unsqueeze(0), w, b, 1, 1).squeeze(0)) == 0.0);
  Tensor wt = randn({2, 3, 3, 3}, kFloat64);
  Tensor yt = conv_transpose2d(x, wt, {}, 2, 1, 1);
  CHECK(yt.shape() == Shape{3, 10, 8});
  CHECK(test::max_abs_diff(yt, conv_transpose2d(x.unsqueeze(0), wt, {}, 2, 1, 1).squeeze(0)) == 0.0);
}

TEST_CASE("float32 convolutions agree with float64") {
  manual_seed(10);
  Tensor x = randn({2, 4, 7, 6}, kFloat64), w = randn({6, 2, 3, 3}, kFloat64), b = randn({6}, kFloat64);
  // Sums of 18 products of N(0, 1) values: float32 rounding stays far below 1e-5 absolute.
  Tensor y64 = conv2d(x, w, b, 2, 1, 1, 2);
  Tensor y32 = conv2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), 2, 1, 1, 2);
  CHECK(y32.dtype() == kFloat32);
  CHECK(test::max_abs_diff(y32.to(kFloat64), y64) < 1e-5);
  Tensor wt = randn({4, 3, 4, 4}, kFloat64);
  Tensor t64 = conv_transpose2d(x, wt, {}, 2, 1);
  Tensor t32 = conv_transpose2d(x.to(kFloat32), wt.to(kFloat32), {}, 2, 1);
  CHECK(test::max_abs_diff(t32.to(kFloat64), t64) < 1e-5);
}

TEST_CASE("the tape records the convolution nodes") {
  manual_seed(11);
  Tensor x = test::leaf({1, 2, 4, 4}), w = test::leaf({2, 2, 3, 3});
  CHECK(conv2d(x, w).grad_fn_name() == "Conv2dBackward");
  CHECK(conv_transpose2d(x, w).grad_fn_name() == "ConvTranspose2dBackward");
  CHECK(conv2d_weight(x, test::leaf({1, 2, 2, 2}), w.shape()).grad_fn_name() == "Conv2dWeightBackward");
  CHECK(conv2d(x, w, test::leaf({2})).grad_fn_name() == "Conv2dBiasBackward");  // fused into the conv
}

TEST_CASE("gradients flow only to the inputs that require them") {
  manual_seed(12);
  Tensor x = test::leaf({1, 2, 5, 5}), w = randn({3, 2, 3, 3}, kFloat64), b = test::leaf({3});
  conv2d(x, w, b, 2, 1).sum().backward();
  CHECK(x.grad().defined());
  CHECK(b.grad().to_vector<double>() == std::vector<double>{9.0, 9.0, 9.0});  // 3 x 3 outputs each
  CHECK_FALSE(w.grad().defined());
  Tensor x2 = randn({1, 3, 2, 2}, kFloat64), w2 = test::leaf({3, 2, 3, 3});
  conv_transpose2d(x2, w2, {}, 2).sum().backward();
  CHECK(w2.grad().defined());
  CHECK_FALSE(x2.grad().defined());
}

// ---- agreement with PyTorch (files written by tests/data/make_conv_reference.py) ----------

namespace {

const std::string kRefDir = std::string(TAPEGRAD_TEST_DATA) + "/conv/";

Tensor ref(const std::string& name, const std::string& file) { return load_npy(kRefDir + name + "/" + file + ".npy"); }

// Runs one reference case in `dtype` and compares y and the gradients of <y, g> with PyTorch's
// (float64) values. params.npy: stride, padding, dilation, output_padding (h, w each), groups.
void check_against_torch(const std::string& name, bool transposed, DType dtype, double tol) {
  INFO(name << " in " << std::string(dtype_name(dtype)));
  std::vector<int64_t> q = ref(name, "params").to_vector<int64_t>();
  REQUIRE(q.size() == 9);
  const Size2 stride(q[0], q[1]), padding(q[2], q[3]), dilation(q[4], q[5]), output_padding(q[6], q[7]);
  const bool has_bias = std::filesystem::exists(kRefDir + name + "/b.npy");
  Tensor x = ref(name, "x").to(dtype).requires_grad_(), w = ref(name, "w").to(dtype).requires_grad_();
  Tensor b = has_bias ? ref(name, "b").to(dtype).requires_grad_() : Tensor();
  Tensor y = transposed ? conv_transpose2d(x, w, b, stride, padding, output_padding, q[8], dilation)
                        : conv2d(x, w, b, stride, padding, dilation, q[8]);
  (y * ref(name, "g").to(dtype)).sum().backward();
  CHECK(test::max_abs_diff(y.to(kFloat64), ref(name, "y")) < tol);
  CHECK(test::max_abs_diff(x.grad().to(kFloat64), ref(name, "gx")) < tol);
  CHECK(test::max_abs_diff(w.grad().to(kFloat64), ref(name, "gw")) < tol);
  if (has_bias) CHECK(test::max_abs_diff(b.grad().to(kFloat64), ref(name, "gb")) < tol);
}

}  // namespace

TEST_CASE("conv2d and conv_transpose2d agree with PyTorch") {
  // Values are O(1) to O(10) sums of at most ~100 products: float64 agrees to rounding, float32
  // to a few float32 ulps of the largest terms.
  for (auto [dtype, tol] : {std::pair{kFloat64, 1e-12}, std::pair{kFloat32, 5e-5}}) {
    for (const char* name : {"conv2d_basic", "conv2d_strided_dilated_groups", "conv2d_depthwise"})
      check_against_torch(name, false, dtype, tol);
    for (const char* name : {"conv_transpose2d_dcgan", "conv_transpose2d_dilated_groups",
                             "conv_transpose2d_output_padding_from_dilation"})
      check_against_torch(name, true, dtype, tol);
  }
}

// ---- errors -----------------------------------------------------------------------------

TEST_CASE("bad convolution parameters raise errors naming the op, shapes and parameter") {
  Tensor x = randn({1, 4, 5, 5}), w = randn({8, 4, 3, 3});
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, 1, -1), "conv2d", "padding must be non-negative", "[-1, -1]");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, {0, 1}), "conv2d", "stride must be positive", "[0, 1]");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, 1, 0, 0), "conv2d", "dilation must be positive", "[0, 0]");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, 1, 0, 1, 0), "conv2d", "groups must be positive");
  CHECK_THROWS_WITH_ALL(conv2d(randn({1, 4, 2, 2}), w), "conv2d", "kernel size 3 x 3",
                        "larger than the padded input 2 x 2", "[1, 4, 2, 2]", "[8, 4, 3, 3]");
  CHECK_THROWS_WITH_ALL(conv2d(randn({1, 4, 4, 4}), w, {}, 1, 0, 2), "conv2d", "kernel size 5 x 5",
                        "dilation [2, 2]", "padded input 4 x 4");
  CHECK_THROWS_WITH_ALL(conv2d(randn({1, 3, 5, 5}), w), "conv2d", "[1, 3, 5, 5]", "has 3 channels",
                        "[8, 4, 3, 3]", "expects 4");
  CHECK_THROWS_WITH_ALL(conv2d(x, randn({8, 2, 3, 3}), {}, 1, 0, 1, 3), "conv2d", "groups = 3",
                        "expects 6", "[8, 2, 3, 3]");
  CHECK_THROWS_WITH_ALL(conv2d(x, randn({6, 1, 3, 3}), {}, 1, 0, 1, 4), "conv2d", "[6, 1, 3, 3]",
                        "6 output channels, not divisible by groups = 4");
  CHECK_THROWS_WITH_ALL(conv2d(x, randn({8, 4, 3})), "conv2d", "weight must be 4-D", "[8, 4, 3]");
  CHECK_THROWS_WITH_ALL(conv2d(randn({4, 5}), w), "conv2d", "input must be 3-D", "[4, 5]");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, randn({4})), "conv2d", "bias must be 1-D with C_out = 8", "[4]");
  CHECK_THROWS_WITH_ALL(conv2d(x, w.to(kFloat64)), "conv2d", "dtype mismatch");
  CHECK_THROWS_WITH_ALL(conv2d(x, Tensor()), "conv2d", "weight is an undefined tensor");
}

TEST_CASE("bad transposed-convolution parameters raise errors naming the op, shapes and parameter") {
  Tensor x = randn({1, 4, 5, 5}), w = randn({4, 2, 3, 3});
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 1, 0, 1), "conv_transpose2d", "output_padding [1, 1]",
                        "smaller than either stride [1, 1] or dilation [1, 1]");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 2, 0, {0, 2}), "conv_transpose2d",
                        "output_padding [0, 2]", "stride [2, 2]");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 1, 0, -1), "conv_transpose2d",
                        "output_padding must be non-negative");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 1, -2), "conv_transpose2d", "padding must be non-negative");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 0), "conv_transpose2d", "stride must be positive");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, randn({3, 2, 3, 3})), "conv_transpose2d", "[1, 4, 5, 5]",
                        "has 4 channels", "[3, 2, 3, 3]", "expects 3");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 1, 0, 0, 3), "conv_transpose2d", "input channels 4",
                        "not divisible by groups = 3");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, {}, 1, 4), "conv_transpose2d", "output size -1 x -1",
                        "is not positive", "padding [4, 4]");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, randn({4, 2, 3})), "conv_transpose2d", "weight must be 4-D",
                        "[C_in, C_out / groups, kH, kW]");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, w, randn({3})), "conv_transpose2d", "bias must be 1-D with C_out = 2");
}

TEST_CASE("bad conv2d_weight arguments raise errors naming the shapes") {
  Tensor x = randn({1, 4, 5, 5});
  CHECK_THROWS_WITH_ALL(conv2d_weight(x, randn({1, 8, 2, 2}), {8, 4, 3, 3}), "conv2d_weight",
                        "grad_out must have conv2d's output shape [1, 8, 3, 3]", "[1, 8, 2, 2]");
  CHECK_THROWS_WITH_ALL(conv2d_weight(x, randn({1, 8, 3, 3}), {8, 3, 3, 3}), "conv2d_weight",
                        "does not match weight_shape [8, 3, 3, 3]");
  CHECK_THROWS_WITH_ALL(conv2d_weight(x, randn({1, 8, 3, 3}), {8, 4, 3}), "conv2d_weight",
                        "weight_shape must be", "[8, 4, 3]");
  CHECK_THROWS_WITH_ALL(conv2d_weight(x, randn({1, 8, 3, 3}), {8, 4, 7, 7}), "conv2d_weight",
                        "kernel size 7 x 7", "larger than the padded input");
  CHECK_THROWS_WITH_ALL(conv2d_weight(x, randn({1, 8, 3, 3}), {8, 4, 3, 3}, 0), "conv2d_weight",
                        "stride must be positive");
}
