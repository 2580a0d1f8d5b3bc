// Adam (Kingma & Ba 2015) with L2 weight decay and AMSGrad, and AdamW with decoupled weight
// decay (Loshchilov & Hutter 2019), as torch::optim::Adam / AdamW.
#pragma once

#include <tuple>

#include "nn/arg.h"
#include "optim/optimizer.h"

namespace tg::optim {

struct AdamOptions : OptimizerOptions {
  using Betas = std::tuple<double, double>;
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT
  TG_ARG(double, lr);
  TG_ARG(Betas, betas) = std::make_tuple(0.9, 0.999);
  TG_ARG(double, eps) = 1e-8;
  TG_ARG(double, weight_decay) = 0;
  TG_ARG(bool, amsgrad) = false;

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdamOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::vector<std::pair<std::string, double>> values() const override;
  void set_values(const std::map<std::string, double>& v) override;
  void validate() const override;
};

// The same options with AdamW's default weight decay, 1e-2.
struct AdamWOptions : OptimizerOptions {
  using Betas = std::tuple<double, double>;
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT
  TG_ARG(double, lr);
  TG_ARG(Betas, betas) = std::make_tuple(0.9, 0.999);
  TG_ARG(double, eps) = 1e-8;
  TG_ARG(double, weight_decay) = 1e-2;
  TG_ARG(bool, amsgrad) = false;

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdamWOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::vector<std::pair<std::string, double>> values() const override;
  void set_values(const std::map<std::string, double>& v) override;
  void validate() const override;
};

// State per parameter: "exp_avg", "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq".
class Adam : public Optimizer {
 public:
  Adam(std::vector<OptimizerParamGroup> groups, const AdamOptions& defaults = {});
  Adam(std::vector<Tensor> params, const AdamOptions& defaults = {});

 protected:
  void update(const Tensor& param, const Tensor& grad, ParamState& state,
              const OptimizerOptions& options) override;
  std::vector<std::string> state_names() const override;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<OptimizerParamGroup> groups, const AdamWOptions& defaults = {});
  AdamW(std::vector<Tensor> params, const AdamWOptions& defaults = {});

 protected:
  void update(const Tensor& param, const Tensor& grad, ParamState& state,
              const OptimizerOptions& options) override;
  std::vector<std::string> state_names() const override;
};

}  // namespace tg::optim
