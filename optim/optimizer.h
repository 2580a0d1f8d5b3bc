// The optimizer base (torch::optim::Optimizer): parameter groups with their own options,
// per-parameter state, step() through a fused update kernel, zero_grad, and the state dict
// (a TensorDict) that checkpoints save.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/npz.h"

namespace tg::optim {

// Hyper-parameters of one parameter group. Each optimizer's options struct implements it.
struct OptimizerOptions {
  virtual ~OptimizerOptions() = default;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // Every hyper-parameter by name as a number (booleans 0 / 1), for state dicts.
  virtual std::vector<std::pair<std::string, double>> values() const = 0;
  virtual void set_values(const std::map<std::string, double>& values) = 0;
  // Throws tg::Error naming the optimizer and the invalid value (NaN or negative lr, ...).
  virtual void validate() const = 0;
};

// Parameters that share options; a group without options uses the optimizer's defaults.
class OptimizerParamGroup {
 public:
  OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}  // NOLINT
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options)
      : params_(std::move(params)), options_(std::move(options)) {}
  OptimizerParamGroup(const OptimizerParamGroup& other);
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) = default;

  bool has_options() const { return options_ != nullptr; }
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

// What an optimizer keeps for one parameter: its step count and named buffers
// ("momentum_buffer", "exp_avg", ...), all of the parameter's shape and dtype.
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;
  // The named buffer, created as zeros like `param` on first use.
  Tensor buffer(const std::string& name, const Tensor& param);
};

class Optimizer {
 public:
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient (parameters without one are skipped,
  // as in PyTorch). With a closure, it first re-evaluates the loss (grad mode on) and
  // returns it.
  Tensor step(const std::function<Tensor()>& closure = nullptr);
  // set_to_none (the default, as PyTorch 2) drops the gradients; otherwise zeroes them.
  void zero_grad(bool set_to_none = true);
  void add_param_group(const OptimizerParamGroup& group);

  std::vector<OptimizerParamGroup>& param_groups() { return groups_; }
  const std::vector<OptimizerParamGroup>& param_groups() const { return groups_; }
  const OptimizerOptions& defaults() const { return *defaults_; }
  std::vector<Tensor> parameters() const;
  // State of a parameter (nullptr before its first step).
  const ParamState* state(const Tensor& param) const;

  // "state.<i>.step" (int64) and "state.<i>.<buffer>" for the i-th parameter over all
  // groups in order, "param_groups.<g>.params" (int64 indices) and "param_groups.<g>.<option>"
  // (float64), as PyTorch's optimizer state_dict. Tensors share the optimizer's storage.
  TensorDict state_dict() const;
  // Validates everything (group layout, options, state names, shapes, dtypes) and then loads;
  // a failed load throws tg::Error listing the problems and changes nothing.
  void load_state_dict(const TensorDict& dict);
  void check_state_dict(const TensorDict& dict) const;

 protected:
  Optimizer(std::vector<OptimizerParamGroup> groups, std::unique_ptr<OptimizerOptions> defaults,
            const char* name);
  // The optimizer's own step for one parameter: creates missing state buffers and calls its
  // fused kernel once. Runs under NoGradGuard; state.step is already incremented.
  virtual void update(const Tensor& param, const Tensor& grad, ParamState& state,
                      const OptimizerOptions& options) = 0;
  // The state buffers this optimizer may keep (load_state_dict accepts only these).
  virtual std::vector<std::string> state_names() const = 0;
  const char* name() const { return name_; }

 private:
  struct LoadPlan;
  LoadPlan plan_load(const TensorDict& dict) const;

  const char* name_;
  std::unique_ptr<OptimizerOptions> defaults_;
  std::vector<OptimizerParamGroup> groups_;
  std::map<const TensorImpl*, ParamState> state_;
};

// A boolean option as set_values reads it back from a state dict: 0 or 1, else tg::Error.
bool flag_value(const std::map<std::string, double>& values, const std::string& name);

// The options of a group as their concrete type (the optimizer's own options struct).
template <typename Options>
Options& options_of(OptimizerParamGroup& group) {
  auto* o = dynamic_cast<Options*>(&group.options());
  TG_CHECK(o != nullptr, "param_groups", "the group's options are of another optimizer's type");
  return *o;
}

}  // namespace tg::optim
