// The losses: exact gradients (float64 gradcheck / gradgradcheck) for every reduction, odd
// shapes, broadcast weights and strided inputs; the fused losses against their composite
// definitions and their backward kernels against their differentiable formulas; numerical
// edges; errors; and agreement with PyTorch on committed reference values.
#include <cmath>
#include <functional>
#include <string>

#include "nn/npz.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::max_abs_diff;

namespace {

const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

const char* reduction_name(Reduction r) {
  return r == Reduction::None ? "none" : r == Reduction::Mean ? "mean" : "sum";
}

// A float64 leaf with values uniform in [lo, hi); `transposed`: a non-contiguous one (the
// transpose of a tensor with the last two sizes swapped).
Tensor uniform_leaf(const Shape& shape, double lo, double hi, bool transposed = false) {
  Shape s = shape;
  if (transposed) std::swap(s[s.size() - 1], s[s.size() - 2]);
  Tensor t = rand(s, kFloat64) * (hi - lo) + lo;
  if (transposed) t = t.transpose(-1, -2);
  return t.detach().requires_grad_();
}

Tensor labels(int64_t n, int64_t classes) { return randint(0, classes, {n}); }

Tensor reduce(const Tensor& loss, Reduction r) {
  return r == Reduction::None ? loss : r == Reduction::Mean ? loss.mean() : loss.sum();
}

// The definitions the fused losses must equal, written in composite ops.
Tensor bce_definition(const Tensor& x, const Tensor& y, const Tensor& w, Reduction r) {
  Tensor l = -(y * clamp_min(log(x), -100.0) + (1.0 - y) * clamp_min(log(1.0 - x), -100.0));
  return reduce(w.defined() ? l * w : l, r);
}

Tensor bce_logits_definition(const Tensor& x, const Tensor& y, const Tensor& w, const Tensor& pw, Reduction r) {
  Tensor s = sigmoid(x);
  Tensor pos = y * log(s);
  Tensor l = -((pw.defined() ? pos * pw : pos) + (1.0 - y) * log(1.0 - s));
  return reduce(w.defined() ? l * w : l, r);
}

// d<out, cot>/d(inputs that require grad), in order.
TensorList grads_of(const Tensor& out, const TensorList& inputs, bool create_graph = false) {
  TensorList diff;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) diff.push_back(t);
  Tensor cot = randn(out.shape(), out.dtype());
  return autograd::grad({out}, diff, {cot}, {}, create_graph);
}

// |a - b| <= atol + rtol |b| everywhere (b the reference).
void check_close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    INFO("element " << i << ": " << va[i] << " vs reference " << vb[i]);
    CHECK(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]));
  }
}

}  // namespace

// ---- exact gradients -------------------------------------------------------------------

TEST_CASE("binary_cross_entropy passes gradcheck in input, target and broadcast weight") {
  manual_seed(11);
  for (Reduction r : kReductions) {
    CAPTURE(reduction_name(r));
    auto f = [r](const TensorList& in) { return TensorList{binary_cross_entropy(in[0], in[1], in[2], r)}; };
    // Probabilities kept inside (0.05, 0.95): away from the clamps, so the loss is smooth.
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({4, 3}, 0.05, 0.95), uniform_leaf({4, 3}, 0, 1), uniform_leaf({3}, 0.5, 1.5)}));
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({3, 5}, 0.05, 0.95, true), uniform_leaf({3, 5}, 0, 1, true),
                        uniform_leaf({3, 1}, 0.5, 1.5)}));
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({1, 1, 7}, 0.05, 0.95), uniform_leaf({1, 1, 7}, 0, 1), Tensor()}));
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({}, 0.05, 0.95), uniform_leaf({}, 0, 1), uniform_leaf({}, 0.5, 1.5)}));
  }
}

