// Views as differentiable ops (view/reshape, transpose, permute, narrow/slice, select, expand,
// squeeze, unsqueeze, flatten) and cat / stack: shapes, strides and values, storage sharing,
// gradients and second derivatives in float64, on contiguous and non-contiguous inputs.
#include <functional>

#include "test_helpers.h"

using namespace tg;
using test::leaf;

namespace {

using ViewFn = std::function<Tensor(const Tensor&)>;

struct View {
  const char* name;
  ViewFn op;
  Shape shape;         // expected output shape for a [2, 3, 4] input
  const char* grad_fn;  // of the output (the last op applied)
  bool shares = true;   // false where a step must copy (flatten of a transposed tensor)
};

const std::vector<View>& views() {
  static const std::vector<View> v = {
      {"view", [](const Tensor& x) { return x.contiguous().view({6, -1}); }, {6, 4}, "ViewBackward"},
      {"reshape", [](const Tensor& x) { return x.reshape({4, 3, 2}); }, {4, 3, 2}, "ViewBackward"},
      {"transpose", [](const Tensor& x) { return x.transpose(0, 2); }, {4, 3, 2}, "PermuteBackward"},
      {"transpose negative", [](const Tensor& x) { return x.transpose(-1, -2); }, {2, 4, 3}, "PermuteBackward"},
      {"permute", [](const Tensor& x) { return x.permute({1, 2, 0}); }, {3, 4, 2}, "PermuteBackward"},
      {"narrow", [](const Tensor& x) { return x.narrow(2, 1, 2); }, {2, 3, 2}, "SliceBackward"},
      {"narrow negative start", [](const Tensor& x) { return x.narrow(1, -2, 2); }, {2, 2, 4}, "SliceBackward"},
      {"slice step", [](const Tensor& x) { return x.slice(2, 1, 4, 2); }, {2, 3, 2}, "SliceBackward"},
      {"slice clamped", [](const Tensor& x) { return x.slice(1, -5, 100); }, {2, 3, 4}, "SliceBackward"},
      {"select", [](const Tensor& x) { return x.select(1, 2); }, {2, 4}, "SqueezeBackward"},
      {"select negative", [](const Tensor& x) { return x.select(-1, -1); }, {2, 3}, "SqueezeBackward"},
      {"expand", [](const Tensor& x) { return x.unsqueeze(1).expand({2, 5, 3, 4}); }, {2, 5, 3, 4}, "ExpandBackward"},
      {"expand -1", [](const Tensor& x) { return x.narrow(1, 0, 1).expand({3, -1, 2, -1}); }, {3, 2, 2, 4}, "ExpandBackward"},
      {"squeeze dim", [](const Tensor& x) { return x.narrow(1, 1, 1).squeeze(1); }, {2, 4}, "SqueezeBackward"},
      {"squeeze all", [](const Tensor& x) { return x.narrow(0, 1, 1).narrow(2, 0, 1).squeeze(); }, {3}, "SqueezeBackward"},
      {"unsqueeze", [](const Tensor& x) { return x.unsqueeze(-1); }, {2, 3, 4, 1}, "UnsqueezeBackward"},
      {"unsqueeze front", [](const Tensor& x) { return x.unsqueeze(0); }, {1, 2, 3, 4}, "UnsqueezeBackward"},
      {"flatten", [](const Tensor& x) { return x.flatten(); }, {24}, "ViewBackward"},
      {"flatten range", [](const Tensor& x) { return x.flatten(1, 2); }, {2, 12}, "ViewBackward"},
      {"chain", [](const Tensor& x) { return x.transpose(0, 2).flatten(1).narrow(1, 1, 3).unsqueeze(0).squeeze(0); },
       {4, 3}, "SqueezeBackward", false},
  };
  return v;
}

}  // namespace

TEST_CASE("views have the right shapes and values") {
  Tensor x = arange(24.0, kFloat64).view({2, 3, 4});
  for (const View& v : views()) {
    CAPTURE(std::string(v.name));
    CHECK(v.op(x).shape() == v.shape);
  }
  Tensor tr = x.transpose(0, 2);
  Tensor pm = x.permute({1, 2, 0});
  Tensor sl = x.slice(2, 1, 4, 2);
  Tensor se = x.select(1, 2);
  Tensor ex = x.unsqueeze(1).expand({2, 5, 3, 4});
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 4; ++c) {
        // x[a, b, c] = 12 a + 4 b + c; each view reads it at its own index.
        const double want = static_cast<double>(a * 12 + b * 4 + c);
        CHECK(x.at({a, b, c}) == want);
        CHECK(tr.at({c, b, a}) == want);
        CHECK(pm.at({b, c, a}) == want);
        CHECK(ex.at({a, 4, b, c}) == want);
        if (c % 2 == 1) CHECK(sl.at({a, b, c / 2}) == want);
        if (b == 2) CHECK(se.at({a, c}) == want);
      }
  CHECK(x.flatten(1, 2).to_vector<double>() == x.to_vector<double>());
  CHECK(x.reshape({4, 3, 2}).to_vector<double>() == x.to_vector<double>());
  CHECK(x.transpose(0, 2).strides() == Shape{1, 4, 12});
  CHECK(x.slice(2, 1, 4, 2).strides() == Shape{12, 4, 2});
  CHECK(x.slice(2, 1, 4, 2).storage_offset() == 1);
  CHECK(ex.strides() == Shape{12, 0, 4, 1});
  CHECK(x.unsqueeze(1).strides() == Shape{12, 12, 4, 1});
  CHECK(scalar_tensor(3.0).flatten().shape() == Shape{1});
  CHECK(scalar_tensor(3.0).unsqueeze(0).shape() == Shape{1});
  CHECK(x.squeeze(0).is_same(x));  // squeezing a dim that is not 1 is a no-op
  CHECK(x.view({6, 4}).t().at({3, 5}) == 23.0);
}

