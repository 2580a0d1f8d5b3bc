// nn::init and the layers' default initialisation: gains, fans, bounds, and distributions
// checked statistically. Tolerances: with n samples, the sample mean of a distribution with
// standard deviation s lies within 5 s / sqrt(n) of the true mean, and the sample standard
// deviation within 5 s / sqrt(2 n) of s, except with probability below 1e-6 (the seeds are
// fixed, so the tests are deterministic; the bounds say why the numbers are not luck).
#include <cmath>

#include "test_helpers.h"

using namespace tg;
using namespace tg::nn;
using init::FanMode;
using init::Nonlinearity;

namespace {

struct Moments {
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t n = 0;
};

Moments moments(const Tensor& t) {
  const auto v = t.to_vector<double>();
  Moments m;
  m.n = static_cast<int64_t>(v.size());
  m.min = m.max = v[0];
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= static_cast<double>(m.n);
  for (double x : v) m.std += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(m.std / static_cast<double>(m.n - 1));
  return m;
}

// Mean and standard deviation of t agree with (mean, std) to 5 standard errors.
void check_distribution(const Tensor& t, double mean, double std) {
  const Moments m = moments(t);
  INFO("n " << m.n << " mean " << m.mean << " (want " << mean << ") std " << m.std << " (want " << std << ")");
  CHECK(std::abs(m.mean - mean) < 5 * std / std::sqrt(static_cast<double>(m.n)));
  CHECK(std::abs(m.std - std) < 5 * std / std::sqrt(2.0 * static_cast<double>(m.n)));
}

// U(-b, b): every value inside, the extremes near b, and std b / sqrt(3).
void check_uniform(const Tensor& t, double bound) {
  const Moments m = moments(t);
  CHECK(m.min >= -bound);
  CHECK(m.max < bound);
  // P(one sample < 0.99 b) = 0.995, so P(max < 0.99 b) = 0.995^n: below 1e-19 for n >= 9000.
  CHECK(m.max > 0.99 * bound);
  CHECK(m.min < -0.99 * bound);
  check_distribution(t, 0.0, bound / std::sqrt(3.0));
}

}  // namespace

TEST_CASE("calculate_gain gives PyTorch's gains") {
  CHECK(init::calculate_gain(Nonlinearity::Linear) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Conv2d) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Sigmoid) == 1.0);
  CHECK(init::calculate_gain(Nonlinearity::Tanh) == doctest::Approx(5.0 / 3.0));
  CHECK(init::calculate_gain(Nonlinearity::ReLU) == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(Nonlinearity::LeakyReLU) == doctest::Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
  CHECK(init::calculate_gain(Nonlinearity::LeakyReLU, 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)));
  CHECK(init::calculate_gain(Nonlinearity::SELU) == 0.75);
}

TEST_CASE("fan in and fan out count the receptive field") {
  CHECK(init::calculate_fan_in_and_fan_out(empty({5, 3})) == std::pair<int64_t, int64_t>{3, 5});
  CHECK(init::calculate_fan_in_and_fan_out(empty({8, 4, 3, 2})) == std::pair<int64_t, int64_t>{24, 48});
  CHECK_THROWS_WITH_ALL(init::calculate_fan_in_and_fan_out(empty({5})), "calculate_fan_in_and_fan_out",
                        "fewer than 2 dimensions", "[5]");
}

TEST_CASE("uniform_, normal_, constant_, zeros_ and ones_ fill in place") {
  manual_seed(11);
  Tensor t = empty({200, 100});
  Tensor same = init::uniform_(t, -2.0, 3.0);
  CHECK(same.is_same(t));
  const Moments u = moments(t);
  CHECK(u.min >= -2.0);
  CHECK(u.max < 3.0);
  check_distribution(t, 0.5, 5.0 / std::sqrt(12.0));
  init::normal_(t, 1.5, 0.5);
  check_distribution(t, 1.5, 0.5);
  const uint32_t v = t.version();
  init::constant_(t, 0.25);
  CHECK(t.version() > v);
  CHECK(moments(t).min == 0.25);
  CHECK(moments(t).max == 0.25);
  CHECK(moments(init::zeros_(t)).max == 0.0);
  CHECK(moments(init::ones_(t)).min == 1.0);
  Tensor strided = zeros({4, 6}, kFloat64).slice(1, 0, 6, 2);
  init::ones_(strided);
  CHECK(strided.sum().item<double>() == 12.0);
  CHECK_THROWS_WITH_ALL(init::normal_(zeros({2}, kInt64)), "normal_", "float", "int64");
  CHECK_THROWS_WITH_ALL(init::uniform_(t, 1.0, 0.0), "uniform_", "a <= b");
  CHECK_THROWS_WITH_ALL(init::normal_(t, 0.0, -1.0), "normal_", "std");
}

TEST_CASE("initialisers write parameters without recording on the tape") {
  Tensor w = empty({3, 3}).requires_grad_();
  init::kaiming_uniform_(w);
  init::orthogonal_(w);
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
}

TEST_CASE("xavier_uniform_ and xavier_normal_ use gain sqrt(2 / (fan_in + fan_out))") {
  manual_seed(12);
  Tensor w = empty({300, 200});
  init::xavier_uniform_(w, 2.0);
  check_uniform(w, 2.0 * std::sqrt(6.0 / 500.0));
  init::xavier_normal_(w, 0.5);
  check_distribution(w, 0.0, 0.5 * std::sqrt(2.0 / 500.0));
}

