// The WGAN-GP gradient penalty checked on each backend named on the command line (default:
// every backend built, skipping cuda without a usable CUDA device), each on its own device (the
// critic and the points on cuda:0 for the cuda backend) (CTest example_wgan_gp_penalty and
// example_wgan_gp_penalty_cuda); exit status 1 on any mismatch or a backend that is not there:
//  1. closed form: a linear critic f(x) = w.x + b has grad_x f = w at every x, so the penalty
//     is lambda (||w|| - 1)^2 and its gradient in w is 2 lambda (||w|| - 1) w / ||w||;
//  2. finite differences: gradcheck (central differences, float64) of the penalty in every
//     parameter of the program's critic (make_critic, hidden width 256) on 2-D points (ring8),
//     plain and with --pack 4 (8 inputs), 20 sampled elements per parameter tensor.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "critic.h"
#include "device.h"

namespace nn = tg::nn;
using tg::Tensor;

namespace {

constexpr double kLambda = 10;
constexpr int64_t kBatch = 8;

int failures = 0;

void report(const examples::Device& device, const std::string& check, double abs_err, double rel_err, bool ok) {
  std::printf("%-10s %-7s %-34s %12.3e %12.3e  %s\n", device.backend.c_str(), device.device.str().c_str(), check.c_str(),
              abs_err, rel_err, ok ? "pass" : "FAIL");
  failures += !ok;
}

// The inputs are drawn on the CPU (the same values for every backend) and moved to `device`.
Tensor randn_on(const examples::Device& device, const tg::Shape& shape) {
  return tg::randn(shape, tg::kFloat64).to(device);
}

void check_closed_form(const examples::Device& device) {
  tg::manual_seed(3);
  nn::Sequential critic(nn::Linear(3, 1));
  critic->to(device, tg::kFloat64);
  const Tensor real = randn_on(device, {kBatch, 3}), fake = randn_on(device, {kBatch, 3});
  Tensor penalty = wgan::gradient_penalty(critic, real, fake, kLambda);
  TG_CHECK(penalty.device() == device.device, "penalty_check", "the penalty is on ", penalty.device().str(), ", not ",
           device.device.str());
  penalty.backward();

  const Tensor w = critic->parameters()[0];
  const std::vector<double> wv = w.to_vector<double>(), gv = w.grad().to_vector<double>();
  double norm = 0;
  for (double v : wv) norm += v * v;
  norm = std::sqrt(norm);
  const double expected = kLambda * (norm - 1) * (norm - 1);
  double value_err = std::abs(penalty.item<double>() - expected), grad_err = 0, grad_scale = 0;
  for (size_t i = 0; i < wv.size(); ++i) {
    const double g = 2 * kLambda * (norm - 1) * wv[i] / norm;
    grad_err = std::max(grad_err, std::abs(gv[i] - g));
    grad_scale = std::max(grad_scale, std::abs(g));
  }
  report(device, "linear critic: value", value_err, value_err / expected, value_err <= 1e-9 * expected);
  report(device, "linear critic: d/dw", grad_err, grad_err / grad_scale, grad_err <= 1e-9 * grad_scale);
}

void check_finite_differences(const examples::Device& device, int64_t pack) {
  tg::manual_seed(5);
  const int64_t in = 2 * pack;  // --pack M: M points side by side
  nn::Sequential critic = wgan::make_critic(in);
  critic->to(device, tg::kFloat64);
  const Tensor real = randn_on(device, {kBatch, in}), fake = randn_on(device, {kBatch, in});
  // Re-seeded on every call, so each evaluation draws the same eps: a deterministic function.
  auto penalty = [&](const tg::TensorList&) {
    tg::manual_seed(7);
    return tg::TensorList{wgan::gradient_penalty(critic, real, fake, kLambda)};
  };
  tg::GradcheckOptions options;
  options.max_samples = 20;
  options.seed = 11;
  const tg::GradcheckResult r = tg::gradcheck(penalty, critic->parameters(), options);
  report(device, "critic " + std::to_string(in) + "-256-256-256-1: d/dparams", r.max_abs_error, r.max_rel_error,
         r.ok && r.checked > 0);
  if (!r.ok) std::printf("%s", r.message.c_str());
}

}  // namespace

int main(int argc, char** argv) try {
  const std::vector<std::string> named(argv + 1, argv + argc);
  std::printf("%-10s %-7s %-34s %12s %12s  %s\n", "backend", "device", "check", "max abs err", "max rel err", "result");
  for (const std::string& backend : named.empty() ? examples::built_backends() : named) {
    examples::Device device;
    try {
      device = examples::select_device(backend, "backend");
    } catch (const std::runtime_error& e) {
      if (!named.empty()) throw;
      std::printf("skipped: %s\n", e.what());
      continue;
    }
    check_closed_form(device);
    check_finite_differences(device, 1);
    check_finite_differences(device, 4);
  }
  std::printf("%d failed\n", failures);
  return failures ? 1 : 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "penalty_check: %s\n", e.what());
  return 1;
}
