// max_pool2d, avg_pool2d and adaptive_avg_pool2d: values and indices by hand and against
// composite forms, gradients (first and second order) by finite differences over a grid of
// configurations, agreement with PyTorch, and the parameter errors.
#include "test_helpers.h"

using namespace tg;

namespace {

// One configuration: shapes and parameters as the pooling ops take them.
struct PoolCase {
  Shape x;
  Size2 kernel;
  std::optional<Size2> stride = {};
  Size2 padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d
  bool non_contiguous = false;
};

std::string describe(const PoolCase& c) {
  const Size2 s = c.stride.value_or(c.kernel);
  return "x " + shape_str(c.x) + " kernel " + shape_str({c.kernel.h, c.kernel.w}) + " stride " +
         shape_str({s.h, s.w}) + " padding " + shape_str({c.padding.h, c.padding.w}) +
         (c.ceil_mode ? " ceil_mode" : "") + (c.count_include_pad ? "" : " exclude_pad") +
         (c.non_contiguous ? " non-contiguous" : "");
}

Tensor make_input(const PoolCase& c) {
  return c.non_contiguous ? test::transposed_leaf(c.x) : test::leaf(c.x);
}

TensorList run_max(const PoolCase& c, const TensorList& in) {
  return {max_pool2d(in[0], c.kernel, c.stride, c.padding, c.ceil_mode)};
}

TensorList run_avg(const PoolCase& c, const TensorList& in) {
  return {avg_pool2d(in[0], c.kernel, c.stride, c.padding, c.ceil_mode, c.count_include_pad)};
}

// Odd sizes, stride 1 and 2, padding 0 to 2, non-square kernels, ceil_mode, batch and
// channel 1, 3-D input, non-contiguous input.
const std::vector<PoolCase> kGrid = {
    {.x = {1, 1, 4, 4}, .kernel = 2},
    {.x = {2, 3, 7, 6}, .kernel = 3, .stride = 2, .padding = 1, .ceil_mode = true},
    {.x = {2, 2, 7, 8}, .kernel = {3, 2}, .stride = {{1, 2}}, .padding = {1, 1}, .non_contiguous = true},
    {.x = {1, 2, 5, 5}, .kernel = 3, .stride = 1, .count_include_pad = false},
    {.x = {1, 2, 9, 7}, .kernel = {5, 4}, .stride = {{2, 3}}, .padding = {2, 1}, .ceil_mode = true,
     .count_include_pad = false, .non_contiguous = true},
    {.x = {2, 5, 6}, .kernel = {2, 3}, .stride = 1, .padding = {1, 0}},  // unbatched [C, H, W]
    {.x = {1, 3, 5, 7}, .kernel = 2, .stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false},
};

double dot(const Tensor& a, const Tensor& b) { return (a * b).sum().item<double>(); }

}  // namespace

TEST_CASE("max_pool2d picks the first maximum of each window and its flat index") {
  Tensor x = tensor<double>({1, 5, 2, 0,   //
                             3, 5, 4, 8,   //
                             7, 6, 9, 9,   //
                             2, 1, 9, 3},  //
                            {1, 1, 4, 4});
  auto [y, idx] = max_pool2d_with_indices(x, 2);
  CHECK(y.to_vector<double>() == std::vector<double>{5, 8, 7, 9});
  CHECK(idx.dtype() == kInt64);
  // Ties (5 at 1 and 5; 9 at 10, 11 and 14) keep the first in row-major window order.
  CHECK(idx.to_vector<int64_t>() == std::vector<int64_t>{1, 7, 8, 10});
  // Padding never wins, even over negative values: it is -inf, not 0.
  auto [yp, ip] = max_pool2d_with_indices(x - 20.0, 3, 2, 1);
  CHECK(yp.to_vector<double>() == std::vector<double>{-15, -12, -13, -11});
  CHECK(ip.to_vector<int64_t>() == std::vector<int64_t>{1, 7, 8, 10});
}

TEST_CASE("max_pool2d propagates NaN") {
  Tensor x = tensor<double>({1, NAN, 2, 3}, {1, 1, 2, 2});
  auto [y, idx] = max_pool2d_with_indices(x, 2);
  CHECK(std::isnan(y.item<double>()));
  CHECK(idx.item<int64_t>() == 1);
}

