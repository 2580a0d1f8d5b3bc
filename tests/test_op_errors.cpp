// Bad input to the core ops is a tg::Error whose message names the op, the operands (shapes,
// dtypes, devices) and the offending parameter. (The engine's own errors are in test_engine.)
#include <algorithm>

#include "test_helpers.h"

using namespace tg;

namespace {

// A tensor that claims to live on cuda:0, wrapping host memory: enough to reach the device
// checks, which run before any kernel is looked up.
Tensor fake_cuda(float* memory, const Shape& shape) {
  return from_blob(memory, shape, TensorOptions(kFloat32).device(kCUDA));
}

}  // namespace

TEST_CASE("binary ops name both operands on shape, dtype and device mismatches") {
  Tensor a = zeros({2, 3}), b = zeros({4}), d = zeros({2, 3}, kFloat64);
  CHECK_THROWS_WITH_ALL(add(a, b), "add:", "[2, 3]", "[4]", "cannot be broadcast");
  CHECK_THROWS_WITH_ALL(a - b, "sub:", "[2, 3]", "[4]");
  CHECK_THROWS_WITH_ALL(a * zeros({3, 2}), "mul:", "[2, 3]", "[3, 2]", "dimension 0: 2 vs 3");
  CHECK_THROWS_WITH_ALL(a / b, "div:", "[2, 3]", "[4]");
  CHECK_THROWS_WITH_ALL(a * d, "mul:", "dtype mismatch", "float32[2, 3]", "float64[2, 3]", ".to(dtype)");
  CHECK_THROWS_WITH_ALL(add(d, a), "add:", "dtype mismatch", "float64[2, 3]", "float32[2, 3]");
  CHECK_THROWS_WITH_ALL(eq(a, d), "eq:", "dtype mismatch");
  CHECK_THROWS_WITH_ALL(lt(a, b), "lt:", "[2, 3]", "[4]");
  float memory[6] = {};
  Tensor c = fake_cuda(memory, {2, 3});
  CHECK_THROWS_WITH_ALL(a + c, "add:", "device mismatch", "(cpu)", "(cuda:0)", ".to(device)");
  CHECK_THROWS_WITH_ALL(mul(c, a), "mul:", "device mismatch", "(cuda:0)", "(cpu)");
  CHECK_THROWS_WITH_ALL(matmul(a, c.t()), "matmul:", "device mismatch");
  CHECK_THROWS_WITH_ALL(cat({a, c}), "cat:", "device mismatch");
  CHECK_THROWS_WITH_ALL(add(a, Tensor()), "add:", "second operand is an undefined tensor");
  CHECK_THROWS_WITH_ALL(mul(Tensor(), a), "mul:", "first operand is an undefined tensor");
}

TEST_CASE("where checks its condition and operands") {
  Tensor a = zeros({2, 3}), b = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(where(zeros({2, 3}), a, b), "where:", "condition must be a bool tensor", "float32[2, 3]");
  CHECK_THROWS_WITH_ALL(where(ones({4}, kBool), a, b), "where:", "[4]", "[2, 3]", "cannot be broadcast");
  CHECK_THROWS_WITH_ALL(where(ones({2, 3}, kBool), a, zeros({2, 3}, kFloat64)), "where:", "dtype mismatch");
  CHECK_THROWS_WITH_ALL(where(Tensor(), a, b), "where:", "condition is an undefined tensor");
}

TEST_CASE("float-only ops reject integer tensors, naming the dtype") {
  Tensor i = arange(4.0, kInt64);
  CHECK_THROWS_WITH_ALL(exp(i), "exp:", "expected a float32 or float64 tensor", "int64[4]");
  CHECK_THROWS_WITH_ALL(relu(i), "relu:", "int64[4]");
  CHECK_THROWS_WITH_ALL(sum(i), "sum:", "int64[4]");
  CHECK_THROWS_WITH_ALL(max(i, 0), "max:", "int64[4]");
  CHECK_THROWS_WITH_ALL(matmul(i, i), "matmul:", "int64[4]");
  CHECK_THROWS_WITH_ALL(i / i, "div:", "no kernel for int64");
  CHECK_THROWS_WITH_ALL(i.requires_grad_(), "requires_grad_", "only float32 and float64", "int64");
  CHECK_THROWS_WITH_ALL(rand({2}, kInt64), "rand:", "expected a floating dtype, got int64");
}

