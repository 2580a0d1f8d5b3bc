// Broadcasting binary ops (add, sub, mul, div and their scalar forms), comparisons and where:
// values against their definition, gradients against finite differences (float64), second
// derivatives, at random broadcast shapes and on non-contiguous operands.
#include <cmath>
#include <functional>

#include "test_helpers.h"

using namespace tg;
using test::leaf;

namespace {

using BinaryOp = std::function<Tensor(const Tensor&, const Tensor&)>;
using ScalarOp = std::function<double(double, double)>;

struct Binary {
  const char* name;
  BinaryOp op;
  ScalarOp value;
  const char* grad_fn;
};

const std::vector<Binary>& binary_ops() {
  static const std::vector<Binary> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }, "AddBackward"},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }, "SubBackward"},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }, "MulBackward"},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }, "DivBackward"},
  };
  return ops;
}

// Two shapes that broadcast together: a random base shape (rank 0-3, sizes 1-4) from which
// each operand drops some leading dims and sets some dims to 1.
std::pair<Shape, Shape> broadcast_pair() {
  const int64_t rank = randint(0, 4, {}).item<int64_t>();
  const Shape base = rank ? randint(1, 5, {rank}).to_vector<int64_t>() : Shape{};
  auto derive = [&] {
    Shape s = base;
    s.erase(s.begin(), s.begin() + randint(0, rank + 1, {}).item<int64_t>());
    for (int64_t& d : s)
      if (rand({}).item<double>() < 0.3) d = 1;
    return s;
  };
  Shape a = derive();
  return {a, derive()};
}

// Moves values of a leaf at least `gap` away from zero (divisors), in place, before any use.
Tensor away_from_zero(Tensor x, double gap = 0.5) {
  NoGradGuard no_grad;
  x.copy_(where(x >= 0.0, x + gap, x - gap));
  return x;
}

// The definition, element by element: out[i] = f(a[i'], b[i'']) with a and b broadcast.
std::vector<double> by_definition(const Tensor& a, const Tensor& b, const ScalarOp& f) {
  Shape s = broadcast_shapes(a.shape(), b.shape());
  std::vector<double> va = a.expand(s).to_vector<double>(), vb = b.expand(s).to_vector<double>(), out;
  for (size_t i = 0; i < va.size(); ++i) out.push_back(f(va[i], vb[i]));
  return out;
}

DifferentiableFn binary_fn(const BinaryOp& op) {
  return [op](const TensorList& in) { return TensorList{op(in[0], in[1])}; };
}

}  // namespace

TEST_CASE("add, sub, mul and div compute their definition under NumPy broadcasting") {
  manual_seed(10);
  for (int trial = 0; trial < 25; ++trial) {
    auto [sa, sb] = broadcast_pair();
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Tensor a = randn(sa, kFloat64), b = away_from_zero(randn(sb, kFloat64));
    for (const Binary& f : binary_ops()) {
      CAPTURE(std::string(f.name));
      Tensor out = f.op(a, b);
      CHECK(out.shape() == broadcast_shapes(sa, sb));
      CHECK(out.dtype() == kFloat64);
      CHECK(out.to_vector<double>() == by_definition(a, b, f.value));
    }
  }
}

TEST_CASE("binary op gradients match finite differences at random broadcast shapes") {
  manual_seed(11);
  for (int trial = 0; trial < 12; ++trial) {
    auto [sa, sb] = broadcast_pair();
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    TensorList in{leaf(sa), away_from_zero(leaf(sb))};
    for (const Binary& f : binary_ops()) {
      CAPTURE(std::string(f.name));
      CHECK(f.op(in[0], in[1]).grad_fn_name() == f.grad_fn);
      CHECK_GRADCHECK(binary_fn(f.op), in);
    }
  }
}

TEST_CASE("broadcasting works in both directions and through size-1 dims") {
  manual_seed(12);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 1, 4}, {2, 4}}, {{4}, {2, 3, 4}}, {{2, 3, 1}, {1, 1, 5}}, {{1}, {3, 2}},
      {{}, {2, 3}},        {{2, 3}, {}},     {{1, 1}, {1}},          {{5, 1}, {1, 5}}};
  for (const auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    TensorList in{leaf(sa), away_from_zero(leaf(sb))};
    for (const Binary& f : binary_ops()) {
      CAPTURE(std::string(f.name));
      CHECK(f.op(in[0], in[1]).to_vector<double>() == by_definition(in[0], in[1], f.value));
      CHECK_GRADCHECK(binary_fn(f.op), in);
    }
  }
}

