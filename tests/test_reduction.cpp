// Reductions: sum, mean, var (all or given dims, keepdim), max / min (over a dim with indices,
// and over all), logsumexp. Values against loops over the elements, gradients against finite
// differences (float64) at random shapes and layouts, second derivatives.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "test_helpers.h"

using namespace tg;
using test::leaf;

namespace {

// A random shape of rank 1-4, sizes 1-4, and a random non-empty subset of its dims, given
// with negative numbers at random.
std::pair<Shape, Shape> random_shape_and_dims() {
  const int64_t rank = randint(1, 5, {}).item<int64_t>();
  const Shape shape = randint(1, 5, {rank}).to_vector<int64_t>();
  Shape dims;
  for (int64_t d = 0; d < rank; ++d)
    if (rand({}).item<double>() < 0.5) dims.push_back(rand({}).item<double>() < 0.5 ? d : d - rank);
  if (dims.empty()) dims.push_back(randint(0, rank, {}).item<int64_t>());
  return {shape, dims};
}

bool reduced(int64_t d, const Shape& dims, int64_t rank) {
  for (int64_t r : dims)
    if ((r + rank) % rank == d) return true;
  return false;
}

Shape output_shape(const Shape& in, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d) {
    if (!reduced(d, dims, in.size())) out.push_back(in[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// The groups a reduction over `dims` forms: for each output element (row-major), the values
// of x that go into it. Built by walking every index of x.
std::vector<std::vector<double>> groups(const Tensor& x, const Shape& dims) {
  const Shape& s = x.shape();
  const int64_t rank = x.dim();
  const std::vector<double> v = x.to_vector<double>();
  std::vector<std::vector<double>> out(numel_of(output_shape(s, dims, true)));
  Shape idx(rank, 0);
  for (size_t flat = 0; flat < v.size(); ++flat) {
    int64_t o = 0;
    for (int64_t d = 0; d < rank; ++d) o = o * (reduced(d, dims, rank) ? 1 : s[d]) + (reduced(d, dims, rank) ? 0 : idx[d]);
    out[o].push_back(v[flat]);
    for (int64_t d = rank - 1; d >= 0 && ++idx[d] == s[d]; --d) idx[d] = 0;
  }
  return out;
}

void check_close(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  std::vector<double> g = got.to_vector<double>();
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(want[i]).epsilon(tol));
}

std::vector<double> per_group(const std::vector<std::vector<double>>& gs,
                              const std::function<double(const std::vector<double>&)>& f) {
  std::vector<double> out;
  for (const auto& g : gs) out.push_back(f(g));
  return out;
}

double total(const std::vector<double>& g) { return std::accumulate(g.begin(), g.end(), 0.0); }
double average(const std::vector<double>& g) { return total(g) / g.size(); }
double variance(const std::vector<double>& g, int64_t correction) {
  const double m = average(g);
  double s = 0;
  for (double v : g) s += (v - m) * (v - m);
  return s / (static_cast<double>(g.size()) - correction);
}
double log_sum_exp(const std::vector<double>& g) {
  const double m = *std::max_element(g.begin(), g.end());
  double s = 0;
  for (double v : g) s += std::exp(v - m);
  return m + std::log(s);
}

}  // namespace

TEST_CASE("sum, mean, var and logsumexp reduce the right groups, with and without keepdim") {
  manual_seed(30);
  for (int trial = 0; trial < 20; ++trial) {
    auto [shape, dims] = random_shape_and_dims();
    CAPTURE(shape_str(shape));
    CAPTURE(shape_str(dims));
    Tensor x = randn(shape, kFloat64);
    const auto gs = groups(x, dims);
    for (bool keepdim : {false, true}) {
      CAPTURE(keepdim);
      const Shape out_shape = output_shape(shape, dims, keepdim);
      CHECK(sum(x, dims, keepdim).shape() == out_shape);
      check_close(sum(x, dims, keepdim), per_group(gs, total));
      check_close(mean(x, dims, keepdim), per_group(gs, average));
      CHECK(logsumexp(x, dims, keepdim).shape() == out_shape);
      check_close(logsumexp(x, dims, keepdim), per_group(gs, log_sum_exp));
      if (gs[0].size() > 2) {
        for (int64_t correction : {0, 1, 2}) {
          CHECK(var(x, dims, correction, keepdim).shape() == out_shape);
          check_close(var(x, dims, correction, keepdim),
                      per_group(gs, [&](const auto& g) { return variance(g, correction); }));
        }
      }
    }
  }
}

TEST_CASE("reductions over all elements give 0-dim tensors") {
  Tensor x = arange(12.0, kFloat64).view({3, 4});
  for (const Tensor& r : {sum(x), mean(x), var(x), max(x), min(x), x.sum(), x.mean()}) CHECK(r.dim() == 0);
  CHECK(sum(x).item<double>() == 66.0);
  CHECK(x.sum().item<double>() == 66.0);
  CHECK(mean(x).item<double>() == 5.5);
  CHECK(var(x).item<double>() == doctest::Approx(13.0));  // n (n^2 - 1) / 12 / (n - 1), n = 12
  CHECK(var(x, {}, 0).item<double>() == doctest::Approx(143.0 / 12.0));
  CHECK(max(x).item<double>() == 11.0);
  CHECK(min(x).item<double>() == 0.0);
  CHECK(sum(x, {}, true).shape() == Shape{1, 1});
  CHECK(sum(x, {0, 1}).dim() == 0);
  CHECK(x.sum({1}, true).shape() == Shape{3, 1});
  CHECK(x.mean({0}).to_vector<double>() == std::vector<double>{4, 5, 6, 7});
  Tensor s = scalar_tensor(2.5, kFloat64);
  CHECK(sum(s).item<double>() == 2.5);
  CHECK(max(s).item<double>() == 2.5);
  CHECK(std::get<0>(max(s, 0)).dim() == 0);
}

TEST_CASE("reductions of float32 accumulate accurately") {
  // 100000 copies of 0.1f: a float32 running sum drifts by ~1e-3 relative; the reference
  // kernel accumulates in double, as PyTorch's pairwise sum is accurate.
  Tensor x = full({100000}, 0.1, kFloat32);
  CHECK(sum(x).dtype() == kFloat32);
  CHECK(sum(x).item<double>() == doctest::Approx(100000 * static_cast<double>(0.1f)).epsilon(1e-7));
}

TEST_CASE("var follows torch.var's correction: n - correction <= 0 gives inf or nan") {
  Tensor one = tensor<double>({3.0});
  CHECK(std::isnan(var(one).item<double>()));  // 0 / 0
  CHECK(var(one, {}, 0).item<double>() == 0.0);
  CHECK(std::isinf(var(tensor<double>({1.0, 2.0}), {}, 2).item<double>()));  // 0.5 / 0
}

TEST_CASE("sum, mean, var and logsumexp gradients match finite differences") {
  manual_seed(31);
  for (int trial = 0; trial < 8; ++trial) {
    auto [shape, dims] = random_shape_and_dims();
    CAPTURE(shape_str(shape));
    CAPTURE(shape_str(dims));
    TensorList in{leaf(shape)};
    const int64_t group = numel_of(shape) / numel_of(output_shape(shape, dims, true));
    for (bool keepdim : {false, true}) {
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{sum(t[0], dims, keepdim)}; }, in);
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{mean(t[0], dims, keepdim)}; }, in);
      // With one element per group the unbiased variance is 0 / 0 (tested above).
      const int64_t correction = group > 1 ? 1 : 0;
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{var(t[0], dims, correction, keepdim)}; }, in);
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{logsumexp(t[0], dims, keepdim)}; }, in);
    }
  }
  for (Tensor x : {test::transposed_leaf({3, 4}), test::strided_leaf({2, 3}), leaf({1, 5, 1})}) {
    CAPTURE(x.str());
    for (const Shape& dims : {Shape{}, Shape{0}, Shape{-1}}) {
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{sum(t[0], dims)}; }, TensorList{x});
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{mean(t[0], dims, true)}; }, TensorList{x});
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{var(t[0], dims, 0)}; }, TensorList{x});
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{logsumexp(t[0], dims)}; }, TensorList{x});
    }
  }
  // An expanded input counts each stored element once per copy.
  Tensor r = leaf({3, 1});
  CHECK_GRADCHECK([](const TensorList& t) { return TensorList{sum(t[0].expand({3, 4}) * t[0], {1})}; }, TensorList{r});
}

