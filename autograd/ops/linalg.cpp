// Matrix products: one batched primitive (bmm on [B, M, K] x [B, K, N]) under matmul's
// torch-style shape rules, and linear. Backward: dA = dC B^T, dB = A^T dC (both products).
#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;

// A [B, R, C] operand whose last two dims are stored column by column (a transposed view).
bool transposed(const Tensor& t) {
  return t.size(1) > 1 && t.size(2) > 1 && t.stride(1) == 1 && t.stride(2) == t.size(1);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  Tensor out = detail::empty_with({a.size(0), a.size(1), b.size(2)}, a);
  TG_KERNEL(matmul, a)(out, a, b);
  autograd::record("MatmulBackward", {a, b}, {out}, {a, b}, [](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &y = c.saved[1];
    // dx = g y^T and dy = x^T g. An operand stored transposed (linear's weight.t()) gets its
    // gradient computed as the transpose of (y g^T) or (g^T x), so that it comes out in the
    // operand's own layout: the leaf's .grad is then contiguous and accumulates at full speed.
    const auto grad_x = [&] {
      return transposed(x) ? bmm(y, g.transpose(1, 2)).transpose(1, 2) : bmm(g, y.transpose(1, 2));
    };
    const auto grad_y = [&] {
      return transposed(y) ? bmm(g.transpose(1, 2), x).transpose(1, 2) : bmm(x.transpose(1, 2), g);
    };
    return TensorList{c.needs(0) ? grad_x() : Tensor(), c.needs(1) ? grad_y() : Tensor()};
  });
  return out;
}

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_same_kind(a, b, op);
  detail::check_floating(a, op);
  TG_CHECK(a.dim() >= 1 && b.dim() >= 1, op, "both arguments need at least 1 dimension, got ",
           a.str(), " and ", b.str());
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  TG_CHECK(ka == kb, op, "shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " cannot be multiplied (", ka, " != ", kb, ")");
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "matmul");
  if (a.dim() == 1 && b.dim() == 1) return bmm(a.view({1, 1, -1}), b.view({1, -1, 1})).reshape({});
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  // [..., M, K] x [..., K, N]: broadcast the batch dims, flatten them into one.
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1), B = numel_of(batch);
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  Tensor a3 = a.dim() == 2 ? a.unsqueeze(0) : a.expand(sa).reshape({B, M, K});
  Tensor b3 = b.dim() == 2 ? b.unsqueeze(0) : b.expand(sb).reshape({B, K, N});
  if (a3.size(0) != B) a3 = a3.expand({B, M, K});
  if (b3.size(0) != B) b3 = b3.expand({B, K, N});
  return bmm(a3, b3).reshape(so);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "mm");
  TG_CHECK(a.dim() == 2 && b.dim() == 2, "mm", "expects 2-D tensors, got ", a.str(), " and ", b.str());
  return matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_same_kind(x, weight, "linear");
  TG_CHECK(weight.dim() == 2, "linear", "weight must be 2-D [out_features, in_features], got ", weight.str());
  TG_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear", "input ", x.str(),
           " has ", x.dim() ? x.size(-1) : 0, " features but weight ", weight.str(), " expects ",
           weight.size(1));
  Tensor y = matmul(x, weight.t());
  if (!bias.defined()) return y;
  detail::check_same_kind(x, bias, "linear");
  TG_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear", "bias ", bias.str(),
           " must be 1-D with ", weight.size(0), " elements (out_features)");
  return y + bias;
}

Tensor Tensor::matmul(const Tensor& other) const { return tg::matmul(*this, other); }

}  // namespace tg
