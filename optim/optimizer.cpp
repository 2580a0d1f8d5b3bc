// Optimizer: parameter groups, the step loop around each optimizer's fused update, and the
// state dict (save, validate, load all or nothing).
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/module.h"

namespace tg::optim {
namespace {

// "12.rest" -> 12 and the position after the dot; nullopt unless digits then a dot.
std::optional<std::pair<int64_t, std::string>> split_index(const std::string& s) {
  const size_t dot = s.find('.');
  // More than 18 digits cannot be an index (and could overflow std::stoll).
  if (dot == 0 || dot > 18 || dot == std::string::npos || dot + 1 == s.size()) return std::nullopt;
  for (size_t i = 0; i < dot; ++i)
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  return std::make_pair(std::stoll(s.substr(0, dot)), s.substr(dot + 1));
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

bool flag_value(const std::map<std::string, double>& values, const std::string& name) {
  const double v = values.at(name);
  TG_CHECK(v == 0 || v == 1, "load_state_dict", "the flag ", name, " must be 0 or 1, got ", v);
  return v == 1;
}

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  params_ = other.params_;
  options_ = other.options_ ? other.options_->clone() : nullptr;
  return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
  TG_CHECK(options_ != nullptr, "OptimizerParamGroup", "this group has no options yet (it gets "
           "the optimizer's defaults when added to one)");
  return *options_;
}

const OptimizerOptions& OptimizerParamGroup::options() const {
  return const_cast<OptimizerParamGroup*>(this)->options();
}

Tensor ParamState::buffer(const std::string& name, const Tensor& param) {
  auto it = buffers.find(name);
  return it != buffers.end() ? it->second : (buffers[name] = zeros_like(param));
}

Optimizer::Optimizer(std::vector<OptimizerParamGroup> groups, std::unique_ptr<OptimizerOptions> defaults,
                     const char* name)
    : name_(name), defaults_(std::move(defaults)) {
  defaults_->validate();
  TG_CHECK(!groups.empty(), name_, "optimizer got an empty parameter list");
  for (const auto& g : groups) add_param_group(g);
}

void Optimizer::add_param_group(const OptimizerParamGroup& group) {
  OptimizerParamGroup g = group;
  if (!g.has_options()) g.set_options(defaults_->clone());
  g.options().validate();
  TG_CHECK(!g.params().empty(), name_, "parameter group ", groups_.size(), " is empty");
  std::set<const TensorImpl*> seen;
  for (const Tensor& p : parameters()) seen.insert(p.impl());
  for (size_t i = 0; i < g.params().size(); ++i) {
    const Tensor& p = g.params()[i];
    TG_CHECK(p.defined() && is_floating(p.dtype()), name_, "can only optimize float tensors, but "
             "parameter ", i, " of group ", groups_.size(), " is ", p.str());
    TG_CHECK(p.is_leaf(), name_, "can't optimize a non-leaf tensor (parameter ", i, " of group ",
             groups_.size(), " was made by ", p.grad_fn_name(), ")");
    TG_CHECK(seen.insert(p.impl()).second, name_, "some parameters appear more than once (parameter ",
             i, " of group ", groups_.size(), " ", p.str(), ")");
  }
  groups_.push_back(std::move(g));
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params().begin(), g.params().end());
  return out;
}

const ParamState* Optimizer::state(const Tensor& param) const {
  auto it = state_.find(param.impl());
  return it == state_.end() ? nullptr : &it->second;
}

void Optimizer::zero_grad(bool set_to_none) { nn::zero_grad(parameters(), set_to_none); }

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  if (closure) {
    AutoGradMode enable(true);
    loss = closure();
  }
  // Every group's options are checked first, so a bad one (a scheduler's NaN) updates nothing.
  for (const auto& g : groups_) g.options().validate();
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& group = groups_[gi];
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& p = group.params()[i];
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      TG_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype() && grad.device() == p.device(),
               name_, "the gradient ", grad.str(), " of parameter ", i, " of group ", gi,
               " does not match the parameter ", p.str());
      ParamState& s = state_[p.impl()];
      ++s.step;
      update(p, grad, s, group.options());
      p.impl()->storage->bump_version();
      for (auto& [name, buf] : s.buffers) buf.impl()->storage->bump_version();
    }
  }
  return loss;
}

TensorDict Optimizer::state_dict() const {
  TensorDict states, groups;
  int64_t index = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::vector<int64_t> indices;
    for (const Tensor& p : groups_[g].params()) {
      indices.push_back(index);
      if (const ParamState* s = state(p)) {
        const std::string prefix = "state." + std::to_string(index) + ".";
        states.emplace_back(prefix + "step", tensor<int64_t>({s->step}, {}));
        for (const auto& [name, buf] : s->buffers) states.emplace_back(prefix + name, buf.detach());
      }
      ++index;
    }
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    groups.emplace_back(prefix + "params", tensor<int64_t>(indices));
    for (const auto& [name, v] : groups_[g].options().values())
      groups.emplace_back(prefix + name, scalar_tensor(v, kFloat64));
  }
  states.insert(states.end(), groups.begin(), groups.end());
  return states;
}

