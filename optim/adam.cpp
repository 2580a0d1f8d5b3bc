// Adam and AdamW: option checks and one adam_update kernel call per parameter. The two
// differ only in where weight decay acts (the gradient, or the parameter directly).
#include "optim/adam.h"

#include <cmath>

#include "backends/kernels.h"

namespace tg::optim {
namespace {

template <typename O>
std::vector<std::pair<std::string, double>> adam_values(const O& o) {
  return {{"lr", o.lr()}, {"beta1", std::get<0>(o.betas())}, {"beta2", std::get<1>(o.betas())},
          {"eps", o.eps()}, {"weight_decay", o.weight_decay()}, {"amsgrad", o.amsgrad() ? 1.0 : 0.0}};
}

template <typename O>
void set_adam_values(O& o, const std::map<std::string, double>& v) {
  o.lr(v.at("lr"));
  o.betas(std::make_tuple(v.at("beta1"), v.at("beta2")));
  o.eps(v.at("eps"));
  o.weight_decay(v.at("weight_decay"));
  o.amsgrad(flag_value(v, "amsgrad"));
}

template <typename O>
void validate_adam(const O& o, const char* name) {
  const auto [beta1, beta2] = o.betas();
  // Written as x >= 0 so NaN fails too.
  TG_CHECK(o.lr() >= 0, name, "invalid learning rate: ", o.lr(), " (must be a non-negative number)");
  TG_CHECK(o.eps() >= 0, name, "invalid epsilon value: ", o.eps());
  TG_CHECK(beta1 >= 0 && beta1 < 1, name, "invalid beta parameter at index 0: ", beta1, " (must be in [0, 1))");
  TG_CHECK(beta2 >= 0 && beta2 < 1, name, "invalid beta parameter at index 1: ", beta2, " (must be in [0, 1))");
  TG_CHECK(o.weight_decay() >= 0, name, "invalid weight_decay value: ", o.weight_decay());
}

template <typename O>
void adam_step(const Tensor& param, const Tensor& grad, ParamState& state, const O& o, bool decoupled) {
  const Tensor m = state.buffer("exp_avg", param), v = state.buffer("exp_avg_sq", param);
  const Tensor vmax = o.amsgrad() ? state.buffer("max_exp_avg_sq", param) : Tensor();
  const kernel::AdamUpdate h{o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()), o.eps(),
                             o.weight_decay(), o.amsgrad(), decoupled, state.step};
  TG_KERNEL(adam_update, param)(param, grad, m, v, vmax, h);
}

}  // namespace

std::vector<std::pair<std::string, double>> AdamOptions::values() const { return adam_values(*this); }
void AdamOptions::set_values(const std::map<std::string, double>& v) { set_adam_values(*this, v); }
void AdamOptions::validate() const { validate_adam(*this, "Adam"); }
std::vector<std::pair<std::string, double>> AdamWOptions::values() const { return adam_values(*this); }
void AdamWOptions::set_values(const std::map<std::string, double>& v) { set_adam_values(*this, v); }
void AdamWOptions::validate() const { validate_adam(*this, "AdamW"); }

Adam::Adam(std::vector<OptimizerParamGroup> groups, const AdamOptions& defaults)
    : Optimizer(std::move(groups), defaults.clone(), "Adam") {}
Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void Adam::update(const Tensor& param, const Tensor& grad, ParamState& state, const OptimizerOptions& options) {
  adam_step(param, grad, state, static_cast<const AdamOptions&>(options), false);
}

std::vector<std::string> Adam::state_names() const { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

AdamW::AdamW(std::vector<OptimizerParamGroup> groups, const AdamWOptions& defaults)
    : Optimizer(std::move(groups), defaults.clone(), "AdamW") {}
AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void AdamW::update(const Tensor& param, const Tensor& grad, ParamState& state, const OptimizerOptions& options) {
  adam_step(param, grad, state, static_cast<const AdamWOptions&>(options), true);
}

std::vector<std::string> AdamW::state_names() const { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }

}  // namespace tg::optim
