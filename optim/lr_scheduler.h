// Learning-rate schedulers (torch.optim.lr_scheduler): StepLR, ExponentialLR,
// CosineAnnealingLR, LinearLR (warm-up) and LambdaLR. Each sets every group's lr to
// lr_at(epoch, base_lr) in closed form (PyTorch's _get_closed_form_lr), with base_lr the
// group's lr when the scheduler was made. As in PyTorch, making one applies epoch 0, and
// step() (after optimizer.step()) advances one epoch.
#pragma once

#include <functional>
#include <vector>

#include "optim/optimizer.h"

namespace tg::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  void step();
  std::vector<double> get_last_lr() const { return last_lrs_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  // "last_epoch" (int64) and "base_lrs" (float64): enough to resume, the formulas being closed.
  TensorDict state_dict() const;
  void load_state_dict(const TensorDict& dict);  // all or nothing
  void check_state_dict(const TensorDict& dict) const;

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // Every derived constructor ends with start(): it applies epoch 0.
  void start();
  virtual double lr_at(int64_t epoch, double base_lr, size_t group) const = 0;

 private:
  void apply();
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;
  int64_t last_epoch_ = 0;
};

// lr = base_lr * gamma^(epoch / step_size) (integer division).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(int64_t epoch, double base_lr, size_t group) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base_lr * gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(int64_t epoch, double base_lr, size_t group) const override;

 private:
  double gamma_;
};

// SGDR without restarts (Loshchilov & Hutter 2017):
// lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);

 protected:
  double lr_at(int64_t epoch, double base_lr, size_t group) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// Linear warm-up: the factor goes from start_factor to end_factor over total_iters epochs,
// lr = base_lr (start + (end - start) min(epoch, total_iters) / total_iters).
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0,
           int64_t total_iters = 5);

 protected:
  double lr_at(int64_t epoch, double base_lr, size_t group) const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

// lr = base_lr * lr_lambda(epoch), one function for all groups or one per group.
class LambdaLR : public LRScheduler {
 public:
  using Lambda = std::function<double(int64_t)>;
  LambdaLR(Optimizer& optimizer, Lambda lr_lambda);
  LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);

 protected:
  double lr_at(int64_t epoch, double base_lr, size_t group) const override;

 private:
  std::vector<Lambda> lambdas_;
};

}  // namespace tg::optim