struct Optimizer::LoadPlan {
  std::vector<std::unique_ptr<OptimizerOptions>> options;
  std::map<const TensorImpl*, ParamState> state;
};

Optimizer::LoadPlan Optimizer::plan_load(const TensorDict& dict) const {
  const std::vector<Tensor> params = parameters();
  const auto n_params = static_cast<int64_t>(params.size());
  const std::vector<std::string> names = state_names();
  std::vector<std::string> problems;
  std::vector<std::map<std::string, double>> group_values(groups_.size());
  std::set<std::string> seen;
  LoadPlan plan;
  std::map<int64_t, ParamState> loaded;
  std::set<int64_t> with_step;

  for (const auto& [key, t] : dict) {
    if (!seen.insert(key).second) {
      problems.push_back("duplicate key " + key);
      continue;
    }
    if (!t.defined()) {
      problems.push_back(key + " is an undefined tensor");
      continue;
    }
    const bool is_state = starts_with(key, "state."), is_group = starts_with(key, "param_groups.");
    auto parsed = split_index(key.substr(is_state ? 6 : is_group ? 13 : 0));
    if ((!is_state && !is_group) || !parsed) {
      problems.push_back("unexpected key " + key);
      continue;
    }
    const auto [index, field] = *parsed;
    if (is_group) {
      if (index >= static_cast<int64_t>(groups_.size())) {
        problems.push_back("unexpected key " + key + " (the optimizer has " +
                           std::to_string(groups_.size()) + " parameter groups)");
      } else if (field == "params") {
        std::vector<int64_t> want;
        int64_t first = 0;
        for (size_t g = 0; g < static_cast<size_t>(index); ++g) first += static_cast<int64_t>(groups_[g].params().size());
        for (size_t i = 0; i < groups_[index].params().size(); ++i) want.push_back(first + static_cast<int64_t>(i));
        if (t.dtype() != kInt64 || t.dim() != 1 || t.to_vector<int64_t>() != want)
          problems.push_back(key + ": the group's parameters " + t.str() + " do not match the optimizer's " +
                             std::to_string(want.size()) + " parameters");
      } else if (t.numel() != 1) {
        problems.push_back(key + ": expected one value, got " + t.str());
      } else if (!std::isfinite(t.item<double>())) {
        problems.push_back(key + ": expected a finite number, got " + std::to_string(t.item<double>()));
      } else {
        group_values[index][field] = t.item<double>();
      }
      continue;
    }
    if (index >= n_params) {
      problems.push_back("unexpected key " + key + " (the optimizer has " + std::to_string(n_params) +
                         " parameters)");
      continue;
    }
    const Tensor& p = params[index];
    if (field == "step") {
      // Below the int64 maximum: the next step() counts one more.
      if (t.dtype() != kInt64 || t.numel() != 1 || t.item<int64_t>() < 1 ||
          t.item<int64_t>() == std::numeric_limits<int64_t>::max()) {
        problems.push_back(key + ": expected a positive int64 step count below 2^63 - 1, got " + t.str());
      } else {
        loaded[index].step = t.item<int64_t>();
        with_step.insert(index);
      }
    } else if (std::find(names.begin(), names.end(), field) == names.end()) {
      problems.push_back("unexpected key " + key + " (not a " + name_ + " state)");
    } else if (t.shape() != p.shape() || t.dtype() != p.dtype()) {
      problems.push_back(key + ": expected " + dtype_name(p.dtype()) + shape_str(p.shape()) + " like its parameter, got " +
                         t.str());
    } else {
      loaded[index].buffers[field] = t.detach().to(p.device()).clone();
    }
  }

  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    if (!seen.count(prefix + "params")) problems.push_back("missing key " + prefix + "params");
    auto options = groups_[g].options().clone();
    std::vector<std::string> unknown;
    std::map<std::string, double> values;
    for (const auto& [name, v] : options->values()) {
      auto it = group_values[g].find(name);
      if (it == group_values[g].end()) problems.push_back("missing key " + prefix + name);
      else values[name] = it->second;
    }
    for (const auto& [name, v] : group_values[g])
      if (!values.count(name)) problems.push_back("unexpected key " + prefix + name);
    if (values.size() == group_values[g].size() && values.size() == options->values().size()) {
      try {
        options->set_values(values);
        options->validate();
      } catch (const Error& e) {
        problems.push_back(prefix + "*: " + e.what());
      }
    }
    plan.options.push_back(std::move(options));
  }
  for (auto& [index, s] : loaded) {
    if (!with_step.count(index)) problems.push_back("missing key state." + std::to_string(index) + ".step");
    plan.state[params[index].impl()] = std::move(s);
  }
  if (!problems.empty()) {
    std::ostringstream os;
    for (size_t i = 0; i < problems.size(); ++i) os << (i ? "; " : "") << problems[i];
    TG_ERROR(name_, "cannot load the optimizer state dict (nothing was changed): ", os.str());
  }
  return plan;
}

void Optimizer::check_state_dict(const TensorDict& dict) const { (void)plan_load(dict); }

void Optimizer::load_state_dict(const TensorDict& dict) {
  LoadPlan plan = plan_load(dict);
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].set_options(std::move(plan.options[g]));
  state_ = std::move(plan.state);
}

}  // namespace tg::optim
