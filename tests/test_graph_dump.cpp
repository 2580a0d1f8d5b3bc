// The tape as Graphviz DOT: every node, every leaf, every edge, shapes in labels.
#include "test_helpers.h"

using namespace tg;

TEST_CASE("to_dot lists the ops, the leaves and the gradient edges of a step") {
  Tensor w = randn({3, 2}).requires_grad_();
  Tensor x = randn({4, 2});
  Tensor loss = tanh(linear(x, w)).sum();
  std::string dot = autograd::to_dot({loss}, "step");
  CHECK(dot.rfind("digraph \"step\" {", 0) == 0);
  CHECK(dot.find("TanhBackward\\nfloat32[4, 3]") != std::string::npos);
  CHECK(dot.find("MatmulBackward") != std::string::npos);
  CHECK(dot.find("leaf float32[3, 2]") != std::string::npos);
  CHECK(dot.find("->") != std::string::npos);
  CHECK(dot.back() == '\n');
}