TEST_CASE("binary ops read non-contiguous operands: transposed, sliced and expanded") {
  manual_seed(13);
  Tensor t = test::transposed_leaf({3, 4});
  Tensor s = away_from_zero(test::strided_leaf({3, 4}));
  Tensor col = away_from_zero(leaf({3, 1}));
  for (const Binary& f : binary_ops()) {
    CAPTURE(std::string(f.name));
    CHECK(f.op(t, s).to_vector<double>() == by_definition(t.contiguous(), s.contiguous(), f.value));
    CHECK_GRADCHECK(binary_fn(f.op), (TensorList{t, s}));
    // An expanded (stride-0) operand made inside the function: its gradient sums over the copies.
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{f.op(in[0], in[1].expand({3, 4}))}; },
                    (TensorList{t, col}));
    CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{f.op(in[1].expand({2, 3, 4}), in[0])}; },
                    (TensorList{s, col}));
  }
}

TEST_CASE("add and sub scale the second operand by alpha") {
  manual_seed(14);
  Tensor a = leaf({2, 3}), b = leaf({3});
  CHECK(add(a, b, -0.5).to_vector<double>() == by_definition(a, b, [](double x, double y) { return x + -0.5 * y; }));
  CHECK(sub(a, b, 2.0).to_vector<double>() == by_definition(a, b, [](double x, double y) { return x - 2.0 * y; }));
  CHECK_GRADCHECK([](const TensorList& in) { return TensorList{add(in[0], in[1], -0.5)}; }, (TensorList{a, b}));
  CHECK_GRADCHECK([](const TensorList& in) { return TensorList{sub(in[0], in[1], 2.0)}; }, (TensorList{a, b}));
}

TEST_CASE("scalar forms keep the tensor's dtype and differentiate like their tensor forms") {
  manual_seed(15);
  Tensor x = away_from_zero(leaf({2, 3}));
  const std::vector<double> v = x.to_vector<double>();
  auto expect = [&](const Tensor& out, const ScalarOp& f, double s) {
    REQUIRE(out.shape() == x.shape());
    std::vector<double> got = out.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(got[i] == f(v[i], s));
  };
  expect(x + 2.0, [](double a, double s) { return a + s; }, 2.0);
  expect(x - 2.0, [](double a, double s) { return a - s; }, 2.0);
  expect(x * 3.0, [](double a, double s) { return a * s; }, 3.0);
  expect(x / 4.0, [](double a, double s) { return a / s; }, 4.0);
  expect(2.0 + x, [](double a, double s) { return s + a; }, 2.0);
  expect(2.0 - x, [](double a, double s) { return s - a; }, 2.0);
  expect(3.0 * x, [](double a, double s) { return s * a; }, 3.0);
  expect(1.5 / x, [](double a, double s) { return s / a; }, 1.5);
  expect(-x, [](double a, double) { return -a; }, 0.0);
  CHECK((ones({2}) * 2.0).dtype() == kFloat32);
  CHECK((2.0 / ones({2})).dtype() == kFloat32);
  CHECK_GRADCHECK([](const TensorList& in) {
    const Tensor& a = in[0];
    return TensorList{(2.0 - a) * 3.0 + a / 4.0 + 1.5 / a - (a - 0.5) + 2.0 * a + (-a)};
  }, TensorList{x});
}

TEST_CASE("gradgradcheck: add, sub, mul and div are twice differentiable") {
  manual_seed(16);
  TensorList in{leaf({2, 3}), away_from_zero(leaf({3}))};
  for (const Binary& f : binary_ops()) {
    CAPTURE(std::string(f.name));
    CHECK_GRADGRADCHECK(binary_fn(f.op), in);
  }
  CHECK_GRADGRADCHECK([](const TensorList& t) { return TensorList{t[0] * t[0] * t[1]}; },
                      (TensorList{leaf({4}), leaf({1})}));
}

TEST_CASE("float32 arithmetic agrees with float64 to float32 rounding") {
  manual_seed(17);
  Tensor a = randn({4, 5}), b = away_from_zero(randn({5}));
  for (const Binary& f : binary_ops()) {
    CAPTURE(std::string(f.name));
    Tensor out = f.op(a, b);
    CHECK(out.dtype() == kFloat32);
    // One float32 rounding of a result of size <= 1e1: relative error 6e-8.
    CHECK(test::max_abs_diff(out.to(kFloat64), f.op(a.to(kFloat64), b.to(kFloat64))) < 1e-5);
  }
}