TEST_CASE("avg_pool2d divisors: count_include_pad and ceil_mode's clipped window") {
  Tensor x = ones({1, 1, 3, 3}, kFloat64);
  // kernel 2, stride 2, padding 1, ceil_mode: windows over rows [-1, 1) and [1, 3); a third
  // would start at row 3 >= H + padding, so ceil_mode drops it. The first holds one real row.
  Tensor inc = avg_pool2d(x, 2, 2, 1, true, true);
  CHECK(inc.shape() == Shape{1, 1, 2, 2});
  CHECK(inc.to_vector<double>() == std::vector<double>{0.25, 0.5, 0.5, 1.0});
  CHECK(avg_pool2d(x, 2, 2, 1, true, false).to_vector<double>() == std::vector<double>{1, 1, 1, 1});
  // kernel 2, stride 2, no padding, ceil_mode on 3 x 3: the last window holds one row and is
  // clipped to the (unpadded) image, so its divisor is 2 (or 1 in the corner) either way.
  Tensor c = avg_pool2d(arange(9.0, kFloat64).view({1, 1, 3, 3}), 2, 2, 0, true, true);
  CHECK(c.to_vector<double>() == std::vector<double>{2.0, 3.5, 6.5, 8.0});
}

TEST_CASE("max_pool2d and avg_pool2d agree with composite forms") {
  manual_seed(1);
  Tensor x = test::leaf({2, 3, 6, 9});
  // Non-overlapping windows: a max / mean over the blocks of a [N, C, Ho, k, Wo, k] view.
  Tensor blocks = x.view({2, 3, 2, 3, 3, 3});
  Tensor max_ref = std::get<0>(max(std::get<0>(max(blocks, 5)), 3));
  Tensor y = max_pool2d(x, 3);
  CHECK(test::max_abs_diff(y, max_ref) == 0.0);
  Tensor g = randn(y.shape(), kFloat64);
  Tensor gx = autograd::grad({y}, {x}, {g})[0];
  CHECK(test::max_abs_diff(gx, autograd::grad({max_ref}, {x}, {g})[0]) == 0.0);
  // Sums in another order: equal up to float64 rounding.
  CHECK(test::max_abs_diff(avg_pool2d(x, 3), mean(blocks, {3, 5})) < 1e-14);
  // Average pooling with count_include_pad is a convolution with a constant 1 / k^2 kernel.
  Tensor planes = x.reshape({6, 1, 6, 9});
  Tensor conv_ref = conv2d(planes, full({1, 1, 3, 3}, 1.0 / 9.0, kFloat64), {}, 2, 1).view({2, 3, 3, 5});
  CHECK(test::max_abs_diff(avg_pool2d(x, 3, 2, 1), conv_ref) < 1e-14);
}

TEST_CASE("pool output shapes follow PyTorch's formula") {
  Tensor x = zeros({1, 1, 7, 6});
  // floor or ceil of (H + 2p - k) / s, plus 1; ceil_mode drops a window that starts past H + p.
  CHECK(max_pool2d(x, 3, 2).shape() == Shape{1, 1, 3, 2});
  CHECK(max_pool2d(x, 3, 2, 0, true).shape() == Shape{1, 1, 3, 3});
  CHECK(max_pool2d(x, 2, 2, 1, true).shape() == Shape{1, 1, 4, 4});
  CHECK(avg_pool2d(x, {4, 3}, {{3, 1}}, {2, 1}).shape() == Shape{1, 1, 3, 6});
  CHECK(avg_pool2d(zeros({1, 1, 5, 5}), 2, 2, 1, true).shape() == Shape{1, 1, 3, 3});
}

TEST_CASE("max_pool2d gradients match finite differences over the grid") {
  manual_seed(2);
  for (const auto& c : kGrid) {
    INFO(describe(c));
    CHECK_GRADCHECK([&](const TensorList& in) { return run_max(c, in); }, TensorList{make_input(c)});
  }
}

TEST_CASE("max_pool2d second derivatives match finite differences (scatter / gather)") {
  manual_seed(3);
  for (const auto& c : {kGrid[1], kGrid[2], kGrid[5]}) {
    INFO(describe(c));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return run_max(c, in); }, TensorList{make_input(c)});
  }
  // The double-backward path through the scatter node: its own backward is the gather.
  Tensor x = test::leaf({1, 2, 5, 5});
  Tensor y = max_pool2d(x, 3, 2, 1);
  Tensor g = test::leaf(y.shape());
  Tensor gx = autograd::grad({y}, {x}, {g}, true, true)[0];
  CHECK(gx.grad_fn_name() == "MaxPool2dBackwardBackward");
  Tensor v = randn(gx.shape(), kFloat64);
  Tensor gg = autograd::grad({gx}, {g}, {v})[0];
  // <scatter(g), v> = <g, gather(v)>
  CHECK(dot(gx, v) == doctest::Approx(dot(g, gg)).epsilon(1e-12));
}

