// Fused-op throughput, GB/s: the bytes each kernel must move at least (float32; every tensor
// operand read once, every output written once), per backend, ISA level and thread count.
//   batch norm: the dcgan32 shapes at batch 128 (bench/torch_workloads.py op_shapes():
//               C x H x W = 256x4x4, 128x8x8, 64x16x16), training forward
//               (x in, y out: 2 x 4 B per element) and backward (x, dy in, dx out: 3 x 4 B);
//   adam:       one update of 3.5 Mi parameters, about dcgan32's generator and discriminator
//               together (p, g, m, v in; p, m, v out: 7 x 4 B per parameter);
//   losses:     bce_with_logits (mean) over 1 Mi elements, forward (x, y in) and backward
//               (x, y in, dx out); cross_entropy (mean) over [1024, 1000] logits, forward (x in)
//               and backward (x in, dx out); log_softmax over the same logits (x in, y out).
#include <cstdint>
#include <functional>

#include "bench_common.h"

namespace {

using tg::Tensor;
using tg::bench::Config;
using Table = tg::kernel::KernelTable;
using Kernel = std::function<void(const Table&)>;

struct Case {
  std::string name;
  double bytes;                  // moved per call
  std::function<Kernel()> setup;  // makes the operands, returns the kernel call
};

Case batch_norm(int64_t c, int64_t hw, bool backward) {
  const int64_t n = 128;
  const double elements = static_cast<double>(n * c * hw * hw);
  const std::string name = std::string(backward ? "batch_norm_backward/" : "batch_norm/") +
                           std::to_string(c) + "x" + std::to_string(hw) + "x" + std::to_string(hw);
  return {name, elements * 4 * (backward ? 3 : 2), [=] {
            Tensor x = tg::randn({n, c, hw, hw}), y = tg::empty_like(x), dy = tg::randn_like(x);
            Tensor w = tg::ones({c}), b = tg::zeros({c}), rm = tg::zeros({c}), rv = tg::ones({c});
            Tensor mean = tg::empty({c}), invstd = tg::empty({c});
            Tensor dx = tg::empty_like(x), dw = tg::empty({c}), db = tg::empty({c});
            tg::kernel::table_named("reference").batch_norm.fn(y, mean, invstd, x, w, b, rm, rv,
                                                               true, 0.1, 1e-5);
            if (backward)
              return Kernel([=](const Table& t) {
                t.batch_norm_backward.fn(dx, dw, db, dy, x, w, mean, invstd);
              });
            return Kernel([=](const Table& t) {
              t.batch_norm.fn(y, mean, invstd, x, w, b, rm, rv, true, 0.1, 1e-5);
            });
          }};
}

std::vector<Case> cases() {
  std::vector<Case> all;
  for (bool backward : {false, true}) {
    all.push_back(batch_norm(256, 4, backward));
    all.push_back(batch_norm(128, 8, backward));
    all.push_back(batch_norm(64, 16, backward));
  }
  const int64_t params = int64_t{7} << 19;  // 3.5 Mi
  all.push_back({"adam/3.5Mi", static_cast<double>(params) * 4 * 7, [=] {
                   Tensor p = tg::randn({params}), g = tg::randn({params});
                   Tensor m = tg::zeros({params}), v = tg::zeros({params});
                   return Kernel([=](const Table& t) {
                     const tg::kernel::AdamUpdate h{2e-4, 0.5, 0.999, 1e-8, 0, false, false, 10};
                     t.adam_update.fn(p, g, m, v, Tensor(), h);
                   });
                 }});
  const int64_t n = int64_t{1} << 20;
  for (bool backward : {false, true})
    all.push_back({backward ? "bce_with_logits_backward/1Mi" : "bce_with_logits/1Mi",
                   static_cast<double>(n) * 4 * (backward ? 3 : 2), [=] {
                     Tensor x = tg::randn({n}), y = tg::rand({n}), out = tg::empty({});
                     Tensor g = tg::ones({}), dx = tg::empty({n});
                     return Kernel([=](const Table& t) {
                       if (backward) {
                         t.bce_with_logits_backward.fn(dx, g, x, y, Tensor(), Tensor(), 1);
                       } else {
                         t.bce_with_logits.fn(out, x, y, Tensor(), Tensor(), 1);
                       }
                     });
                   }});
  const int64_t rows = 1024, classes = 1000;
  const double logits = static_cast<double>(rows * classes) * 4;
  for (bool backward : {false, true})
    all.push_back({backward ? "cross_entropy_backward/1024x1000" : "cross_entropy/1024x1000",
                   logits * (backward ? 2 : 1), [=] {
                     Tensor x = tg::randn({rows, classes});
                     Tensor target = tg::randint(0, classes, {rows});
                     Tensor out = tg::empty({}), g = tg::ones({}), dx = tg::empty_like(x);
                     return Kernel([=](const Table& t) {
                       if (backward) {
                         t.cross_entropy_backward.fn(dx, g, x, target, Tensor(), Tensor(), 1);
                       } else {
                         t.cross_entropy.fn(out, x, target, Tensor(), Tensor(), 1);
                       }
                     });
                   }});
  all.push_back({"log_softmax/1024x1000", logits * 2, [=] {
                   Tensor x = tg::randn({rows, classes}), y = tg::empty_like(x);
                   return Kernel([=](const Table& t) { t.log_softmax.fn(y, x, 1); });
                 }});
  return all;
}

void run(benchmark::State& state, const Config& config, const Case& c) {
  config.activate();
  tg::manual_seed(0);
  const Kernel kernel = c.setup();
  const Table& table = config.table();
  for (auto _ : state) {
    kernel(table);
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(c.bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<Config> configs = tg::bench::cpu_configs();
  configs.push_back({"reference", "", 1});
  for (const Case& c : cases())
    for (const Config& config : configs) {
      const std::string name = c.name + "/" + config.name();
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { run(s, config, c); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime()
          ->MinTime(0.2);
    }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
