// Optimizers: 20-step trajectories equal PyTorch's for every optimizer and option combination
// (tests/data/make_optim_reference.py), one fused kernel call per parameter per step, version
// bumps, parameter groups, option checks, zero_grad, state dicts, gradient clipping, and a
// small MLP that learns.
#include <cmath>
#include <limits>
#include <functional>
#include <map>

#include "backends/reference/reference.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::max_abs_diff;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr int kSteps = 20;

const TensorDict& reference() {
  static const TensorDict dict = load_npz(std::string(TAPEGRAD_TEST_DATA) + "/optim/optim_reference.npz");
  return dict;
}

Tensor entry(const std::string& key) {
  for (const auto& [k, t] : reference())
    if (k == key) return t;
  FAIL("no reference entry " << key);
  return {};
}

// The reference model, Linear(3, 4) -> Tanh -> Linear(4, 2), with PyTorch's initial values.
nn::Sequential reference_mlp(DType dtype) {
  nn::Sequential m(nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 2));
  m->to(dtype);
  TensorDict init;
  for (const auto& [k, t] : m->state_dict()) init.emplace_back(k, entry("model." + k).to(dtype));
  m->load_state_dict(init);
  return m;
}

Tensor flat_parameters(const nn::Module& m) {
  TensorList parts;
  for (const Tensor& p : m.parameters()) parts.push_back(p.detach().reshape({-1}));
  return cat(parts).to(kFloat64);
}

Tensor mse(nn::Sequential& m, DType dtype) {
  Tensor d = m->forward(entry("x").to(dtype)) - entry("y").to(dtype);
  return (d * d).mean();
}

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(nn::Sequential&)>;
using MakeScheduler = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;
using Clip = std::function<double(nn::Sequential&)>;

struct Config {
  std::string name;
  MakeOptimizer make;
  Clip clip;
  MakeScheduler scheduler;
};

// The two layers as two parameter groups, the first with its own options.
std::vector<optim::OptimizerParamGroup> two_groups(nn::Sequential& m, std::unique_ptr<optim::OptimizerOptions> first,
                                                   std::unique_ptr<optim::OptimizerOptions> second = nullptr) {
  std::vector<optim::OptimizerParamGroup> g;
  g.emplace_back(m->ptr(0)->parameters(), std::move(first));
  g.emplace_back(m->ptr(2)->parameters(), std::move(second));
  return g;
}

