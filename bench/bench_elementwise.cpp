// Elementwise and reduction throughput, GB/s: the bytes each op must move at least (every
// float32 input read once, the output written once; bool conditions and broadcast scalars not
// counted), per backend, ISA level and thread count, at 1 Mi elements (4 MiB in float32:
// inside L3) and 16 Mi elements (64 MiB: from memory).
#include <cstdint>
#include <functional>

#include "bench_common.h"

namespace {

using tg::Tensor;
using tg::bench::Config;
using Table = tg::kernel::KernelTable;
using Kernel = std::function<void(const Table&, const Tensor& out)>;

struct Case {
  std::string name;
  int inputs;                              // float32 tensors read
  std::function<Tensor(int64_t n)> out;    // the output for n elements
  std::function<Kernel(int64_t n)> setup;  // makes the inputs, returns the kernel call
};

Tensor vec(int64_t n) { return tg::randn({n}); }
Tensor out_like(int64_t n) { return tg::empty({n}); }

// y = op(x) for a unary slot of the table.
Case unary(const std::string& name, tg::kernel::Slot<tg::kernel::unary_fn> Table::*slot) {
  return {name, 1, out_like, [slot](int64_t n) {
            Tensor x = vec(n);
            return Kernel([x, slot](const Table& t, const Tensor& o) { (t.*slot).fn(o, x, 0, 0); });
          }};
}

std::vector<Case> cases() {
  std::vector<Case> all;
  all.push_back({"copy", 1, out_like, [](int64_t n) {
                   Tensor x = vec(n);
                   return Kernel([x](const Table& t, const Tensor& o) { t.copy.fn(o, x); });
                 }});
  all.push_back({"copy_transposed", 1, out_like, [](int64_t n) {  // .contiguous() of a .t()
                   Tensor x = tg::randn({1024, n / 1024}).t();
                   return Kernel([x, n](const Table& t, const Tensor& o) {
                     t.copy.fn(o.view({n / 1024, 1024}), x);
                   });
                 }});
  all.push_back({"add", 2, out_like, [](int64_t n) {
                   Tensor a = vec(n), b = vec(n);
                   return Kernel([a, b](const Table& t, const Tensor& o) { t.add.fn(o, a, b); });
                 }});
  all.push_back({"mul_scalar", 1, out_like, [](int64_t n) {  // x * 0.5
                   Tensor a = vec(n), s = tg::full({}, 0.5).expand({n});
                   return Kernel([a, s](const Table& t, const Tensor& o) { t.mul.fn(o, a, s); });
                 }});
  all.push_back({"add_bias_rows", 1, out_like, [](int64_t n) {  // [n / 256, 256] + bias[256]
                   Tensor a = tg::randn({n / 256, 256});
                   Tensor b = tg::randn({256}).expand({n / 256, 256});
                   return Kernel([a, b, n](const Table& t, const Tensor& o) {
                     t.add.fn(o.view({n / 256, 256}), a, b);
                   });
                 }});
  all.push_back(unary("relu", &Table::relu));
  all.push_back(unary("exp", &Table::exp));
  all.push_back(unary("tanh", &Table::tanh));
  all.push_back(unary("sigmoid", &Table::sigmoid));
  all.push_back({"gt_scalar", 1, [](int64_t n) { return tg::empty({n}, tg::kBool); },  // x > 0
                 [](int64_t n) {
                   Tensor x = vec(n), z = tg::zeros({}).expand({n});
                   return Kernel([x, z](const Table& t, const Tensor& o) { t.gt.fn(o, x, z); });
                 }});
  // where(x > 0, g, 0): relu's backward.
  all.push_back({"where_scalar", 1, out_like, [](int64_t n) {
                   Tensor c = vec(n) > 0.0, g = vec(n), z = tg::zeros({}).expand({n});
                   return Kernel(
                       [c, g, z](const Table& t, const Tensor& o) { t.where.fn(o, c, g, z); });
                 }});
  // relu / leaky_relu's fused backward: x > 0 ? g : 0.2 g, in one pass.
  all.push_back({"leaky_relu_backward", 2, out_like, [](int64_t n) {
                   Tensor g = vec(n), x = vec(n);
                   return Kernel([g, x](const Table& t, const Tensor& o) {
                     t.leaky_relu_backward.fn(o, g, x, 0.2);
                   });
                 }});
  // Uniform draws (dropout masks): Philox per element, no input.
  all.push_back({"uniform", 0, out_like, [](int64_t) {
                   return Kernel([](const Table& t, const Tensor& o) { t.uniform.fn(o, 1, 0, 0.0, 1.0); });
                 }});
  all.push_back({"sum_all", 1, [](int64_t) { return tg::empty({1}); }, [](int64_t n) {
                   Tensor x = vec(n);
                   return Kernel([x](const Table& t, const Tensor& o) { t.sum.fn(o, x); });
                 }});
  all.push_back({"sum_dim0", 1, [](int64_t) { return tg::empty({1, 256}); }, [](int64_t n) {
                   Tensor x = tg::randn({n / 256, 256});  // a bias gradient over the batch
                   return Kernel([x](const Table& t, const Tensor& o) { t.sum.fn(o, x); });
                 }});
  return all;
}

void run(benchmark::State& state, const Config& config, const Case& c, int64_t n) {
  config.activate();
  tg::manual_seed(0);
  const Kernel kernel = c.setup(n);
  const Tensor out = c.out(n);
  const Table& table = config.table();
  for (auto _ : state) {
    kernel(table, out);
    benchmark::ClobberMemory();
  }
  const double bytes = static_cast<double>(c.inputs * n) * sizeof(float) +
                       static_cast<double>(out.numel() * tg::dtype_size(out.dtype()));
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::vector<Config> configs = tg::bench::cpu_configs();
  configs.push_back({"reference", "", 1});
  for (const Case& c : cases())
    for (int64_t n : {int64_t{1} << 20, int64_t{1} << 24})
      for (const Config& config : configs) {
        const std::string name = c.name + "/" + std::to_string(n >> 20) + "Mi/" + config.name();
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State& s) { run(s, config, c, n); })
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime()
            ->MinTime(0.2);
      }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
