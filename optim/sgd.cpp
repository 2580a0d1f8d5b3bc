// SGD: option checks and one sgd_update kernel call per parameter.
#include "optim/sgd.h"

#include <cmath>

#include "backends/kernels.h"

namespace tg::optim {

std::vector<std::pair<std::string, double>> SGDOptions::values() const {
  return {{"lr", lr_}, {"momentum", momentum_}, {"dampening", dampening_},
          {"weight_decay", weight_decay_}, {"nesterov", nesterov_ ? 1.0 : 0.0}};
}

void SGDOptions::set_values(const std::map<std::string, double>& v) {
  lr_ = v.at("lr");
  momentum_ = v.at("momentum");
  dampening_ = v.at("dampening");
  weight_decay_ = v.at("weight_decay");
  nesterov_ = flag_value(v, "nesterov");
}

void SGDOptions::validate() const {
  // !(x >= 0) also rejects NaN.
  TG_CHECK(lr_ >= 0, "SGD", "invalid learning rate: ", lr_, " (must be a non-negative number)");
  TG_CHECK(momentum_ >= 0, "SGD", "invalid momentum value: ", momentum_);
  TG_CHECK(std::isfinite(dampening_), "SGD", "invalid dampening value: ", dampening_);
  TG_CHECK(weight_decay_ >= 0, "SGD", "invalid weight_decay value: ", weight_decay_);
  TG_CHECK(!nesterov_ || (momentum_ > 0 && dampening_ == 0), "SGD",
           "Nesterov momentum requires a momentum and zero dampening (momentum=", momentum_,
           ", dampening=", dampening_, ")");
}

SGD::SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& defaults)
    : Optimizer(std::move(groups), defaults.clone(), "SGD") {}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void SGD::update(const Tensor& param, const Tensor& grad, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const SGDOptions&>(options);
  // A new buffer starts as the first (undampened) gradient: the kernel overwrites it.
  const bool fresh = o.momentum() != 0 && !state.buffers.count("momentum_buffer");
  const Tensor buffer = o.momentum() != 0 ? state.buffer("momentum_buffer", param) : Tensor();
  const kernel::SgdUpdate h{o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), fresh};
  TG_KERNEL(sgd_update, param)(param, grad, buffer, h);
}

}  // namespace tg::optim