TEST_CASE("kaiming_uniform_ and kaiming_normal_ use gain / sqrt(fan) for either mode") {
  manual_seed(13);
  Tensor w = empty({64, 32, 3, 3});  // fan_in 288, fan_out 576
  init::kaiming_normal_(w, 0.0, FanMode::FanOut, Nonlinearity::ReLU);
  check_distribution(w, 0.0, std::sqrt(2.0) / std::sqrt(576.0));
  init::kaiming_uniform_(w, 0.2, FanMode::FanIn, Nonlinearity::LeakyReLU);
  check_uniform(w, std::sqrt(3.0) * std::sqrt(2.0 / 1.04) / std::sqrt(288.0));
  Tensor no_elements = empty({0, 4});
  init::kaiming_uniform_(no_elements);  // a no-op, as PyTorch
  CHECK(no_elements.numel() == 0);
}

TEST_CASE("orthogonal_ gives orthonormal rows or columns, times the gain") {
  manual_seed(14);
  for (Shape shape : {Shape{3, 7}, Shape{7, 3}, Shape{5, 5}, Shape{4, 2, 3, 1}}) {
    INFO("shape " << shape_str(shape));
    Tensor w = empty(shape, kFloat64);
    init::orthogonal_(w, 2.0);
    const int64_t rows = shape[0], cols = w.numel() / rows;
    Tensor m = w.reshape({rows, cols});
    // W W^T = gain^2 I when wide, W^T W = gain^2 I when tall.
    Tensor gram = rows <= cols ? matmul(m, m.t()) : matmul(m.t(), m);
    const int64_t k = std::min(rows, cols);
    Tensor eye = zeros({k, k}, kFloat64);
    for (int64_t i = 0; i < k; ++i) init::constant_(eye.select(0, i).narrow(0, i, 1), 4.0);
    CHECK(test::max_abs_diff(gram, eye) < 1e-12);
  }
  CHECK_THROWS_WITH_ALL(init::orthogonal_(empty({4})), "orthogonal_", "2 or more dimensions");
}

TEST_CASE("Linear and Conv2d default to U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights and biases") {
  manual_seed(15);
  Linear fc(400, 300);
  check_uniform(fc->weight, 1.0 / std::sqrt(400.0));  // kaiming_uniform_(a = sqrt(5))
  const Moments b = moments(fc->bias);
  CHECK(b.min >= -1.0 / 20.0);
  CHECK(b.max < 1.0 / 20.0);
  Conv2d conv(Conv2dOptions(32, 64, 5).groups(2));  // fan_in = 16 * 25 = 400
  check_uniform(conv->weight, 1.0 / 20.0);
  CHECK(moments(conv->bias).max < 1.0 / 20.0);
  // ConvTranspose2d's fan_in comes from its weight [in, out / groups, k, k]: 32 * 9.
  ConvTranspose2d deconv(ConvTranspose2dOptions(512, 64, 3).groups(2));
  check_uniform(deconv->weight, 1.0 / std::sqrt(288.0));
}

TEST_CASE("normalisation layers start at weight 1, bias 0, running stats (0, 1)") {
  BatchNorm2d bn(5);
  CHECK(bn->weight.to_vector<double>() == std::vector<double>(5, 1.0));
  CHECK(bn->bias.to_vector<double>() == std::vector<double>(5, 0.0));
  CHECK(bn->running_mean.to_vector<double>() == std::vector<double>(5, 0.0));
  CHECK(bn->running_var.to_vector<double>() == std::vector<double>(5, 1.0));
  CHECK(bn->num_batches_tracked.item<int64_t>() == 0);
  LayerNorm ln(Shape{2, 3});
  CHECK(ln->weight.sum().item<double>() == 6.0);
  CHECK(ln->bias.abs().sum().item<double>() == 0.0);
}

TEST_CASE("Embedding defaults to N(0, 1) with a zero padding row") {
  manual_seed(16);
  Embedding e(EmbeddingOptions(1000, 64).padding_idx(-1));
  CHECK(*e->options.padding_idx() == 999);
  CHECK(e->weight.select(0, 999).abs().sum().item<double>() == 0.0);
  check_distribution(e->weight.narrow(0, 0, 999), 0.0, 1.0);
}

TEST_CASE("dcgan_ gives conv weights N(0, 0.02), batch-norm weights N(1, 0.02) and zero biases") {
  manual_seed(17);
  Sequential net(Conv2d(Conv2dOptions(64, 128, 4).bias(true)), BatchNorm2d(4096), LeakyReLU(),
                 ConvTranspose2d(ConvTranspose2dOptions(128, 32, 4).bias(false)), Linear(3, 4));
  Tensor linear_before = net->at<LinearImpl>(4).weight.clone();
  init::dcgan_(*net);
  check_distribution(net->at<Conv2dImpl>(0).weight, 0.0, 0.02);
  CHECK(net->at<Conv2dImpl>(0).bias.abs().sum().item<double>() == 0.0);
  check_distribution(net->at<BatchNorm2dImpl>(1).weight, 1.0, 0.02);
  CHECK(net->at<BatchNorm2dImpl>(1).bias.abs().sum().item<double>() == 0.0);
  check_distribution(net->at<ConvTranspose2dImpl>(3).weight, 0.0, 0.02);
  CHECK(test::max_abs_diff(net->at<LinearImpl>(4).weight, linear_before) == 0.0);  // not a DCGAN layer
}

TEST_CASE("the same seed gives the same initialisation") {
  manual_seed(18);
  Linear a(5, 7);
  manual_seed(18);
  Linear b(5, 7);
  CHECK(test::max_abs_diff(a->weight, b->weight) == 0.0);
  CHECK(test::max_abs_diff(a->bias, b->bias) == 0.0);
  Linear c(5, 7);
  CHECK(test::max_abs_diff(a->weight, c->weight) > 0.0);
}
