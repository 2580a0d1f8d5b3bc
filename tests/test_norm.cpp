// batch_norm, instance_norm, layer_norm: definitions, float64 gradcheck / gradgradcheck over
// a grid of shapes, layouts and affine options, the fused and create_graph backward paths,
// running statistics over several steps, PyTorch's numbers, and errors for bad parameters.
#include <cmath>
#include <functional>

#include "test_helpers.h"

using namespace tg;
using tg::test::leaf;
using tg::test::max_abs_diff;

namespace {

// Every dim but the channel dim 1 (batch norm's reduction), or every dim from 2 (instance norm).
Shape dims_from(int64_t first, int64_t rank, bool with_batch) {
  Shape d;
  if (with_batch) d.push_back(0);
  for (int64_t i = first; i < rank; ++i) d.push_back(i);
  return d;
}

Tensor as_channels(const Tensor& t, int64_t rank) {
  Shape s(rank, 1);
  s[1] = t.numel();
  return t.reshape(s);
}

// (x − mean) / sqrt(biased var + eps) · w + b over `dims`, written with tg reductions.
Tensor normalise_by_definition(const Tensor& x, const Shape& dims, const Tensor& w, const Tensor& b,
                               double eps) {
  Tensor y = (x - mean(x, dims, true)) / sqrt(var(x, dims, 0, true) + eps);
  if (w.defined()) y = y * as_channels(w, x.dim());
  if (b.defined()) y = y + as_channels(b, x.dim());
  return y;
}

// A float64 leaf of `shape` in layout 0 contiguous, 2 every other element, 1 with dim 1
// innermost in memory (channels-last; for rank 2, dim 0 innermost: the transpose). Layouts
// 1 and 2 are non-contiguous unless size-1 dims make them equivalent to contiguous.
Tensor leaf_in_layout(const Shape& shape, int layout) {
  if (layout == 0) return leaf(shape);
  if (layout == 2) return tg::test::strided_leaf(shape);
  const int64_t r = static_cast<int64_t>(shape.size());
  Shape stored, back;  // stored dims in memory order; back[d] = where logical dim d is stored
  if (r == 2) {
    stored = {shape[1], shape[0]};
    back = {1, 0};
  } else {
    stored = {shape[0]};
    back = {0, r - 1};
    for (int64_t d = 2; d < r; ++d) {
      stored.push_back(shape[d]);
      back.push_back(d - 1);
    }
    stored.push_back(shape[1]);
  }
  return randn(stored, kFloat64).permute(back).detach().requires_grad_();
}

// Running variances must be positive.
Tensor positive(int64_t c, DType dt = kFloat64) { return rand({c}, dt) + 0.5; }

// affine 0: no weight or bias, 1: weight only, 2: both.
TensorList affine_leaves(int64_t c, int affine) {
  return {affine >= 1 ? leaf({c}) : Tensor(), affine >= 2 ? leaf({c}) : Tensor()};
}

using StatNorm = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                            bool, double, double);

// Max over elements of |a − b| / (atol + rtol·|b|): <= 1 means every element is within tolerance.
double scaled_error(const Tensor& a, const Tensor& b, double atol, double rtol) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i])));
  return m;
}

}  // namespace

// ---------------------------------------------------------------------------- batch_norm

TEST_CASE("batch_norm training matches its definition with batch statistics") {
  manual_seed(1);
  for (Shape s : {Shape{2, 3}, Shape{5, 1}, Shape{1, 2, 3, 5}, Shape{3, 2, 1, 1}, Shape{2, 3, 4}}) {
    for (int affine = 0; affine < 3; ++affine) {
      Tensor x = leaf_in_layout(s, affine).detach();
      TensorList wb = affine_leaves(s[1], affine);
      Tensor y = batch_norm(x, {}, {}, wb[0], wb[1], true, 0.1, 1e-5);
      Tensor expected = normalise_by_definition(x, dims_from(2, x.dim(), true), wb[0], wb[1], 1e-5);
      CHECK(max_abs_diff(y, expected) < 1e-12);
    }
  }
}

