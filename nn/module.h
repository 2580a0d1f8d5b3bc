// tg::nn::Module: the base of every layer (parameters, buffers, submodules, train/eval,
// state dicts, printing), and ModuleHolder, the shared-pointer wrapper that gives layers
// libtorch's value syntax: tg::nn::Linear fc(3, 4); fc->forward(x).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/npz.h"

namespace tg::nn {

template <typename Impl>
class ModuleHolder;

class Module : public std::enable_shared_from_this<Module> {
 public:
  // `type_name` is what printing shows ("Linear", "Sequential").
  explicit Module(std::string type_name = "Module");
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return type_name_; }

  // ---- registration (names are non-empty, without dots, unique within this module) ----
  // Returns a handle to the registered tensor (sharing its state, as libtorch does).
  Tensor register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  Tensor register_buffer(std::string name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }
  template <typename Holder>
    requires std::is_base_of_v<ModuleHolder<typename Holder::ContainedType>, Holder>
  Holder register_module(std::string name, Holder holder) {
    add_child(std::move(name), holder.ptr());
    return holder;
  }

  // ---- traversal: dotted names as PyTorch prints them ("main.0.weight") ----
  std::vector<Tensor> parameters(bool recurse = true) const;
  TensorDict named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  TensorDict named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // This module and every descendant, depth first (the root first, named "").
  std::vector<std::shared_ptr<Module>> modules();
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();

  // ---- modes and conversion ----
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Converts floating parameters and buffers in place (every handle sees the new data);
  // integer buffers (num_batches_tracked) keep their dtype, as in PyTorch.
  void to(Device device, DType dtype);
  void to(DType dtype);
  void to(Device device);
  // set_to_none (the default, as PyTorch 2) drops gradients; otherwise zeroes them.
  void zero_grad(bool set_to_none = true);
  // Calls fn on this module and then on every descendant, depth first.
  void apply(const std::function<void(Module&)>& fn);

  // ---- state ----
  // Parameters then buffers of this module, then each child's under "<child>.", as PyTorch.
  TensorDict state_dict() const;
  // Copies matching entries in. Throws tg::Error listing missing and unexpected keys and
  // every shape or dtype mismatch; a failed load changes nothing.
  void load_state_dict(const TensorDict& dict);
  // The checks of load_state_dict alone (Checkpoint validates every part before loading any).
  void check_state_dict(const TensorDict& dict) const;

  // ---- printing ----
  // The options shown between the parentheses, as PyTorch's extra_repr:
  // "in_features=3, out_features=4, bias=True" for Linear; empty by default.
  virtual std::string extra_repr() const { return ""; }

 private:
  void add_child(std::string name, std::shared_ptr<Module> child);
  void convert_data(const std::function<Tensor(const Tensor&)>& convert);
  void check_new_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, bool recurse, bool params, TensorDict& out) const;

  std::string type_name_;
  bool training_ = true;
  TensorDict parameters_;
  TensorDict buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Drops (set_to_none) or zeroes the gradients of `params`; a gradient with history
// (create_graph) is replaced by zeros, never written through. Module and Optimizer use it.
void zero_grad(const std::vector<Tensor>& params, bool set_to_none = true);

// Prints the module tree as PyTorch's repr:
//   Sequential(
//     (0): Linear(in_features=3, out_features=4, bias=True)
//     (1): ReLU()
//   )
std::ostream& operator<<(std::ostream& os, const Module& module);

// A table of every module (name, description, own parameter count) and the totals.
std::string summary(const Module& module);

// The libtorch module-holder pattern: a value type that owns a shared_ptr<Impl>.
// `Linear fc(3, 4)` constructs LinearImpl(3, 4); `Linear fc{nullptr}` is empty.
template <typename Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;

  ModuleHolder() requires std::is_default_constructible_v<Impl> : impl_(std::make_shared<Impl>()) {}
  ModuleHolder(std::nullptr_t) {}  // NOLINT: libtorch's empty holder
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT
  template <typename Head, typename... Tail>
    requires(!std::is_same_v<std::decay_t<Head>, ModuleHolder> &&
             !std::is_same_v<std::decay_t<Head>, std::nullptr_t> &&
             !std::is_convertible_v<Head, std::shared_ptr<Impl>> &&
             std::is_constructible_v<Impl, Head, Tail...>)
  explicit ModuleHolder(Head&& head, Tail&&... tail)
      : impl_(std::make_shared<Impl>(std::forward<Head>(head), std::forward<Tail>(tail)...)) {}

  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  Impl* get() const {
    TG_CHECK(impl_ != nullptr, "ModuleHolder", "accessing an empty module holder (made from nullptr)");
    return impl_.get();
  }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return !is_empty(); }
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) const {
    return get()->forward(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<Impl> impl_;
};

template <typename Impl>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<Impl>& holder) {
  return os << *holder;
}

}  // namespace tg::nn

// TG_MODULE(Linear) declares tg::nn::Linear as the holder of LinearImpl (libtorch's TORCH_MODULE).
#define TG_MODULE(Name)                                       \
  class Name : public ::tg::nn::ModuleHolder<Name##Impl> {    \
   public:                                                    \
    using ::tg::nn::ModuleHolder<Name##Impl>::ModuleHolder;   \
  }