TEST_CASE("int64 tensors support add, sub and mul without gradients") {
  Tensor a = tensor<int64_t>({1, -2, 3}), b = tensor<int64_t>({10}, {1});
  CHECK((a + b).to_vector<int64_t>() == std::vector<int64_t>{11, 8, 13});
  CHECK((a - b).to_vector<int64_t>() == std::vector<int64_t>{-9, -12, -7});
  CHECK((a * b).to_vector<int64_t>() == std::vector<int64_t>{10, -20, 30});
  CHECK((a * b).dtype() == kInt64);
}

TEST_CASE("a floating scalar promotes an integral or bool tensor to float32, as in PyTorch") {
  const Tensor i = tensor<int64_t>({3, -2}), flag = tensor<double>({1, 0}).to(kBool);
  struct Case {
    const char* expr;
    Tensor out;
    DType dtype;
    std::vector<double> want;
  };
  for (const Case& c : {
           Case{"int64 * 2.5", i * 2.5, kFloat32, {7.5, -5.0}},
           Case{"2.5 * int64", 2.5 * i, kFloat32, {7.5, -5.0}},
           Case{"int64 + 0.5", i + 0.5, kFloat32, {3.5, -1.5}},
           Case{"int64 - 0.25", i - 0.25, kFloat32, {2.75, -2.25}},
           Case{"0.5 - int64", 0.5 - i, kFloat32, {-2.5, 2.5}},
           Case{"int64 / 2.0", i / 2.0, kFloat32, {1.5, -1.0}},
           Case{"3.0 / int64", 3.0 / i, kFloat32, {1.0, -1.5}},
           Case{"int64 / 0.0", i / 0.0, kFloat32, {INFINITY, -INFINITY}},
           Case{"bool * 2.5", flag * 2.5, kFloat32, {2.5, 0.0}},
           Case{"bool + 1", flag + 1, kInt64, {2, 1}},
           Case{"int64 * 2", i * 2, kInt64, {6, -4}},
           Case{"int64 - 1", i - 1, kInt64, {2, -3}},
           Case{"float32 * 2.5", ones({2}) * 2.5, kFloat32, {2.5, 2.5}},
           Case{"float64 * 2", ones({2}, kFloat64) * 2, kFloat64, {2, 2}},
           Case{"where(c, int64, 0.5)", where(flag, i, 0.5), kFloat32, {3.0, 0.5}},
           Case{"where(c, 0.5, int64)", where(flag, 0.5, i), kFloat32, {0.5, -2.0}},
           Case{"pow(int64, 2.0)", pow(i, 2.0), kFloat32, {9.0, 4.0}},
           Case{"clamp(int64, 0.5)", clamp(i, 0.5), kFloat32, {3.0, 0.5}},
       }) {
    CAPTURE(std::string(c.expr));
    CHECK(c.out.dtype() == c.dtype);
    CHECK(c.out.to_vector<double>() == c.want);
  }
  CHECK(pow(tensor<int64_t>({4}), 0.5).item<double>() == 2.0);
  // Integer scalars stay exact in int64 past 2^53.
  CHECK((tensor<int64_t>({1}) + (int64_t{1} << 60)).item<int64_t>() == (int64_t{1} << 60) + 1);
  // Comparisons with a floating scalar compare in float32, not against a truncated scalar.
  const Tensor two = tensor<int64_t>({2});
  CHECK((two < 2.5).item<bool>());
  CHECK((two <= 2.5).item<bool>());
  CHECK_FALSE((two > 2.5).item<bool>());
  CHECK_FALSE((two >= 2.5).item<bool>());
  CHECK_FALSE((two == 2.5).item<bool>());
  CHECK((two != 2.5).item<bool>());
  CHECK((two == 2).item<bool>());
}

TEST_CASE("in place, a scalar that would change the dtype is an error; alpha must be whole for integers") {
  const Tensor i = tensor<int64_t>({3, -2});
  CHECK_THROWS_WITH_ALL(i.mul_(2.5), "mul_:", "int64[2]", "2.5", "float32", "in place");
  CHECK_THROWS_WITH_ALL(i.add_(0.5), "add_:", "float32", "in place");
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{3, -2});  // unchanged
  i.mul_(2);
  i.add_(1);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{7, -3});
  CHECK(i.dtype() == kInt64);
  const Tensor f = ones({2});
  f.mul_(2);
  f.add_(0.5);
  CHECK(f.to_vector<double>() == std::vector<double>{2.5, 2.5});

  CHECK_THROWS_WITH_ALL(add(i, i, 2.5), "add:", "alpha 2.5", "int64", "truncated");
  CHECK_THROWS_WITH_ALL(sub(i, i, 0.5), "sub:", "alpha 0.5");
  CHECK(add(i, i, 2.0).to_vector<int64_t>() == std::vector<int64_t>{21, -9});
  CHECK(sub(ones({2}), ones({2}), 0.5).to_vector<double>() == std::vector<double>{0.5, 0.5});
}

