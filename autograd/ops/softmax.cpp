// softmax and log_softmax along one dim: fused forward and backward kernels, and the same
// backward in differentiable ops when create_graph asks for second derivatives.
#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;
using kernel::OpId;

// Runs the forward kernel of softmax (Log = false) or log_softmax (Log = true) and records
// the backward. A 0-dim x is treated as one slice of length 1, as PyTorch does.
template <bool Log>
Tensor softmax_op(const Tensor& x_in, int64_t dim_in) {
  const char* op = Log ? "log_softmax" : "softmax";
  detail::check_floating(x_in, op);
  const int64_t dim = wrap_dim(dim_in, x_in.dim(), op);
  Tensor x = x_in.dim() == 0 ? x_in.reshape({1}) : x_in;
  Tensor y = detail::empty_with(x.shape(), x);
  const auto& table = kernel::table_for(x.device());
  if constexpr (Log) {
    kernel::lookup(table.log_softmax, OpId::log_softmax, x.dtype(), x.device())(y, x, dim);
  } else {
    kernel::lookup(table.softmax, OpId::softmax, x.dtype(), x.device())(y, x, dim);
  }
  autograd::record(Log ? "LogSoftmaxBackward" : "SoftmaxBackward", {x}, {y}, {y},
                   [dim](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &y = c.saved[0];
    if (GradMode::is_enabled()) {
      // create_graph: the kernels' formulas in ops, differentiable in g and (through the
      // saved output, linked to this node) in x.
      if constexpr (Log) return TensorList{g - exp(y) * sum(g, {dim}, true)};
      return TensorList{y * (g - sum(g * y, {dim}, true))};
    }
    Tensor dx = detail::empty_with(y.shape(), y);
    const auto& t = kernel::table_for(y.device());
    if constexpr (Log) {
      kernel::lookup(t.log_softmax_backward, OpId::log_softmax_backward, y.dtype(), y.device())(dx, g, y, dim);
    } else {
      kernel::lookup(t.softmax_backward, OpId::softmax_backward, y.dtype(), y.device())(dx, g, y, dim);
    }
    return TensorList{dx};
  });
  return x_in.dim() == 0 ? y.reshape({}) : y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op<false>(x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op<true>(x, dim); }

}  // namespace tg
