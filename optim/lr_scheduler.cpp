// The schedulers' closed forms and the shared epoch bookkeeping.
#include "optim/lr_scheduler.h"

#include <cmath>
#include <limits>

#include "autograd/ops.h"

namespace tg::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (const auto& g : optimizer_.param_groups()) base_lrs_.push_back(g.options().get_lr());
}

void LRScheduler::start() { apply(); }

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

void LRScheduler::apply() {
  auto& groups = optimizer_.param_groups();
  TG_CHECK(groups.size() == base_lrs_.size(), "LRScheduler", "the optimizer has ", groups.size(),
           " parameter groups but the scheduler was made for ", base_lrs_.size());
  last_lrs_.clear();
  for (size_t g = 0; g < groups.size(); ++g) {
    last_lrs_.push_back(lr_at(last_epoch_, base_lrs_[g], g));
    groups[g].options().set_lr(last_lrs_.back());
  }
}

TensorDict LRScheduler::state_dict() const {
  return {{"last_epoch", tensor<int64_t>({last_epoch_}, {})}, {"base_lrs", tensor<double>(base_lrs_)}};
}

void LRScheduler::check_state_dict(const TensorDict& dict) const {
  Tensor epoch, base;
  for (const auto& [key, t] : dict) {
    if (key == "last_epoch") epoch = t;
    else if (key == "base_lrs") base = t;
    else TG_ERROR("LRScheduler", "cannot load the scheduler state: unexpected key ", key);
  }
  // Below the int64 maximum: the next step() counts one more.
  TG_CHECK(epoch.defined() && epoch.dtype() == kInt64 && epoch.numel() == 1 && epoch.item<int64_t>() >= 0 &&
               epoch.item<int64_t>() < std::numeric_limits<int64_t>::max(),
           "LRScheduler", "cannot load the scheduler state: last_epoch must be a non-negative int64 "
           "scalar below 2^63 - 1, got ", epoch.str());
  TG_CHECK(base.defined() && base.dtype() == kFloat64 && base.dim() == 1 &&
               base.numel() == static_cast<int64_t>(base_lrs_.size()),
           "LRScheduler", "cannot load the scheduler state: base_lrs must be float64[", base_lrs_.size(),
           "] (one per parameter group), got ", base.str());
  const std::vector<double> lrs = base.to_vector<double>();
  for (size_t g = 0; g < lrs.size(); ++g)
    TG_CHECK(std::isfinite(lrs[g]) && lrs[g] >= 0, "LRScheduler", "cannot load the scheduler state: base_lrs[", g,
             "] must be a finite non-negative learning rate, got ", lrs[g]);
  // apply() after the load sets one lr per group: a group added since would fail half-way.
  TG_CHECK(optimizer_.param_groups().size() == base_lrs_.size(), "LRScheduler",
           "cannot load the scheduler state: the optimizer has ", optimizer_.param_groups().size(),
           " parameter groups but the scheduler was made for ", base_lrs_.size());
}

void LRScheduler::load_state_dict(const TensorDict& dict) {
  check_state_dict(dict);
  for (const auto& [key, t] : dict) {
    if (key == "last_epoch") last_epoch_ = t.item<int64_t>();
    else base_lrs_ = t.to_vector<double>();
  }
  apply();
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  TG_CHECK(step_size > 0, "StepLR", "step_size must be positive, got ", step_size);
  start();
}

double StepLR::lr_at(int64_t epoch, double base_lr, size_t) const {
  return base_lr * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  start();
}

double ExponentialLR::lr_at(int64_t epoch, double base_lr, size_t) const {
  return base_lr * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  TG_CHECK(T_max > 0, "CosineAnnealingLR", "T_max must be positive, got ", T_max);
  start();
}

double CosineAnnealingLR::lr_at(int64_t epoch, double base_lr, size_t) const {
  const double phase = M_PI * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr - eta_min_) * (1 + std::cos(phase)) / 2;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  TG_CHECK(start_factor > 0 && start_factor <= 1, "LinearLR", "start_factor expected to be greater "
           "than 0 and less or equal to 1, got ", start_factor);
  TG_CHECK(end_factor >= 0 && end_factor <= 1, "LinearLR", "end_factor expected to be between 0 "
           "and 1, got ", end_factor);
  TG_CHECK(total_iters > 0, "LinearLR", "total_iters must be positive, got ", total_iters);
  start();
}

double LinearLR::lr_at(int64_t epoch, double base_lr, size_t) const {
  const double progress = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
  return base_lr * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda)
    : LambdaLR(optimizer, std::vector<Lambda>(optimizer.param_groups().size(), std::move(lr_lambda))) {}

LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : LRScheduler(optimizer), lambdas_(std::move(lr_lambdas)) {
  TG_CHECK(lambdas_.size() == optimizer.param_groups().size(), "LambdaLR", "expected ",
           optimizer.param_groups().size(), " lr_lambdas (one per parameter group), got ", lambdas_.size());
  for (const auto& f : lambdas_) TG_CHECK(f != nullptr, "LambdaLR", "an lr_lambda is empty");
  start();
}

double LambdaLR::lr_at(int64_t epoch, double base_lr, size_t group) const {
  return base_lr * lambdas_[group](epoch);
}

}  // namespace tg::optim
