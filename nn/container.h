// Containers: Sequential (modules applied in order, children named "0", "1", ...) and
// Functional (a function wrapped as a module), as libtorch's.
#pragma once

#include <concepts>
#include <functional>

#include "nn/module.h"

namespace tg::nn {

// A module type whose forward maps one tensor to one tensor.
template <typename M>
concept TensorToTensorModule = std::derived_from<M, Module> && requires(M& m, const Tensor& x) {
  { m.forward(x) } -> std::convertible_to<Tensor>;
};

// What Sequential accepts: a module holder or a shared_ptr of such a module.
template <typename T>
concept HolderOfTensorModule = requires { typename T::ContainedType; } &&
                               std::derived_from<T, ModuleHolder<typename T::ContainedType>> &&
                               TensorToTensorModule<typename T::ContainedType>;
template <typename T>
concept SharedTensorModule = requires { typename T::element_type; } &&
                             std::same_as<T, std::shared_ptr<typename T::element_type>> &&
                             TensorToTensorModule<typename T::element_type>;
template <typename T>
concept SequentialItem = HolderOfTensorModule<T> || SharedTensorModule<T>;

class SequentialImpl : public Module {
 public:
  SequentialImpl() : Module("Sequential") {}
  template <typename... Items>
    requires(sizeof...(Items) > 0 && (SequentialItem<std::decay_t<Items>> && ...))
  explicit SequentialImpl(Items&&... items) : SequentialImpl() {
    (push_back(std::forward<Items>(items)), ...);
  }

  // Appends a module, named by its index ("0", "1", ...) or by `name`.
  template <TensorToTensorModule M>
  void push_back(std::shared_ptr<M> module) {
    push_back(std::to_string(entries_.size()), std::move(module));
  }
  template <TensorToTensorModule M>
  void push_back(std::string name, std::shared_ptr<M> module) {
    register_module(std::move(name), module);
    entries_.push_back({module, [module](const Tensor& x) { return Tensor(module->forward(x)); }});
  }
  template <typename M>
  void push_back(const ModuleHolder<M>& holder) { push_back(holder.ptr()); }
  template <typename M>
  void push_back(std::string name, const ModuleHolder<M>& holder) { push_back(std::move(name), holder.ptr()); }

  // Each module's forward in order.
  Tensor forward(const Tensor& x);

  size_t size() const { return entries_.size(); }
  bool is_empty() const { return entries_.empty(); }
  std::shared_ptr<Module> operator[](size_t index) const { return ptr(index); }
  std::shared_ptr<Module> ptr(size_t index) const;
  // The module at `index` as its concrete type; a tg::Error if it is another type.
  template <typename M>
  M& at(size_t index) const {
    auto* m = dynamic_cast<M*>(ptr(index).get());
    TG_CHECK(m != nullptr, "Sequential::at", "module ", index, " is a ", ptr(index)->name(),
             ", not the type asked for");
    return *m;
  }

 private:
  struct Entry {
    std::shared_ptr<Module> module;
    std::function<Tensor(const Tensor&)> forward;
  };
  std::vector<Entry> entries_;
};
TG_MODULE(Sequential);

// Wraps a function of a tensor, with extra arguments bound after it:
//   Functional(tg::relu), Functional(tg::leaky_relu, 0.2), Functional([](const Tensor& x) {...}).
class FunctionalImpl : public Module {
 public:
  using Function = std::function<Tensor(const Tensor&)>;
  explicit FunctionalImpl(Function function);
  template <typename F, typename Arg, typename... Args>
  FunctionalImpl(F function, Arg arg, Args... args)
      : FunctionalImpl(Function([=](const Tensor& x) { return function(x, arg, args...); })) {}

  Tensor forward(const Tensor& x);

 private:
  Function function_;
};
TG_MODULE(Functional);

}  // namespace tg::nn
