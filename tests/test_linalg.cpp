// matmul (1-D, 2-D, batched with broadcast batch dims), mm and linear: values against a triple
// loop, gradients against finite differences (float64) on contiguous and transposed operands,
// second derivatives (matmul, linear, a two-layer network).
#include <algorithm>
#include <cmath>

#include "test_helpers.h"

using namespace tg;
using test::leaf;

namespace {

// C = A B for 2-D float64 tensors by the textbook loop (any strides).
std::vector<double> naive_mm(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>(), c(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) c[i * N + j] += va[i * K + k] * vb[k * N + j];
  return c;
}

void check_close(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  std::vector<double> g = got.to_vector<double>();
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(want[i]).epsilon(tol));
}

DifferentiableFn matmul_fn() {
  return [](const TensorList& in) { return TensorList{matmul(in[0], in[1])}; };
}

}  // namespace

TEST_CASE("matmul of 2-D tensors is the matrix product, for random sizes and layouts") {
  manual_seed(40);
  for (int trial = 0; trial < 10; ++trial) {
    const std::vector<int64_t> mkn = randint(1, 6, {3}).to_vector<int64_t>();
    const int64_t M = mkn[0], K = mkn[1], N = mkn[2];
    CAPTURE(M);
    CAPTURE(K);
    CAPTURE(N);
    Tensor a = randn({M, K}, kFloat64), b = randn({K, N}, kFloat64);
    Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{M, N});
    check_close(c, naive_mm(a, b));
    check_close(mm(a, b), naive_mm(a, b));
    check_close(a.matmul(b), naive_mm(a, b));
    // Transposed (column-major) operands give the same product.
    Tensor at = randn({K, M}, kFloat64).t(), bt = randn({N, K}, kFloat64).t();
    check_close(matmul(at, bt), naive_mm(at, bt));
    CHECK_GRADCHECK(matmul_fn(), (TensorList{leaf({M, K}), leaf({K, N})}));
  }
  CHECK_GRADCHECK(matmul_fn(), (TensorList{test::transposed_leaf({3, 4}), test::transposed_leaf({4, 2})}));
  CHECK_GRADCHECK(matmul_fn(), (TensorList{test::strided_leaf({2, 3}), leaf({3, 1})}));
}

TEST_CASE("matmul with 1-D operands follows torch.matmul") {
  manual_seed(41);
  Tensor v = randn({4}, kFloat64), w = randn({4}, kFloat64), m = randn({3, 4}, kFloat64), n = randn({4, 2}, kFloat64);
  Tensor dot = matmul(v, w);
  CHECK(dot.dim() == 0);
  check_close(dot, naive_mm(v.view({1, 4}), w.view({4, 1})));
  Tensor mv = matmul(m, v);  // [3, 4] x [4] -> [3]
  CHECK(mv.shape() == Shape{3});
  check_close(mv, naive_mm(m, v.view({4, 1})));
  Tensor vm = matmul(v, n);  // [4] x [4, 2] -> [2]
  CHECK(vm.shape() == Shape{2});
  check_close(vm, naive_mm(v.view({1, 4}), n));
  Tensor bv = matmul(randn({2, 3, 4}, kFloat64), v);
  CHECK(bv.shape() == Shape{2, 3});
  Tensor vb = matmul(v, randn({2, 4, 5}, kFloat64));
  CHECK(vb.shape() == Shape{2, 5});
  for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
           {{4}, {4}}, {{3, 4}, {4}}, {{4}, {4, 2}}, {{2, 3, 4}, {4}}, {{4}, {2, 4, 3}}}) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    CHECK_GRADCHECK(matmul_fn(), (TensorList{leaf(sa), leaf(sb)}));
  }
}

TEST_CASE("batched matmul broadcasts the batch dims") {
  manual_seed(42);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4}, {2, 4, 5}}, {{2, 1, 3, 4}, {3, 4, 2}}, {{3, 4}, {2, 4, 5}},
      {{2, 3, 4}, {4, 5}},    {{1, 2, 3}, {4, 3, 1}},    {{2, 1, 2, 3}, {1, 3, 3, 2}}};
  for (const auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Tensor a = leaf(sa), b = leaf(sb);
    Tensor c = matmul(a, b);
    Shape batch = broadcast_shapes(Shape(sa.begin(), sa.end() - 2), Shape(sb.begin(), sb.end() - 2));
    Shape want = batch;
    want.insert(want.end(), {sa[sa.size() - 2], sb.back()});
    REQUIRE(c.shape() == want);
    // Each batch entry is the 2-D product of the (broadcast) operands' entries.
    const int64_t B = numel_of(batch);
    Shape ea = batch, eb = batch;
    ea.insert(ea.end(), sa.end() - 2, sa.end());
    eb.insert(eb.end(), sb.end() - 2, sb.end());
    Tensor a3 = a.expand(ea).reshape({B, sa[sa.size() - 2], sa.back()});
    Tensor b3 = b.expand(eb).reshape({B, sb[sb.size() - 2], sb.back()});
    Tensor c3 = c.reshape({B, want[want.size() - 2], want.back()});
    for (int64_t i = 0; i < B; ++i) check_close(c3.select(0, i), naive_mm(a3.select(0, i), b3.select(0, i)));
    CHECK_GRADCHECK(matmul_fn(), (TensorList{a, b}));
  }
  // Transposed batch matrices.
  CHECK_GRADCHECK(matmul_fn(), (TensorList{test::transposed_leaf({2, 3, 4}), test::transposed_leaf({2, 4, 2})}));
}

