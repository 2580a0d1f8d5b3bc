// Elementwise math (neg, exp, log, sqrt, rsqrt, abs, pow, clamp) and activations (relu,
// leaky_relu, sigmoid, tanh, softplus): values against <cmath>, gradients against finite
// differences in float64 at random shapes and layouts, second derivatives, edge values.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "test_helpers.h"

using namespace tg;
using test::leaf;

namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;

enum class Domain { Any, Positive };

struct Unary {
  const char* name;
  UnaryFn op;
  std::function<double(double)> value;  // the definition
  Domain domain;
  std::vector<double> kinks;  // inputs are kept at least 0.1 away from these
  const char* grad_fn;
};

double softplus_value(double x, double beta, double threshold) {
  return beta * x > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
}

const std::vector<Unary>& unary_ops() {
  static const std::vector<Unary> ops = {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, Domain::Any, {}, "NegBackward"},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, Domain::Any, {}, "ExpBackward"},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, Domain::Positive, {}, "LogBackward"},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, Domain::Positive, {}, "SqrtBackward"},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, Domain::Positive, {}, "RsqrtBackward"},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); }, Domain::Any, {0.0}, "AbsBackward"},
      {"pow 2.5", [](const Tensor& x) { return pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, Domain::Positive, {}, "PowBackward"},
      {"pow -1.5", [](const Tensor& x) { return pow(x, -1.5); }, [](double x) { return std::pow(x, -1.5); }, Domain::Positive, {}, "PowBackward"},
      {"pow 3", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, Domain::Any, {}, "PowBackward"},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, Domain::Any, {}, "PowBackward"},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, [](double x) { return std::clamp(x, -0.5, 0.7); }, Domain::Any, {-0.5, 0.7}, "ClampBackward"},
      {"clamp max", [](const Tensor& x) { return clamp(x, std::nullopt, 0.3); }, [](double x) { return std::min(x, 0.3); }, Domain::Any, {0.3}, "ClampBackward"},
      {"clamp_min", [](const Tensor& x) { return clamp_min(x, 0.1); }, [](double x) { return std::max(x, 0.1); }, Domain::Any, {0.1}, "ClampBackward"},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return std::max(x, 0.0); }, Domain::Any, {0.0}, "ReluBackward"},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x); }, [](double x) { return x < 0 ? 0.01 * x : x; }, Domain::Any, {0.0}, "LeakyReluBackward"},
      {"leaky_relu 0.2", [](const Tensor& x) { return leaky_relu(x, 0.2); }, [](double x) { return x < 0 ? 0.2 * x : x; }, Domain::Any, {0.0}, "LeakyReluBackward"},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, Domain::Any, {}, "SigmoidBackward"},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, Domain::Any, {}, "TanhBackward"},
      {"softplus", [](const Tensor& x) { return softplus(x); }, [](double x) { return softplus_value(x, 1, 20); }, Domain::Any, {}, "SoftplusBackward"},
      // beta x crosses the threshold 3 at x = 1.5, where the function switches to x.
      {"softplus beta 2", [](const Tensor& x) { return softplus(x, 2.0, 3.0); }, [](double x) { return softplus_value(x, 2, 3); }, Domain::Any, {1.5}, "SoftplusBackward"},
  };
  return ops;
}

// Puts a leaf's values in the op's domain, in place and before any use: positive ops get
// |x| + 0.2; kinked ops get values within 0.1 of a kink moved 0.2 past it (finite differences
// across a kink measure neither one-sided derivative).
Tensor prepare(Tensor x, const Unary& u) {
  NoGradGuard no_grad;
  if (u.domain == Domain::Positive) x.copy_(abs(x) + 0.2);
  for (double k : u.kinks) x.copy_(where(abs(x - k) < 0.1, x + 0.2, x));
  return x;
}