TEST_CASE("binary_cross_entropy_with_logits passes gradcheck in every input, weights broadcast") {
  manual_seed(12);
  for (Reduction r : kReductions) {
    CAPTURE(reduction_name(r));
    auto f = [r](const TensorList& in) {
      return TensorList{binary_cross_entropy_with_logits(in[0], in[1], in[2], in[3], r)};
    };
    // weight broadcasts over rows ([N, 1]) and pos_weight over the last dim ([C]).
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({5, 3}, -4, 4), uniform_leaf({5, 3}, 0, 1), uniform_leaf({5, 1}, 0.5, 1.5),
                        uniform_leaf({3}, 0.5, 3)}));
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({2, 3}, -4, 4, true), uniform_leaf({2, 3}, 0, 1, true), Tensor(),
                        uniform_leaf({3}, 0.5, 3)}));
    CHECK_GRADCHECK(f, (TensorList{uniform_leaf({7}, -4, 4), uniform_leaf({7}, 0, 1), uniform_leaf({1}, 0.5, 1.5), Tensor()}));
    CHECK_GRADCHECK(f, (TensorList{test::strided_leaf({1, 4}), uniform_leaf({1, 4}, 0, 1), Tensor(), Tensor()}));
  }
}

TEST_CASE("mse_loss, l1_loss and kl_normal pass gradcheck") {
  manual_seed(13);
  for (Reduction r : kReductions) {
    CAPTURE(reduction_name(r));
    auto mse = [r](const TensorList& in) { return TensorList{mse_loss(in[0], in[1], r)}; };
    auto l1 = [r](const TensorList& in) { return TensorList{l1_loss(in[0], in[1], r)}; };
    auto kl = [r](const TensorList& in) { return TensorList{kl_normal(in[0], in[1], r)}; };
    for (auto f : {std::function<TensorList(const TensorList&)>(mse), std::function<TensorList(const TensorList&)>(l1),
                   std::function<TensorList(const TensorList&)>(kl)}) {
      // randn pairs differ by far more than eps: l1's kink at input == target is never hit.
      CHECK_GRADCHECK(f, (TensorList{test::leaf({3, 5}), test::leaf({3, 5})}));
      CHECK_GRADCHECK(f, (TensorList{test::transposed_leaf({2, 3}), test::strided_leaf({2, 3})}));
      CHECK_GRADCHECK(f, (TensorList{test::leaf({1}), test::leaf({1})}));
    }
  }
}

TEST_CASE("nll_loss and cross_entropy pass gradcheck in input and class weights") {
  manual_seed(14);
  for (Reduction r : kReductions) {
    CAPTURE(reduction_name(r));
    Tensor t = labels(5, 4);
    auto nll = [&](const TensorList& in) { return TensorList{nll_loss(in[0], t, in[1], r)}; };
    auto ce = [&](const TensorList& in) { return TensorList{cross_entropy(in[0], t, in[1], r)}; };
    for (auto f : {std::function<TensorList(const TensorList&)>(nll), std::function<TensorList(const TensorList&)>(ce)}) {
      CHECK_GRADCHECK(f, (TensorList{test::leaf({5, 4}), uniform_leaf({4}, 0.5, 2)}));
      CHECK_GRADCHECK(f, (TensorList{test::transposed_leaf({5, 4}), Tensor()}));
      CHECK_GRADCHECK(f, (TensorList{test::strided_leaf({5, 4}), uniform_leaf({4}, 0.5, 2)}));
    }
    Tensor t1 = labels(1, 1);  // one row, one class: loss 0, gradient 0
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{cross_entropy(in[0], t1, {}, r)}; },
                    (TensorList{test::leaf({1, 1})}));
  }
}

