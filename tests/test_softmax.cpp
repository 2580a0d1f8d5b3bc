// softmax and log_softmax: values against their definitions, exact gradients (float64
// gradcheck and gradgradcheck), fused backward kernel vs its differentiable form, large
// inputs, errors, and agreement with PyTorch on committed reference values.
#include <cmath>
#include <functional>
#include <string>

#include "nn/npz.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::leaf;
using tg::test::max_abs_diff;

namespace {

using SoftmaxFn = Tensor (*)(const Tensor&, int64_t);

struct Variant {
  const char* name;
  SoftmaxFn fn;
  // The definition in composite ops: softmax = exp(x - logsumexp x), log_softmax = x - logsumexp x.
  std::function<Tensor(const Tensor&, int64_t)> definition;
};

const Variant kVariants[] = {
    {"softmax", softmax, [](const Tensor& x, int64_t d) { return exp(x - logsumexp(x, {d}, true)); }},
    {"log_softmax", log_softmax, [](const Tensor& x, int64_t d) { return x - logsumexp(x, {d}, true); }},
};

// d<f(x), v>/dx with create_graph on (the differentiable formula) or off (the backward kernel).
Tensor input_grad(SoftmaxFn f, const Tensor& x, int64_t dim, const Tensor& v, bool create_graph) {
  return autograd::grad({f(x, dim)}, {x}, {v}, {}, create_graph)[0];
}

}  // namespace

TEST_CASE("softmax and log_softmax equal their definitions along every dim") {
  manual_seed(1);
  for (const Variant& v : kVariants) {
    for (DType dt : {kFloat32, kFloat64}) {
      Tensor x = randn({3, 1, 5, 2}, dt) * 3.0;
      for (int64_t d = -4; d < 4; ++d) {
        CAPTURE(v.name);
        CAPTURE(dt);
        CAPTURE(d);
        Tensor y = v.fn(x, d);
        CHECK(y.shape() == x.shape());
        CHECK(y.dtype() == dt);
        // float32: a few ulps of values up to ~10 (log_softmax) after exp / log in float.
        CHECK(max_abs_diff(y, v.definition(x, d)) < (dt == kFloat32 ? 1e-5 : 1e-13));
      }
    }
  }
}

TEST_CASE("softmax rows sum to one and log_softmax rows logsumexp to zero") {
  manual_seed(2);
  Tensor x = randn({4, 7}, kFloat64) * 5.0;
  CHECK(max_abs_diff(softmax(x, 1).sum({1}), ones({4}, kFloat64)) < 1e-14);
  CHECK(max_abs_diff(logsumexp(log_softmax(x, 0), {0}), zeros({7}, kFloat64)) < 1e-14);
}

TEST_CASE("softmax of non-contiguous inputs equals softmax of their contiguous copies") {
  manual_seed(3);
  for (const Variant& v : kVariants) {
    Tensor t = test::transposed_leaf({4, 3}).detach(), s = test::strided_leaf({2, 3, 5}).detach();
    for (int64_t d : {0, 1}) CHECK(max_abs_diff(v.fn(t, d), v.fn(t.contiguous(), d)) == 0.0);
    for (int64_t d : {0, 1, 2}) CHECK(max_abs_diff(v.fn(s, d), v.fn(s.contiguous(), d)) == 0.0);
    Tensor e = randn({1, 4}, kFloat64).expand({3, 4});  // stride-0 rows
    CHECK(max_abs_diff(v.fn(e, 1), v.fn(e.contiguous(), 1)) == 0.0);
  }
}

TEST_CASE("softmax of a 0-dim tensor is 1 and log_softmax is 0") {
  Tensor x = scalar_tensor(3.5, kFloat64);
  CHECK(softmax(x, 0).dim() == 0);
  CHECK(softmax(x, -1).item<double>() == 1.0);
  CHECK(log_softmax(x, 0).item<double>() == 0.0);
}

TEST_CASE("softmax and log_softmax are exact on inputs of +-1e4") {
  // Row [1e4, 1e4 - 1, -1e4]: the max shift leaves [0, -1, -2e4], so with z = 1 + e^-1
  // softmax = [1/z, e^-1/z, 0] and log_softmax = [-log z, -1 - log z, -2e4 - log z].
  const double z = 1.0 + std::exp(-1.0);
  for (DType dt : {kFloat32, kFloat64}) {
    CAPTURE(dt);
    Tensor x = tensor<double>({1e4, 1e4 - 1, -1e4}).to(dt);
    Tensor p = softmax(x, 0), lp = log_softmax(x, 0);
    // About 2 ulps of values below 1 (the cpu backend's vector exp is within 2 ulps of libm).
    const double tol = dt == kFloat32 ? 3e-7 : 2.5e-16;
    CHECK(std::abs(p.at({0}) - 1 / z) <= tol);
    CHECK(std::abs(p.at({1}) - std::exp(-1.0) / z) <= tol);
    CHECK(p.at({2}) == 0.0);
    CHECK(std::abs(lp.at({0}) + std::log(z)) <= tol);
    CHECK(std::abs(lp.at({1}) + 1 + std::log(z)) <= tol);
    CHECK(lp.at({2}) == doctest::Approx(-2e4 - std::log(z)).epsilon(1e-7));
    Tensor xg = x.detach().requires_grad_();
    Tensor g = autograd::grad({log_softmax(xg, 0).select(0, 0)}, {xg})[0];  // e_0 - softmax
    CHECK(std::isfinite(g.sum().item<double>()));
    CHECK(std::abs(g.at({0}) - (1 - 1 / z)) <= tol);
  }
}