void check_values(const Tensor& x, const Unary& u, double tol) {
  Tensor y = u.op(x);
  REQUIRE(y.shape() == x.shape());
  CHECK(y.dtype() == x.dtype());
  CHECK(y.is_contiguous());
  std::vector<double> in = x.to_vector<double>(), out = y.to_vector<double>();
  for (size_t i = 0; i < in.size(); ++i) CHECK(out[i] == doctest::Approx(u.value(in[i])).epsilon(tol));
}

DifferentiableFn as_fn(const UnaryFn& op) {
  return [op](const TensorList& in) { return TensorList{op(in[0])}; };
}

}  // namespace

TEST_CASE("unary ops compute their definition in float64 and float32") {
  manual_seed(20);
  for (const Unary& u : unary_ops()) {
    CAPTURE(std::string(u.name));
    // Values spread over [-3, 3] (and [0.2, 3.2] for positive ops).
    Tensor x = prepare(randn({4, 7}, kFloat64) * 1.5, u);
    check_values(x, u, 1e-14);
    check_values(x.to(kFloat32), u, 1e-6);  // float32 math: a few ulps of 6e-8
  }
}

TEST_CASE("unary op gradients match finite differences at random shapes and layouts") {
  manual_seed(21);
  for (int trial = 0; trial < 4; ++trial) {
    const Shape shape = randint(1, 5, {randint(0, 4, {}).item<int64_t>()}).to_vector<int64_t>();
    CAPTURE(shape_str(shape));
    for (const Unary& u : unary_ops()) {
      CAPTURE(std::string(u.name));
      Tensor x = prepare(leaf(shape), u);
      CHECK(u.op(x).grad_fn_name() == u.grad_fn);
      CHECK_GRADCHECK(as_fn(u.op), TensorList{x});
    }
  }
  for (const Unary& u : unary_ops()) {
    CAPTURE(std::string(u.name));
    for (Tensor x : {test::transposed_leaf({3, 2}), test::strided_leaf({2, 3}), leaf({1, 3, 1})}) {
      x = prepare(x, u);
      check_values(x, u, 1e-14);
      CHECK_GRADCHECK(as_fn(u.op), TensorList{x});
    }
    // An expanded input: the gradient of each stored element sums over its copies.
    Tensor r = prepare(leaf({1, 3}), u);
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{u.op(in[0].expand({4, 3}))}; }, TensorList{r});
  }
}

TEST_CASE("gradgradcheck: unary ops are twice differentiable") {
  manual_seed(22);
  for (const Unary& u : unary_ops()) {
    CAPTURE(std::string(u.name));
    CHECK_GRADGRADCHECK(as_fn(u.op), TensorList{prepare(leaf({2, 3}), u)});
  }
}

TEST_CASE("kinks take PyTorch's one-sided choices") {
  Tensor x = tensor<double>({-0.5, 0.0, 0.7}).requires_grad_();
  auto grad_of = [&](const Tensor& y) { return autograd::grad({y.sum()}, {x})[0].to_vector<double>(); };
  CHECK(grad_of(relu(x)) == std::vector<double>{0, 0, 1});
  CHECK(grad_of(leaky_relu(x, 0.1)) == std::vector<double>{0.1, 0.1, 1});
  CHECK(grad_of(abs(x)) == std::vector<double>{-1, 0, 1});
  CHECK(grad_of(clamp(x, -0.5, 0.7)) == std::vector<double>{1, 1, 1});  // both bounds pass
  CHECK(grad_of(clamp(x, 0.0, 0.5)) == std::vector<double>{0, 1, 0});
  CHECK(grad_of(pow(x, 0.0)) == std::vector<double>{0, 0, 0});
  CHECK(grad_of(pow(x, 1.0)) == std::vector<double>{1, 1, 1});
  CHECK(grad_of(pow(x, 2.0)) == std::vector<double>{-1, 0, 1.4});
}

