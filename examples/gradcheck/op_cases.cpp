// One gradient-check case per op. Inputs are float64 leaves; values are shifted away from
// kinks (relu, abs, clamp at their switch points) so finite differences are meaningful.
#include "op_cases.h"

using namespace tg;

namespace {

Tensor leaf(const Shape& s) { return randn(s, kFloat64).requires_grad_(); }
Tensor positive_leaf(const Shape& s) { return (rand(s, kFloat64) + 0.5).detach().requires_grad_(); }
// Values with |x| >= 0.1, so a kink at 0 is never within eps.
Tensor off_zero_leaf(const Shape& s) {
  Tensor x = randn(s, kFloat64);
  return where(x >= 0.0, x + 0.1, x - 0.1).detach().requires_grad_();
}

OpCase unary(const std::string& name, std::function<Tensor(const Tensor&)> f, bool second,
             Tensor (*make)(const Shape&) = leaf) {
  return {name, [make] { return TensorList{make({3, 4})}; },
          [f](const TensorList& in) { return TensorList{f(in[0])}; }, second};
}

OpCase binary(const std::string& name, std::function<Tensor(const Tensor&, const Tensor&)> f,
              bool second, Tensor (*make_b)(const Shape&) = leaf) {
  // [3, 1, 4] against [2, 1]: broadcasting in both directions.
  return {name, [make_b] { return TensorList{leaf({3, 1, 4}), make_b({2, 1})}; },
          [f](const TensorList& in) { return TensorList{f(in[0], in[1])}; }, second};
}

}  // namespace

