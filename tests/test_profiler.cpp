// The profiler: kernel calls and backward nodes are counted and timed with FLOPs and bytes.
#include "test_helpers.h"

using namespace tg;

TEST_CASE("the profiler records kernels with FLOPs and backward nodes") {
  manual_seed(3);
  Tensor a = randn({8, 16}).requires_grad_();
  Tensor b = randn({16, 4});
  profiler::Profiler prof;
  matmul(a, b).sum().backward();
  bool saw_matmul = false, saw_node = false;
  for (const auto& r : prof.rows()) {
    if (r.name == "matmul" && !r.is_backward_node) {
      saw_matmul = true;
      CHECK(r.calls == 2);                               // forward and dA = dC B^T
      CHECK(r.flops == doctest::Approx(2.0 * 2 * 8 * 16 * 4));
      CHECK(r.bytes > 0);
    }
    if (r.name == "MatmulBackward" && r.is_backward_node) saw_node = r.calls == 1;
  }
  CHECK(saw_matmul);
  CHECK(saw_node);
  CHECK(prof.table().find("MatmulBackward") != std::string::npos);
}

TEST_CASE("nothing is recorded without a live profiler") {
  {
    profiler::Profiler prof;
    prof.reset();
  }
  Tensor x = randn({4});
  (void)exp(x);
  profiler::Profiler prof;
  CHECK(prof.rows().empty());
}