// The same list as make_optim_reference.py's optimizers().
std::vector<Config> configs() {
  using namespace optim;
  auto sgd = [](SGDOptions o) { return [o](nn::Sequential& m) { return std::unique_ptr<Optimizer>(new SGD(m->parameters(), o)); }; };
  auto adam = [](AdamOptions o) { return [o](nn::Sequential& m) { return std::unique_ptr<Optimizer>(new Adam(m->parameters(), o)); }; };
  auto adamw = [](AdamWOptions o) { return [o](nn::Sequential& m) { return std::unique_ptr<Optimizer>(new AdamW(m->parameters(), o)); }; };
  auto rms = [](RMSpropOptions o) { return [o](nn::Sequential& m) { return std::unique_ptr<Optimizer>(new RMSprop(m->parameters(), o)); }; };
  return {
      {"sgd", sgd(SGDOptions(0.1)), nullptr, nullptr},
      {"sgd_momentum", sgd(SGDOptions(0.1).momentum(0.9)), nullptr, nullptr},
      {"sgd_dampening_wd", sgd(SGDOptions(0.05).momentum(0.9).dampening(0.3).weight_decay(0.01)), nullptr, nullptr},
      {"sgd_nesterov", sgd(SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-3)), nullptr, nullptr},
      {"adam", adam(AdamOptions(1e-2)), nullptr, nullptr},
      {"adam_betas_wd", adam(AdamOptions(2e-2).betas({0.5, 0.999}).eps(1e-6).weight_decay(0.1)), nullptr, nullptr},
      {"adam_amsgrad", adam(AdamOptions(1e-2).weight_decay(0.01).amsgrad(true)), nullptr, nullptr},
      {"adamw", adamw(AdamWOptions(1e-2)), nullptr, nullptr},
      {"adamw_amsgrad", adamw(AdamWOptions(1e-2).weight_decay(0.1).amsgrad(true)), nullptr, nullptr},
      {"rmsprop", rms(RMSpropOptions(1e-2)), nullptr, nullptr},
      {"rmsprop_momentum", rms(RMSpropOptions(1e-3).momentum(0.9)), nullptr, nullptr},
      {"rmsprop_centered_momentum",
       rms(RMSpropOptions(1e-2).alpha(0.9).momentum(0.5).centered(true).weight_decay(0.01)), nullptr, nullptr},
      {"sgd_groups",
       [](nn::Sequential& m) {
         return std::unique_ptr<Optimizer>(new SGD(
             two_groups(m, std::make_unique<SGDOptions>(SGDOptions(0.2).momentum(0.5))), SGDOptions(0.05)));
       },
       nullptr, nullptr},
      {"adam_groups",
       [](nn::Sequential& m) {
         return std::unique_ptr<Optimizer>(new Adam(
             two_groups(m, std::make_unique<AdamOptions>(1e-2),
                        std::make_unique<AdamOptions>(AdamOptions(1e-3).betas({0.8, 0.99}))),
             AdamOptions(1e-3)));
       },
       nullptr, nullptr},
      {"adam_clip_norm", adam(AdamOptions(1e-2)),
       [](nn::Sequential& m) { return clip_grad_norm_(m->parameters(), 0.05); }, nullptr},
      {"sgd_clip_value", sgd(SGDOptions(0.1).momentum(0.9)),
       [](nn::Sequential& m) {
         clip_grad_value_(m->parameters(), 0.02);
         return 0.0;
       },
       nullptr},
      {"sgd_steplr", sgd(SGDOptions(0.1).momentum(0.9)), nullptr,
       [](Optimizer& o) { return std::unique_ptr<LRScheduler>(new StepLR(o, 5, 0.5)); }},
  };
}

// Runs the reference loop in `dtype`; returns the largest deviation from PyTorch over all
// steps and parameters (and checks clip_grad_norm_'s returned norms on the way).
double run_against_reference(const Config& c, DType dtype, double norm_tolerance) {
  nn::Sequential m = reference_mlp(dtype);
  auto opt = c.make(m);
  auto sched = c.scheduler ? c.scheduler(*opt) : nullptr;
  const Tensor traj = entry("traj." + c.name);
  REQUIRE(traj.shape() == Shape{kSteps, 26});
  const bool has_norms = c.name == "adam_clip_norm";
  const std::vector<double> norms = has_norms ? entry("norm." + c.name).to_vector<double>() : std::vector<double>{};
  double worst = 0;
  for (int s = 0; s < kSteps; ++s) {
    opt->zero_grad();
    mse(m, dtype).backward();
    if (c.clip) {
      const double n = c.clip(m);
      if (has_norms) CHECK(n == doctest::Approx(norms[s]).epsilon(norm_tolerance));
    }
    opt->step();
    if (sched) sched->step();
    worst = std::max(worst, max_abs_diff(flat_parameters(*m), traj.select(0, s)));
  }
  return worst;
}

}  // namespace

TEST_CASE("every optimizer follows PyTorch's trajectory step by step (float64)") {
  for (const Config& c : configs()) {
    INFO("config " << c.name);
    // float64 on both sides: only the order of rounding differs (seen: at most 4.4e-16).
    CHECK(run_against_reference(c, kFloat64, 1e-12) < 1e-14);
  }
}

TEST_CASE("float32 optimizers stay within float32 rounding of PyTorch's float64 trajectory") {
  for (const Config& c : configs()) {
    INFO("config " << c.name);
    // Parameters are O(1); float32 rounding (6e-8 relative) accumulates over 20 steps, and
    // Adam/RMSprop divide by sqrt(v) + eps, which amplifies it where gradients are tiny
    // (seen: at most 1.8e-6).
    CHECK(run_against_reference(c, kFloat32, 1e-4) < 1e-5);
  }
}

