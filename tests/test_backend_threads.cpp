// Backend selection is thread-safe: ops dispatch through the active backend's kernel table
// (and allocate through the allocator it installs) while another thread switches backends.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_helpers.h"

using namespace tg;

TEST_CASE("ops on several threads give right results while another thread switches backends") {
  const std::string initial = kernel::current_backend();
  // Workers dispatch for 400 ms while this thread switches backends without pause.
  constexpr int kWorkers = 4;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
  std::atomic<int> running{kWorkers};
  std::atomic<int> wrong{0};
  std::vector<std::string> errors(kWorkers);

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      try {
        // Values every backend computes exactly: small integers in float64.
        const Tensor a = arange(1.0, 13.0, 1.0, kFloat64).view({3, 4});
        const Tensor b = full({4, 2}, 2.0, kFloat64);
        // c[r][j] = 2 sum_k (2 a[r][k] + 1) = 2 (2 sum(a_r) + 4); summed over 3 rows and 2
        // columns: 4 (2 * 78 + 12) = 672.
        constexpr double kExpected = 672.0;
        while (std::chrono::steady_clock::now() < deadline) {
          const Tensor c = matmul(a * 2.0 + 1.0, b);
          const double total = c.sum().item<double>() + relu(-a).sum().item<double>();
          if (total != kExpected) wrong.fetch_add(1);
          (void)kernel::current_backend();
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
      running.fetch_sub(1);
    });
  }
  int switches = 0;
  std::string switch_error;
  try {
    while (running.load() > 0) {
      kernel::set_backend(switches % 2 == 0 ? "reference" : "cpu");
      (void)kernel::available_backends();
      ++switches;
    }
  } catch (const std::exception& e) {
    switch_error = e.what();
  }
  for (auto& t : workers) t.join();
  kernel::set_backend(initial);

  CHECK(switch_error.empty());
  for (const auto& e : errors) CHECK_MESSAGE(e.empty(), "worker threw: " << e);
  CHECK(wrong.load() == 0);
  CHECK(switches > 1);
}
