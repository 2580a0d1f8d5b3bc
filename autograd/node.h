// The tape: Nodes joined by Edges. A Node turns the gradients of its outputs into the
// gradients of its inputs; next_edges[i] says where the gradient of input i goes (the node
// that made that input, or the AccumulateGrad node of a leaf). The engine (engine.h) walks it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace tg::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> fn;  // null: the input needs no gradient
  uint32_t input_nr = 0;     // which input of fn receives the gradient
  bool valid() const { return fn != nullptr; }
};

// What a node knows about each of its outputs, to check and to zero-fill incoming gradients.
struct OutputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();  // frees the nodes it alone owns without recursion (node.cpp)
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual std::string name() const = 0;
  // grads[i] is the gradient of output i (undefined where none arrived: treat as zero).
  // Returns one gradient per next_edge (undefined where the input needs none).
  virtual TensorList apply(TensorList&& grads) = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}

  std::vector<Edge> next_edges;
  std::vector<OutputMeta> outputs;
  std::map<uint32_t, std::vector<GradHook>> pre_hooks;  // per output, from register_hook
  uint64_t sequence_nr;  // creation order; the engine runs later nodes first
  std::string creation_site;  // set while anomaly detection is on (anomaly.h)
};

// A tensor saved for backward. Remembers the storage version at save time so an in-place
// change before backward is an error (as PyTorch does). An op's own output is saved without
// its grad_fn (that would be a reference cycle) and re-linked to the node when unpacked.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  Tensor unpack(const Node& owner) const;
  void release() { data_ = Tensor(); released_ = true; }

 private:
  Tensor data_;
  bool is_output_ = false;
  bool requires_grad_ = false;
  uint32_t output_nr_ = 0;
  uint32_t version_ = 0;
  bool released_ = false;
};

// What a backward formula sees: the output gradients, the saved tensors, which inputs need a
// gradient. Formulas are written in tapegrad ops, so they record when create_graph is on.
struct BackwardContext {
  const TensorList& grads;
  const TensorList& saved;
  const std::vector<bool>& needs_grad;
  bool needs(size_t input) const { return needs_grad[input]; }
};
using BackwardFn = std::function<TensorList(const BackwardContext&)>;

// The node every op records: a name, a backward formula and its saved tensors.
class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  TensorList apply(TensorList&& grads) override;
  void release_saved() override;
  std::vector<SavedTensor> saved;

 private:
  std::string name_;
  BackwardFn fn_;
};

// Sink of a leaf's gradient: runs the leaf's hooks and adds into leaf.grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
  std::string name() const override { return "AccumulateGrad"; }
  TensorList apply(TensorList&& grads) override;
  const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// Where the gradient of t goes: (t.grad_fn, t.output_nr), a leaf's accumulator, or nothing.
Edge gradient_edge(const Tensor& t);

// Runs a tensor's register_hook hooks on its gradient in registration order. Each returns a
// replacement or an undefined tensor (keep); a replacement must have the shape, dtype and device
// of the gradient it replaces, else a tg::Error names the hook and the tensor (`describe`, called
// only then: "the leaf float32[2, 3] (cpu)", "output 0 of MulBackward").
Tensor run_grad_hooks(const std::vector<GradHook>& hooks, Tensor grad,
                      const std::function<std::string()>& describe);

// Records an op on the tape when grad mode is on and any input requires grad: builds the
// node, links the outputs to it and saves `to_save`. Inputs may be undefined (optional bias).
// Typical use, right after the forward kernel:
//   record("ExpBackward", {x}, {y}, {y}, [](const BackwardContext& c) {
//     return TensorList{c.grads[0] * c.saved[0]};   // d/dx exp(x) = exp(x)
//   });
void record(const char* name, const TensorList& inputs, const TensorList& outputs,
            const TensorList& to_save, BackwardFn backward);

// Raises tg::Error when a backward node's gradients hold NaN / Inf (anomaly detection).
void check_backward(const Node& node, const TensorList& grads);

// True when an op with these inputs would be recorded.
bool any_requires_grad(const TensorList& inputs);

}  // namespace tg::autograd
