// The backward engine: dependency counting, a ready queue ordered by creation (latest first),
// input buffers that sum gradients arriving along several edges, capture for autograd::grad.
#include "autograd/engine.h"

#include <chrono>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/profiler.h"

namespace tg::autograd {
namespace {

// The node the walk starts from: it hands the seed gradients to the outputs' edges.
class GraphRoot final : public Node {
 public:
  explicit GraphRoot(TensorList grads) : grads_(std::move(grads)) {}
  std::string name() const override { return "GraphRoot"; }
  TensorList apply(TensorList&&) override { return grads_; }

 private:
  TensorList grads_;
};

struct ByLatest {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

TensorList seed_gradients(const TensorList& outputs, const TensorList& grad_outputs) {
  TG_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "backward",
           "got ", grad_outputs.size(), " grad_outputs for ", outputs.size(), " outputs");
  TensorList seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    TG_CHECK(out.defined(), "backward", "output ", i, " is an undefined tensor");
    TG_CHECK(out.requires_grad(), "backward", "element ", i, " of the outputs ", out.str(),
             " does not require grad and has no grad_fn");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      TG_CHECK(out.numel() == 1, "backward", "grad can be implicitly created only for outputs "
               "with one element, but the output is ", out.str(),
               "; pass a gradient of the same shape: y.backward(grad)");
      g = ones_like(out);
    } else {
      TG_CHECK(g.shape() == out.shape() && g.dtype() == out.dtype(), "backward",
               "gradient ", g.str(), " does not match output ", out.str());
    }
    seeds.push_back(g);
  }
  return seeds;
}

// Counts, for every node reachable from root, how many edges point to it.
std::unordered_map<Node*, int> count_dependencies(Node* root) {
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen{root};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      ++deps[e.fn.get()];
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }
  return deps;
}

// Nodes that lie on a path from root to a capture target (autograd::grad runs only those).
std::unordered_set<Node*> nodes_leading_to(Node* root, const std::unordered_set<Node*>& targets) {
  std::unordered_set<Node*> needed;
  std::unordered_set<Node*> visited;
  // Iterative post-order: a node is needed if it is a target or a child is needed.
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->next_edges.size()) {
      Node* child = n->next_edges[next++].fn.get();
      if (child && visited.insert(child).second) stack.push_back({child, 0});
      continue;
    }
    bool need = targets.count(n) > 0;
    for (const Edge& e : n->next_edges) need |= e.valid() && needed.count(e.fn.get()) > 0;
    if (need) needed.insert(n);
    stack.pop_back();
  }
  return needed;
}

// With captures, a node runs only when one of its inputs leads to a captured gradient; so
// AccumulateGrad never runs inside autograd::grad and leaves' .grad() stay untouched.
bool leads_to_capture(const Node* node, const std::unordered_set<Node*>& needed) {
  for (const Edge& e : node->next_edges)
    if (e.valid() && needed.count(e.fn.get())) return true;
  return false;
}

struct Capture {
  Node* node;
  uint32_t input_nr;
};

// Runs the graph below `root` (which keeps every node alive through its edges). Without
// captures every reachable node runs (backward()); with captures, see leads_to_capture.
TensorList run(std::shared_ptr<Node> root, bool retain_graph, bool create_graph,
               const std::vector<Capture>& captures) {
  AutoGradMode mode(create_graph);
  auto deps = count_dependencies(root.get());
  std::unordered_set<Node*> targets;
  for (const auto& c : captures) targets.insert(c.node);
  std::unordered_set<Node*> needed;
  if (!captures.empty()) needed = nodes_leading_to(root.get(), targets);

  std::unordered_map<Node*, TensorList> buffers;
  std::priority_queue<Node*, std::vector<Node*>, ByLatest> ready;
  TensorList captured(captures.size());
  ready.push(root.get());

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    TensorList grads = std::move(buffers[node]);
    buffers.erase(node);
    grads.resize(node == root.get() ? 0 : node->outputs.size());
    for (const auto& entry : node->pre_hooks) {
      const uint32_t output_nr = entry.first;
      if (output_nr < grads.size() && grads[output_nr].defined())
        grads[output_nr] = run_grad_hooks(entry.second, std::move(grads[output_nr]), [&] {
          return "output " + std::to_string(output_nr) + " of " + node->name();
        });
    }
    for (size_t i = 0; i < captures.size(); ++i) {
      if (captures[i].node == node) captured[i] = grads[captures[i].input_nr];
    }
    if (!captures.empty() && !leads_to_capture(node, needed)) continue;

    TensorList input_grads;
    if (anomaly_detection_enabled()) {
      {
        BackwardNodeScope scope;
        input_grads = node->apply(std::move(grads));
      }
      check_backward(*node, input_grads);
    } else if (profiler::enabled()) {
      const auto start = std::chrono::steady_clock::now();
      input_grads = node->apply(std::move(grads));
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      profiler::record(node->name(), true, elapsed.count(), 0, 0);
    } else {
      input_grads = node->apply(std::move(grads));
    }
    if (!retain_graph) node->release_saved();

    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      Node* next = e.fn.get();
      if (i < input_grads.size() && input_grads[i].defined()) {
        const Tensor& g = input_grads[i];
        const OutputMeta& meta = next->outputs[e.input_nr];
        TG_CHECK(g.shape() == meta.shape && g.dtype() == meta.dtype, node->name().c_str(),
                 "backward produced a gradient ", g.str(), " for input ", i, " of shape ",
                 shape_str(meta.shape), " and dtype ", dtype_name(meta.dtype));
        TensorList& buf = buffers[next];
        if (buf.size() < next->outputs.size()) buf.resize(next->outputs.size());
        Tensor& slot = buf[e.input_nr];
        slot = slot.defined() ? slot + g : g;  // gradients along several edges are summed
      }
      if (--deps[next] == 0) ready.push(next);
    }
  }
  return captured;
}

}  // namespace

void backward(const TensorList& outputs, const TensorList& grad_outputs, bool retain_graph,
              bool create_graph) {
  TensorList seeds = seed_gradients(outputs, grad_outputs);
  auto root = std::make_shared<GraphRoot>(seeds);
  for (const auto& out : outputs) root->next_edges.push_back(gradient_edge(out));
  run(root, retain_graph || create_graph, create_graph, {});
}

TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs, std::optional<bool> retain_graph,
                bool create_graph, bool allow_unused) {
  TG_CHECK(!inputs.empty(), "autograd::grad", "no inputs given");
  TensorList seeds = seed_gradients(outputs, grad_outputs);
  auto root = std::make_shared<GraphRoot>(seeds);
  for (const auto& out : outputs) root->next_edges.push_back(gradient_edge(out));
  std::vector<Capture> captures;
  std::vector<std::shared_ptr<Node>> hold;  // accumulators created for the captures
  for (size_t i = 0; i < inputs.size(); ++i) {
    TG_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "autograd::grad", "input ", i,
             " (", inputs[i].defined() ? inputs[i].str() : "undefined",
             ") does not require grad");
    Edge e = gradient_edge(inputs[i]);
    hold.push_back(e.fn);
    captures.push_back({e.fn.get(), e.input_nr});
  }
  TensorList result = run(root, retain_graph.value_or(create_graph), create_graph, captures);
  for (size_t i = 0; i < result.size(); ++i) {
    TG_CHECK(result[i].defined() || allow_unused, "autograd::grad", "input ", i, " (",
             inputs[i].str(), ") was not used in the graph of the outputs; pass "
             "allow_unused=true if this is expected");
    if (result[i].defined() && !create_graph) result[i] = result[i].detach();
  }
  return result;
}

}  // namespace tg::autograd
