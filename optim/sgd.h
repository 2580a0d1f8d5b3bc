// SGD with momentum, dampening, Nesterov momentum and L2 weight decay (torch::optim::SGD).
#pragma once

#include "nn/arg.h"
#include "optim/optimizer.h"

namespace tg::optim {

struct SGDOptions : OptimizerOptions {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: SGD(params, 0.1)
  TG_ARG(double, lr);
  TG_ARG(double, momentum) = 0;
  TG_ARG(double, dampening) = 0;
  TG_ARG(double, weight_decay) = 0;
  TG_ARG(bool, nesterov) = false;

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<SGDOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::vector<std::pair<std::string, double>> values() const override;
  void set_values(const std::map<std::string, double>& v) override;
  void validate() const override;
};

// State per parameter: "momentum_buffer" (with momentum).
class SGD : public Optimizer {
 public:
  SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& defaults);
  SGD(std::vector<Tensor> params, const SGDOptions& defaults);

 protected:
  void update(const Tensor& param, const Tensor& grad, ParamState& state,
              const OptimizerOptions& options) override;
  std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }
};

}  // namespace tg::optim
