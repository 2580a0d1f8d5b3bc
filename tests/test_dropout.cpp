// dropout: inverted scaling, the mask drawn from the seeded default generator, the same mask
// in backward, the p = 0 / p = 1 / eval edge cases and bad probabilities.
#include <cmath>

#include "test_helpers.h"

using namespace tg;
using tg::test::leaf;
using tg::test::max_abs_diff;

TEST_CASE("dropout's mask is [u < 1 - p] / (1 - p) with u the generator's next uniforms") {
  for (DType dt : {kFloat32, kFloat64}) {
    const double p = 0.3;
    manual_seed(11);
    Tensor y = dropout(ones({7, 13}, dt), p, true);
    manual_seed(11);
    Tensor expected = (rand({7, 13}, dt) < 1.0 - p).to(dt) * (1.0 / (1.0 - p));
    CHECK(max_abs_diff(y, expected) == 0.0);
  }
}

TEST_CASE("dropout zeroes about a fraction p and keeps the mean") {
  manual_seed(3);
  const double p = 0.3;
  Tensor y = dropout(ones({100, 100}), p, true);
  auto v = y.to_vector<double>();
  int64_t zeros_seen = 0;
  for (double e : v) {
    if (e == 0.0) {
      ++zeros_seen;
    } else {
      CHECK(e == doctest::Approx(1.0 / (1.0 - p)).epsilon(1e-6));
    }
  }
  // Binomial(10^4, 0.3): standard deviation of the fraction is sqrt(0.21 / 10^4) ≈ 0.0046.
  CHECK(std::abs(static_cast<double>(zeros_seen) / 1e4 - p) < 0.02);
  CHECK(std::abs(y.mean().item<double>() - 1.0) < 0.03);
}

TEST_CASE("dropout is reproducible under manual_seed and differs across seeds") {
  Tensor x = randn({5, 9});
  manual_seed(42);
  Tensor a = dropout(x, 0.5, true);
  manual_seed(42);
  Tensor b = dropout(x, 0.5, true);
  manual_seed(43);
  Tensor c = dropout(x, 0.5, true);
  CHECK(max_abs_diff(a, b) == 0.0);
  CHECK(max_abs_diff(a, c) > 0.0);
}

TEST_CASE("dropout's backward uses the forward mask") {
  manual_seed(5);
  const double p = 0.4;
  Tensor x = tg::test::strided_leaf({6, 7});  // non-contiguous input
  Tensor g = randn({6, 7}, kFloat64);
  Tensor y = dropout(x, p, true);
  CHECK(y.grad_fn_name() == "DropoutBackward");
  y.backward(g);
  // x ~ N(0, 1) has no zeros, so y != 0 exactly where the element was kept.
  Tensor mask = (y != 0.0).to(kFloat64) * (1.0 / (1.0 - p));
  CHECK(max_abs_diff(x.grad(), g * mask) == 0.0);
  CHECK(max_abs_diff(y, x.detach() * mask) < 1e-15);
}

TEST_CASE("dropout passes gradcheck and gradgradcheck with a fixed seed") {
  manual_seed(8);
  for (Shape s : {Shape{1}, Shape{3, 5}, Shape{2, 3, 4, 5}}) {
    Tensor x = leaf(s);
    auto fn = [](const TensorList& in) {
      manual_seed(99);  // the same mask on every evaluation
      return TensorList{dropout(in[0], 0.35, true)};
    };
    CHECK_GRADCHECK(fn, TensorList{x});
    CHECK_GRADGRADCHECK(fn, TensorList{x});
  }
}

TEST_CASE("dropout with p = 0 or training = false is the identity") {
  Tensor x = leaf({4, 3});
  for (auto [p, training] : {std::pair{0.0, true}, std::pair{0.5, false}, std::pair{1.0, false}}) {
    const GeneratorState before = get_rng_state();
    Tensor y = dropout(x, p, training);
    CHECK(max_abs_diff(y, x) == 0.0);
    CHECK(get_rng_state().offset == before.offset);  // no random numbers drawn
  }
  dropout(x, 0.0, true).sum().backward();
  CHECK(max_abs_diff(x.grad(), ones({4, 3}, kFloat64)) == 0.0);
}

TEST_CASE("dropout with p = 1 gives zeros and zero gradients, no NaN") {
  Tensor x = leaf({3, 4});
  Tensor y = dropout(x, 1.0, true);
  CHECK(max_abs_diff(y, zeros({3, 4}, kFloat64)) == 0.0);
  y.sum().backward();
  CHECK(max_abs_diff(x.grad(), zeros({3, 4}, kFloat64)) == 0.0);
}

TEST_CASE("dropout rejects a probability outside [0, 1] and non-floating input") {
  Tensor x = randn({2, 2});
  CHECK_THROWS_WITH_ALL(dropout(x, -0.1, true), "dropout", "between 0 and 1", "-0.1");
  CHECK_THROWS_WITH_ALL(dropout(x, 1.5, true), "dropout", "between 0 and 1", "1.5");
  CHECK_THROWS_WITH_ALL(dropout(x, 1.5, false), "dropout", "between 0 and 1", "1.5");
  CHECK_THROWS_WITH_ALL(dropout(x, std::nan(""), true), "dropout", "between 0 and 1");
  CHECK_THROWS_WITH_ALL(dropout(zeros({2}, kInt64), 0.5, true), "dropout", "float32 or float64", "int64");
}