TEST_CASE("relu and leaky_relu backward: one fused op, differentiable in the incoming gradient") {
  Tensor x = tensor<double>({-2.0, 0.0, 3.0}).requires_grad_();
  Tensor g = tensor<double>({INFINITY, 5.0, 7.0}).requires_grad_();
  // relu's backward passes no gradient where x <= 0, not even an infinite one (PyTorch too).
  Tensor gx = autograd::grad({relu(x)}, {x}, {g}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  CHECK(gx.to_vector<double>() == std::vector<double>{0, 0, 7});
  CHECK(gx.grad_fn_name() == "LeakyReluBackwardBackward");
  // d(gx . v)/dg = leaky_relu'(x) v: the same fused op on v; x receives nothing (0 a.e.).
  Tensor v = tensor<double>({1.0, 2.0, 3.0});
  Tensor gy = tensor<double>({1.0, 1.0, 1.0}).requires_grad_();
  Tensor lx = autograd::grad({leaky_relu(x, 0.25)}, {x}, {gy}, true, true)[0];
  CHECK(autograd::grad({(lx * v).sum()}, {gy})[0].to_vector<double>() ==
        std::vector<double>{0.25, 0.5, 3});
}

TEST_CASE("sigmoid, tanh and softplus stay finite and exact at extreme inputs") {
  Tensor x = tensor<double>({-1000, -40, 0, 40, 1000}).requires_grad_();
  CHECK(sigmoid(x).to_vector<double>() == std::vector<double>{0, std::exp(-40) / (1 + std::exp(-40)), 0.5, 1 / (1 + std::exp(-40)), 1});
  CHECK(tanh(x).to_vector<double>() == std::vector<double>{-1, -1, 0, 1, 1});
  std::vector<double> sp = softplus(x).to_vector<double>();
  CHECK(sp[0] == 0.0);
  CHECK(sp[1] == doctest::Approx(std::exp(-40)).epsilon(1e-12));
  CHECK(sp[2] == doctest::Approx(std::log(2.0)).epsilon(1e-15));
  CHECK(sp[3] == 40.0);  // above the threshold softplus is x itself
  CHECK(sp[4] == 1000.0);
  for (const Tensor& y : {sigmoid(x), tanh(x), softplus(x)}) {
    for (double g : autograd::grad({y.sum()}, {x})[0].to_vector<double>()) CHECK(std::isfinite(g));
  }
  CHECK(autograd::grad({softplus(x).sum()}, {x})[0].to_vector<double>().back() == 1.0);
}

TEST_CASE("NaN propagates through relu and clamp; sign has no gradient") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = tensor<double>({nan, -1, 2});
  CHECK(std::isnan(relu(x).to_vector<double>()[0]));
  CHECK(std::isnan(clamp(x, 0.0, 1.0).to_vector<double>()[0]));
  Tensor y = tensor<double>({-2.5, 0.0, 3.0}).requires_grad_();
  CHECK(sign(y).to_vector<double>() == std::vector<double>{-1, 0, 1});
  CHECK_FALSE(sign(y).requires_grad());
}

TEST_CASE("Tensor methods are the functional ops") {
  manual_seed(23);
  Tensor x = abs(randn({5}, kFloat64)) + 0.1;
  CHECK(x.exp().to_vector<double>() == exp(x).to_vector<double>());
  CHECK(x.log().to_vector<double>() == log(x).to_vector<double>());
  CHECK(x.sqrt().to_vector<double>() == sqrt(x).to_vector<double>());
  CHECK(x.abs().to_vector<double>() == abs(x).to_vector<double>());
  CHECK(x.neg().to_vector<double>() == neg(x).to_vector<double>());
  CHECK(x.pow(1.5).to_vector<double>() == pow(x, 1.5).to_vector<double>());
  CHECK(x.relu().to_vector<double>() == relu(x).to_vector<double>());
  CHECK(x.sigmoid().to_vector<double>() == sigmoid(x).to_vector<double>());
  CHECK(x.tanh().to_vector<double>() == tanh(x).to_vector<double>());
}
