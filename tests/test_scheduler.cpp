// Learning-rate schedulers: the learning rates of both parameter groups match PyTorch's step
// by step (tests/data/make_optim_reference.py), reach the optimizer, resume from a state
// dict (a bad one is refused, changing nothing), and bad arguments raise tg::Error.
#include <cmath>
#include <limits>

#include "test_helpers.h"

using namespace tg;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor entry(const std::string& key) {
  static const TensorDict dict = load_npz(std::string(TAPEGRAD_TEST_DATA) + "/optim/optim_reference.npz");
  for (const auto& [k, t] : dict)
    if (k == key) return t;
  FAIL("no reference entry " << key);
  return {};
}

// The reference setup: SGD with two groups, lr 0.1 and 0.3.
struct TwoGroups {
  Tensor a = zeros({1}).requires_grad_(), b = zeros({1}).requires_grad_();
  optim::SGD opt{[this] {
                   std::vector<optim::OptimizerParamGroup> g;
                   g.emplace_back(std::vector<Tensor>{a}, std::make_unique<optim::SGDOptions>(0.1));
                   g.emplace_back(std::vector<Tensor>{b}, std::make_unique<optim::SGDOptions>(0.3));
                   return g;
                 }(),
                 optim::SGDOptions(0.1)};
};

using Make = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;

void check_against_reference(const std::string& name, const Make& make) {
  INFO("scheduler " << name);
  TwoGroups setup;
  auto sched = make(setup.opt);
  const Tensor want = entry("lr." + name);
  REQUIRE(want.shape() == Shape{26, 2});
  for (int64_t e = 0; e <= 25; ++e) {
    if (e > 0) {
      setup.opt.step();
      sched->step();
    }
    const auto lrs = sched->get_last_lr();
    CHECK(sched->last_epoch() == e);
    for (size_t g = 0; g < 2; ++g) {
      // Closed forms against PyTorch's recursive updates: equal up to a few roundings.
      CHECK(lrs[g] == doctest::Approx(want.at({e, static_cast<int64_t>(g)})).epsilon(1e-13));
      CHECK(setup.opt.param_groups()[g].options().get_lr() == lrs[g]);
    }
  }
}

}  // namespace

TEST_CASE("every scheduler's learning rates match PyTorch's, epoch by epoch, per group") {
  using namespace optim;
  auto u = [](auto f) { return Make(f); };
  check_against_reference("step", u([](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); }));
  check_against_reference("exponential", u([](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.9); }));
  check_against_reference("cosine", u([](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 10, 0.01); }));
  check_against_reference("linear", u([](Optimizer& o) { return std::make_unique<LinearLR>(o, 0.1, 1.0, 5); }));
  check_against_reference("linear_default", u([](Optimizer& o) { return std::make_unique<LinearLR>(o); }));
  check_against_reference("lambda", u([](Optimizer& o) {
    return std::make_unique<LambdaLR>(o, [](int64_t e) { return 1.0 / (1.0 + 0.5 * static_cast<double>(e)); });
  }));
  check_against_reference("lambda_per_group", u([](Optimizer& o) {
    return std::make_unique<LambdaLR>(o, std::vector<LambdaLR::Lambda>{
        [](int64_t e) { return std::pow(0.9, static_cast<double>(e)); },
        [](int64_t e) { return 1.0 / (1.0 + static_cast<double>(e)); }});
  }));
}

TEST_CASE("a scheduler's learning rate drives the optimizer's updates") {
  Tensor w = zeros({1}, kFloat64).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(1.0));
  optim::StepLR sched(opt, 1, 0.5);
  double expected = 0;
  for (int e = 0; e < 4; ++e) {
    w.set_grad(ones({1}, kFloat64));
    opt.step();
    expected -= std::pow(0.5, e);
    sched.step();
  }
  CHECK(w.item<double>() == doctest::Approx(expected));
}

