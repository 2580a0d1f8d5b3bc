// torch.nn.init: random and constant fills, Xavier, Kaiming and orthogonal initialisation.
#include "nn/init.h"

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/random.h"
#include "backends/kernels.h"

namespace tg::nn::init {
namespace {

void check_fillable(const Tensor& t, const char* op) {
  TG_CHECK(t.defined(), op, "the tensor is undefined");
  TG_CHECK(is_floating(t.dtype()), op, "expected a float32 or float64 tensor, got ", t.str());
}

// Writes straight into t's storage: an initialiser is not an op on the tape.
void fill_random(const Tensor& t, bool normal, double a, double b, const char* op) {
  check_fillable(t, op);
  GeneratorState s = reserve_counters(static_cast<uint64_t>(t.numel()));
  if (normal) {
    TG_KERNEL(normal, t)(t, s.seed, s.offset, a, b);
  } else {
    TG_KERNEL(uniform, t)(t, s.seed, s.offset, a, b);
  }
  t.impl()->storage->bump_version();
}

int64_t fan(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? fan_in : fan_out;
}

double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, const char* op) {
  check_fillable(t, op);
  if (t.numel() == 0) return 0.0;  // nothing to fill (PyTorch: a no-op)
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode)));
}

// Orthonormalises the columns of the row-major m x n matrix a (m >= n) in place: modified
// Gram-Schmidt, each column projected out twice ("twice is enough", Giraud et al. 2005), so
// a = Q of a = QR with R's diagonal positive (the sign PyTorch fixes after its QR).
void orthonormalize_columns(std::vector<double>& a, int64_t m, int64_t n) {
  auto at = [&](int64_t i, int64_t j) -> double& { return a[i * n + j]; };
  for (int64_t j = 0; j < n; ++j) {
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < j; ++k) {
        double dot = 0;
        for (int64_t i = 0; i < m; ++i) dot += at(i, k) * at(i, j);
        for (int64_t i = 0; i < m; ++i) at(i, j) -= dot * at(i, k);
      }
    double norm = 0;
    for (int64_t i = 0; i < m; ++i) norm += at(i, j) * at(i, j);
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < m; ++i) at(i, j) /= norm;
  }
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::SELU: return 3.0 / 4.0;
    default: return 1.0;  // linear, conv and transposed conv, sigmoid
  }
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  TG_CHECK(t.defined() && t.dim() >= 2, "calculate_fan_in_and_fan_out", "fan in and fan out can "
           "not be computed for a tensor with fewer than 2 dimensions (", t.str(), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor uniform_(Tensor t, double a, double b) {
  TG_CHECK(a <= b, "uniform_", "expected a <= b, got a = ", a, ", b = ", b);
  fill_random(t, false, a, b, "uniform_");
  return t;
}

Tensor normal_(Tensor t, double mean, double std) {
  TG_CHECK(std >= 0, "normal_", "expected std >= 0, got ", std);
  fill_random(t, true, mean, std, "normal_");
  return t;
}

Tensor constant_(Tensor t, double value) {
  check_fillable(t, "constant_");
  NoGradGuard no_grad;
  TG_KERNEL(fill, t)(t, value);
  t.impl()->storage->bump_version();
  return t;
}

Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

Tensor xavier_uniform_(Tensor t, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(std::move(t), -bound, bound);
}

Tensor xavier_normal_(Tensor t, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(std::move(t), 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_");
  return uniform_(std::move(t), -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  const double std = kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_");
  return normal_(std::move(t), 0.0, std);
}

Tensor orthogonal_(Tensor t, double gain) {
  check_fillable(t, "orthogonal_");
  TG_CHECK(t.dim() >= 2, "orthogonal_", "only tensors with 2 or more dimensions are supported, got ",
           t.str());
  const int64_t rows = t.size(0), cols = t.numel() / std::max<int64_t>(rows, 1);
  if (t.numel() == 0) return t;
  // Orthonormalise the longer side: columns of [rows, cols] if tall, else of its transpose.
  const bool tall = rows >= cols;
  const int64_t m = tall ? rows : cols, n = tall ? cols : rows;
  std::vector<double> a = randn({m, n}, kFloat64).to_vector<double>();
  orthonormalize_columns(a, m, n);
  std::vector<double> w(rows * cols);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) (tall ? w[i * cols + j] : w[j * cols + i]) = gain * a[i * n + j];
  NoGradGuard no_grad;
  t.copy_(tensor<double>(w, t.shape()).to(t.device()));
  return t;
}

}  // namespace tg::nn::init