TEST_CASE("second derivatives: gradgradcheck of the losses") {
  manual_seed(15);
  for (Reduction r : kReductions) {
    CAPTURE(reduction_name(r));
    CHECK_GRADGRADCHECK([r](const TensorList& in) { return TensorList{binary_cross_entropy_with_logits(in[0], in[1], in[2], in[3], r)}; },
                        (TensorList{uniform_leaf({3, 2}, -3, 3), uniform_leaf({3, 2}, 0, 1), uniform_leaf({3, 1}, 0.5, 1.5),
                         uniform_leaf({2}, 0.5, 3)}));
    CHECK_GRADGRADCHECK([r](const TensorList& in) { return TensorList{binary_cross_entropy_with_logits(in[0], in[1], {}, {}, r)}; },
                        (TensorList{uniform_leaf({2, 3}, -3, 3, true), uniform_leaf({2, 3}, 0, 1)}));
    CHECK_GRADGRADCHECK([r](const TensorList& in) { return TensorList{binary_cross_entropy(in[0], in[1], in[2], r)}; },
                        (TensorList{uniform_leaf({2, 3}, 0.1, 0.9), uniform_leaf({2, 3}, 0, 1), uniform_leaf({3}, 0.5, 1.5)}));
    CHECK_GRADGRADCHECK([r](const TensorList& in) { return TensorList{mse_loss(in[0], in[1], r)}; },
                        (TensorList{test::leaf({2, 3}), test::transposed_leaf({2, 3})}));
    CHECK_GRADGRADCHECK([r](const TensorList& in) { return TensorList{kl_normal(in[0], in[1], r)}; },
                        (TensorList{test::leaf({4}), test::leaf({4})}));
    Tensor t = labels(3, 4);
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return TensorList{cross_entropy(in[0], t, in[1], r)}; },
                        (TensorList{test::leaf({3, 4}), uniform_leaf({4}, 0.5, 2)}));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return TensorList{nll_loss(in[0], t, in[1], r)}; },
                        (TensorList{test::leaf({3, 4}), uniform_leaf({4}, 0.5, 2)}));
  }
}

// ---- fused vs composite ----------------------------------------------------------------

TEST_CASE("each fused loss equals its composite definition in value and gradients") {
  manual_seed(16);
  for (DType dt : {kFloat32, kFloat64}) {
    // The two forms round differently: float32 to a few ulps of values and gradients up to ~100
    // (BCE's 1 / (x (1 - x)) at x = 0.02), float64 to cancellation in log(1 - sigmoid(x)).
    const double rtol = dt == kFloat32 ? 1e-4 : 1e-10, atol = dt == kFloat32 ? 1e-5 : 1e-12;
    for (Reduction r : kReductions) {
      CAPTURE(dt);
      CAPTURE(reduction_name(r));
      auto leaf = [dt](const Shape& s, double lo, double hi) {
        return (rand(s, dt) * (hi - lo) + lo).detach().requires_grad_();
      };
      Tensor p = leaf({4, 3}, 0.02, 0.98), x = leaf({4, 3}, -5, 5), y = leaf({4, 3}, 0, 1);
      Tensor w = leaf({4, 1}, 0.5, 1.5), pw = leaf({3}, 0.5, 3);
      auto compare = [&](const Tensor& fused, const Tensor& composite, const TensorList& inputs) {
        check_close(fused, composite, rtol, atol);
        manual_seed(99);
        TensorList gf = grads_of(fused, inputs);
        manual_seed(99);  // the same cotangent for both
        TensorList gc = grads_of(composite, inputs);
        for (size_t i = 0; i < gf.size(); ++i) check_close(gf[i], gc[i], rtol, atol);
      };
      compare(binary_cross_entropy(p, y, w, r), bce_definition(p, y, w, r), {p, y, w});
      compare(binary_cross_entropy(p, y, {}, r), bce_definition(p, y, {}, r), {p, y});
      compare(binary_cross_entropy_with_logits(x, y, w, pw, r), bce_logits_definition(x, y, w, pw, r), {x, y, w, pw});
      compare(binary_cross_entropy_with_logits(x, y, {}, {}, r), bce_logits_definition(x, y, {}, {}, r), {x, y});
      Tensor logits = leaf({6, 5}, -4, 4), cw = leaf({5}, 0.5, 2), t = labels(6, 5);
      compare(cross_entropy(logits, t, cw, r), nll_loss(log_softmax(logits, 1), t, cw, r), {logits, cw});
      compare(cross_entropy(logits, t, {}, r), nll_loss(log_softmax(logits, 1), t, {}, r), {logits});
    }
  }
}