TEST_CASE("batch_norm eval normalises with the running statistics") {
  manual_seed(2);
  for (Shape s : {Shape{1, 3}, Shape{4, 2, 3, 5}, Shape{2, 1, 1, 3}}) {
    Tensor x = randn(s, kFloat64), rm = randn({s[1]}, kFloat64), rv = positive(s[1]);
    Tensor w = randn({s[1]}, kFloat64), b = randn({s[1]}, kFloat64);
    Tensor rm0 = rm.clone(), rv0 = rv.clone();
    Tensor y = batch_norm(x, rm, rv, w, b, false, 0.1, 1e-3);
    const int64_t r = x.dim();
    Tensor expected = (x - as_channels(rm, r)) / sqrt(as_channels(rv, r) + 1e-3) * as_channels(w, r) + as_channels(b, r);
    CHECK(max_abs_diff(y, expected) < 1e-12);
    CHECK(max_abs_diff(rm, rm0) == 0.0);  // eval leaves the running stats alone
    CHECK(max_abs_diff(rv, rv0) == 0.0);
  }
}

TEST_CASE("batch_norm running stats after several steps: momentum and the unbiased variance") {
  manual_seed(3);
  for (auto [s, momentum] : {std::pair{Shape{6, 4}, 0.1}, std::pair{Shape{3, 2, 3, 5}, 0.3},
                             std::pair{Shape{2, 1, 1, 1}, 1.0}, std::pair{Shape{4, 3}, 0.0}}) {
    const int64_t c = s[1];
    Tensor rm = zeros({c}, kFloat64), rv = ones({c}, kFloat64);
    Tensor erm = rm.clone(), erv = rv.clone();
    const Shape dims = dims_from(2, static_cast<int64_t>(s.size()), true);
    for (int step = 0; step < 4; ++step) {
      Tensor x = randn(s, kFloat64) * 3.0 + 2.0;
      const uint32_t v0 = rm.version(), w0 = rv.version();
      batch_norm(x, rm, rv, {}, {}, true, momentum, 1e-5);
      CHECK(rm.version() > v0);  // in-place updates are visible to saved-tensor checks
      CHECK(rv.version() > w0);
      erm = erm * (1 - momentum) + mean(x, dims) * momentum;
      erv = erv * (1 - momentum) + var(x, dims, 1) * momentum;  // unbiased: divides by M − 1
    }
    CHECK(max_abs_diff(rm, erm) < 1e-12);
    CHECK(max_abs_diff(rv, erv) < 1e-12);
  }
}

TEST_CASE("batch_norm float32 agrees with float64") {
  manual_seed(4);
  Tensor x = randn({3, 4, 5, 3}, kFloat64) * 2.0 + 1.0, w = randn({4}, kFloat64), b = randn({4}, kFloat64);
  Tensor rm = zeros({4}, kFloat64), rv = ones({4}, kFloat64);
  Tensor rm32 = rm.to(kFloat32), rv32 = rv.to(kFloat32);
  for (bool training : {true, false}) {
    Tensor y = batch_norm(x, rm, rv, w, b, training);
    Tensor y32 = batch_norm(x.to(kFloat32), rm32, rv32, w.to(kFloat32), b.to(kFloat32), training);
    CHECK(y32.dtype() == kFloat32);
    CHECK(max_abs_diff(y32, y) < 1e-5);  // float32 rounding of values of size ~5
  }
  CHECK(max_abs_diff(rv32, rv) < 1e-6);
}

