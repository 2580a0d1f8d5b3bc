// The cpu backend is deterministic: at every instruction-set level, GEMM, sums, elementwise
// maps and random fills give bitwise identical results for 1, 2 and 3 threads, and run to run.
// (GEMM splits C among threads, never K; sums cut their work into pieces fixed by the shape.)
#include <functional>
#include <string>
#include <vector>

#include "cpu_test_helpers.h"

using namespace tg;
using test::BackendGuard;
using test::bitwise_equal;
using test::CpuStateGuard;

namespace {

// Runs f with 1 thread, then twice with 2 threads and once with 3, at every level; every
// result must be bitwise equal to the first one at that level.
void check_deterministic(const std::function<Tensor()>& f) {
  CpuStateGuard guard;
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    cpu::set_num_threads(1);
    const Tensor first = f();
    for (int threads : {2, 2, 3}) {
      cpu::set_num_threads(threads);
      INFO("threads: " << threads);
      CHECK(bitwise_equal(f(), first));
    }
  }
}

}  // namespace

TEST_CASE("GEMM is bitwise identical for any thread count and run to run") {
  BackendGuard backend;
  manual_seed(1);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    // K spans several KC blocks; M and N are not multiples of any micro-tile.
    Tensor a = randn({301, 700}, dt), b = randn({700, 333}, dt);
    check_deterministic([&] { return matmul(a, b); });
    check_deterministic([&] { return matmul(a.t().contiguous().t(), b.t().contiguous().t()); });
    // Taller than one packed A block and wider than one B block: the threads split C's rows
    // into bands and pack B together (gemm.cpp: gemm_shared_b); one thread runs gemm.h alone.
    Tensor tall = randn({1100, 700}, dt), wide = randn({700, 350}, dt);
    check_deterministic([&] { return matmul(tall, wide); });
    check_deterministic([&] { return matmul(tall.t().contiguous().t(), wide); });
    // Batched, and a shared right operand folded into one taller product.
    Tensor x = randn({6, 45, 70}, dt), w = randn({70, 130}, dt), y = randn({6, 70, 20}, dt);
    check_deterministic([&] { return matmul(x, w); });
    check_deterministic([&] { return matmul(x, y); });
  }
  // The raw-pointer API with alpha and beta.
  std::vector<float> pa(257 * 300), pb(300 * 190), pc0(257 * 190);
  for (size_t i = 0; i < pa.size(); ++i) pa[i] = static_cast<float>((i * 37) % 101) / 50.f - 1.f;
  for (size_t i = 0; i < pb.size(); ++i) pb[i] = static_cast<float>((i * 53) % 89) / 44.f - 1.f;
  for (size_t i = 0; i < pc0.size(); ++i) pc0[i] = static_cast<float>(i % 7);
  check_deterministic([&] {
    Tensor c = tensor<float>(pc0, {257, 190});
    cpu::gemm(true, false, 257, 190, 300, 0.5f, pa.data(), 257, pb.data(), 190, 2.f,
              c.data_ptr<float>(), 190);
    return c;
  });
}

TEST_CASE("sums are bitwise identical for any thread count") {
  BackendGuard backend;
  manual_seed(2);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    Tensor x = randn({1000003}, dt) + 0.5;  // one output, many chunks: threads split chunks
    check_deterministic([&] { return x.sum(); });
    Tensor g = randn({5000, 300}, dt);  // column sums (a bias gradient over the batch)
    check_deterministic([&] { return g.sum({0}); });
    check_deterministic([&] { return g.sum({1}); });
    Tensor y = randn({8, 16, 33, 33}, dt);  // per-channel sums over N, H, W
    check_deterministic([&] { return y.sum({0, 2, 3}); });
    check_deterministic([&] { return y.transpose(1, 3).sum({0, 1}); });
  }
}

TEST_CASE("comparisons, where, copies and arg-reductions do not depend on the thread split") {
  BackendGuard backend;
  manual_seed(4);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    Tensor x = randn({1003, 301}, dt), y = randn({301}, dt);
    check_deterministic([&] { return gt(x, y).to(dt) + (x.t() <= 0.5).to(dt).t(); });
    check_deterministic([&] {
      return where(x > 0.0, x, y * 0.2) + where(lt(x.t(), y.unsqueeze(1)), 1.0, x.t()).t();
    });
    check_deterministic([&] {
      return x.t().contiguous() + x.slice(1, 0, 301, 2).to(kFloat64).sum().to(dt);
    });
    check_deterministic([&] { return std::get<1>(max(x, 0)).to(dt) + std::get<0>(min(x.t(), 1)); });
    check_deterministic([&] {
      return std::get<1>(max(x, 1)).to(dt).sum() + std::get<0>(min(x, 0)).sum();
    });
  }
}

TEST_CASE("elementwise maps and random fills do not depend on the thread split") {
  BackendGuard backend;
  manual_seed(3);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    Tensor x = randn({1003, 301}, dt) * 3.0;
    check_deterministic([&] { return tanh(x) + (exp(x.t()) * sigmoid(x.t())).t(); });
    check_deterministic([&] { return softplus(x.slice(1, 0, 301, 3), 2.0, 5.0); });
    check_deterministic([&] {
      manual_seed(42);
      return randn({700, 301}, dt) + rand({301}, dt);
    });
  }
}