std::vector<OpCase> op_cases() {
  std::vector<OpCase> c;
  c.push_back(binary("add", [](auto& a, auto& b) { return a + b; }, true));
  c.push_back(binary("sub", [](auto& a, auto& b) { return a - b; }, true));
  c.push_back(binary("mul", [](auto& a, auto& b) { return a * b; }, true));
  c.push_back(binary("div", [](auto& a, auto& b) { return a / b; }, true, positive_leaf));
  c.push_back(unary("neg", [](auto& x) { return -x; }, true));
  c.push_back(unary("pow", [](auto& x) { return pow(x, 3.0); }, true));
  c.push_back(unary("square", [](auto& x) { return square(x); }, true));
  c.push_back(unary("exp", [](auto& x) { return exp(x); }, true));
  c.push_back(unary("log", [](auto& x) { return log(x); }, true, positive_leaf));
  c.push_back(unary("sqrt", [](auto& x) { return sqrt(x); }, true, positive_leaf));
  c.push_back(unary("rsqrt", [](auto& x) { return rsqrt(x); }, true, positive_leaf));
  c.push_back(unary("abs", [](auto& x) { return abs(x); }, true, off_zero_leaf));
  c.push_back(unary("clamp", [](auto& x) { return clamp(x, -0.05, 0.05); }, true, off_zero_leaf));
  c.push_back(unary("clamp_min", [](auto& x) { return clamp_min(x, 0.05); }, true, off_zero_leaf));
  c.push_back(unary("relu", [](auto& x) { return relu(x); }, true, off_zero_leaf));
  c.push_back(unary("leaky_relu", [](auto& x) { return leaky_relu(x, 0.2); }, true, off_zero_leaf));
  c.push_back(unary("sigmoid", [](auto& x) { return sigmoid(x); }, true));
  c.push_back(unary("tanh", [](auto& x) { return tanh(x); }, true));
  c.push_back(unary("softplus", [](auto& x) { return softplus(x, 2.0); }, true));
  c.push_back(binary("where", [](auto& a, auto& b) { return where(a > 0.0, a, b); }, true));
  c.push_back(unary("sum", [](auto& x) { return sum(x, {1}); }, true));
  c.push_back(unary("sum_to_size", [](auto& x) { return sum_to_size(x, {1, 4}); }, true));
  c.push_back(unary("mean", [](auto& x) { return mean(x, {0}, true); }, true));
  c.push_back(unary("var", [](auto& x) { return var(x, {1}); }, true));
  c.push_back(unary("max", [](auto& x) { return std::get<0>(max(x, 1)); }, true));
  c.push_back(unary("min", [](auto& x) { return std::get<0>(min(x, 0)); }, true));
  c.push_back(unary("logsumexp", [](auto& x) { return logsumexp(x, {1}); }, true));
  c.push_back({"matmul", [] { return TensorList{leaf({2, 3, 4}), leaf({4, 5})}; },
               [](const TensorList& in) { return TensorList{matmul(in[0], in[1])}; }, true});
  c.push_back({"mm", [] { return TensorList{leaf({2, 3}), leaf({3, 4})}; },
               [](const TensorList& in) { return TensorList{mm(in[0], in[1])}; }, true});
  c.push_back({"linear", [] { return TensorList{leaf({3, 4}), leaf({5, 4}), leaf({5})}; },
               [](const TensorList& in) { return TensorList{linear(in[0], in[1], in[2])}; }, true});
  c.push_back({"cat", [] { return TensorList{leaf({2, 3}), leaf({2, 2})}; },
               [](const TensorList& in) { return TensorList{cat({in[0], in[1]}, 1)}; }, true});
  c.push_back({"stack", [] { return TensorList{leaf({2, 3}), leaf({2, 3})}; },
               [](const TensorList& in) { return TensorList{stack({in[0], in[1]}, 1)}; }, true});
  c.push_back(unary("copy", [](auto& x) { return x.t().contiguous(); }, true));  // a strided copy
  c.push_back(unary("views", [](auto& x) {
    return x.t().reshape({2, 6}).narrow(1, 1, 4).unsqueeze(0).expand({3, 2, 4}).select(2, 1);
  }, true));
  c.push_back({"conv2d", [] { return TensorList{leaf({2, 2, 5, 4}), leaf({3, 2, 3, 2}), leaf({3})}; },
               [](const TensorList& in) { return TensorList{conv2d(in[0], in[1], in[2], {2, 1}, 1, {1, 2})}; }, true});
  c.push_back({"conv_transpose2d", [] { return TensorList{leaf({2, 2, 3, 3}), leaf({2, 3, 3, 2}), leaf({3})}; },
               [](const TensorList& in) { return TensorList{conv_transpose2d(in[0], in[1], in[2], 2, 1, 1)}; }, true});
  // The weight gradient of a stride-2, padding-1 conv2d of x [2, 2, 5, 4] with a [3, 2, 3, 3]
  // weight, in x and in the output gradient gy [2, 3, 3, 2].
  c.push_back({"conv2d_weight", [] { return TensorList{leaf({2, 2, 5, 4}), leaf({2, 3, 3, 2})}; },
               [](const TensorList& in) { return TensorList{conv2d_weight(in[0], in[1], {3, 2, 3, 3}, 2, 1)}; }, true});
  c.push_back({"max_pool2d", [] { return TensorList{leaf({2, 2, 5, 5})}; },
               [](const TensorList& in) { return TensorList{max_pool2d(in[0], 3, 2, 1)}; }, true});
  c.push_back({"avg_pool2d", [] { return TensorList{leaf({2, 2, 5, 5})}; },
               [](const TensorList& in) { return TensorList{avg_pool2d(in[0], 2, 2, 1)}; }, true});
  c.push_back({"adaptive_avg_pool2d", [] { return TensorList{leaf({2, 3, 4, 4})}; },
               [](const TensorList& in) { return TensorList{adaptive_avg_pool2d(in[0], 1)}; }, true});
  c.push_back({"batch_norm", [] { return TensorList{leaf({4, 3, 2, 2}), leaf({3}), leaf({3})}; },
               [](const TensorList& in) {
                 return TensorList{batch_norm(in[0], {}, {}, in[1], in[2], /*training=*/true)};
               }, true});
  c.push_back({"layer_norm", [] { return TensorList{leaf({3, 4, 5}), leaf({5}), leaf({5})}; },
               [](const TensorList& in) { return TensorList{layer_norm(in[0], {5}, in[1], in[2])}; }, true});
  c.push_back({"instance_norm", [] { return TensorList{leaf({2, 3, 3, 3})}; },
               [](const TensorList& in) { return TensorList{instance_norm(in[0])}; }, true});
  // Re-seeded on every call, so each evaluation draws the same mask: a deterministic function.
  c.push_back(unary("dropout", [](auto& x) {
    manual_seed(3);
    return dropout(x, 0.4);
  }, true));
  c.push_back(unary("softmax", [](auto& x) { return softmax(x, 1); }, true));
  c.push_back(unary("log_softmax", [](auto& x) { return log_softmax(x, 0); }, true));
  c.push_back({"binary_cross_entropy", [] {
                 return TensorList{(rand({3, 4}, kFloat64) * 0.8 + 0.1).detach().requires_grad_(), rand({3, 4}, kFloat64)};
               },
               [](const TensorList& in) { return TensorList{binary_cross_entropy(in[0], in[1])}; }, true});
  c.push_back({"bce_with_logits", [] { return TensorList{leaf({3, 4}), rand({3, 4}, kFloat64), rand({4}, kFloat64) + 0.5}; },
               [](const TensorList& in) {
                 return TensorList{binary_cross_entropy_with_logits(in[0], in[1], {}, in[2])};
               }, true});
  c.push_back({"cross_entropy", [] { return TensorList{leaf({4, 5}), tensor<int64_t>({0, 4, 2, 2})}; },
               [](const TensorList& in) { return TensorList{cross_entropy(in[0], in[1])}; }, true});
  c.push_back({"nll_loss", [] { return TensorList{leaf({4, 5}), tensor<int64_t>({1, 0, 4, 1}), rand({5}, kFloat64) + 0.5}; },
               [](const TensorList& in) { return TensorList{nll_loss(in[0], in[1], in[2])}; }, true});
  c.push_back({"mse_loss", [] { return TensorList{leaf({3, 4}), leaf({3, 4})}; },
               [](const TensorList& in) { return TensorList{mse_loss(in[0], in[1])}; }, true});
  c.push_back({"l1_loss", [] { return TensorList{leaf({3, 4}), (leaf({3, 4}) + 5.0).detach().requires_grad_()}; },
               [](const TensorList& in) { return TensorList{l1_loss(in[0], in[1])}; }, true});
  c.push_back({"kl_normal", [] { return TensorList{leaf({3, 4}), leaf({3, 4})}; },
               [](const TensorList& in) { return TensorList{kl_normal(in[0], in[1])}; }, true});
  return c;
}