TEST_CASE("batch_norm gradcheck: (N, C) and (N, C, H, W), layouts, affine, training and eval") {
  manual_seed(5);
  for (Shape s : {Shape{2, 3}, Shape{5, 1}, Shape{1, 2, 3, 5}, Shape{2, 1, 3, 3}, Shape{3, 2, 1, 1}, Shape{2, 2, 3}}) {
    for (int layout = 0; layout < 3; ++layout) {
      for (int affine = 0; affine < 3; ++affine) {
        for (bool training : {true, false}) {
          CAPTURE(shape_str(s));
          CAPTURE(layout);
          CAPTURE(affine);
          CAPTURE(training);
          TensorList wb = affine_leaves(s[1], affine);
          Tensor rm = randn({s[1]}, kFloat64), rv = positive(s[1]);
          auto fn = [=](const TensorList& in) {
            return TensorList{batch_norm(in[0], rm, rv, in[1], in[2], training, 0.1, 1e-5)};
          };
          CHECK_GRADCHECK(fn, (TensorList{leaf_in_layout(s, layout), wb[0], wb[1]}));
        }
      }
    }
  }
}

TEST_CASE("batch_norm is twice differentiable in training and eval (gradgradcheck)") {
  manual_seed(6);
  for (Shape s : {Shape{4, 3}, Shape{2, 2, 2, 3}, Shape{1, 2, 3, 1}}) {
    for (int affine : {0, 2}) {
      for (bool training : {true, false}) {
        CAPTURE(shape_str(s));
        CAPTURE(affine);
        CAPTURE(training);
        TensorList wb = affine_leaves(s[1], affine);
        Tensor rm = randn({s[1]}, kFloat64), rv = positive(s[1]);
        auto fn = [=](const TensorList& in) {
          return TensorList{batch_norm(in[0], rm, rv, in[1], in[2], training, 0.1, 1e-5)};
        };
        CHECK_GRADGRADCHECK(fn, (TensorList{leaf_in_layout(s, affine == 0 ? 2 : 0), wb[0], wb[1]}));
      }
    }
  }
}

TEST_CASE("batch_norm's fused backward kernel equals its create_graph composite") {
  manual_seed(7);
  for (DType dt : {kFloat64, kFloat32}) {
    const double tol = dt == kFloat64 ? 1e-12 : 1e-4;  // float32: sums of ~100 rounded terms
    for (Shape s : {Shape{7, 3}, Shape{1, 2, 3, 5}, Shape{3, 4, 2, 3}}) {
      for (int affine = 0; affine < 3; ++affine) {
        Tensor x = (randn(s, dt) * 2.0 + 1.0).requires_grad_();
        Tensor w = affine >= 1 ? randn({s[1]}, dt).requires_grad_() : Tensor();
        Tensor b = affine >= 2 ? randn({s[1]}, dt).requires_grad_() : Tensor();
        Shape swapped = s;
        std::swap(swapped[s.size() - 1], swapped[s.size() - 2]);
        Tensor gy = randn(swapped, dt).transpose(-1, -2);  // a non-contiguous gradient
        TensorList inputs{x};
        for (const Tensor& t : {w, b})
          if (t.defined()) inputs.push_back(t);
        Tensor y = batch_norm(x, {}, {}, w, b, true);
        TensorList fused = autograd::grad({y}, inputs, {gy}, true, false);
        TensorList composite = autograd::grad({y}, inputs, {gy}, true, true);
        for (size_t i = 0; i < inputs.size(); ++i) {
          // The differentiable path ran (db = Σg does not depend on x, w: a constant here).
          if (i < 2) CHECK(composite[i].requires_grad());
          CHECK(max_abs_diff(fused[i], composite[i]) < tol);
        }
      }
    }
  }
}

TEST_CASE("batch_norm gradients reach weight and bias when the input needs none") {
  manual_seed(15);
  for (bool training : {true, false}) {
    Tensor x = randn({3, 2, 3, 1}, kFloat64), rm = randn({2}, kFloat64), rv = positive(2);
    auto fn = [=](const TensorList& in) {
      return TensorList{batch_norm(x, rm, rv, in[0], in[1], training, 0.1, 1e-5)};
    };
    TensorList wb = affine_leaves(2, 2);
    CHECK_GRADCHECK(fn, wb);
    CHECK_GRADGRADCHECK(fn, wb);
  }
}