TEST_CASE("out-of-range dims name the op, the range and the dim") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(sum(x, {2}), "sum:", "dimension out of range", "[-2, 1]", "got 2");
  CHECK_THROWS_WITH_ALL(mean(x, {-3}), "mean:", "[-2, 1]", "got -3");
  CHECK_THROWS_WITH_ALL(var(x, {5}), "var:", "got 5");
  CHECK_THROWS_WITH_ALL(logsumexp(x, {2}), "logsumexp:", "got 2");
  CHECK_THROWS_WITH_ALL(max(x, 2), "max:", "got 2");
  CHECK_THROWS_WITH_ALL(min(x, -3), "min:", "got -3");
  CHECK_THROWS_WITH_ALL(x.transpose(0, 2), "transpose:", "got 2");
  CHECK_THROWS_WITH_ALL(x.permute({0, 2}), "permute:", "got 2");
  CHECK_THROWS_WITH_ALL(x.select(2, 0), "select:", "got 2");
  CHECK_THROWS_WITH_ALL(x.narrow(-3, 0, 1), "narrow:", "got -3");
  CHECK_THROWS_WITH_ALL(x.slice(4, 0, 1), "slice:", "got 4");
  CHECK_THROWS_WITH_ALL(x.squeeze(2), "squeeze:", "got 2");
  CHECK_THROWS_WITH_ALL(x.unsqueeze(3), "unsqueeze:", "[-3, 2]", "got 3");
  CHECK_THROWS_WITH_ALL(x.flatten(0, 2), "flatten:", "got 2");
  CHECK_THROWS_WITH_ALL(cat({x, x}, 2), "cat:", "got 2");
  CHECK_THROWS_WITH_ALL(stack({x, x}, 3), "stack:", "[-3, 2]", "got 3");
  CHECK_THROWS_WITH_ALL(x.size(2), "size:", "got 2");
  CHECK_THROWS_WITH_ALL(sum(x, {1, -1}), "sum:", "dim appears twice", "[1, -1]");
}

TEST_CASE("bad view parameters are refused with the shapes involved") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(x.view({4, 2}), "view:", "shape [4, 2] is invalid for input of size 6");
  CHECK_THROWS_WITH_ALL(x.reshape({-1, 4}), "view:", "[-1, 4]", "invalid for input of size 6");
  CHECK_THROWS_WITH_ALL(x.view({-1, -1}), "view:", "only one dimension can be inferred");
  CHECK_THROWS_WITH_ALL(x.view({-2, 3}), "view:", "invalid shape dimension -2");
  CHECK_THROWS_WITH_ALL(x.t().view({6}), "view:", "not compatible", "float32[3, 2]", ".reshape");
  CHECK_THROWS_WITH_ALL(x.expand({4, 3}), "expand:", "expanded size 4", "existing size 2",
                        "non-singleton dimension 0");
  CHECK_THROWS_WITH_ALL(x.expand({3}), "expand:", "number of sizes provided (1)", "float32[2, 3]");
  CHECK_THROWS_WITH_ALL(x.expand({-1, 2, 3}), "expand:", "-1 is not allowed in a new leading dimension");
  CHECK_THROWS_WITH_ALL(x.permute({0}), "permute:", "got 1 dims for a tensor of rank 2");
  CHECK_THROWS_WITH_ALL(x.permute({1, 1}), "permute:", "repeated dim 1");
  CHECK_THROWS_WITH_ALL(x.narrow(1, 2, 2), "narrow:", "start 2 + length 2 exceeds dimension 1 of size 3");
  CHECK_THROWS_WITH_ALL(x.select(0, 2), "select:", "index 2 is out of range for dimension 0 of size 2");
  CHECK_THROWS_WITH_ALL(x.select(1, -4), "select:", "index -4");
  CHECK_THROWS_WITH_ALL(x.slice(1, 0, 3, 0), "slice:", "step must be positive, got 0");
  CHECK_THROWS_WITH_ALL(x.flatten(1, 0), "flatten:", "start_dim 1 comes after end_dim 0");
  CHECK_THROWS_WITH_ALL(zeros({2, 3, 4}).t(), "t:", "<= 2 dimensions", "float32[2, 3, 4]");
}