TEST_CASE("avg_pool2d gradients match finite differences over the grid") {
  manual_seed(4);
  for (const auto& c : kGrid) {
    INFO(describe(c));
    CHECK_GRADCHECK([&](const TensorList& in) { return run_avg(c, in); }, TensorList{make_input(c)});
  }
}

TEST_CASE("avg_pool2d second derivatives match finite differences") {
  manual_seed(5);
  for (const auto& c : {kGrid[1], kGrid[4], kGrid[6]}) {
    INFO(describe(c));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return run_avg(c, in); }, TensorList{make_input(c)});
  }
}

TEST_CASE("adaptive_avg_pool2d: 1 x 1 is the mean, divisible sizes are avg_pool2d") {
  manual_seed(6);
  Tensor x = randn({2, 3, 5, 7}, kFloat64);
  CHECK(test::max_abs_diff(adaptive_avg_pool2d(x, 1), mean(x, {2, 3}, true)) < 1e-15);
  Tensor e = randn({1, 2, 6, 8}, kFloat64);
  CHECK(test::max_abs_diff(adaptive_avg_pool2d(e, {3, 2}), avg_pool2d(e, {2, 4})) == 0.0);
  CHECK(adaptive_avg_pool2d(randn({3, 4, 4}, kFloat64), {2, 3}).shape() == Shape{3, 2, 3});
}

TEST_CASE("adaptive_avg_pool2d uses PyTorch's start / end rule for uneven sizes") {
  // 5 -> 3: rows [0, 2), [1, 4), [3, 5) (start floor(i * 5 / 3), end ceil((i + 1) * 5 / 3)).
  Tensor x = arange(5.0, kFloat64).view({1, 1, 5, 1});
  CHECK(adaptive_avg_pool2d(x, {3, 1}).to_vector<double>() == std::vector<double>{0.5, 2.0, 3.5});
  // Output larger than the input: 2 -> 3 gives rows [0, 1), [0, 2), [1, 2).
  Tensor y = tensor<double>({2.0, 4.0}, {1, 1, 1, 2});
  CHECK(adaptive_avg_pool2d(y, {1, 3}).to_vector<double>() == std::vector<double>{2.0, 3.0, 4.0});
}

TEST_CASE("adaptive_avg_pool2d gradients match finite differences") {
  manual_seed(7);
  for (Size2 out : {Size2(1), Size2(3, 2), Size2(2, 4), Size2(4, 5)}) {
    INFO("output " << out.h << " x " << out.w);
    auto fn = [out](const TensorList& in) { return TensorList{adaptive_avg_pool2d(in[0], out)}; };
    CHECK_GRADCHECK(fn, TensorList{test::transposed_leaf({1, 2, 5, 4})});
    CHECK_GRADGRADCHECK(fn, TensorList{test::leaf({1, 2, 3, 4})});
  }
}

TEST_CASE("float32 pooling agrees with float64") {
  manual_seed(8);
  Tensor x = randn({2, 3, 7, 6}, kFloat64);
  CHECK(test::max_abs_diff(max_pool2d(x.to(kFloat32), 3, 2, 1).to(kFloat64), max_pool2d(x, 3, 2, 1)) < 1e-6);
  CHECK(test::max_abs_diff(avg_pool2d(x.to(kFloat32), 3, 2, 1).to(kFloat64), avg_pool2d(x, 3, 2, 1)) < 1e-6);
}

TEST_CASE("the tape records the pooling nodes") {
  Tensor x = test::leaf({1, 1, 4, 4});
  CHECK(max_pool2d(x, 2).grad_fn_name() == "MaxPool2dBackward");
  CHECK(avg_pool2d(x, 2).grad_fn_name() == "AvgPool2dBackward");
  Tensor y = avg_pool2d(x, 2);
  Tensor gx = autograd::grad({y}, {x}, {test::leaf(y.shape())}, true, true)[0];
  CHECK(gx.grad_fn_name() == "AvgPool2dBackwardBackward");
}

// ---- agreement with PyTorch (files written by tests/data/make_conv_reference.py) ----------

