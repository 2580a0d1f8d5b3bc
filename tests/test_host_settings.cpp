// What a host program embedding tapegrad can set, and what it cannot be surprised by: the
// thread count, the backend and the seed are settable from the public API, and tapegrad's
// thread count stays its own (it never changes the host's OpenMP settings).
#include <omp.h>

#include <string>

#include "tapegrad.h"
#include "test_helpers.h"

using namespace tg;

TEST_CASE("tg::cpu::set_num_threads leaves the host's OpenMP thread count alone") {
  const int host_before = omp_get_max_threads();
  const int tg_before = cpu::num_threads();
  omp_set_num_threads(3);  // the host's own choice for its own parallel regions
  cpu::set_num_threads(2);
  Tensor a = randn({96, 80}), b = randn({80, 72});
  Tensor c = matmul(a, b);  // a GEMM large enough to run on tapegrad's threads
  c.sum().item<float>();
  CHECK(omp_get_max_threads() == 3);
  CHECK(cpu::num_threads() == 2);
  cpu::set_num_threads(1);
  CHECK(omp_get_max_threads() == 3);
  omp_set_num_threads(host_before);
  cpu::set_num_threads(tg_before);
}

TEST_CASE("the backend is chosen by the host and a wrong name is an error naming the choices") {
  const std::string before = kernel::current_backend();
  kernel::set_backend("reference");
  CHECK(kernel::current_backend() == "reference");
  Tensor on_reference = matmul(full({3, 4}, 0.5), full({4, 2}, 2.0));
  kernel::set_backend("cpu");
  CHECK(kernel::current_backend() == "cpu");
  CHECK(tg::test::max_abs_diff(on_reference, matmul(full({3, 4}, 0.5), full({4, 2}, 2.0))) == 0);
  CHECK_THROWS_WITH_ALL(kernel::set_backend("tpu"), "tpu", "reference", "cpu");
  kernel::set_backend(before);
}

TEST_CASE("the default generator is the host's to seed and to save and restore") {
  manual_seed(1234);
  Tensor first = randn({5});
  const GeneratorState state = get_rng_state();
  Tensor second = randn({5});
  manual_seed(1234);
  CHECK(tg::test::max_abs_diff(first, randn({5})) == 0);
  set_rng_state(state);
  CHECK(tg::test::max_abs_diff(second, randn({5})) == 0);
}