TEST_CASE("a scheduler resumes from its state dict") {
  TwoGroups first;
  optim::CosineAnnealingLR a(first.opt, 10, 0.01);
  for (int e = 0; e < 7; ++e) a.step();
  TwoGroups second;
  optim::CosineAnnealingLR b(second.opt, 10, 0.01);
  b.load_state_dict(a.state_dict());
  CHECK(b.last_epoch() == 7);
  CHECK(b.get_last_lr() == a.get_last_lr());
  CHECK(second.opt.param_groups()[1].options().get_lr() == a.get_last_lr()[1]);
  a.step();
  b.step();
  CHECK(b.get_last_lr() == a.get_last_lr());

  TensorDict bad = a.state_dict();
  bad[1].second = tensor<double>({0.1});  // one base lr for two groups
  CHECK_THROWS_WITH_ALL(b.load_state_dict(bad), "LRScheduler", "base_lrs", "float64[2]");
  CHECK(b.last_epoch() == 8);
  TensorDict extra = a.state_dict();
  extra.emplace_back("T_max", scalar_tensor(3.0));
  CHECK_THROWS_WITH_ALL(b.load_state_dict(extra), "LRScheduler", "unexpected key T_max");
  CHECK_THROWS_WITH_ALL(b.load_state_dict({extra[1]}), "LRScheduler", "last_epoch");
}

TEST_CASE("bad scheduler arguments raise tg::Error") {
  TwoGroups s;
  using namespace optim;
  CHECK_THROWS_WITH_ALL(StepLR(s.opt, 0), "StepLR", "step_size", "0");
  CHECK_THROWS_WITH_ALL(CosineAnnealingLR(s.opt, 0), "CosineAnnealingLR", "T_max", "0");
  CHECK_THROWS_WITH_ALL(LinearLR(s.opt, 0.0), "LinearLR", "start_factor", "0");
  CHECK_THROWS_WITH_ALL(LinearLR(s.opt, 0.5, 1.5), "LinearLR", "end_factor", "1.5");
  CHECK_THROWS_WITH_ALL(LinearLR(s.opt, 0.5, 1.0, 0), "LinearLR", "total_iters");
  CHECK_THROWS_WITH_ALL(LambdaLR(s.opt, std::vector<LambdaLR::Lambda>{[](int64_t) { return 1.0; }}),
                        "LambdaLR", "expected 2 lr_lambdas", "got 1");
  CHECK_THROWS_WITH_ALL(LambdaLR(s.opt, LambdaLR::Lambda()), "LambdaLR", "empty");
}

TEST_CASE("a schedule that produces a NaN learning rate stops the optimizer before any update") {
  Tensor w = ones({1}, kFloat64).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(0.1));
  optim::LambdaLR sched(opt, [](int64_t e) { return e == 0 ? 1.0 : std::nan(""); });
  sched.step();
  w.set_grad(ones({1}, kFloat64));
  CHECK_THROWS_WITH_ALL(opt.step(), "SGD", "invalid learning rate: nan");
  CHECK(w.item<double>() == 1.0);
}

TEST_CASE("a loaded NaN, infinite or negative base lr is refused, changing nothing") {
  TwoGroups first;
  optim::StepLR a(first.opt, 2, 0.5);
  for (int e = 0; e < 3; ++e) a.step();
  TwoGroups second;
  optim::StepLR b(second.opt, 2, 0.5);
  b.step();
  const std::vector<double> lrs = b.get_last_lr();
  for (double bad : {std::nan(""), kInf, -kInf, -0.1}) {
    CAPTURE(bad);
    TensorDict dict = a.state_dict();
    dict[1].second = tensor<double>({0.1, bad});
    CHECK_THROWS_WITH_ALL(b.load_state_dict(dict), "LRScheduler", "base_lrs[1]",
                          "must be a finite non-negative learning rate");
    CHECK(b.last_epoch() == 1);
    CHECK(b.base_lrs() == std::vector<double>{0.1, 0.3});
    CHECK(b.get_last_lr() == lrs);
    CHECK(second.opt.param_groups()[1].options().get_lr() == lrs[1]);
  }
  b.load_state_dict(a.state_dict());  // the same dict with valid values loads
  CHECK(b.last_epoch() == 3);
}

TEST_CASE("a scheduler whose optimizer gained a group since refuses to load, changing nothing") {
  TwoGroups setup;
  optim::ExponentialLR sched(setup.opt, 0.5);
  sched.step();
  const TensorDict dict = sched.state_dict();
  setup.opt.add_param_group(std::vector<Tensor>{zeros({1}).requires_grad_()});
  CHECK_THROWS_WITH_ALL(sched.load_state_dict(dict), "LRScheduler", "the optimizer has 3 parameter groups",
                        "made for 2");
  CHECK(sched.last_epoch() == 1);
  CHECK(setup.opt.param_groups()[2].options().get_lr() == 0.1);
}
