// The per-op rows: conv2d, conv_transpose2d and batch_norm at every layer shape of the two
// DCGANs, forward (no grad) and forward + backward (autograd::grad with a fixed output
// gradient), and tg::matmul at square sizes (workloads.h). Shapes, names and FLOP counts as
// torch_workloads.py's op_shapes / build_op.
#include <functional>
#include <set>

#include "models.h"
#include "workloads.h"

namespace workloads {

using tg::Tensor;

namespace {

struct OpShape {
  std::string op, net, layer;
  int64_t n = 0;
  int64_t cin = 0, cout = 0, k = 0, s = 0, p = 0;  // conv2d / conv_transpose2d
  int64_t c = 0;                                   // batch_norm2d
  int64_t h = 0;                                   // input height = width
};

// "D3", "G1", ...; and "256x4x4" (channels x size x size) for batch norm.
std::string layer_name(char prefix, int64_t index) {
  std::string s(1, prefix);
  s += std::to_string(index);
  return s;
}
std::string bn_name(int64_t c, int64_t size) {
  std::string s = std::to_string(c);
  for (int i = 0; i < 2; ++i) {
    s += 'x';
    s += std::to_string(size);
  }
  return s;
}

// dcgan32: D convs 1 -> 64 -> 128 -> 256 -> 1 from 32x32, G convTs 100 -> 256 -> ... -> 1,
// batch 128; dcgan64: 3 -> 64 -> ... -> 512 -> 1 from 64x64, batch 64. BN shapes: every
// (channels, size) after a G convT but the last and after a D conv but the first and last,
// each once, widest first.
std::vector<OpShape> op_shapes() {
  struct Net {
    std::string name;
    int64_t n, nc, size;
    std::vector<int64_t> chans;
  };
  std::vector<OpShape> out;
  for (const Net& net : {Net{"d32", 128, 1, 32, {64, 128, 256}}, Net{"d64", 64, 3, 64, {64, 128, 256, 512}}}) {
    const int64_t layers = static_cast<int64_t>(net.chans.size());
    int64_t cin = net.nc, h = net.size;
    for (int64_t i = 0; i < layers; ++i) {
      out.push_back({"conv2d", net.name, layer_name('D', i + 1), net.n, cin, net.chans[i], 4, 2, 1, 0, h});
      cin = net.chans[i], h /= 2;
    }
    out.push_back({"conv2d", net.name, layer_name('D', layers + 1), net.n, cin, 1, 4, 1, 0, 0, h});
    const std::vector<int64_t> g(net.chans.rbegin(), net.chans.rend());
    out.push_back({"conv_transpose2d", net.name, "G1", net.n, kNoise, g[0], 4, 1, 0, 0, 1});
    h = 4;
    for (int64_t i = 0; i < layers; ++i) {
      const int64_t cout = i + 1 < layers ? g[i + 1] : net.nc;
      out.push_back({"conv_transpose2d", net.name, layer_name('G', i + 2), net.n, g[i], cout, 4, 2, 1, 0, h});
      h *= 2;
    }
    // ordered by (-channels, size)
    std::set<std::pair<int64_t, int64_t>> seen;
    h = 4;
    for (int64_t c : g) {  // G: after each convT but the last
      seen.insert({-c, h});
      h *= 2;
    }
    h = net.size / 4;
    for (int64_t i = 1; i < layers; ++i) {  // D: after each conv but the first and the last
      seen.insert({-net.chans[i], h});
      h /= 2;
    }
    for (const auto& [minus_c, size] : seen) {
      out.push_back({"batch_norm2d", net.name, bn_name(-minus_c, size), net.n, 0, 0, 0, 0, 0, -minus_c, size});
    }
  }
  return out;
}

// One shape's two rows (fwd, fwdbwd); rss0: the peak RSS when the group started.
void run_op(const OpShape& sh, const RunOptions& options, double rss0) {
  const tg::TensorOptions on(options.device);
  const int64_t n = sh.n;
  std::function<Tensor()> run;
  std::vector<Tensor> grads_of;
  double flop = 0, bytes_fwd = 0, bytes_fwdbwd = 0;
  JsonRow shape;
  if (sh.op == "batch_norm2d") {
    const Tensor x = tg::randn({n, sh.c, sh.h, sh.h}, on.requires_grad());
    const Tensor w = tg::ones({sh.c}, on.requires_grad()), b = tg::zeros({sh.c}, on.requires_grad());
    const Tensor rm = tg::zeros({sh.c}, on), rv = tg::ones({sh.c}, on);
    run = [=] { return tg::batch_norm(x, rm, rv, w, b, /*training=*/true, 0.1, 1e-5); };
    grads_of = {x, w, b};
    // least traffic: forward reads x and writes y; backward reads x and dy and writes dx
    const double nbytes = static_cast<double>(x.numel()) * 4;
    bytes_fwd = 2 * nbytes, bytes_fwdbwd = 5 * nbytes;
    shape.set("n", n).set("c", sh.c).set("h", sh.h).set("w", sh.h);
  } else {
    const Tensor x = tg::randn({n, sh.cin, sh.h, sh.h}, on.requires_grad());
    int64_t ho = 0;
    Tensor w;
    if (sh.op == "conv2d") {
      w = (tg::randn({sh.cout, sh.cin, sh.k, sh.k}, on) * 0.02).requires_grad_();
      run = [=, s = sh.s, p = sh.p] { return tg::conv2d(x, w, {}, s, p); };
      ho = (sh.h + 2 * sh.p - sh.k) / sh.s + 1;
      flop = 2.0 * n * sh.cout * ho * ho * sh.cin * sh.k * sh.k;
    } else {
      w = (tg::randn({sh.cin, sh.cout, sh.k, sh.k}, on) * 0.02).requires_grad_();
      run = [=, s = sh.s, p = sh.p] { return tg::conv_transpose2d(x, w, {}, s, p); };
      ho = (sh.h - 1) * sh.s - 2 * sh.p + sh.k;
      flop = 2.0 * n * sh.cin * sh.h * sh.h * sh.cout * sh.k * sh.k;
    }
    grads_of = {x, w};
    shape.set("n", n).set("cin", sh.cin).set("cout", sh.cout).set("k", sh.k).set("stride", sh.s).set("pad", sh.p);
    shape.set("h_in", sh.h).set("h_out", ho);
  }
  const Tensor gy = tg::randn_like(run().detach());
  auto fwd = [&] {
    tg::NoGradGuard no_grad;
    run();
  };
  // autograd::grad returns fresh gradients (no accumulation into .grad)
  auto fwdbwd = [&] { tg::autograd::grad({run()}, grads_of, {gy}); };

  const std::string name = sh.op + "_" + sh.net + "_" + sh.layer;
  struct Mode {
    const char* mode;
    std::function<void()> fn;
    double flop, bytes;
  };
  // a backward is two forwards' worth of products: the input and the weight gradients
  for (const Mode& m : {Mode{"fwd", fwd, flop, bytes_fwd}, Mode{"fwdbwd", fwdbwd, 3 * flop, bytes_fwdbwd}}) {
    JsonRow row;
    row.set("workload", name + "_" + m.mode).set("kind", "op").set("op", sh.op).set("mode", m.mode);
    row.set("net", sh.net).set("layer", sh.layer).update(shape).update(common_fields(options));
    const Timing t = measure(m.fn, options, name + "_" + m.mode, row);
    add_flops(row, m.flop, t);
    if (m.bytes > 0) row.set("gbytes_per_s_min_traffic", round_to(m.bytes / round_to(t.ms_median, 4) / 1e6, 2));
    add_memory(row, rss0);
    emit(row);
  }
}

}  // namespace

void run_op_group(const std::string& group, const RunOptions& options) {
  const std::string want = group == "conv" ? "conv2d" : group == "convT" ? "conv_transpose2d" : "batch_norm2d";
  const double rss0 = peak_rss_mib();
  for (const OpShape& sh : op_shapes())
    if (sh.op == want) run_op(sh, options, rss0);
}

void run_gemm(const std::vector<int64_t>& sizes, const RunOptions& options) {
  const double rss0 = peak_rss_mib();
  for (int64_t n : sizes) {
    const Tensor a = tg::randn({n, n}, tg::TensorOptions(options.device));
    const Tensor b = tg::randn({n, n}, tg::TensorOptions(options.device));
    JsonRow row;
    row.set("workload", "sgemm_" + std::to_string(n)).set("kind", "op").set("op", "mm").set("mode", "fwd").set("n", n);
    row.update(common_fields(options));
    const Timing t = measure([&] { tg::matmul(a, b); }, options, "sgemm_" + std::to_string(n), row);
    add_flops(row, 2.0 * n * n * n, t);
    add_memory(row, rss0);
    emit(row);
  }
}

}  // namespace workloads