TEST_CASE("batch_norm without running stats (track_running_stats = false)") {
  manual_seed(8);
  Tensor x = randn({4, 3, 2, 2}, kFloat64);
  Tensor rm = zeros({3}, kFloat64), rv = ones({3}, kFloat64);
  CHECK(max_abs_diff(batch_norm(x, {}, {}, {}, {}, true), batch_norm(x, rm, rv, {}, {}, true)) == 0.0);
  CHECK(max_abs_diff(batch_norm(x, rm, {}, {}, {}, true), batch_norm(x, {}, rv, {}, {}, true)) == 0.0);
}

TEST_CASE("batch_norm rejects bad input and parameters, naming the op and shapes") {
  Tensor x = randn({2, 3, 4, 4});
  Tensor c3 = zeros({3}), c4 = zeros({4});
  CHECK_THROWS_WITH_ALL(batch_norm(randn({1, 3}), {}, {}, {}, {}, true), "batch_norm",
                        "Expected more than 1 value per channel when training, got input size [1, 3]");
  CHECK_THROWS_WITH_ALL(batch_norm(randn({1, 3, 1, 1}), c3, c3, {}, {}, true), "batch_norm",
                        "Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]");
  CHECK_NOTHROW(batch_norm(randn({1, 3}), c3, ones({3}), {}, {}, false));  // eval needs no batch
  CHECK_THROWS_WITH_ALL(batch_norm(randn({3}), {}, {}, {}, {}, true), "batch_norm", "rank >= 2", "[3]");
  CHECK_THROWS_WITH_ALL(batch_norm(x, c4, c3, {}, {}, true), "batch_norm", "running_mean", "[4]",
                        "expected [3]", "[2, 3, 4, 4]");
  CHECK_THROWS_WITH_ALL(batch_norm(x, c3, c4, {}, {}, false), "batch_norm", "running_var", "[4]", "expected [3]");
  CHECK_THROWS_WITH_ALL(batch_norm(x, c3, c3, c4, {}, true), "batch_norm", "weight", "[4]", "expected [3]");
  CHECK_THROWS_WITH_ALL(batch_norm(x, c3, c3, {}, zeros({1, 3}), true), "batch_norm", "bias", "[1, 3]", "expected [3]");
  CHECK_THROWS_WITH_ALL(batch_norm(x, c3, c3, zeros({3}, kFloat64), {}, true), "batch_norm", "weight",
                        "float64", "float32", "dtype");
  CHECK_THROWS_WITH_ALL(batch_norm(x, {}, {}, {}, {}, false), "batch_norm",
                        "running_mean and running_var must be defined in evaluation mode");
  CHECK_THROWS_WITH_ALL(batch_norm(x, c3, {}, {}, {}, false), "batch_norm", "evaluation mode");
  CHECK_THROWS_WITH_ALL(batch_norm(x, {}, {}, {}, {}, true, 0.1, -1e-5), "batch_norm", "eps", "-1e-05");
  CHECK_THROWS_WITH_ALL(batch_norm(x, {}, {}, {}, {}, true, 1.5), "batch_norm", "momentum", "1.5");
  CHECK_THROWS_WITH_ALL(batch_norm(zeros({2, 3}, kInt64), {}, {}, {}, {}, true), "batch_norm", "int64");
}

// ------------------------------------------------------------------------- instance_norm