TEST_CASE("float32 matmul agrees with float64 to float32 rounding") {
  manual_seed(43);
  Tensor a = randn({5, 7}), b = randn({7, 3});
  Tensor c = matmul(a, b);
  CHECK(c.dtype() == kFloat32);
  // Accumulated in double, rounded once: |error| <= 6e-8 * |c| with |c| < 10.
  CHECK(test::max_abs_diff(c.to(kFloat64), matmul(a.to(kFloat64), b.to(kFloat64))) < 1e-6);
}

TEST_CASE("linear is x W^T + b with and without bias, for any leading dims") {
  manual_seed(44);
  Tensor w = leaf({5, 4}), b = leaf({5});
  for (const Shape& xs : {Shape{4}, Shape{3, 4}, Shape{2, 3, 4}, Shape{1, 4}}) {
    CAPTURE(shape_str(xs));
    Tensor x = leaf(xs);
    Tensor y = linear(x, w, b);
    Shape want = xs;
    want.back() = 5;
    CHECK(y.shape() == want);
    Tensor x2 = x.reshape({-1, 4});
    std::vector<double> ref = naive_mm(x2, w.t()), bias = b.to_vector<double>();
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += bias[i % 5];
    check_close(y, ref);
    check_close(linear(x, w), naive_mm(x2, w.t()));
    CHECK_GRADCHECK([](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; }, (TensorList{x, w, b}));
    CHECK_GRADCHECK([](const TensorList& in) { return TensorList{linear(in[0], in[1])}; }, (TensorList{x, w}));
  }
  CHECK_GRADCHECK([](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; },
                  (TensorList{test::transposed_leaf({3, 4}), test::transposed_leaf({5, 4}), b}));
}

TEST_CASE("gradgradcheck: matmul and linear are twice differentiable") {
  manual_seed(45);
  CHECK_GRADGRADCHECK(matmul_fn(), (TensorList{leaf({2, 3}), leaf({3, 2})}));
  CHECK_GRADGRADCHECK(matmul_fn(), (TensorList{leaf({2, 2, 3}), leaf({3, 2})}));
  CHECK_GRADGRADCHECK(matmul_fn(), (TensorList{leaf({3}), leaf({2, 3, 2})}));
  CHECK_GRADGRADCHECK([](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; },
                      (TensorList{leaf({3, 4}), leaf({2, 4}), leaf({2})}));
  CHECK_GRADGRADCHECK([](const TensorList& in) { return TensorList{linear(in[0], in[1])}; },
                      (TensorList{test::transposed_leaf({2, 3}), leaf({2, 3})}));
}

TEST_CASE("a two-layer network has correct first and second derivatives") {
  manual_seed(46);
  // y = mean(sigmoid(W2 tanh(W1 x + b1) + b2)): the shape of a small GAN discriminator.
  DifferentiableFn net = [](const TensorList& p) {
    Tensor h = tanh(linear(p[0], p[1], p[2]));
    return TensorList{sigmoid(linear(h, p[3], p[4])).mean()};
  };
  TensorList params{leaf({4, 3}), leaf({5, 3}), leaf({5}), leaf({2, 5}), leaf({2})};
  CHECK_GRADCHECK(net, params);
  CHECK_GRADGRADCHECK(net, params);
  // With leaky_relu hidden units: finite differences need every pre-activation away from the
  // kink at 0 (checked for this seed, as eps is 1e-6).
  Tensor pre = linear(params[0], params[1], params[2]);
  double nearest = 1e9;
  for (double v : pre.to_vector<double>()) nearest = std::min(nearest, std::abs(v));
  REQUIRE(nearest > 1e-3);
  DifferentiableFn leaky_net = [](const TensorList& p) {
    Tensor h = leaky_relu(linear(p[0], p[1], p[2]), 0.2);
    return TensorList{linear(h, p[3], p[4]).pow(2.0).sum()};
  };
  CHECK_GRADCHECK(leaky_net, params);
  CHECK_GRADGRADCHECK(leaky_net, params);
}