TEST_CASE("softmax and log_softmax pass gradcheck on odd shapes, size-1 dims and strided inputs") {
  manual_seed(4);
  for (const Variant& v : kVariants) {
    CAPTURE(v.name);
    for (const Shape& s : {Shape{5}, Shape{3, 1, 4}, Shape{1, 3}, Shape{2, 3, 1}}) {
      Tensor x = leaf(s);
      for (int64_t d = 0; d < x.dim(); ++d) {
        CAPTURE(d);
        CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{v.fn(in[0], d)}; }, (TensorList{x}));
      }
    }
    Tensor t = test::transposed_leaf({3, 4}), s = test::strided_leaf({2, 3});
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{v.fn(in[0], 1)}; }, (TensorList{t}));
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{v.fn(in[0], 0)}; }, (TensorList{s}));
    // A reduction above gives the backward kernel a stride-0 (expanded) gradient.
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{(v.fn(in[0], 1) * in[0]).sum()}; }, (TensorList{s}));
  }
}

TEST_CASE("softmax and log_softmax pass gradgradcheck") {
  manual_seed(5);
  for (const Variant& v : kVariants) {
    CAPTURE(v.name);
    Tensor x = leaf({3, 4}), t = test::transposed_leaf({2, 3});
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return TensorList{v.fn(in[0], 1)}; }, (TensorList{x}));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return TensorList{v.fn(in[0], 0)}; }, (TensorList{t}));
  }
}

TEST_CASE("the fused backward kernel equals the differentiable backward formula") {
  manual_seed(6);
  for (const Variant& v : kVariants) {
    for (DType dt : {kFloat32, kFloat64}) {
      CAPTURE(v.name);
      CAPTURE(dt);
      Tensor x = (randn({4, 1, 6}, dt) * 2.0).requires_grad_();
      Tensor cot = randn({4, 1, 6}, dt);
      for (int64_t d = 0; d < 3; ++d) {
        Tensor fused = input_grad(v.fn, x, d, cot, false), formula = input_grad(v.fn, x, d, cot, true);
        CHECK_FALSE(fused.requires_grad());
        CHECK(formula.requires_grad());
        CHECK(max_abs_diff(fused, formula) < (dt == kFloat32 ? 1e-5 : 1e-13));
      }
    }
  }
}

TEST_CASE("the gradient of a softmax row sum is zero") {
  manual_seed(7);
  Tensor x = leaf({3, 5});
  softmax(x, 1).sum().backward();
  CHECK(max_abs_diff(x.grad(), zeros({3, 5}, kFloat64)) < 1e-15);
  CHECK(x.grad_fn_name().empty());
  CHECK(softmax(x, 1).grad_fn_name() == "SoftmaxBackward");
  CHECK(log_softmax(x, 1).grad_fn_name() == "LogSoftmaxBackward");
}

TEST_CASE("softmax rejects bad dims and non-floating inputs") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(softmax(x, 2), "softmax", "dimension out of range", "got 2");
  CHECK_THROWS_WITH_ALL(log_softmax(x, -3), "log_softmax", "dimension out of range", "got -3");
  CHECK_THROWS_WITH_ALL(softmax(zeros({2}, kInt64), 0), "softmax", "int64[2]");
  CHECK_THROWS_WITH_ALL(log_softmax(Tensor(), 0), "log_softmax", "undefined");
}

// tests/data/loss/softmax.npz (tests/data/make_loss_reference.py): PyTorch's softmax and
// log_softmax of in0 along dims 0 and 1, and the gradients of <out, cot>, in float64 and float32.
TEST_CASE("softmax and log_softmax agree with PyTorch") {
  TensorDict data = load_npz(std::string(TAPEGRAD_TEST_DATA) + "/loss/softmax.npz");
  auto get = [&](const std::string& name) {
    for (const auto& [key, t] : data)
      if (key == name) return t;
    FAIL("missing entry " << name);
    return Tensor();
  };
  for (const Variant& v : kVariants) {
    for (int64_t d : {0, 1}) {
      for (const char* suffix : {"", "_f32"}) {
        const std::string tag = std::string(v.name) + "_dim" + std::to_string(d) + suffix;
        CAPTURE(tag);
        Tensor x = get(std::string("in0") + suffix).requires_grad_();
        Tensor y = v.fn(x, d);
        Tensor g = autograd::grad({y}, {x}, {get("cot_" + tag)})[0];
        // float64: both sides exact to rounding; float32: a few ulps of values up to ~5.
        const double tol = *suffix ? 2e-6 : 1e-12;
        CHECK(max_abs_diff(y, get("out_" + tag)) < tol);
        CHECK(max_abs_diff(g, get("grad0_" + tag)) < tol);
      }
    }
  }
}