TEST_CASE("instance_norm normalises each sample and channel over its spatial dims") {
  manual_seed(9);
  for (Shape s : {Shape{2, 3, 5}, Shape{1, 2, 3, 3}, Shape{3, 1, 2, 3}}) {
    for (int affine = 0; affine < 3; ++affine) {
      Tensor x = leaf_in_layout(s, affine).detach();
      TensorList wb = affine_leaves(s[1], affine);
      Tensor y = instance_norm(x, {}, {}, wb[0], wb[1], true, 0.1, 1e-5);
      Tensor expected = normalise_by_definition(x, dims_from(2, x.dim(), false), wb[0], wb[1], 1e-5);
      CHECK(max_abs_diff(y, expected) < 1e-12);
    }
  }
}

TEST_CASE("instance_norm running stats average the per-sample updates; eval uses them") {
  manual_seed(10);
  const double m = 0.2;
  Tensor rm = zeros({3}, kFloat64), rv = ones({3}, kFloat64);
  Tensor erm = rm.clone(), erv = rv.clone();
  for (int step = 0; step < 3; ++step) {
    Tensor x = randn({4, 3, 2, 3}, kFloat64) * 2.0 + 1.0;
    instance_norm(x, rm, rv, {}, {}, true, m, 1e-5);
    // Per (n, c): mean and unbiased var over (H, W); the running stat takes their batch mean.
    erm = erm * (1 - m) + mean(mean(x, {2, 3}), {0}) * m;
    erv = erv * (1 - m) + mean(var(x, {2, 3}, 1), {0}) * m;
  }
  CHECK(max_abs_diff(rm, erm) < 1e-12);
  CHECK(max_abs_diff(rv, erv) < 1e-12);
  Tensor x = randn({2, 3, 4}, kFloat64);
  Tensor y = instance_norm(x, rm, rv, {}, {}, false, m, 1e-5);
  CHECK(max_abs_diff(y, (x - as_channels(rm, 3)) / sqrt(as_channels(rv, 3) + 1e-5)) < 1e-12);
}

TEST_CASE("instance_norm gradcheck: layouts, affine, input and running statistics") {
  manual_seed(11);
  for (Shape s : {Shape{2, 3, 5}, Shape{1, 2, 3, 3}, Shape{2, 1, 1, 3}}) {
    for (int layout = 0; layout < 3; ++layout) {
      for (int affine = 0; affine < 3; ++affine) {
        for (bool use_input_stats : {true, false}) {
          CAPTURE(shape_str(s));
          CAPTURE(layout);
          CAPTURE(affine);
          CAPTURE(use_input_stats);
          TensorList wb = affine_leaves(s[1], affine);
          Tensor rm = randn({s[1]}, kFloat64), rv = positive(s[1]);
          auto fn = [=](const TensorList& in) {
            return TensorList{instance_norm(in[0], rm, rv, in[1], in[2], use_input_stats, 0.1, 1e-5)};
          };
          CHECK_GRADCHECK(fn, (TensorList{leaf_in_layout(s, layout), wb[0], wb[1]}));
        }
      }
    }
  }
}

TEST_CASE("instance_norm is twice differentiable (gradgradcheck)") {
  manual_seed(12);
  for (Shape s : {Shape{2, 2, 3}, Shape{1, 2, 2, 2}}) {
    TensorList wb = affine_leaves(s[1], 2);
    auto fn = [](const TensorList& in) {
      return TensorList{instance_norm(in[0], {}, {}, in[1], in[2], true, 0.1, 1e-5)};
    };
    CHECK_GRADGRADCHECK(fn, (TensorList{tg::test::strided_leaf(s), wb[0], wb[1]}));
  }
}