TEST_CASE("fused backward kernels equal their differentiable formulas (create_graph)") {
  manual_seed(17);
  for (DType dt : {kFloat32, kFloat64}) {
    // Same formulas, different rounding order: float32 to a few ulps of gradients up to ~100.
    const double rtol = dt == kFloat32 ? 1e-5 : 1e-12, atol = dt == kFloat32 ? 1e-6 : 1e-13;
    for (Reduction r : kReductions) {
      CAPTURE(dt);
      CAPTURE(reduction_name(r));
      auto leaf = [dt](const Shape& s, double lo, double hi) {
        return (rand(s, dt) * (hi - lo) + lo).detach().requires_grad_();
      };
      Tensor p = leaf({3, 4}, 0.02, 0.98), x = leaf({3, 4}, -5, 5), y = leaf({3, 4}, 0, 1);
      Tensor w = leaf({4}, 0.5, 1.5), pw = leaf({4}, 0.5, 3), logits = leaf({5, 3}, -4, 4), cw = leaf({3}, 0.5, 2);
      Tensor t = labels(5, 3);
      const std::vector<std::function<Tensor()>> losses = {
          [&] { return binary_cross_entropy(p, y, w, r); },
          [&] { return binary_cross_entropy_with_logits(x, y, w, pw, r); },
          [&] { return binary_cross_entropy_with_logits(x, y, {}, {}, r); },
          [&] { return cross_entropy(logits, t, cw, r); },
          [&] { return cross_entropy(logits, t, {}, r); },
      };
      const TensorList inputs[] = {{p}, {x}, {x}, {logits}, {logits}};
      for (size_t k = 0; k < losses.size(); ++k) {
        CAPTURE(k);
        manual_seed(5);
        Tensor kernel_grad = grads_of(losses[k](), inputs[k])[0];
        manual_seed(5);
        Tensor formula_grad = grads_of(losses[k](), inputs[k], true)[0];
        CHECK_FALSE(kernel_grad.requires_grad());
        CHECK(formula_grad.requires_grad());
        check_close(kernel_grad, formula_grad, rtol, atol);
      }
    }
  }
}

// ---- values and numerical edges ---------------------------------------------------------

TEST_CASE("binary_cross_entropy stays finite at probabilities 0 and 1 (log clamped at -100)") {
  for (DType dt : {kFloat32, kFloat64}) {
    CAPTURE(dt);
    Tensor x = tensor<double>({0, 1, 0, 1}).to(dt).requires_grad_();
    Tensor y = tensor<double>({0, 1, 1, 0}).to(dt).requires_grad_();
    Tensor l = binary_cross_entropy(x, y, {}, Reduction::None);
    CHECK(l.to_vector<double>() == std::vector<double>{0, 0, 100, 100});
    TensorList g = autograd::grad({l.sum()}, {x, y});
    // d/dx = (x - y) / max(x (1 - x), 1e-12f), PyTorch's formula: 0 where right, +-1e12 where wrong.
    check_close(g[0], tensor<double>({0, 0, -1e12, 1e12}), 1e-6, 0);
    // d/dy = max(log(1 - x), -100) - max(log x, -100): finite, unlike PyTorch's unclamped inf.
    CHECK(g[1].to_vector<double>() == std::vector<double>{100, -100, 100, -100});
  }
}

TEST_CASE("binary_cross_entropy_with_logits is exact at logits +-1000") {
  for (DType dt : {kFloat32, kFloat64}) {
    CAPTURE(dt);
    Tensor x = tensor<double>({1000, -1000, -1000, 1000, 0}).to(dt).requires_grad_();
    Tensor y = tensor<double>({1, 1, 0, 0, 1}).to(dt);
    Tensor l = binary_cross_entropy_with_logits(x, y, {}, {}, Reduction::None);
    CHECK(l.to_vector<double>() == std::vector<double>{0, 1000, 0, 1000, l.at({4})});
    CHECK(l.at({4}) == doctest::Approx(std::log(2.0)).epsilon(1e-7));
    CHECK(autograd::grad({l.sum()}, {x})[0].to_vector<double>() == std::vector<double>{0, -1, 0, 1, -0.5});
    // pos_weight 2 doubles the positive term: -2 log s(-1000) = 2000.
    Tensor lw = binary_cross_entropy_with_logits(x, y, {}, full({1}, 2.0, dt), Reduction::None);
    CHECK(lw.at({1}) == 2000.0);
    CHECK(autograd::grad({lw.sum()}, {x})[0].at({1}) == -2.0);
  }
}