TEST_CASE("matmul, mm and linear name the mismatched inner dims") {
  Tensor a = zeros({2, 3}), b = zeros({4, 5});
  CHECK_THROWS_WITH_ALL(matmul(a, b), "matmul:", "shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  CHECK_THROWS_WITH_ALL(matmul(zeros({3}), zeros({4})), "matmul:", "(3 != 4)");
  CHECK_THROWS_WITH_ALL(matmul(zeros({2, 2, 3}), zeros({2, 4, 1})), "matmul:", "(3 != 4)");
  CHECK_THROWS_WITH_ALL(matmul(zeros({2, 2, 3}), zeros({3, 3, 1})), "matmul:", "[2]", "[3]", "cannot be broadcast");
  CHECK_THROWS_WITH_ALL(matmul(scalar_tensor(1.0), a), "matmul:", "at least 1 dimension", "float32[]");
  CHECK_THROWS_WITH_ALL(mm(zeros({3}), zeros({3, 2})), "mm:", "expects 2-D tensors", "float32[3]");
  CHECK_THROWS_WITH_ALL(mm(a, b), "mm:", "(3 != 4)");
  Tensor x = zeros({4, 3}), w = zeros({5, 2});
  CHECK_THROWS_WITH_ALL(linear(x, w), "linear:", "input float32[4, 3] (cpu) has 3 features",
                        "weight float32[5, 2] (cpu) expects 2");
  CHECK_THROWS_WITH_ALL(linear(x, zeros({5, 3, 1})), "linear:", "weight must be 2-D", "float32[5, 3, 1]");
  CHECK_THROWS_WITH_ALL(linear(x, zeros({5, 3}), zeros({4})), "linear:", "bias float32[4]",
                        "5 elements (out_features)");
  CHECK_THROWS_WITH_ALL(linear(x, zeros({5, 3}, kFloat64)), "linear:", "dtype mismatch");
}

TEST_CASE("cat and stack name the offending tensor") {
  Tensor a = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(cat({}), "cat:", "non-empty list");
  CHECK_THROWS_WITH_ALL(stack({}), "stack:", "non-empty list");
  CHECK_THROWS_WITH_ALL(cat({a, zeros({2, 3, 1})}, 0), "cat:", "tensor 1 float32[2, 3, 1] (cpu) has rank 3",
                        "tensor 0 float32[2, 3] (cpu) has rank 2");
  CHECK_THROWS_WITH_ALL(cat({a, a, zeros({3, 4})}, 0), "cat:", "sizes must match except in dimension 0",
                        "tensor 2 float32[3, 4]");
  CHECK_THROWS_WITH_ALL(cat({a, zeros({2, 3}, kFloat64)}, 0), "cat:", "dtype mismatch", "float64[2, 3]");
  CHECK_THROWS_WITH_ALL(stack({a, zeros({3, 2})}), "stack:", "equal size", "float32[2, 3] (cpu) at entry 0",
                        "float32[3, 2] (cpu) at entry 1");
  CHECK_THROWS_WITH_ALL(cat({Tensor()}), "cat:", "tensor 0 is an undefined tensor");
}

TEST_CASE("op parameters are checked") {
  Tensor x = zeros({3});
  CHECK_THROWS_WITH_ALL(clamp(x, std::nullopt, std::nullopt), "clamp:", "at least one of min and max");
  CHECK_THROWS_WITH_ALL(softplus(x, 0.0), "softplus:", "beta must be nonzero");
  CHECK_THROWS_WITH_ALL(var(x, {}, -1), "var:", "correction must be non-negative, got -1");
  CHECK_THROWS_WITH_ALL(max(zeros({0, 2}), 1), "max:", "cannot reduce an empty tensor", "float32[0, 2]");
  CHECK_THROWS_WITH_ALL(min(zeros({0})), "min:", "empty tensor");
}

TEST_CASE("factories and element access check their arguments") {
  CHECK_THROWS_WITH_ALL(zeros({2, -1}), "zeros:", "size -1 is negative", "[2, -1]");
  CHECK_THROWS_WITH_ALL(randn({-3}), "randn:", "size -3 is negative");
  CHECK_THROWS_WITH_ALL(arange(0.0, 1.0, 0.0), "arange:", "step must be finite and nonzero");
  CHECK_THROWS_WITH_ALL(arange(0.0, 1.0, -1.0), "arange:", "inconsistent", "step -1");
  CHECK_THROWS_WITH_ALL(linspace(0.0, 1.0, -1), "linspace:", "non-negative, got -1");
  CHECK_THROWS_WITH_ALL(randint(3, 3, {2}), "randint:", "low < high", "low 3, high 3");
  CHECK_THROWS_WITH_ALL(tensor<double>({1, 2, 3}, {2, 2}), "tensor:", "shape [2, 2] needs 4 values, got 3");
  CHECK_THROWS_WITH_ALL(from_blob(nullptr, {2}), "from_blob:", "data pointer is null");
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(x.item<double>(), "item:", "6 elements [2, 3]", "scalar");
  CHECK_THROWS_WITH_ALL(x.at({1}), "at:", "expected 2 indices", "[2, 3]", "got 1");
  CHECK_THROWS_WITH_ALL(x.at({0, 3}), "at:", "index 3 is out of bounds for dimension 1 with size 3");
  CHECK_THROWS_WITH_ALL(x.data_ptr<double>(), "data_ptr:", "tensor is float32", "data_ptr<float64>");
  const auto backends = kernel::available_backends();
  if (std::find(backends.begin(), backends.end(), "cuda") == backends.end())  // else test_cuda's no-device cases
    CHECK_THROWS_WITH_ALL(x.to(kCUDA), "to:", "cannot move float32[2, 3] (cpu) to cuda:0");
  CHECK_THROWS_WITH_ALL(Tensor().shape(), "Tensor:", "undefined");
}

TEST_CASE("in-place ops refuse tensors that require grad and results that do not fit") {
  Tensor w = zeros({2}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_ALL(w.add_(1.0), "add_:", "in-place ops are not recorded", "float64[2]", "NoGradGuard");
  CHECK_THROWS_WITH_ALL(w.fill_(1.0), "fill_:", "in-place");
  CHECK_THROWS_WITH_ALL(zeros({2}, kFloat64).mul_(w), "mul_:", "in-place");
  Tensor x = zeros({2});
  CHECK_THROWS_WITH_ALL(x.add_(zeros({3, 2})), "add_:", "the result [3, 2] does not fit in self [2]");
  CHECK_THROWS_WITH_ALL(x.copy_(zeros({3})), "expand:", "expanded size 2", "existing size 3");
  CHECK_THROWS_WITH_ALL((w * 2.0).requires_grad_(false), "requires_grad_", "non-leaf", "MulBackward", "detach()");
}