TEST_CASE("instance_norm rejects bad input and parameters") {
  Tensor x = randn({2, 3, 4});
  CHECK_THROWS_WITH_ALL(instance_norm(randn({2, 3})), "instance_norm", "rank >= 3", "[2, 3]");
  CHECK_THROWS_WITH_ALL(instance_norm(randn({2, 3, 1})), "instance_norm",
                        "Expected more than 1 spatial element when training, got input size [2, 3, 1]");
  CHECK_THROWS_WITH_ALL(instance_norm(x, {}, {}, {}, {}, false), "instance_norm",
                        "running_mean and running_var to be defined when use_input_stats is false");
  CHECK_THROWS_WITH_ALL(instance_norm(x, zeros({2}), ones({3})), "instance_norm", "running_mean", "[2]", "expected [3]");
  CHECK_THROWS_WITH_ALL(instance_norm(x, {}, {}, ones({4})), "instance_norm", "weight", "[4]", "expected [3]");
  CHECK_THROWS_WITH_ALL(instance_norm(x, {}, {}, {}, ones({3}, kFloat64)), "instance_norm", "bias", "float64");
  CHECK_THROWS_WITH_ALL(instance_norm(x, {}, {}, {}, {}, true, 0.1, -1.0), "instance_norm", "eps");
}

// ---------------------------------------------------------------------------- layer_norm

TEST_CASE("layer_norm over the last dim is batch_norm of the transpose") {
  manual_seed(13);
  Tensor x = randn({5, 7}, kFloat64) * 2.0 + 1.0, w = randn({7}, kFloat64), b = randn({7}, kFloat64);
  Tensor via_batch_norm = batch_norm(x.t(), {}, {}, {}, {}, true).t() * w + b;
  CHECK(max_abs_diff(layer_norm(x, {7}, w, b), via_batch_norm) < 1e-12);
  // Over two trailing dims: zero mean, biased variance var / (var + eps) ≈ 1 per sample.
  Tensor y = layer_norm(randn({3, 4, 5}, kFloat64) * 3.0, {4, 5});
  CHECK(max_abs_diff(mean(y, {1, 2}), zeros({3}, kFloat64)) < 1e-12);
  CHECK(max_abs_diff(var(y, {1, 2}, 0), ones({3}, kFloat64)) < 1e-5);
}

TEST_CASE("layer_norm gradcheck and gradgradcheck: normalized shapes, layouts, affine") {
  manual_seed(14);
  for (auto [s, ns] : {std::pair{Shape{3, 5}, Shape{5}}, std::pair{Shape{2, 3, 4}, Shape{3, 4}},
                       std::pair{Shape{2, 3, 4}, Shape{4}}, std::pair{Shape{1, 1, 3}, Shape{1, 3}},
                       std::pair{Shape{4, 1}, Shape{1}}}) {
    for (int layout = 0; layout < 3; ++layout) {
      for (int affine = 0; affine < 3; ++affine) {
        CAPTURE(shape_str(s));
        CAPTURE(layout);
        CAPTURE(affine);
        Tensor w = affine >= 1 ? leaf(ns) : Tensor(), b = affine >= 2 ? leaf(ns) : Tensor();
        auto fn = [ns](const TensorList& in) { return TensorList{layer_norm(in[0], ns, in[1], in[2], 1e-5)}; };
        TensorList inputs{leaf_in_layout(s, layout), w, b};
        CHECK_GRADCHECK(fn, inputs);
        if (layout == affine) CHECK_GRADGRADCHECK(fn, inputs);
      }
    }
  }
}

TEST_CASE("layer_norm rejects bad normalized shapes and parameters") {
  Tensor x = randn({2, 3, 4});
  CHECK_THROWS_WITH_ALL(layer_norm(x, {}), "layer_norm", "at least 1-dimensional");
  CHECK_THROWS_WITH_ALL(layer_norm(x, {3}), "layer_norm", "normalized_shape=[3]", "[*, 3]", "[2, 3, 4]");
  CHECK_THROWS_WITH_ALL(layer_norm(x, {2, 2, 3, 4}), "layer_norm", "[*, 2, 2, 3, 4]");
  CHECK_THROWS_WITH_ALL(layer_norm(x, {3, 4}, ones({4})), "layer_norm", "weight", "[4]", "[3, 4]");
  CHECK_THROWS_WITH_ALL(layer_norm(x, {4}, {}, ones({1, 4})), "layer_norm", "bias", "[1, 4]");
  CHECK_THROWS_WITH_ALL(layer_norm(x, {4}, ones({4}, kFloat64)), "layer_norm", "weight", "float64");
  CHECK_THROWS_WITH_ALL(layer_norm(x, {4}, {}, {}, -1.0), "layer_norm", "eps");
}

