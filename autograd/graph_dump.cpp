// Graphviz export of the tape (iterative walk, like the engine).
#include "autograd/graph_dump.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "autograd/node.h"

namespace tg::autograd {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string node_label(const Node& n) {
  if (auto* acc = dynamic_cast<const AccumulateGrad*>(&n)) {
    const auto& leaf = *acc->leaf();
    return "leaf " + std::string(dtype_name(leaf.dtype)) + shape_str(leaf.shape);
  }
  std::string label = n.name();
  for (const auto& out : n.outputs) label += "\\n" + std::string(dtype_name(out.dtype)) + shape_str(out.shape);
  if (!n.creation_site.empty()) label += "\\n@ " + escape(n.creation_site);
  return label;
}

}  // namespace

std::string to_dot(const TensorList& roots, const std::string& graph_name) {
  std::ostringstream os;
  os << "digraph \"" << escape(graph_name) << "\" {\n"
     << "  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  std::unordered_map<const Node*, int> ids;
  std::vector<const Node*> stack;
  auto visit = [&](const Node* n) {
    auto [it, inserted] = ids.emplace(n, static_cast<int>(ids.size()));
    if (inserted) stack.push_back(n);
    return it->second;
  };
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    if (!r.defined() || !r.grad_fn()) continue;
    os << "  out" << i << " [label=\"output " << i << "\\n" << escape(r.str()) << "\", shape=plaintext];\n";
    os << "  n" << visit(r.grad_fn().get()) << " -> out" << i << " [dir=back];\n";
  }
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    const bool leaf = dynamic_cast<const AccumulateGrad*>(n) != nullptr;
    os << "  n" << ids[n] << " [label=\"" << node_label(*n) << "\", shape="
       << (leaf ? "ellipse, style=filled, fillcolor=\"#dde8f6\"" : "box") << "];\n";
    for (size_t k = 0; k < n->next_edges.size(); ++k) {
      const Edge& e = n->next_edges[k];
      if (!e.valid()) continue;
      // Gradients flow from n into the node that produced input k.
      os << "  n" << ids[n] << " -> n" << visit(e.fn.get()) << " [label=\"" << k << "\"];\n";
    }
  }
  os << "}\n";
  return os.str();
}

void save_dot(const TensorList& roots, const std::string& path) {
  std::ofstream f(path);
  TG_CHECK(f.good(), "save_dot", "cannot open '", path, "' for writing");
  f << to_dot(roots);
  TG_CHECK(f.good(), "save_dot", "writing '", path, "' failed");
}

}  // namespace tg::autograd
