// The differentiable ops: the functional API (tg::exp(x), tg::matmul(a, b), ...). Each op
// family lives in autograd/ops/<family>.cpp with its forward call and backward formula.
// Binary ops broadcast as NumPy does; both operands must share dtype and device.
#pragma once

#include <optional>
#include <tuple>

#include "autograd/ops/conv.h"
#include "autograd/ops/dropout.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pool.h"
#include "autograd/tensor.h"

namespace tg {

// ---- elementwise binary (ops/elementwise.cpp) ----
// alpha must be a whole number when a and b are integral (it would be truncated).
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a - alpha * b
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
// Tensor-scalar forms: the result's dtype is result_type(tensor dtype, scalar) (scalar.h), as in
// PyTorch: int64 * 2.5 is float32, int64 * 2 is int64, float32 * 2.5 is float32.
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a);
// Comparisons give bool tensors (no gradient).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// Compared in result_type(a's dtype, b): int64 [2] < 2.5 is true.
Tensor operator==(const Tensor& a, Scalar b);
Tensor operator!=(const Tensor& a, Scalar b);
Tensor operator<(const Tensor& a, Scalar b);
Tensor operator<=(const Tensor& a, Scalar b);
Tensor operator>(const Tensor& a, Scalar b);
Tensor operator>=(const Tensor& a, Scalar b);
// cond ? a : b, broadcasting all three; cond is a bool tensor. With a scalar, the tensor's dtype
// is promoted as for the arithmetic forms.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, Scalar b);
Tensor where(const Tensor& cond, Scalar a, const Tensor& b);

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");
// Sums t down to `shape` (the reverse of broadcasting `shape` up to t's shape).
Tensor sum_to_size(const Tensor& t, const Shape& shape);

// ---- elementwise unary (ops/unary.cpp) ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // no gradient (zero almost everywhere)
// pow and clamp take floating scalars: an integral or bool x gives a float32 result (PyTorch's
// promotion), computed on x converted to float32.
Tensor pow(const Tensor& x, double exponent);
Tensor square(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max = {});
Tensor clamp_min(const Tensor& x, double min);

// ---- activations (ops/activation.cpp) ----
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);

// ---- reductions (ops/reduction.cpp); dims may be negative, empty dims = all ----
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
// Variance with Bessel's correction by default (correction = 1, as torch.var).
Tensor var(const Tensor& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);  // values, int64 indices
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);

// ---- linear algebra (ops/linalg.cpp) ----
// 1-D x 1-D dot, 2-D mm, and batched with broadcast batch dims, as torch.matmul.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
// y = x W^T + b with W of shape [out, in] (torch.nn.functional.linear); bias optional.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// ---- joining (ops/join.cpp) ----
Tensor cat(const TensorList& tensors, int64_t dim = 0);
Tensor stack(const TensorList& tensors, int64_t dim = 0);

}  // namespace tg
