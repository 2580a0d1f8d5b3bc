// Convolution throughput, GFLOP/s, per backend, ISA level and thread count, at every conv and
// transposed-conv layer of dcgan32 (batch 128) and dcgan64 (batch 64): the shapes and the FLOP
// model of bench/torch_workloads.py (op_shapes), so the rows compare one to one with its
// `conv` / `convT` rows.
//
//   fwd      the op under NoGradGuard                        FLOPs: 2 x MACs
//   fwdbwd   the op, then autograd::grad for input and weight  FLOPs: 3 x that (both grads)
//
// The layers a DCGAN follows directly with an activation (D1 with leaky_relu 0.2, the last G
// layer with tanh) also run with it, fused into the convolution (`+leaky_relu/fused`) and as
// the separate op (`+leaky_relu/unfused`), on the same FLOP count, to measure the fusion.
//
//   bench_conv --benchmark_filter='avx512/threads:2'   (PyTorch: torch_workloads.py conv convT)
#include <cstdint>

#include "bench_common.h"

namespace {

using tg::bench::Config;

struct Layer {
  std::string name;  // net / layer, as torch_workloads.py names it
  bool transposed;
  int64_t n, cin, cout, k, s, p, h;  // h: input size
  tg::Activation follows{};          // the activation a DCGAN applies right after it
};

// op_shapes(): discriminator convs nc -> chans (k4 s2 p1), then chans[-1] -> 1 (k4 s1 p0);
// generator transposed convs z (1x1) -> 4x4 (k4 s1 p0), then doubling to the image size.
std::vector<Layer> layers() {
  std::vector<Layer> out;
  const int64_t nz = 100;
  struct Net {
    std::string name;
    int64_t n, nc, size;
    std::vector<int64_t> chans;
  };
  const Net nets[] = {{"d32", 128, 1, 32, {64, 128, 256}}, {"d64", 64, 3, 64, {64, 128, 256, 512}}};
  for (const Net& net : nets) {
    int64_t cin = net.nc, h = net.size, i = 1;
    for (int64_t cout : net.chans) {
      out.push_back({net.name + "/D" + std::to_string(i), false, net.n, cin, cout, 4, 2, 1, h,
                     i == 1 ? tg::Activation{tg::Activation::leaky_relu, 0.2} : tg::Activation{}});
      ++i;
      cin = cout, h /= 2;
    }
    out.push_back({net.name + "/D" + std::to_string(i), false, net.n, cin, 1, 4, 1, 0, h});
    std::vector<int64_t> g(net.chans.rbegin(), net.chans.rend());
    out.push_back({net.name + "/G1", true, net.n, nz, g[0], 4, 1, 0, 1});
    h = 4;
    for (size_t j = 0; j < g.size(); ++j) {
      const int64_t cout = j + 1 < g.size() ? g[j + 1] : net.nc;
      out.push_back({net.name + "/G" + std::to_string(j + 2), true, net.n, g[j], cout, 4, 2, 1, h,
                     j + 1 == g.size() ? tg::Activation{tg::Activation::tanh} : tg::Activation{}});
      h *= 2;
    }
  }
  return out;
}

// 2 x MACs of the forward op (torch_workloads.py's conv2d_flops / conv_t2d_flops).
double forward_flops(const Layer& l) {
  const double hin = static_cast<double>(l.h), n = static_cast<double>(l.n);
  const double macs_per_pixel = static_cast<double>(l.cin * l.cout * l.k * l.k);
  if (l.transposed) return 2 * n * hin * hin * macs_per_pixel;
  const double ho = static_cast<double>((l.h + 2 * l.p - l.k) / l.s + 1);
  return 2 * n * ho * ho * macs_per_pixel;
}

// The activation after the convolution, as its own op (the unfused form).
tg::Tensor activate(const tg::Tensor& y, tg::Activation a) {
  switch (a.kind) {
    case tg::Activation::none: return y;
    case tg::Activation::relu: return tg::relu(y);
    case tg::Activation::leaky_relu: return tg::leaky_relu(y, a.negative_slope);
    case tg::Activation::tanh: return tg::tanh(y);
    case tg::Activation::sigmoid: return tg::sigmoid(y);
  }
  return y;
}

// With `act` (an activation after the convolution), fused into it or run as its own op.
void run_layer(benchmark::State& state, const Config& config, const Layer& l, bool backward,
               tg::Activation act = {}, bool fused = false) {
  config.activate();
  tg::kernel::set_backend(config.backend);
  tg::manual_seed(0);
  const tg::Tensor x = tg::randn({l.n, l.cin, l.h, l.h}).requires_grad_(backward);
  tg::Tensor w = l.transposed ? tg::randn({l.cin, l.cout, l.k, l.k}) * 0.02
                              : tg::randn({l.cout, l.cin, l.k, l.k}) * 0.02;
  w.requires_grad_(backward);
  const auto op = [&] {
    const tg::Activation inside = fused ? act : tg::Activation{};
    const tg::Tensor y = l.transposed ? tg::conv_transpose2d(x, w, {}, l.s, l.p, 0, 1, 1, inside)
                                      : tg::conv2d(x, w, {}, l.s, l.p, 1, 1, inside);
    return fused ? y : activate(y, act);
  };
  tg::Tensor gy;
  {
    tg::NoGradGuard no_grad;
    gy = tg::randn(op().shape());
  }
  for (auto _ : state) {
    if (backward) {
      const tg::TensorList grads = tg::autograd::grad({op()}, {x, w}, {gy});
      benchmark::DoNotOptimize(grads[1].raw_data());
    } else {
      tg::NoGradGuard no_grad;
      const tg::Tensor y = op();
      benchmark::DoNotOptimize(y.raw_data());
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(forward_flops(l) * (backward ? 3 : 1) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (const Layer& l : layers())
    for (bool backward : {false, true})
      for (const Config& c : tg::bench::cpu_configs()) {
        const std::string name = std::string(l.transposed ? "conv_transpose2d/" : "conv2d/") +
                                 l.name + (backward ? "/fwdbwd/" : "/fwd/") + c.name();
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) {
          run_layer(s, c, l, backward);
        })->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
        if (l.follows.kind == tg::Activation::none) continue;
        for (bool fused : {false, true}) {
          const std::string act = l.follows.kind == tg::Activation::tanh ? "tanh" : "leaky_relu";
          const std::string variant = std::string(l.transposed ? "conv_transpose2d/" : "conv2d/") +
                                      l.name + (backward ? "/fwdbwd+" : "/fwd+") + act +
                                      (fused ? "/fused/" : "/unfused/") + c.name();
          benchmark::RegisterBenchmark(variant.c_str(), [=](benchmark::State& s) {
            run_layer(s, c, l, backward, l.follows, fused);
          })->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.3);
        }
      }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