namespace {
int g_update_calls = 0;
void counting_sgd(const Tensor& p, const Tensor& g, const Tensor& b, const kernel::SgdUpdate& h) {
  ++g_update_calls;
  reference::sgd_update(p, g, b, h);
}
void counting_adam(const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor& vmax,
                   const kernel::AdamUpdate& h) {
  ++g_update_calls;
  reference::adam_update(p, g, m, v, vmax, h);
}
void counting_rmsprop(const Tensor& p, const Tensor& g, const Tensor& s, const Tensor& b, const Tensor& c,
                      const kernel::RmspropUpdate& h) {
  ++g_update_calls;
  reference::rmsprop_update(p, g, s, b, c, h);
}
}  // namespace

TEST_CASE("a step is one fused kernel call per parameter with a gradient") {
  const std::string previous = kernel::current_backend();
  kernel::KernelTable table = kernel::table_for(kCPU);
  table.sgd_update = {counting_sgd, kernel::kFloatingTypes};
  table.adam_update = {counting_adam, kernel::kFloatingTypes};
  table.rmsprop_update = {counting_rmsprop, kernel::kFloatingTypes};
  kernel::register_backend("optim-counting", DeviceType::CPU, table);
  kernel::set_backend("optim-counting");
  nn::Sequential m(nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 2));
  std::vector<std::unique_ptr<optim::Optimizer>> opts;
  opts.emplace_back(new optim::SGD(m->parameters(), optim::SGDOptions(0.1).momentum(0.9)));
  opts.emplace_back(new optim::Adam(m->parameters(), optim::AdamOptions().amsgrad(true)));
  opts.emplace_back(new optim::AdamW(m->parameters()));
  opts.emplace_back(new optim::RMSprop(m->parameters(), optim::RMSpropOptions().centered(true).momentum(0.5)));
  for (auto& opt : opts) {
    g_update_calls = 0;
    for (int s = 0; s < 3; ++s) {
      opt->zero_grad();
      m->forward(ones({2, 3})).sum().backward();
      m->ptr(2)->parameters()[1].set_grad(Tensor());  // a parameter without gradient is skipped
      opt->step();
    }
    CHECK(g_update_calls == 3 * 3);
  }
  kernel::set_backend(previous);
}

TEST_CASE("a step bumps the versions of the tensors it writes") {
  Tensor w = randn({3}, kFloat64).requires_grad_();
  optim::Adam opt({w}, optim::AdamOptions(0.1));
  Tensor y = (w * w).sum();  // saves w for backward
  y.backward({}, true);
  const uint32_t v = w.version();
  opt.step();
  CHECK(w.version() == v + 1);
  CHECK(opt.state(w)->buffers.at("exp_avg").version() > 0);
  CHECK_THROWS_WITH_ALL(y.backward(), "modified by an in-place operation");
}

TEST_CASE("updates on non-contiguous parameters and gradients equal those on contiguous copies") {
  manual_seed(3);
  using namespace optim;
  for (int which = 0; which < 3; ++which) {
    INFO("optimizer " << which);
    Tensor base = randn({4, 3}, kFloat64);
    Tensor strided = base.t().detach().requires_grad_();  // [3, 4], transposed strides
    REQUIRE_FALSE(strided.is_contiguous());
    Tensor dense = strided.detach().contiguous().clone().requires_grad_();
    auto make = [&](Tensor p) -> std::unique_ptr<Optimizer> {
      if (which == 0) return std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions(0.1).momentum(0.9).nesterov(true));
      if (which == 1) return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions(0.1).amsgrad(true).weight_decay(0.1));
      return std::make_unique<RMSprop>(std::vector<Tensor>{p}, RMSpropOptions(0.1).centered(true).momentum(0.3));
    };
    auto a = make(strided), b = make(dense);
    for (int s = 0; s < 4; ++s) {
      Tensor g = randn({4, 6}, kFloat64).slice(1, 0, 6, 2).t();  // non-contiguous gradient
      strided.set_grad(g);
      dense.set_grad(g.contiguous());
      a->step();
      b->step();
    }
    CHECK(max_abs_diff(strided, dense) < 1e-15);
  }
}

