// operator<< for tensors, in the style of PyTorch's repr:
//   tensor([[ 0.1000, -1.2000],
//           [ 3.0000,  4.0000]], dtype=float64, grad_fn=<MulBackward>)
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "autograd/tensor.h"

namespace tg {
namespace {

constexpr int64_t kEdgeItems = 3;    // elements shown at each end of a summarised dim
constexpr int64_t kThreshold = 1000; // above this many elements, summarise with "..."

std::string format_value(double v, DType t, bool sci) {
  std::ostringstream os;
  if (t == kBool) return v != 0 ? "True" : "False";
  if (!is_floating(t)) return std::to_string(static_cast<int64_t>(v));
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (sci) os << std::scientific << std::setprecision(4) << v;
  else os << std::fixed << std::setprecision(4) << v;
  return os.str();
}

void print_dim(std::ostream& os, const std::vector<std::string>& cells, const Shape& shape,
               size_t dim, int64_t& pos, int64_t width, int indent, bool summarise) {
  if (shape.empty()) {
    os << cells[pos++];
    return;
  }
  os << "[";
  const int64_t n = shape[dim];
  // Number of elements in one slice below this dim, to skip summarised slices.
  int64_t below = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) below *= shape[d];
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + dim + 1, ' '));
      i = n - kEdgeItems;
      pos += (n - 2 * kEdgeItems) * below;
    }
    if (dim + 1 == shape.size()) {
      std::string c = cells[pos++];
      os << std::string(width - static_cast<int64_t>(c.size()), ' ') << c;
    } else {
      print_dim(os, cells, shape, dim + 1, pos, width, indent, summarise);
    }
    if (i + 1 < n) {
      os << ",";
      if (dim + 1 == shape.size()) os << " ";
      else os << std::string(shape.size() - dim - 1, '\n') << std::string(indent + dim + 1, ' ');
    }
  }
  os << "]";
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::vector<double> v = t.to_vector<double>();
  const bool summarise = t.numel() > kThreshold;
  double max_abs = 0, min_abs = INFINITY;
  for (double x : v)
    if (std::isfinite(x) && x != 0) max_abs = std::max(max_abs, std::abs(x)), min_abs = std::min(min_abs, std::abs(x));
  const bool sci = is_floating(t.dtype()) && (max_abs >= 1e8 || (min_abs < 1e-4 && max_abs > 0));
  std::vector<std::string> cells;
  int64_t width = 0;
  for (double x : v) {
    cells.push_back(format_value(x, t.dtype(), sci));
    width = std::max<int64_t>(width, static_cast<int64_t>(cells.back().size()));
  }
  os << "tensor(";
  int64_t pos = 0;
  if (t.numel() == 0) os << "[]";
  else print_dim(os, cells, t.shape(), 0, pos, width, 7, summarise);
  if (t.numel() == 0 || summarise) os << ", size=" << shape_str(t.shape());
  if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool) os << ", dtype=" << dtype_name(t.dtype());
  if (!t.device().is_cpu()) os << ", device='" << t.device().str() << "'";
  if (t.grad_fn()) os << ", grad_fn=<" << t.grad_fn_name() << ">";
  else if (t.requires_grad()) os << ", requires_grad=True";
  return os << ")";
}

}  // namespace tg
