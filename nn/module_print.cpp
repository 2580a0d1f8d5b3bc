// Printing modules: the PyTorch-style repr tree (operator<<) and the summary table.
#include <iomanip>
#include <ostream>
#include <sstream>

#include "nn/module.h"

namespace tg::nn {
namespace {

std::string head(const Module& m) { return m.name() + "(" + m.extra_repr(); }

// PyTorch's Module.__repr__: a leaf on one line; a container opens, lists "(name): child"
// indented by two spaces per level, and closes on its own line.
void print_tree(std::ostream& os, const Module& m, const std::string& indent) {
  auto children = m.named_children();
  if (children.empty()) {
    os << head(m) << ")";
    return;
  }
  os << m.name() << "(";
  if (!m.extra_repr().empty()) os << "\n" << indent << "  " << m.extra_repr();
  for (const auto& [name, child] : children) {
    os << "\n" << indent << "  (" << name << "): ";
    print_tree(os, *child, indent + "  ");
  }
  os << "\n" << indent << ")";
}

int64_t count(const TensorDict& params, bool trainable_only) {
  int64_t n = 0;
  for (const auto& [name, p] : params)
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

struct Row {
  std::string name, description;
  int64_t params;
};

void collect_rows(const Module& m, const std::string& name, std::vector<Row>& rows) {
  std::string description = head(m) + ")";
  rows.push_back({name.empty() ? "(root)" : name, description, count(m.named_parameters(false), false)});
  for (const auto& [child_name, child] : m.named_children())
    collect_rows(*child, name.empty() ? child_name : name + "." + child_name, rows);
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Module& module) {
  print_tree(os, module, "");
  return os;
}

std::string summary(const Module& module) {
  std::vector<Row> rows;
  collect_rows(module, "", rows);
  size_t name_w = 5, desc_w = 6;
  for (const Row& r : rows) {
    name_w = std::max(name_w, r.name.size());
    desc_w = std::max(desc_w, r.description.size());
  }
  std::ostringstream os;
  const std::string rule(name_w + desc_w + 16, '-');
  os << std::left << std::setw(static_cast<int>(name_w) + 2) << "Layer" << std::setw(static_cast<int>(desc_w) + 2)
     << "Module" << std::right << std::setw(12) << "Params" << "\n" << rule << "\n";
  for (const Row& r : rows)
    os << std::left << std::setw(static_cast<int>(name_w) + 2) << r.name
       << std::setw(static_cast<int>(desc_w) + 2) << r.description << std::right << std::setw(12)
       << r.params << "\n";
  const TensorDict all = module.named_parameters();
  const int64_t total = count(all, false), trainable = count(all, true);
  os << rule << "\nTotal params: " << total << "\nTrainable params: " << trainable
     << "\nNon-trainable params: " << total - trainable << "\n";
  return os.str();
}

}  // namespace tg::nn