TEST_CASE("parameter groups keep their own options; add_param_group and options_of") {
  Tensor a = ones({2}, kFloat64).requires_grad_(), b = ones({2}, kFloat64).requires_grad_();
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<Tensor>{a}, std::make_unique<optim::SGDOptions>(0.5));
  optim::SGD opt(groups, optim::SGDOptions(0.1));
  opt.add_param_group(std::vector<Tensor>{b});
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(optim::options_of<optim::SGDOptions>(opt.param_groups()[0]).lr() == 0.5);
  CHECK(opt.param_groups()[1].options().get_lr() == 0.1);  // the defaults
  a.set_grad(ones({2}, kFloat64));
  b.set_grad(ones({2}, kFloat64));
  opt.step();
  CHECK(a.to_vector<double>() == std::vector<double>{0.5, 0.5});
  CHECK(b.to_vector<double>() == std::vector<double>{0.9, 0.9});
  CHECK_THROWS_WITH_ALL(optim::options_of<optim::AdamOptions>(opt.param_groups()[0]), "param_groups",
                        "another optimizer");
  CHECK_THROWS_WITH_ALL(opt.add_param_group(std::vector<Tensor>{a}), "SGD", "more than once");
}

TEST_CASE("invalid learning rates, betas and other options raise tg::Error") {
  using namespace optim;
  std::vector<Tensor> p{ones({1}).requires_grad_()};
  CHECK_THROWS_WITH_ALL(SGD(p, SGDOptions(NAN)), "SGD", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(SGD(p, SGDOptions(-0.1)), "SGD", "invalid learning rate: -0.1");
  CHECK_THROWS_WITH_ALL(SGD(p, SGDOptions(0.1).momentum(-1)), "SGD", "invalid momentum value: -1");
  CHECK_THROWS_WITH_ALL(SGD(p, SGDOptions(0.1).weight_decay(-1)), "SGD", "invalid weight_decay value");
  CHECK_THROWS_WITH_ALL(SGD(p, SGDOptions(0.1).nesterov(true)), "SGD", "Nesterov", "momentum");
  CHECK_THROWS_WITH_ALL(SGD(p, SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)), "SGD",
                        "zero dampening");
  CHECK_THROWS_WITH_ALL(Adam(p, AdamOptions(NAN)), "Adam", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(Adam(p, AdamOptions().betas({1.0, 0.999})), "Adam", "beta parameter at index 0: 1");
  CHECK_THROWS_WITH_ALL(Adam(p, AdamOptions().betas({0.9, -0.5})), "Adam", "beta parameter at index 1: -0.5");
  CHECK_THROWS_WITH_ALL(Adam(p, AdamOptions().betas({NAN, 0.9})), "Adam", "index 0: nan");
  CHECK_THROWS_WITH_ALL(Adam(p, AdamOptions().eps(-1e-8)), "Adam", "invalid epsilon value");
  CHECK_THROWS_WITH_ALL(AdamW(p, AdamWOptions(-1)), "AdamW", "invalid learning rate: -1");
  CHECK_THROWS_WITH_ALL(AdamW(p, AdamWOptions().weight_decay(-0.1)), "AdamW", "weight_decay");
  CHECK_THROWS_WITH_ALL(RMSprop(p, RMSpropOptions(NAN)), "RMSprop", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(RMSprop(p, RMSpropOptions().alpha(-0.5)), "RMSprop", "invalid alpha value: -0.5");
  CHECK_THROWS_WITH_ALL(RMSprop(p, RMSpropOptions().momentum(-0.5)), "RMSprop", "invalid momentum value");

  // A learning rate made invalid after construction is caught at step(), before any update.
  Tensor w = ones({1}, kFloat64).requires_grad_();
  w.set_grad(ones({1}, kFloat64));
  SGD opt({w}, SGDOptions(0.1));
  opt.param_groups()[0].options().set_lr(NAN);
  CHECK_THROWS_WITH_ALL(opt.step(), "SGD", "invalid learning rate: nan");
  CHECK(w.item<double>() == 1.0);
}

TEST_CASE("optimizers reject what they cannot optimize") {
  using namespace optim;
  Tensor leaf = ones({2}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_ALL(SGD(std::vector<Tensor>{}, SGDOptions(0.1)), "SGD", "empty");
  CHECK_THROWS_WITH_ALL(SGD({leaf * 2.0}, SGDOptions(0.1)), "SGD", "non-leaf", "MulBackward");
  CHECK_THROWS_WITH_ALL(SGD({zeros({2}, kInt64)}, SGDOptions(0.1)), "SGD", "float", "int64");
  CHECK_THROWS_WITH_ALL(SGD({leaf, leaf}, SGDOptions(0.1)), "SGD", "more than once");
  SGD opt({leaf}, SGDOptions(0.1));
  leaf.set_grad(ones({2}, kFloat64));
  leaf.impl()->grad = ones({2}, kFloat32).impl_ptr();  // bypasses set_grad's own check
  CHECK_THROWS_WITH_ALL(opt.step(), "SGD", "gradient float32[2]", "does not match", "float64[2]");
}

TEST_CASE("zero_grad drops gradients by default (as PyTorch 2) or zeroes them") {
  Tensor w = ones({2}, kFloat64).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(0.1));
  w.set_grad(ones({2}, kFloat64));
  opt.zero_grad(false);
  CHECK(w.grad().to_vector<double>() == std::vector<double>{0.0, 0.0});
  opt.zero_grad();
  CHECK_FALSE(w.grad().defined());
  opt.step();  // no gradient: nothing happens, no state is made
  CHECK(opt.state(w) == nullptr);
  CHECK(w.to_vector<double>() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("step with a closure evaluates the loss with grad mode on and returns it") {
  Tensor w = tensor<double>({2.0}).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(0.25));
  NoGradGuard no_grad;  // the closure still records
  Tensor loss = opt.step([&] {
    opt.zero_grad();
    Tensor l = (w * w).sum();
    l.backward();
    return l;
  });
  CHECK(loss.item<double>() == 4.0);
  CHECK(w.item<double>() == doctest::Approx(2.0 - 0.25 * 4.0));
}

TEST_CASE("state_dict and load_state_dict resume training exactly") {
  for (const Config& c : configs()) {
    if (c.scheduler) continue;  // schedulers are resumed through their own state (test_checkpoint)
    INFO("config " << c.name);
    nn::Sequential m = reference_mlp(kFloat64);
    auto opt = c.make(m);
    for (int s = 0; s < 10; ++s) {
      opt->zero_grad();
      mse(m, kFloat64).backward();
      if (c.clip) c.clip(m);
      opt->step();
    }
    // A fresh model and optimizer take the state over; the clones share no storage with it.
    nn::Sequential m2 = reference_mlp(kFloat64);
    auto opt2 = c.make(m2);
    m2->load_state_dict(m->state_dict());
    opt2->load_state_dict(opt->state_dict());
    opt.reset();
    for (int s = 10; s < kSteps; ++s) {
      opt2->zero_grad();
      mse(m2, kFloat64).backward();
      if (c.clip) c.clip(m2);
      opt2->step();
      CHECK(max_abs_diff(flat_parameters(*m2), entry("traj." + c.name).select(0, s)) < 1e-14);
    }
  }
}

TEST_CASE("a bad optimizer state dict is rejected with every problem named, changing nothing") {
  Tensor w = ones({2, 3}, kFloat64).requires_grad_(), b = ones({3}, kFloat64).requires_grad_();
  optim::Adam opt({w, b}, optim::AdamOptions(0.1));
  w.set_grad(ones({2, 3}, kFloat64));
  b.set_grad(ones({3}, kFloat64));
  opt.step();
  const TensorDict good = opt.state_dict();
  const std::vector<double> exp_avg = opt.state(w)->buffers.at("exp_avg").to_vector<double>();

  TensorDict bad;
  for (const auto& [k, t] : good) {
    if (k == "state.0.exp_avg") bad.emplace_back(k, zeros({3, 2}, kFloat64));  // wrong shape
    else if (k == "param_groups.0.eps") continue;                                // missing
    else if (k == "param_groups.0.beta1") bad.emplace_back(k, scalar_tensor(1.5, kFloat64));  // invalid
    else bad.emplace_back(k, t);
  }
  bad.emplace_back("state.0.momentum_buffer", zeros({2, 3}, kFloat64));  // not an Adam state
  bad.emplace_back("state.5.exp_avg", zeros({1}, kFloat64));            // no such parameter
  CHECK_THROWS_WITH_ALL(opt.load_state_dict(bad), "Adam", "nothing was changed",
                        "state.0.exp_avg: expected float64[2, 3]", "missing key param_groups.0.eps",
                        "unexpected key state.0.momentum_buffer", "unexpected key state.5.exp_avg");
  TensorDict invalid = good;
  for (auto& [k, t] : invalid)
    if (k == "param_groups.0.beta1") t = scalar_tensor(1.5, kFloat64);
  CHECK_THROWS_WITH_ALL(opt.load_state_dict(invalid), "Adam", "beta parameter at index 0: 1.5");
  CHECK(opt.state(w)->buffers.at("exp_avg").to_vector<double>() == exp_avg);
  CHECK(opt.param_groups()[0].options().get_lr() == 0.1);

  optim::Adam other({w}, optim::AdamOptions(0.1));  // one parameter, not two
  CHECK_THROWS_WITH_ALL(other.load_state_dict(good), "Adam", "unexpected key state.1.step",
                        "param_groups.0.params");
}

TEST_CASE("a state dict restores the options of every group") {
  Tensor w = ones({2}, kFloat64).requires_grad_();
  optim::RMSprop a({w}, optim::RMSpropOptions(0.05).centered(true).momentum(0.2));
  optim::RMSprop b({w}, optim::RMSpropOptions());
  b.load_state_dict(a.state_dict());
  const auto& o = optim::options_of<optim::RMSpropOptions>(b.param_groups()[0]);
  CHECK(o.lr() == 0.05);
  CHECK(o.centered());
  CHECK(o.momentum() == 0.2);
}

TEST_CASE("clip_grad_norm_ scales to max_norm and returns the total norm; clip_grad_value_ clamps") {
  Tensor a = zeros({2}, kFloat64).requires_grad_(), b = zeros({1}, kFloat64).requires_grad_();
  Tensor none = zeros({1}, kFloat64).requires_grad_();  // no gradient: skipped
  a.set_grad(tensor<double>({3.0, 0.0}));
  b.set_grad(tensor<double>({-4.0}));
  CHECK(nn::utils::clip_grad_norm_({a, b, none}, 10.0) == doctest::Approx(5.0));
  CHECK(a.grad().to_vector<double>() == std::vector<double>{3.0, 0.0});  // under max_norm: untouched
  CHECK(optim::clip_grad_norm_({a, b}, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad().at({0}) == doctest::Approx(3.0 / (5.0 + 1e-6)));
  CHECK(b.grad().at({0}) == doctest::Approx(-4.0 / (5.0 + 1e-6)));
  a.set_grad(tensor<double>({3.0, 0.0}));
  b.set_grad(tensor<double>({-4.0}));
  CHECK(nn::utils::clip_grad_norm_({a, b}, 100.0, INFINITY) == doctest::Approx(4.0));
  CHECK(nn::utils::clip_grad_norm_({a, b}, 100.0, 1.0) == doctest::Approx(7.0));
  b.set_grad(tensor<double>({NAN}));
  CHECK_THROWS_WITH_ALL(nn::utils::clip_grad_norm_({a, b}, 1.0, 2.0, true), "clip_grad_norm_", "non-finite");
  CHECK_THROWS_WITH_ALL(nn::utils::clip_grad_norm_({a}, -1.0), "clip_grad_norm_", "max_norm", "-1");
  b.set_grad(tensor<double>({-4.0}));
  nn::utils::clip_grad_value_({a, b}, 2.5);
  CHECK(a.grad().to_vector<double>() == std::vector<double>{2.5, 0.0});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{-2.5});
  CHECK_THROWS_WITH_ALL(nn::utils::clip_grad_value_({a}, -1.0), "clip_grad_value_", "-1");
}

TEST_CASE("a small MLP learns two concentric rings with Adam") {
  // Procedural data: points on a ring of radius 1 (class 0) or 2 (class 1) with noise; not
  // linearly separable, so learning it needs the hidden layer.
  manual_seed(7);
  const int64_t n = 128;
  const std::vector<double> u = rand({n, 3}, kFloat64).to_vector<double>();
  std::vector<float> points, labels;
  for (int64_t i = 0; i < n; ++i) {
    const float label = u[3 * i] < 0.5 ? 0.0f : 1.0f;
    const double angle = 2 * M_PI * u[3 * i + 1], r = 1.0 + label + 0.2 * (u[3 * i + 2] - 0.5);
    points.push_back(static_cast<float>(r * std::cos(angle)));
    points.push_back(static_cast<float>(r * std::sin(angle)));
    labels.push_back(label);
  }
  const Tensor x = tensor<float>(points, {n, 2}), y = tensor<float>(labels, {n, 1});
  nn::Sequential model(nn::Linear(2, 16), nn::Tanh(), nn::Linear(16, 1));
  nn::BCEWithLogitsLoss criterion;
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.05));
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    Tensor loss = criterion(model->forward(x), y);
    loss.backward();
    opt.step();
    last = loss.item<double>();
    if (step == 0) first = last;
  }
  CHECK(last < 0.1 * first);
  const std::vector<double> logits = model->forward(x).to_vector<double>();
  int correct = 0;
  for (int64_t i = 0; i < n; ++i) correct += (logits[i] > 0) == (labels[i] > 0.5f);
  CHECK(correct >= n * 95 / 100);
}

