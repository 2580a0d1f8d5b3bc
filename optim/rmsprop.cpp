// RMSprop: option checks and one rmsprop_update kernel call per parameter.
#include "optim/rmsprop.h"

#include "backends/kernels.h"

namespace tg::optim {

std::vector<std::pair<std::string, double>> RMSpropOptions::values() const {
  return {{"lr", lr_}, {"alpha", alpha_}, {"eps", eps_}, {"weight_decay", weight_decay_},
          {"momentum", momentum_}, {"centered", centered_ ? 1.0 : 0.0}};
}

void RMSpropOptions::set_values(const std::map<std::string, double>& v) {
  lr_ = v.at("lr");
  alpha_ = v.at("alpha");
  eps_ = v.at("eps");
  weight_decay_ = v.at("weight_decay");
  momentum_ = v.at("momentum");
  centered_ = flag_value(v, "centered");
}

void RMSpropOptions::validate() const {
  // Written as x >= 0 so NaN fails too.
  TG_CHECK(lr_ >= 0, "RMSprop", "invalid learning rate: ", lr_, " (must be a non-negative number)");
  TG_CHECK(eps_ >= 0, "RMSprop", "invalid epsilon value: ", eps_);
  TG_CHECK(momentum_ >= 0, "RMSprop", "invalid momentum value: ", momentum_);
  TG_CHECK(weight_decay_ >= 0, "RMSprop", "invalid weight_decay value: ", weight_decay_);
  TG_CHECK(alpha_ >= 0, "RMSprop", "invalid alpha value: ", alpha_);
}

RMSprop::RMSprop(std::vector<OptimizerParamGroup> groups, const RMSpropOptions& defaults)
    : Optimizer(std::move(groups), defaults.clone(), "RMSprop") {}
RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults)
    : RMSprop(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void RMSprop::update(const Tensor& param, const Tensor& grad, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  const Tensor square_avg = state.buffer("square_avg", param);
  const Tensor momentum_buffer = o.momentum() > 0 ? state.buffer("momentum_buffer", param) : Tensor();
  const Tensor grad_avg = o.centered() ? state.buffer("grad_avg", param) : Tensor();
  const kernel::RmspropUpdate h{o.lr(), o.alpha(), o.eps(), o.weight_decay(), o.momentum(), o.centered()};
  TG_KERNEL(rmsprop_update, param)(param, grad, square_avg, momentum_buffer, grad_avg, h);
}

}  // namespace tg::optim