TEST_CASE("max and min over a dim return values and the first index of the extreme") {
  manual_seed(32);
  for (int trial = 0; trial < 10; ++trial) {
    auto [shape, dims] = random_shape_and_dims();
    const int64_t d = dims[0];
    CAPTURE(shape_str(shape));
    CAPTURE(d);
    Tensor x = randn(shape, kFloat64);
    const auto gs = groups(x, {d});
    for (bool keepdim : {false, true}) {
      for (bool is_max : {true, false}) {
        auto [values, indices] = is_max ? max(x, d, keepdim) : min(x, d, keepdim);
        CHECK(values.shape() == output_shape(shape, {d}, keepdim));
        CHECK(indices.shape() == values.shape());
        CHECK(indices.dtype() == kInt64);
        std::vector<double> v = values.to_vector<double>();
        std::vector<int64_t> i = indices.to_vector<int64_t>();
        for (size_t o = 0; o < gs.size(); ++o) {
          auto it = is_max ? std::max_element(gs[o].begin(), gs[o].end()) : std::min_element(gs[o].begin(), gs[o].end());
          CHECK(v[o] == *it);
          CHECK(i[o] == it - gs[o].begin());
        }
      }
    }
  }
  // Ties give the first index; NaN is the maximum and the minimum (it propagates), as PyTorch.
  Tensor t = tensor<double>({1, 3, 3, 0, 0, 2}, {2, 3});
  CHECK(std::get<1>(max(t, 1)).to_vector<int64_t>() == std::vector<int64_t>{1, 2});
  CHECK(std::get<1>(min(t, 1)).to_vector<int64_t>() == std::vector<int64_t>{0, 0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor n = tensor<double>({1, nan, 5});
  CHECK(std::isnan(max(n).item<double>()));
  CHECK(std::isnan(min(n).item<double>()));
  CHECK(std::get<1>(max(n, 0)).item<int64_t>() == 1);
}

TEST_CASE("max and min gradients flow to the chosen element only") {
  manual_seed(33);
  for (int trial = 0; trial < 6; ++trial) {
    auto [shape, dims] = random_shape_and_dims();
    const int64_t d = dims[0];
    CAPTURE(shape_str(shape));
    CAPTURE(d);
    TensorList in{leaf(shape)};
    for (bool keepdim : {false, true}) {
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{std::get<0>(max(t[0], d, keepdim))}; }, in);
      CHECK_GRADCHECK([&](const TensorList& t) { return TensorList{std::get<0>(min(t[0], d, keepdim))}; }, in);
    }
    CHECK_GRADCHECK([](const TensorList& t) { return TensorList{max(t[0])}; }, in);
    CHECK_GRADCHECK([](const TensorList& t) { return TensorList{min(t[0])}; }, in);
  }
  for (Tensor x : {test::transposed_leaf({3, 4}), test::strided_leaf({4, 3})}) {
    CHECK_GRADCHECK([](const TensorList& t) { return TensorList{std::get<0>(max(t[0], 0))}; }, TensorList{x});
    CHECK_GRADCHECK([](const TensorList& t) { return TensorList{std::get<0>(min(t[0], -1, true))}; }, TensorList{x});
  }
  Tensor x = tensor<double>({1, 5, 2, 7, 0, 3}, {2, 3}).requires_grad_();
  std::get<0>(max(x, 1)).sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 1, 0, 1, 0, 0});
}

