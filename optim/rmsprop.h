// RMSprop (Hinton, Coursera lecture 6e) with momentum, the centered form (Graves 2013) and L2
// weight decay, as torch::optim::RMSprop.
#pragma once

#include "nn/arg.h"
#include "optim/optimizer.h"

namespace tg::optim {

struct RMSpropOptions : OptimizerOptions {
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT
  TG_ARG(double, lr);
  TG_ARG(double, alpha) = 0.99;
  TG_ARG(double, eps) = 1e-8;
  TG_ARG(double, weight_decay) = 0;
  TG_ARG(double, momentum) = 0;
  TG_ARG(bool, centered) = false;

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<RMSpropOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::vector<std::pair<std::string, double>> values() const override;
  void set_values(const std::map<std::string, double>& v) override;
  void validate() const override;
};

// State per parameter: "square_avg", "momentum_buffer" (with momentum), "grad_avg" (centered).
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<OptimizerParamGroup> groups, const RMSpropOptions& defaults = {});
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults = {});

 protected:
  void update(const Tensor& param, const Tensor& grad, ParamState& state,
              const OptimizerOptions& options) override;
  std::vector<std::string> state_names() const override {
    return {"square_avg", "momentum_buffer", "grad_avg"};
  }
};

}  // namespace tg::optim