TEST_CASE("cross_entropy is exact on logits of +-1e4") {
  for (DType dt : {kFloat32, kFloat64}) {
    CAPTURE(dt);
    Tensor x = tensor<double>({1e4, -1e4, 0, -1e4, 1e4, 1e4}, {2, 3}).to(dt).requires_grad_();
    Tensor t = tensor<int64_t>({1, 0});
    // Row 0: logsumexp = 1e4 (other terms underflow), target -1e4: loss 2e4. Row 1: log 2 + 1e4.
    Tensor l = cross_entropy(x, t, {}, Reduction::None);
    CHECK(l.at({0}) == 2e4);
    CHECK(l.at({1}) == doctest::Approx(2e4 + std::log(2.0)).epsilon(1e-7));
    Tensor g = autograd::grad({l.sum()}, {x})[0];  // softmax - onehot
    check_close(g, tensor<double>({1, -1, 0, -1, 0.5, 0.5}, {2, 3}), 1e-15, 0);
  }
}

TEST_CASE("losses have the values of their formulas on small examples") {
  Tensor a = tensor<double>({1, 2, 3}), b = tensor<double>({2, 2, 5});
  CHECK(mse_loss(a, b).item<double>() == doctest::Approx(5.0 / 3));
  CHECK(mse_loss(a, b, Reduction::Sum).item<double>() == 5.0);
  CHECK(l1_loss(a, b, Reduction::None).to_vector<double>() == std::vector<double>{1, 0, 2});
  CHECK(kl_normal(zeros({4}, kFloat64), zeros({4}, kFloat64)).item<double>() == 0.0);  // KL(N(0,1) || N(0,1))
  // mu = 1, logvar = 0: KL = 1/2 mu^2 per element; the default reduction is Sum.
  CHECK(kl_normal(ones({3}, kFloat64), zeros({3}, kFloat64)).item<double>() == 1.5);
  // Weighted mean divides by the sum of the targets' weights: (2 * 1 + 3 * 4) / (2 + 3).
  Tensor logp = tensor<double>({-1, -9, -9, -4}, {2, 2}), w = tensor<double>({2, 3});
  Tensor t = tensor<int64_t>({0, 1});
  CHECK(nll_loss(logp, t, w).item<double>() == doctest::Approx(14.0 / 5));
  CHECK(nll_loss(logp, t, w, Reduction::Sum).item<double>() == 14.0);
  CHECK(nll_loss(logp, t).item<double>() == 2.5);
  Tensor uniform = zeros({2, 4}, kFloat64);  // every class equally likely: log 4 each row
  CHECK(cross_entropy(uniform, t, {}, Reduction::Sum).item<double>() == doctest::Approx(2 * std::log(4.0)));
}

// ---- errors -------------------------------------------------------------------------------

TEST_CASE("binary losses reject mismatched shapes, dtypes, weights and bad probabilities") {
  Tensor x = full({2, 3}, 0.5), y = full({2, 3}, 1.0);
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(x, full({3, 2}, 1.0)), "binary_cross_entropy", "target",
                        "[3, 2]", "same shape as input", "[2, 3]");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy_with_logits(x, full({6}, 1.0)), "binary_cross_entropy_with_logits",
                        "[6]", "[2, 3]");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(x, y.to(kFloat64)), "binary_cross_entropy", "float64[2, 3]",
                        "dtype and device");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(full({2}, 1.5), full({2}, 1.0)), "binary_cross_entropy",
                        "probabilities in [0, 1]", "1.5");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(full({2}, -0.25), full({2}, 1.0)), "binary_cross_entropy", "-0.25");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(x, y, full({4}, 1.0)), "binary_cross_entropy", "weight",
                        "[4]", "cannot be broadcast", "[2, 3]");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy_with_logits(x, y, {}, full({2}, 1.0)), "pos_weight", "[2]",
                        "cannot be broadcast", "[2, 3]");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy_with_logits(x, y, full({1, 2, 3}, 1.0)), "weight", "[1, 2, 3]");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy_with_logits(x, y, full({3}, 1.0, kFloat64)), "weight",
                        "float64[3]", "dtype");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(x, Tensor()), "binary_cross_entropy", "target", "undefined");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(zeros({2}, kInt64), zeros({2}, kInt64)), "binary_cross_entropy",
                        "int64[2]");
}