TEST_CASE("comparisons give bool tensors that carry no gradient") {
  manual_seed(18);
  Tensor a = tensor<double>({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor b = tensor<double>({2, 3}, {2});  // broadcast over rows: [[2, 3], [2, 3]]
  struct Cmp {
    Tensor out;
    std::vector<double> want;
  };
  for (const Cmp& c : {Cmp{eq(a, b), {0, 0, 0, 0}}, Cmp{ne(a, b), {1, 1, 1, 1}},
                       Cmp{lt(a, b), {1, 1, 0, 0}}, Cmp{le(a, b), {1, 1, 0, 0}},
                       Cmp{gt(a, b), {0, 0, 1, 1}}, Cmp{ge(a, b), {0, 0, 1, 1}},
                       Cmp{a == 3.0, {0, 0, 1, 0}}, Cmp{a != 3.0, {1, 1, 0, 1}},
                       Cmp{a < 2.0, {1, 0, 0, 0}}, Cmp{a <= 2.0, {1, 1, 0, 0}},
                       Cmp{a > 2.0, {0, 0, 1, 1}}, Cmp{a >= 2.0, {0, 1, 1, 1}},
                       Cmp{eq(a.t(), b), {0, 1, 1, 0}}}) {
    CHECK(c.out.dtype() == kBool);
    CHECK(c.out.shape() == Shape{2, 2});
    CHECK_FALSE(c.out.requires_grad());
    CHECK(c.out.to_vector<double>() == c.want);
  }
  CHECK(lt(tensor<int64_t>({1, 5}), tensor<int64_t>({3}, {1})).to_vector<double>() == std::vector<double>{1, 0});
}

TEST_CASE("where picks from a or b by a broadcast bool condition") {
  manual_seed(19);
  Tensor cond = tensor<double>({1, 0, 1}, {3, 1}).to(kBool);
  Tensor a = leaf({3, 4}), b = leaf({4});
  Tensor out = where(cond, a, b);
  CHECK(out.shape() == Shape{3, 4});
  CHECK(out.grad_fn_name() == "WhereBackward");
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) CHECK(out.at({i, j}) == (i != 1 ? a.at({i, j}) : b.at({j})));
  CHECK(where(cond, a, 0.5).at({1, 2}) == 0.5);
  CHECK(where(cond, -1.0, b).at({0, 3}) == -1.0);
  CHECK(where(cond, -1.0, b).at({1, 3}) == b.at({3}));
  CHECK_GRADCHECK([cond](const TensorList& in) { return TensorList{where(cond, in[0], in[1])}; }, (TensorList{a, b}));
  CHECK_GRADCHECK([cond](const TensorList& in) { return TensorList{where(cond, in[0], 2.0)}; }, TensorList{a});
  CHECK_GRADGRADCHECK([cond](const TensorList& in) { return TensorList{where(cond, in[0] * in[0], in[1])}; },
                      (TensorList{a, b}));
  // A non-contiguous condition and operands.
  Tensor mask = tensor<double>({1, 0, 0, 1, 1, 0}, {2, 3}).to(kBool).t();
  Tensor ta = test::transposed_leaf({3, 2}), sb = test::strided_leaf({3, 2});
  Tensor r = where(mask, ta, sb);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 2; ++j) CHECK(r.at({i, j}) == (mask.at({i, j}) ? ta.at({i, j}) : sb.at({i, j})));
  CHECK_GRADCHECK([mask](const TensorList& in) { return TensorList{where(mask, in[0], in[1])}; }, (TensorList{ta, sb}));
}

TEST_CASE("sum_to_size undoes broadcasting") {
  Tensor g = arange(24.0, kFloat64).view({2, 3, 4});
  CHECK(sum_to_size(g, {3, 1}).to_vector<double>() == std::vector<double>{60, 92, 124});
  CHECK(sum_to_size(g, {4}).to_vector<double>() == std::vector<double>{60, 66, 72, 78});
  CHECK(sum_to_size(g, {}).item<double>() == 276.0);
  CHECK(sum_to_size(g, {2, 3, 4}).is_same(g));
}
