// Module: registration, traversal with dotted names, modes, dtype conversion, state dicts.
#include "nn/module.h"

#include <map>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace tg::nn {
namespace {

// Points every handle of `handle`'s impl at `data` (libtorch's set_data): the module's
// member tensors and its registry share one TensorImpl, so both see the conversion.
void set_data(const Tensor& handle, const Tensor& data) {
  TensorImpl& impl = *handle.impl();
  impl.storage = data.impl()->storage;
  impl.shape = data.shape();
  impl.strides = data.strides();
  impl.offset = data.storage_offset();
  impl.dtype = data.dtype();
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string s = "[";
  for (size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
  return s + "]";
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

void Module::check_new_name(const std::string& name, const char* what) const {
  TG_CHECK(!name.empty(), what, "the name must not be empty (in ", type_name_, ")");
  TG_CHECK(name.find('.') == std::string::npos, what, "the name must not contain a dot, got '",
           name, "' (in ", type_name_, ")");
  auto taken = [&](const auto& list) {
    for (const auto& [n, v] : list)
      if (n == name) return true;
    return false;
  };
  TG_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), what, "'", name,
           "' is already registered in ", type_name_);
}

Tensor Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "register_parameter");
  TG_CHECK(tensor.defined(), "register_parameter", "parameter '", name, "' is an undefined tensor");
  TG_CHECK(tensor.is_leaf(), "register_parameter", "parameter '", name, "' must be a leaf tensor, "
           "got one made by ", tensor.grad_fn_name(), "; register t.detach()");
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(std::move(name), tensor);
  return tensor;
}

Tensor Module::register_buffer(std::string name, Tensor tensor) {
  check_new_name(name, "register_buffer");
  TG_CHECK(tensor.defined(), "register_buffer", "buffer '", name, "' is an undefined tensor");
  buffers_.emplace_back(std::move(name), tensor);
  return tensor;
}

void Module::add_child(std::string name, std::shared_ptr<Module> child) {
  check_new_name(name, "register_module");
  TG_CHECK(child != nullptr, "register_module", "submodule '", name, "' is empty (null)");
  children_.emplace_back(std::move(name), std::move(child));
}

void Module::collect(const std::string& prefix, bool recurse, bool params, TensorDict& out) const {
  for (const auto& [name, t] : params ? parameters_ : buffers_) out.emplace_back(prefix + name, t);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", true, params, out);
}

TensorDict Module::named_parameters(bool recurse) const {
  TensorDict out;
  collect("", recurse, true, out);
  return out;
}

TensorDict Module::named_buffers(bool recurse) const {
  TensorDict out;
  collect("", recurse, false, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::shared_ptr<Module> self = weak_from_this().lock();
  TG_CHECK(self != nullptr, "named_modules", type_name_, " is not owned by a std::shared_ptr; "
           "create it through its module holder or std::make_shared");
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out{{"", self}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules())
      out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

// Replaces every parameter's (and its gradient's) and buffer's data by convert(data).
void Module::convert_data(const std::function<Tensor(const Tensor&)>& convert) {
  NoGradGuard no_grad;
  for (auto& [name, p] : named_parameters()) {
    Tensor grad = p.grad();
    set_data(p, convert(p));
    if (grad.defined()) p.set_grad(convert(grad));
  }
  for (auto& [name, b] : named_buffers()) set_data(b, convert(b));
}

void Module::to(Device device, DType dtype) {
  TG_CHECK(is_floating(dtype), "Module::to", "modules convert to a floating dtype, got ",
           dtype_name(dtype));
  convert_data([&](const Tensor& t) {
    return is_floating(t.dtype()) ? t.to(dtype).to(device) : t.to(device);
  });
}

void Module::to(DType dtype) {
  auto params = parameters();
  to(params.empty() ? kCPU : params[0].device(), dtype);
}

void Module::to(Device device) {
  convert_data([&](const Tensor& t) { return t.to(device); });
}

void zero_grad(const std::vector<Tensor>& params, bool set_to_none) {
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      Tensor(p).set_grad(Tensor());
    } else if (g.grad_fn()) {
      Tensor(p).set_grad(zeros_like(g));
    } else {
      NoGradGuard no_grad;
      g.zero_();
    }
  }
}

void Module::zero_grad(bool set_to_none) { nn::zero_grad(parameters(), set_to_none); }

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [name, child] : children_) child->apply(fn);
}

TensorDict Module::state_dict() const {
  TensorDict out;
  collect("", false, true, out);
  collect("", false, false, out);
  for (const auto& [name, child] : children_)
    for (auto& [key, t] : child->state_dict()) out.emplace_back(name + "." + key, t);
  for (auto& [key, t] : out) t = t.detach();
  return out;
}

void Module::check_state_dict(const TensorDict& dict) const {
  std::map<std::string, Tensor> given;
  std::vector<std::string> problems, duplicate, unexpected, missing;
  for (const auto& [key, t] : dict)
    if (!given.emplace(key, t).second) duplicate.push_back(key);
  std::set<std::string> own;
  for (const auto& [key, t] : state_dict()) {
    own.insert(key);
    auto it = given.find(key);
    if (it == given.end()) {
      missing.push_back(key);
    } else if (!it->second.defined()) {
      problems.push_back(key + " is an undefined tensor");
    } else if (it->second.shape() != t.shape()) {
      problems.push_back("size mismatch for " + key + ": expected " + shape_str(t.shape()) +
                         ", got " + shape_str(it->second.shape()));
    } else if (it->second.dtype() != t.dtype()) {
      problems.push_back("dtype mismatch for " + key + ": expected " + dtype_name(t.dtype()) +
                         ", got " + dtype_name(it->second.dtype()));
    }
  }
  for (const auto& [key, t] : given)
    if (!own.count(key)) unexpected.push_back(key);
  if (!missing.empty()) problems.insert(problems.begin(), "missing keys: " + join_keys(missing));
  if (!unexpected.empty()) problems.push_back("unexpected keys: " + join_keys(unexpected));
  if (!duplicate.empty()) problems.push_back("duplicate keys: " + join_keys(duplicate));
  if (problems.empty()) return;
  std::ostringstream os;
  for (size_t i = 0; i < problems.size(); ++i) os << (i ? "; " : "") << problems[i];
  TG_ERROR("load_state_dict", "cannot load into ", type_name_, " (nothing was changed): ", os.str());
}

void Module::load_state_dict(const TensorDict& dict) {
  check_state_dict(dict);
  std::map<std::string, Tensor> given(dict.begin(), dict.end());
  NoGradGuard no_grad;
  for (auto& [key, t] : state_dict()) t.copy_(given.at(key).to(t.device()));
}

}  // namespace tg::nn