TEST_CASE("regression losses reject mismatched shapes") {
  Tensor a = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(mse_loss(a, zeros({3})), "mse_loss", "[3]", "same shape as input", "[2, 3]");
  CHECK_THROWS_WITH_ALL(l1_loss(a, zeros({2, 1})), "l1_loss", "[2, 1]", "[2, 3]");
  CHECK_THROWS_WITH_ALL(kl_normal(a, zeros({3, 2})), "kl_normal", "logvar", "[3, 2]", "[2, 3]");
  CHECK_THROWS_WITH_ALL(mse_loss(a, zeros({2, 3}, kFloat64)), "mse_loss", "float64[2, 3]", "dtype");
}

TEST_CASE("class-index losses reject bad targets, ranks and class weights") {
  Tensor x = zeros({4, 3}), t = tensor<int64_t>({0, 2, 1, 0});
  for (auto loss : {cross_entropy, nll_loss}) {
    const char* op = loss == cross_entropy ? "cross_entropy" : "nll_loss";
    CAPTURE(op);
    CHECK_THROWS_WITH_ALL(loss(x, tensor<int64_t>({0, 3, 1, 0}), {}, Reduction::Mean), op, "target value 3",
                          "index 1", "out of range", "3 classes");
    CHECK_THROWS_WITH_ALL(loss(x, tensor<int64_t>({0, 1, -1, 0}), {}, Reduction::Mean), op, "target value -1",
                          "out of range");
    CHECK_THROWS_WITH_ALL(loss(x, t.to(kFloat32), {}, Reduction::Mean), op, "int64", "float32[4]");
    CHECK_THROWS_WITH_ALL(loss(zeros({2, 4, 3}), t, {}, Reduction::Mean), op, "2-D", "[2, 4, 3]");
    CHECK_THROWS_WITH_ALL(loss(zeros({3}), t, {}, Reduction::Mean), op, "2-D", "[3]");
    CHECK_THROWS_WITH_ALL(loss(x, t.view({4, 1}), {}, Reduction::Mean), op, "target", "[4, 1]", "1-D");
    CHECK_THROWS_WITH_ALL(loss(x, tensor<int64_t>({0, 1}), {}, Reduction::Mean), op, "target", "[2]", "[4, 3]");
    CHECK_THROWS_WITH_ALL(loss(x, t, ones({4}), Reduction::Mean), op, "weight", "[4]", "one weight per class",
                          "(3)");
    CHECK_THROWS_WITH_ALL(loss(x, t, ones({3}, kFloat64), Reduction::Mean), op, "weight", "float64[3]", "dtype");
    CHECK_THROWS_WITH_ALL(loss(zeros({4, 3}, kInt64), t, {}, Reduction::Mean), op, "int64[4, 3]");
  }
}

TEST_CASE("every loss rejects a reduction that is not None, Mean or Sum") {
  const Reduction bad = static_cast<Reduction>(7);
  Tensor x = full({2}, 0.5), t = tensor<int64_t>({0, 1});
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(x, x, {}, bad), "binary_cross_entropy", "reduction", "got 7");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy_with_logits(x, x, {}, {}, bad), "with_logits", "got 7");
  CHECK_THROWS_WITH_ALL(mse_loss(x, x, bad), "mse_loss", "got 7");
  CHECK_THROWS_WITH_ALL(l1_loss(x, x, bad), "l1_loss", "got 7");
  CHECK_THROWS_WITH_ALL(kl_normal(x, x, bad), "kl_normal", "got 7");
  CHECK_THROWS_WITH_ALL(cross_entropy(zeros({2, 2}), t, {}, bad), "cross_entropy", "got 7");
  CHECK_THROWS_WITH_ALL(nll_loss(zeros({2, 2}), t, {}, bad), "nll_loss", "got 7");
}

