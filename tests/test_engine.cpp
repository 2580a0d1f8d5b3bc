// The tape and the engine: accumulation, retain_graph, create_graph, hooks, grad mode,
// version counters, memory staying flat, deep graphs.
#include "test_helpers.h"

using namespace tg;

TEST_CASE("backward accumulates into leaves across calls") {
  Tensor x = tensor<double>({1.0, 2.0, 3.0}).requires_grad_();
  (x * x).sum().backward();
  (x * x).sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{4.0, 8.0, 12.0});
}

TEST_CASE("a tensor used twice gets the sum of both gradients") {
  Tensor x = tensor<double>({3.0}).requires_grad_();
  Tensor y = x * x + x * 2.0;
  y.backward();
  CHECK(x.grad().item<double>() == doctest::Approx(8.0));
}

TEST_CASE("create_graph gives second derivatives") {
  Tensor x = tensor<double>({0.5, -1.5}).requires_grad_();
  Tensor y = (x * x * x).sum();
  Tensor g = autograd::grad({y}, {x}, {}, {}, true)[0];
  CHECK(g.requires_grad());
  Tensor gg = autograd::grad({g.sum()}, {x})[0];
  CHECK(gg.to_vector<double>() == std::vector<double>{3.0, -9.0});
}

TEST_CASE("autograd::grad leaves .grad() untouched") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor g = autograd::grad({(x * x).sum()}, {x})[0];
  CHECK(g.to_vector<double>() == std::vector<double>{2.0, 4.0});
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a second backward through a freed graph names retain_graph") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward();
  CHECK_THROWS_WITH_ALL(y.backward(), "MulBackward", "second time", "retain_graph");
}

TEST_CASE("retain_graph allows a second backward") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward({}, true);
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{4.0, 8.0});
}

TEST_CASE("backward on a non-scalar needs a gradient") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  CHECK_THROWS_WITH_ALL((x * 2.0).backward(), "backward", "one element", "[2]");
  (x * 2.0).backward(ones({2}, kFloat64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2.0, 2.0});
}

TEST_CASE("an in-place change to a saved tensor is detected by its version") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor a = tensor<double>({3.0, 4.0});
  Tensor y = (x * a).sum();
  a.add_(1.0);
  CHECK_THROWS_WITH_ALL(y.backward(), "MulBackward", "modified by an in-place operation", "version");
}

TEST_CASE("no_grad and detach record nothing") {
  Tensor x = tensor<double>({1.0}).requires_grad_();
  {
    NoGradGuard guard;
    CHECK_FALSE((x * 2.0).requires_grad());
  }
  CHECK((x * 2.0).requires_grad());
  CHECK_FALSE(x.detach().requires_grad());
  CHECK_FALSE((x.detach() * 2.0).requires_grad());
}

TEST_CASE("grad_fn names the op that made a tensor") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  CHECK((x * x).grad_fn_name() == "MulBackward");
  CHECK(tg::exp(x).grad_fn_name() == "ExpBackward");
  CHECK(x.grad_fn_name().empty());
}

TEST_CASE("hooks read and replace gradients") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor seen;
  x.register_hook([&](const Tensor& g) { seen = g; return g * 10.0; });
  Tensor h = x * 3.0;
  h.register_hook([](const Tensor& g) { return g * 2.0; });
  h.sum().backward();
  CHECK(seen.to_vector<double>() == std::vector<double>{6.0, 6.0});
  CHECK(x.grad().to_vector<double>() == std::vector<double>{60.0, 60.0});
}

TEST_CASE("a hook's replacement must match the gradient in shape, dtype and device, on leaves and non-leaves") {
  // On a leaf: a [3] replacement for a [2] gradient would change x.grad()'s shape.
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  x.register_hook([](const Tensor&) { return Tensor(); });  // keeps the gradient: fine
  x.register_hook([](const Tensor& g) { return cat({g, g.narrow(0, 0, 1)}); });
  CHECK_THROWS_WITH_ALL((x * 3.0).sum().backward(), "register_hook:", "hook 2 of 2", "the leaf float64[2]",
                        "returned a gradient of shape [3]", "must return the shape [2]");
  CHECK_FALSE(x.grad().defined());

  Tensor y = tensor<double>({1.0, 2.0, 3.0, 4.0}, {2, 2}).requires_grad_();
  y.register_hook([](const Tensor& g) { return g.to(kFloat32); });
  CHECK_THROWS_WITH_ALL((y * 2.0).sum().backward(), "register_hook:", "hook 1 of 1", "float64[2, 2]",
                        "dtype float64");

  // On a non-leaf: the replacement would reach MulBackward's formula with the wrong shape.
  Tensor z = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor h = z * 3.0;
  h.register_hook([](const Tensor& g) { return g.sum(); });
  CHECK_THROWS_WITH_ALL((h * h).sum().backward(), "register_hook:", "output 0 of MulBackward",
                        "returned a gradient of shape []", "must return the shape [2]");

  // A replacement of the right kind still replaces.
  Tensor w = tensor<double>({1.0, 2.0}).requires_grad_();
  w.register_hook([](const Tensor& g) { return g * 0.5; });
  (w * 4.0).sum().backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{2.0, 2.0});
}

TEST_CASE("retain_grad keeps a non-leaf gradient") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor h = x * 3.0;
  h.retain_grad();
  (h * h).sum().backward();
  CHECK(h.grad().to_vector<double>() == std::vector<double>{6.0, 12.0});
}

TEST_CASE("a 100000-op chain backpropagates without recursion") {
  Tensor x = tensor<double>({1.0}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-6;
  y.backward();
  CHECK(x.grad().item<double>() == 1.0);
}

TEST_CASE("1000 training steps keep live allocations flat") {
  manual_seed(1);
  Tensor w = randn({8, 4}, kFloat64).requires_grad_();
  Tensor x = randn({16, 4}, kFloat64);
  int64_t live_after_first = 0, bytes_after_first = 0;
  for (int step = 0; step < 1000; ++step) {
    if (step == 1) {  // after one whole step: w.grad() exists from here on
      live_after_first = memory::live_allocations();
      bytes_after_first = memory::live_bytes();
    }
    Tensor loss = tanh(linear(x, w)).pow(2.0).mean();
    loss.backward();
    {
      NoGradGuard guard;
      w.sub_(w.grad() * 0.01);
      w.grad().zero_();
    }
  }
  CHECK(memory::live_allocations() == live_after_first);
  CHECK(memory::live_bytes() == bytes_after_first);
}

TEST_CASE("gradients must match dtypes and shapes of the output") {
  Tensor x = tensor<double>({1.0, 2.0}).requires_grad_();
  CHECK_THROWS_WITH_ALL((x * 2.0).backward(ones({3}, kFloat64)), "backward", "[3]", "[2]");
}