TEST_CASE("loaded hyper-parameters that are NaN, infinite, negative or not a flag are refused") {
  using namespace optim;
  struct Case {
    std::string flag;
    std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)> make;
  };
  const std::vector<Case> cases = {
      {"nesterov", [](auto p) { return std::make_unique<SGD>(p, SGDOptions(0.1).momentum(0.9).nesterov(true)); }},
      {"amsgrad", [](auto p) { return std::make_unique<Adam>(p, AdamOptions(0.1).amsgrad(true)); }},
      {"amsgrad", [](auto p) { return std::make_unique<AdamW>(p, AdamWOptions(0.1)); }},
      {"centered", [](auto p) { return std::make_unique<RMSprop>(p, RMSpropOptions(0.1).centered(true)); }},
  };
  // Every value of a state dict (steps, buffers, options), for "nothing changed".
  const auto values_of = [](const TensorDict& dict) {
    std::vector<std::vector<double>> out;
    for (const auto& [k, t] : dict) out.push_back(t.to(kFloat64).reshape({-1}).to_vector<double>());
    return out;
  };
  for (const Case& c : cases) {
    Tensor w = ones({2, 3}, kFloat64).requires_grad_();
    auto opt = c.make({w});
    w.set_grad(full({2, 3}, 0.5, kFloat64));
    opt->step();
    const TensorDict good = opt->state_dict();
    const auto before = values_of(good);
    const std::string prefix = "param_groups.0.";
    for (const auto& [key, value] : good) {
      if (key.rfind(prefix, 0) != 0 || key == prefix + "params") continue;
      const std::string option = key.substr(prefix.size());
      for (double bad : {std::nan(""), kInf, -kInf, -1.0, 0.5}) {
        // -1 is invalid for every option but dampening; 0.5 only for a flag.
        if ((bad == -1.0 && option == "dampening") || (bad == 0.5 && option != c.flag)) continue;
        CAPTURE(key);
        CAPTURE(bad);
        TensorDict dict = good;
        for (auto& [k, t] : dict)
          if (k == key) t = scalar_tensor(bad, kFloat64);
        std::string message;
        try {
          opt->load_state_dict(dict);
        } catch (const Error& e) {
          message = e.what();
        }
        CHECK(message.find("cannot load the optimizer state dict (nothing was changed)") != std::string::npos);
        CHECK(message.find(std::isfinite(bad) ? prefix + "*" : key + ": expected a finite number") !=
              std::string::npos);
        if (bad == 0.5) CHECK(message.find("the flag " + c.flag + " must be 0 or 1, got 0.5") != std::string::npos);
        CHECK(values_of(opt->state_dict()) == before);
      }
    }
    opt->load_state_dict(good);  // the dict itself is valid
    CHECK(values_of(opt->state_dict()) == before);
  }
}