// ---- agreement with PyTorch ---------------------------------------------------------------

// tests/data/loss/<case>.npz, made by tests/data/make_loss_reference.py: inputs in<i> (and
// in<i>_f32), and for each reduction r and dtype suffix s: PyTorch's out_<r><s>, the cotangent
// cot_<r><s> and the gradients grad<i>_<r><s> of <out, cot> for the inputs PyTorch differentiates.
TEST_CASE("the losses agree with PyTorch in float64 and float32") {
  using LossFn = std::function<Tensor(const TensorList&, Reduction)>;
  auto opt = [](const TensorList& in, size_t i) { return i < in.size() ? in[i] : Tensor(); };
  const std::vector<std::pair<const char*, LossFn>> cases = {
      {"bce", [&](const TensorList& in, Reduction r) { return binary_cross_entropy(in[0], in[1], opt(in, 2), r); }},
      {"bce_edges", [&](const TensorList& in, Reduction r) { return binary_cross_entropy(in[0], in[1], {}, r); }},
      {"bce_logits", [&](const TensorList& in, Reduction r) {
         return binary_cross_entropy_with_logits(in[0], in[1], opt(in, 2), opt(in, 3), r);
       }},
      {"bce_logits_large", [&](const TensorList& in, Reduction r) {
         return binary_cross_entropy_with_logits(in[0], in[1], {}, opt(in, 2), r);
       }},
      {"mse", [](const TensorList& in, Reduction r) { return mse_loss(in[0], in[1], r); }},
      {"l1", [](const TensorList& in, Reduction r) { return l1_loss(in[0], in[1], r); }},
      {"kl_normal", [](const TensorList& in, Reduction r) { return kl_normal(in[0], in[1], r); }},
      {"nll", [&](const TensorList& in, Reduction r) { return nll_loss(in[0], in[1], opt(in, 2), r); }},
      {"cross_entropy", [&](const TensorList& in, Reduction r) { return cross_entropy(in[0], in[1], opt(in, 2), r); }},
      {"cross_entropy_unweighted", [](const TensorList& in, Reduction r) { return cross_entropy(in[0], in[1], {}, r); }},
  };
  for (const auto& [name, fn] : cases) {
    TensorDict data = load_npz(std::string(TAPEGRAD_TEST_DATA) + "/loss/" + name + ".npz");
    auto find = [&](const std::string& key) {
      for (const auto& [k, t] : data)
        if (k == key) return t;
      return Tensor();
    };
    for (const char* suffix : {"", "_f32"}) {
      // float64: both sides exact to rounding; float32: each side rounds its own way.
      const double rtol = *suffix ? 1e-5 : 1e-12, atol = *suffix ? 1e-6 : 1e-12;
      for (Reduction r : kReductions) {
        const std::string tag = std::string("_") + reduction_name(r) + suffix;
        const std::string loss_case = name;
        CAPTURE(loss_case);
        CAPTURE(tag);
        TensorList in;
        for (size_t i = 0; find("in" + std::to_string(i)).defined(); ++i) {
          Tensor t = find("in" + std::to_string(i) + suffix);
          if (!t.defined()) t = find("in" + std::to_string(i));  // int64 targets: one copy
          if (find("grad" + std::to_string(i) + tag).defined()) t = t.detach().requires_grad_();
          in.push_back(t);
        }
        REQUIRE(in.size() >= 2);
        Tensor out = fn(in, r);
        check_close(out, find("out" + tag), rtol, atol);
        for (size_t i = 0; i < in.size(); ++i) {
          Tensor expected = find("grad" + std::to_string(i) + tag);
          if (!expected.defined()) continue;
          CAPTURE(i);
          Tensor cot = find("cot" + tag);
          check_close(autograd::grad({out}, {in[i]}, {cot.defined() ? cot : Tensor()}, true)[0], expected, rtol, atol);
        }
      }
    }
  }
}
