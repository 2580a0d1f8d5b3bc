// GEMM throughput, GFLOP/s (2 M N K per product), per backend, ISA level and thread count:
// square products at 256, 512, 1024, 2048, and products of the shapes a 32x32 DCGAN step
// (batch 128) runs when its convolutions go through im2col, an MLP GAN linear layer and the
// products of a VAE step.
//
//   bench_gemm --benchmark_filter='square/2048'   ... compare with this machine's FMA peak
//   (bench/peak_fma) and PyTorch's torch.mm (bench/gemm_vs_torch.sh).
#include <cstdint>

#include "bench_common.h"

namespace {

using tg::bench::Config;

struct Product {
  std::string name;
  int64_t M, N, K;
  bool trans_a = false, trans_b = false;  // stored transposed (read through swapped strides)
};

// Products of the example models: the im2col shapes of dcgan32 at batch 128 (conv: rows =
// N * Hout * Wout, K = Cin * 4 * 4), then MLP GAN and VAE layers.
const std::vector<Product> kModelProducts = {
    {"dcgan/D2_forward", 128 * 8 * 8, 128, 64 * 16},          // conv 64 -> 128, 16x16 -> 8x8
    {"dcgan/D3_forward", 128 * 4 * 4, 256, 128 * 16},         // conv 128 -> 256, 8x8 -> 4x4
    {"dcgan/D2_weight_grad", 64 * 16, 128, 128 * 8 * 8, true},  // cols^T x grad_out
    {"dcgan/G2_columns", 128 * 16, 128 * 16, 256, false, true},  // convT 256 -> 128: x^T W
    {"dcgan/G3_columns", 64 * 16, 128 * 64, 128, true},         // convT 128 -> 64
    {"mlpgan/D1_linear", 128, 1024, 784, false, true},          // x W^T, batch 128
    // The VAE (784-400-20-400-784, batch 128): forward x W^T, input gradient g W, weight
    // gradient g^T x.
    {"vae/fc1_forward", 128, 400, 784, false, true},
    {"vae/fc4_forward", 128, 784, 400, false, true},
    {"vae/fc4_input_grad", 128, 400, 784},
    {"vae/fc1_weight_grad", 400, 784, 128, true},
    {"vae/fc4_weight_grad", 784, 400, 128, true},
};

void run_product(benchmark::State& state, const Config& config, const Product& p, tg::DType dt) {
  config.activate();
  tg::manual_seed(0);
  const tg::Tensor a = p.trans_a ? tg::randn({1, p.K, p.M}, dt).transpose(1, 2)
                                  : tg::randn({1, p.M, p.K}, dt);
  const tg::Tensor b = p.trans_b ? tg::randn({1, p.N, p.K}, dt).transpose(1, 2)
                                  : tg::randn({1, p.K, p.N}, dt);
  tg::Tensor c = tg::empty({1, p.M, p.N}, dt);
  const auto matmul = config.table().matmul.fn;
  for (auto _ : state) {
    matmul(c, a, b);
    benchmark::DoNotOptimize(c.raw_data());
    benchmark::ClobberMemory();
  }
  const double flops =
      2.0 * static_cast<double>(p.M) * static_cast<double>(p.N) * static_cast<double>(p.K);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void add(const Config& config, const Product& p, tg::DType dt) {
  const std::string name = std::string(tg::dtype_name(dt)) + "/" + p.name + "/" + config.name();
  benchmark::RegisterBenchmark(name.c_str(),
                               [=](benchmark::State& s) { run_product(s, config, p, dt); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(0.3);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (int64_t n : {256, 512, 1024, 2048}) {
    const Product square{"square/" + std::to_string(n), n, n, n};
    for (const Config& c : tg::bench::cpu_configs()) add(c, square, tg::kFloat32);
    // The reference's triple loop takes seconds from 1024 on.
    if (n <= 512) add({"reference", "", 1}, square, tg::kFloat32);
  }
  for (const Product& p : kModelProducts)
    for (const Config& c : tg::bench::cpu_configs()) add(c, p, tg::kFloat32);
  for (const Config& c : tg::bench::cpu_configs())
    add(c, {"square/1024", 1024, 1024, 1024}, tg::kFloat64);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