TEST_CASE("views share their input's storage and record a differentiable node") {
  Tensor x = leaf({2, 3, 4});
  for (const View& v : views()) {
    CAPTURE(std::string(v.name));
    Tensor y = v.op(x);
    CHECK((y.impl()->storage == x.impl()->storage) == v.shares);
    CHECK(y.grad_fn_name() == v.grad_fn);
  }
}

TEST_CASE("view gradients match finite differences on contiguous and non-contiguous inputs") {
  manual_seed(50);
  // A transposed and a strided [2, 3, 4] input go through the same views (reshape copies there).
  Tensor inputs[] = {leaf({2, 3, 4}), leaf({4, 3, 2}).detach().permute({2, 1, 0}).detach().requires_grad_(),
                     test::strided_leaf({2, 3, 4})};
  for (Tensor& x : inputs) {
    CAPTURE(x.str());
    CAPTURE(shape_str(x.strides()));
    for (const View& v : views()) {
      CAPTURE(std::string(v.name));
      // Multiplying by a fixed random tensor makes every output element's gradient distinct.
      Tensor w = randn(v.shape, kFloat64);
      CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{v.op(in[0]) * w}; }, TensorList{x});
    }
  }
}

TEST_CASE("gradgradcheck: views are twice differentiable") {
  manual_seed(51);
  Tensor x = leaf({2, 3, 4});
  for (const View& v : views()) {
    CAPTURE(std::string(v.name));
    CHECK_GRADGRADCHECK([&](const TensorList& in) { return TensorList{v.op(in[0]) * v.op(in[0])}; }, TensorList{x});
  }
}

TEST_CASE("a view of a view is a view of the base; writes through any of them are shared") {
  Tensor base = zeros({4, 6}, kFloat64);
  Tensor inner = base.narrow(0, 1, 2).slice(1, 1, 6, 2).t();  // [3, 2]
  CHECK(inner.shape() == Shape{3, 2});
  {
    NoGradGuard g;
    inner.fill_(1.0);
  }
  std::vector<double> b = base.to_vector<double>();
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 6; ++c) CHECK(b[r * 6 + c] == ((r == 1 || r == 2) && c % 2 == 1 ? 1.0 : 0.0));
}

TEST_CASE("cat joins along a dim, and each input gets its slice of the gradient") {
  manual_seed(52);
  Tensor a = leaf({2, 3}), b = leaf({2, 1}), c = leaf({2, 4});
  Tensor y = cat({a, b, c}, 1);
  CHECK(y.shape() == Shape{2, 8});
  CHECK(y.grad_fn_name() == "CatBackward");
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) CHECK(y.at({i, j}) == a.at({i, j}));
    CHECK(y.at({i, 3}) == b.at({i, 0}));
    for (int64_t j = 0; j < 4; ++j) CHECK(y.at({i, 4 + j}) == c.at({i, j}));
  }
  CHECK(cat({a, a}, 0).shape() == Shape{4, 3});
  CHECK(cat({a, a}, -2).to_vector<double>() == cat({a, a}, 0).to_vector<double>());
  CHECK(cat({a}, 0).to_vector<double>() == a.to_vector<double>());
  CHECK(cat({a, zeros({0, 3}, kFloat64)}, 0).shape() == Shape{2, 3});
  auto cat_fn = [](int64_t dim) {
    return [dim](const TensorList& in) { return TensorList{cat(in, dim)}; };
  };
  CHECK_GRADCHECK(cat_fn(1), (TensorList{a, b, c}));
  CHECK_GRADCHECK(cat_fn(0), (TensorList{a, test::transposed_leaf({2, 3}), test::strided_leaf({3, 3})}));
  CHECK_GRADCHECK(cat_fn(-1), (TensorList{leaf({2, 1, 2}), leaf({2, 1, 3})}));
  CHECK_GRADGRADCHECK([](const TensorList& in) { return TensorList{cat({in[0] * in[1], in[1]}, 0)}; },
                      (TensorList{leaf({2, 3}), leaf({2, 3})}));
  // An input that does not require grad gets none; the others still do.
  Tensor fixed = randn({2, 2}, kFloat64);
  CHECK_GRADCHECK([fixed](const TensorList& in) { return TensorList{cat({fixed, in[0]}, 1)}; }, TensorList{a});
}

TEST_CASE("stack adds a new dim at any position") {
  manual_seed(53);
  Tensor a = leaf({2, 3}), b = leaf({2, 3}), c = test::transposed_leaf({2, 3});
  for (int64_t dim : {0, 1, 2, -1, -3}) {
    CAPTURE(dim);
    Tensor y = stack({a, b, c}, dim);
    Shape want{2, 3};
    want.insert(want.begin() + (dim < 0 ? dim + 3 : dim), 3);
    CHECK(y.shape() == want);
    const TensorList parts{a, b, c};
    for (int64_t k = 0; k < 3; ++k) CHECK(y.select(dim, k).to_vector<double>() == parts[k].to_vector<double>());
    CHECK_GRADCHECK([dim](const TensorList& in) { return TensorList{stack(in, dim)}; }, (TensorList{a, b, c}));
  }
  CHECK(stack({scalar_tensor(1.0), scalar_tensor(2.0)}).to_vector<double>() == std::vector<double>{1, 2});
  CHECK_GRADGRADCHECK([](const TensorList& in) { return TensorList{stack({in[0] * in[0], in[1]}, 1)}; },
                      (TensorList{leaf({3}), leaf({3})}));
}