TEST_CASE("a reduction's grad_fn is its own node, not a view") {
  Tensor x = leaf({2, 3});
  CHECK(sum(x).grad_fn_name() == "SumBackward");
  CHECK(sum(x, {1}).grad_fn_name() == "SumBackward");
  CHECK(sum(x, {1}, true).grad_fn_name() == "SumBackward");
  CHECK(std::get<0>(max(x, 0)).grad_fn_name() == "MaxBackward");
  CHECK(std::get<0>(min(x, 1, true)).grad_fn_name() == "MinBackward");
  CHECK(max(x).grad_fn_name() == "MaxBackward");
  CHECK(min(x).grad_fn_name() == "MinBackward");
  CHECK_FALSE(std::get<1>(max(x, 0)).requires_grad());
}

TEST_CASE("gradgradcheck: sum, mean, var, max and logsumexp are twice differentiable") {
  manual_seed(34);
  Tensor x = leaf({2, 3, 2});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{sum(t[0] * t[0], {1})}; }, TensorList{x});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{sum(t[0], {0, 2}, true) * sum(t[0])}; }, TensorList{x});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{mean(t[0] * t[0], {-1})}; }, TensorList{x});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{mean(t[0]) * mean(t[0], {1}, true)}; }, TensorList{x});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{var(t[0], {1})}; }, TensorList{x});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{pow(std::get<0>(max(t[0], 1)), 2.0)}; }, TensorList{x});
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{logsumexp(t[0], {0, 2})}; }, TensorList{x});
}

TEST_CASE("logsumexp is stable at large magnitudes and -inf") {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = tensor<double>({1000, 1000, -1000, -1000, -inf, -inf, -inf, 2}, {4, 2});
  std::vector<double> r = logsumexp(x, {1}).to_vector<double>();
  CHECK(r[0] == doctest::Approx(1000 + std::log(2.0)));
  CHECK(r[1] == doctest::Approx(-1000 + std::log(2.0)));
  CHECK(r[2] == -inf);
  CHECK(r[3] == 2.0);
  Tensor xs = tensor<double>({800, 801, -3}).requires_grad_();
  logsumexp(xs, {0}).backward();
  std::vector<double> g = xs.grad().to_vector<double>();  // softmax of the inputs
  CHECK(g[0] == doctest::Approx(1 / (1 + std::exp(1.0))));
  CHECK(g[1] == doctest::Approx(1 / (1 + std::exp(-1.0))));
  CHECK(g[2] == doctest::Approx(0.0));
}
