// Nodes, saved tensors, gradient accumulation into leaves, and recording ops on the tape.
#include "autograd/node.h"

#include <atomic>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace tg::autograd {
namespace {
std::atomic<uint64_t> g_next_sequence_nr{0};
}

Node::Node() : sequence_nr(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

// Letting each node's next_edges free the next node would nest one destructor call per node:
// a 10^6-op chain overflows the stack. Instead the nodes only this one keeps alive are taken
// over and freed one at a time, each after handing on its own (as PyTorch's deleteNode).
// Saved tensors go first: an input saved for backward also holds its node.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> owned;
  const auto take_over = [&owned](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.fn && e.fn.use_count() == 1) owned.push_back(std::move(e.fn));
    edges.clear();
  };
  take_over(next_edges);
  while (!owned.empty()) {
    std::shared_ptr<Node> node = std::move(owned.back());
    owned.pop_back();
    node->release_saved();
    take_over(node->next_edges);
  }
}

// ---------------------------------------------------------------------------------------
SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output) {
  if (!t.defined()) return;
  requires_grad_ = t.requires_grad();
  output_nr_ = t.impl()->output_nr;
  version_ = t.version();
  // Outputs drop their grad_fn here (unpack restores it); inputs keep their history, which is
  // what makes double backward see how the saved input depends on earlier ops.
  data_ = is_output ? t.detach() : t;
}

Tensor SavedTensor::unpack(const Node& owner) const {
  if (released_) {
    TG_ERROR(owner.name().c_str(),
             "trying to backward through the graph a second time (or to read saved tensors "
             "after they were freed). Saved tensors are freed after the first backward; pass "
             "retain_graph=true to the first backward() or autograd::grad() if you need to "
             "backward through the graph again.");
  }
  if (!data_.defined()) return data_;
  if (data_.version() != version_) {
    TG_ERROR(owner.name().c_str(),
             "one of the tensors needed for gradient computation has been modified by an "
             "in-place operation: ", data_.str(), " is at version ", data_.version(),
             "; expected version ", version_, ". Use an out-of-place op (or clone()) before "
             "changing it.");
  }
  if (!is_output_) return data_;
  Tensor t = data_.detach();
  if (requires_grad_) {
    auto* impl = t.impl();
    impl->requires_grad = true;
    impl->grad_fn = std::const_pointer_cast<Node>(owner.shared_from_this());
    impl->output_nr = output_nr_;
  }
  return t;
}

// ---------------------------------------------------------------------------------------
TensorList FunctionNode::apply(TensorList&& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) {
      grads[i] = zeros(outputs[i].shape, TensorOptions(outputs[i].dtype).device(outputs[i].device));
    }
  }
  TensorList unpacked;
  unpacked.reserve(saved.size());
  for (const auto& s : saved) unpacked.push_back(s.unpack(*this));
  std::vector<bool> needs(next_edges.size());
  for (size_t i = 0; i < next_edges.size(); ++i) needs[i] = next_edges[i].valid();
  TensorList result = fn_(BackwardContext{grads, unpacked, needs});
  TG_CHECK(result.size() == next_edges.size(), name_.c_str(), "backward returned ",
           result.size(), " gradients for ", next_edges.size(), " inputs");
  return result;
}

void FunctionNode::release_saved() {
  for (auto& s : saved) s.release();
}

// ---------------------------------------------------------------------------------------
AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {
  sequence_nr = UINT64_MAX;  // accumulate as soon as the gradient is complete
  outputs.push_back({leaf_->shape, leaf_->dtype, leaf_->storage->device()});
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  Tensor g = std::move(grads[0]);
  if (!g.defined()) return {};
  if (!leaf_->leaf_hooks.empty())
    g = run_grad_hooks(leaf_->leaf_hooks, std::move(g),
                       [this] { return "the leaf " + Tensor(leaf_).str(); });
  if (!leaf_->grad) {
    // A gradient may alias another tensor (add passes its incoming gradient through), so
    // the leaf gets its own copy unless the graph of the gradient is being built.
    Tensor own = GradMode::is_enabled() ? g : g.detach().clone();
    leaf_->grad = own.impl_ptr();
  } else if (GradMode::is_enabled()) {
    leaf_->grad = (Tensor(leaf_->grad) + g).impl_ptr();
  } else {
    Tensor(leaf_->grad).add_(g);
  }
  return {};
}

// ---------------------------------------------------------------------------------------
Tensor run_grad_hooks(const std::vector<GradHook>& hooks, Tensor grad,
                      const std::function<std::string()>& describe) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    Tensor replaced = hooks[i](grad);
    if (!replaced.defined()) continue;
    TG_CHECK(replaced.shape() == grad.shape() && replaced.dtype() == grad.dtype() &&
                 replaced.device() == grad.device(),
             "register_hook", "hook ", i + 1, " of ", hooks.size(), " on ", describe(),
             " returned a gradient of shape ", shape_str(replaced.shape()), " (", replaced.str(),
             "); a hook must return the shape ", shape_str(grad.shape()), ", dtype ",
             dtype_name(grad.dtype()), " and device ", grad.device().str(),
             " of the gradient it replaces, or an undefined tensor to keep it");
    grad = std::move(replaced);
  }
  return grad;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  auto* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  auto acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = acc;
  }
  return {acc, 0};
}

// The forward op's name from its node's: "ExpBackward" -> "Exp".
static std::string forward_name(const std::string& node_name) {
  const std::string suffix = "Backward";
  if (node_name.size() > suffix.size() && node_name.ends_with(suffix))
    return node_name.substr(0, node_name.size() - suffix.size());
  return node_name;
}

static void check_forward(const char* name, const TensorList& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    int64_t bad = count_non_finite(outputs[i]);
    if (bad == 0) continue;
    std::string site = current_creation_site();
    TG_ERROR("anomaly detection", "forward op ", forward_name(name), " produced ", bad,
             " NaN/Inf value(s) in output ", i, " ", outputs[i].str(),
             site.empty() ? "" : " (created at " + site + ")");
  }
}

void check_backward(const Node& node, const TensorList& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    int64_t bad = count_non_finite(grads[i]);
    if (bad == 0) continue;
    TG_ERROR("anomaly detection", "backward node ", node.name(), " produced ", bad,
             " NaN/Inf value(s) in the gradient of its input ", i, " ", grads[i].str(),
             "; it is the backward of the forward op ", forward_name(node.name()),
             node.creation_site.empty() ? std::string(" (no creation site recorded)")
                                        : " created at " + node.creation_site);
  }
}

bool any_requires_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, const TensorList& inputs, const TensorList& outputs,
            const TensorList& to_save, BackwardFn backward) {
  if (anomaly_detection_enabled() && !in_backward_node()) check_forward(name, outputs);
  if (!any_requires_grad(inputs)) return;
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  if (anomaly_detection_enabled()) node->creation_site = current_creation_site();
  node->next_edges.reserve(inputs.size());
  for (const auto& in : inputs) node->next_edges.push_back(gradient_edge(in));
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    auto* impl = outputs[i].impl();
    if (!is_floating(impl->dtype)) continue;  // indices and masks carry no gradient
    impl->requires_grad = true;
    impl->grad_fn = node;
    impl->output_nr = i;
    node->outputs.push_back({impl->shape, impl->dtype, impl->storage->device()});
  }
  node->saved.reserve(to_save.size());
  for (const auto& s : to_save) {
    bool is_output = false;
    for (const auto& o : outputs) is_output |= s.defined() && s.is_same(o);
    node->saved.emplace_back(s, is_output);
  }
}

}  // namespace tg::autograd