// ------------------------------------------------------------------- agreement with PyTorch

namespace {

const std::string kNormDir = std::string(TAPEGRAD_TEST_DATA) + "/norm/";

struct Reference {
  std::string dir, tag;
  DType dtype;
  double atol, rtol;
  Tensor input(const std::string& name) const { return load_npy(dir + name + ".npy").to(dtype); }
  void check(const std::string& name, const Tensor& got) const {
    Tensor want = load_npy(dir + name + "_" + tag + ".npy");
    INFO(dir << name << "_" << tag);
    CHECK(got.dtype() == dtype);
    CHECK(scaled_error(got, want, atol, rtol) <= 1.0);
  }
};

// Float64 agrees to rounding; float32 differs by PyTorch's float32 accumulation.
std::vector<Reference> references(const std::string& name) {
  return {{kNormDir + name + "/", "f64", kFloat64, 1e-10, 1e-10},
          {kNormDir + name + "/", "f32", kFloat32, 1e-4, 1e-4}};
}

}  // namespace

TEST_CASE("batch_norm and instance_norm agree with PyTorch over several steps, then in eval") {
  for (auto [name, norm] : {std::pair{"batch_norm_2d", StatNorm(batch_norm)},
                            std::pair{"batch_norm_4d", StatNorm(batch_norm)},
                            std::pair{"instance_norm", StatNorm(instance_norm)}}) {
    for (const Reference& ref : references(name)) {
      auto params = load_npy(ref.dir + "params.npy").to_vector<double>();  // momentum, eps, steps
      const double momentum = params[0], eps = params[1];
      const int steps = static_cast<int>(params[2]);
      Tensor w = ref.input("w").requires_grad_(), b = ref.input("b").requires_grad_(), gy = ref.input("gy");
      Tensor rm = zeros(w.shape(), ref.dtype), rv = ones(w.shape(), ref.dtype);  // PyTorch's initial stats
      Tensor x, y;
      for (int k = 0; k < steps; ++k) {
        std::string step_input = "x";
        step_input += std::to_string(k);
        x = ref.input(step_input).requires_grad_();
        y = norm(x, rm, rv, w, b, true, momentum, eps);
      }
      TensorList g = autograd::grad({y}, {x, w, b}, {gy});
      ref.check("y", y);
      ref.check("gx", g[0]);
      ref.check("gw", g[1]);
      ref.check("gb", g[2]);
      ref.check("rm", rm);
      ref.check("rv", rv);
      x = ref.input("x_eval").requires_grad_();
      y = norm(x, rm, rv, w, b, false, momentum, eps);
      g = autograd::grad({y}, {x, w, b}, {gy});
      ref.check("y_eval", y);
      ref.check("gx_eval", g[0]);
      ref.check("gw_eval", g[1]);
      ref.check("gb_eval", g[2]);
    }
  }
}

TEST_CASE("layer_norm agrees with PyTorch") {
  for (const Reference& ref : references("layer_norm")) {
    const double eps = load_npy(ref.dir + "params.npy").to_vector<double>()[0];
    Tensor x = ref.input("x").requires_grad_(), w = ref.input("w").requires_grad_();
    Tensor b = ref.input("b").requires_grad_();
    Tensor y = layer_norm(x, w.shape(), w, b, eps);
    TensorList g = autograd::grad({y}, {x, w, b}, {ref.input("gy")});
    ref.check("y", y);
    ref.check("gx", g[0]);
    ref.check("gw", g[1]);
    ref.check("gb", g[2]);
  }
}