namespace {

const std::string kRefDir = std::string(TAPEGRAD_TEST_DATA) + "/conv/";

Tensor ref(const std::string& name, const std::string& file) { return load_npy(kRefDir + name + "/" + file + ".npy"); }

// Runs one reference case in `dtype`; compares y (and max indices) and the gradient of <y, g>.
// params.npy: kernel_size, stride, padding (h, w each), ceil_mode, count_include_pad; for the
// adaptive pool, output_size.
void check_against_torch(const std::string& name, DType dtype, double tol) {
  INFO(name << " in " << std::string(dtype_name(dtype)));
  std::vector<int64_t> q = ref(name, "params").to_vector<int64_t>();
  Tensor x = ref(name, "x").to(dtype).requires_grad_();
  Tensor y;
  if (name.starts_with("adaptive")) {
    REQUIRE(q.size() == 2);
    y = adaptive_avg_pool2d(x, {q[0], q[1]});
  } else {
    REQUIRE(q.size() == 8);
    const Size2 kernel(q[0], q[1]), stride(q[2], q[3]), padding(q[4], q[5]);
    if (name.starts_with("max")) {
      Tensor idx;
      std::tie(y, idx) = max_pool2d_with_indices(x, kernel, stride, padding, q[6] != 0);
      CHECK(idx.to_vector<int64_t>() == ref(name, "idx").to_vector<int64_t>());
    } else {
      y = avg_pool2d(x, kernel, stride, padding, q[6] != 0, q[7] != 0);
    }
  }
  (y * ref(name, "g").to(dtype)).sum().backward();
  CHECK(test::max_abs_diff(y.to(kFloat64), ref(name, "y")) < tol);
  CHECK(test::max_abs_diff(x.grad().to(kFloat64), ref(name, "gx")) < tol);
}

}  // namespace

TEST_CASE("pooling agrees with PyTorch") {
  // Averages and maxima of N(0, 1) values: float32 is within a few ulps of 1.
  for (auto [dtype, tol] : {std::pair{kFloat64, 1e-14}, std::pair{kFloat32, 1e-6}})
    for (const char* name : {"max_pool2d_k3s2p1_ceil", "max_pool2d_k2", "max_pool2d_nonsquare",
                             "avg_pool2d_ceil_include_pad", "avg_pool2d_ceil_exclude_pad",
                             "avg_pool2d_nonsquare", "adaptive_avg_pool2d_general",
                             "adaptive_avg_pool2d_even"})
      check_against_torch(name, dtype, tol);
}

// ---- errors -----------------------------------------------------------------------------

TEST_CASE("bad pooling parameters raise errors naming the op, shapes and parameter") {
  Tensor x = randn({1, 2, 5, 5});
  CHECK_THROWS_WITH_ALL(max_pool2d(x, 2, Size2(0)), "max_pool2d", "stride must be positive", "[0, 0]");
  CHECK_THROWS_WITH_ALL(avg_pool2d(x, 2, {{1, 0}}), "avg_pool2d", "stride must be positive", "[1, 0]");
  CHECK_THROWS_WITH_ALL(max_pool2d(x, 0), "max_pool2d", "kernel_size must be positive", "[0, 0]");
  CHECK_THROWS_WITH_ALL(max_pool2d(x, 3, 1, -1), "max_pool2d", "padding must be non-negative", "[-1, -1]");
  CHECK_THROWS_WITH_ALL(avg_pool2d(x, 3, 1, 2), "avg_pool2d", "padding [2, 2]",
                        "at most half of kernel_size [3, 3]");
  CHECK_THROWS_WITH_ALL(max_pool2d(x, {6, 2}), "max_pool2d", "kernel_size [6, 2]",
                        "larger than the padded input 5 x 5", "[1, 2, 5, 5]");
  CHECK_THROWS_WITH_ALL(avg_pool2d(x, 8, 1, 1), "avg_pool2d", "kernel_size [8, 8]",
                        "padded input 7 x 7", "padding [1, 1]");
  CHECK_THROWS_WITH_ALL(max_pool2d(randn({5, 5}), 2), "max_pool2d", "input must be 3-D", "[5, 5]");
  CHECK_THROWS_WITH_ALL(avg_pool2d(randint(0, 3, {1, 1, 4, 4}), 2), "avg_pool2d", "float32 or float64",
                        "int64");
  CHECK_THROWS_WITH_ALL(adaptive_avg_pool2d(x, {0, 2}), "adaptive_avg_pool2d", "output_size must be positive",
                        "[0, 2]");
  CHECK_THROWS_WITH_ALL(adaptive_avg_pool2d(randn({2, 3, 4, 5, 6}), 2), "adaptive_avg_pool2d",
                        "input must be 3-D", "[2, 3, 4, 5, 6]");
}
