// The cpu backend's fused kernels (batch norm, softmax / log_softmax, the fused losses, the
// optimizer updates, pooling) agree with the reference backend at every instruction-set level,
// in float32 and float64: random and odd shapes with vector tails, batch 1, channel counts
// that are not multiples of any vector width, non-contiguous and broadcast (stride-0)
// operands, NaN and infinities where the reference lets them through. And they are
// deterministic: bitwise identical results for 1, 2 and 3 threads.
//
// Tolerances, |got - want| <= atol + rtol |want| (NaN must meet NaN, infinities must match):
//   * pooling: bit for bit (selections, and the same double sums over the same divisors);
//   * the optimizer updates, after each of several steps: float32 1e-6, float64 1e-14 (the
//     reference's operations in its order, except that the FMA levels contract a * b + c into
//     one rounding: a few ulp of the state's magnitude, ~1, per step);
//   * batch norm: float32 2e-6 (both compute in double and round once; they differ only in the
//     summation order and one-pass statistics), float64 1e-11;
//   * softmax and the losses: float32 1e-5 relative and 1e-6 absolute (the vector exp / log /
//     log1p are within 2 ulp of libm, and float32 rounds x - max once more than the reference's
//     double), float64 1e-12 relative and 1e-13 absolute.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cpu_test_helpers.h"

using namespace tg;
using test::CpuStateGuard;
using test::cpu_table;
using test::ref_table;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Runs f() once per instruction-set level, on one thread (the thread split is checked apart).
template <class F>
void for_each_isa(F&& f) {
  CpuStateGuard guard;
  cpu::set_num_threads(1);
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    f();
  }
}

// Values of `shape` drawn N(shift, scale^2) in float64, then converted to dt.
Tensor values(const Shape& shape, DType dt, double scale = 1.0, double shift = 0.0) {
  return (randn(shape, kFloat64) * scale + shift).to(dt);
}

struct Tol {
  double rtol, atol;
};
constexpr Tol kExact{0, 0};

Tol tol_for(DType dt, Tol f32, Tol f64) { return dt == kFloat32 ? f32 : f64; }
Tol norm_tol(DType dt) { return tol_for(dt, {2e-6, 2e-6}, {1e-11, 1e-11}); }
Tol math_tol(DType dt) { return tol_for(dt, {1e-5, 1e-6}, {1e-12, 1e-13}); }

// |got - want| <= atol + rtol |want| elementwise; kExact compares bits (signed zeros too).
void check_close(const Tensor& got, const Tensor& want, Tol tol) {
  REQUIRE(got.shape() == want.shape());
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok;
    if (std::isnan(g[i]) || std::isnan(w[i])) {
      ok = std::isnan(g[i]) && std::isnan(w[i]);
    } else if (std::isinf(g[i]) || std::isinf(w[i]) || (tol.rtol == 0 && tol.atol == 0)) {
      ok = g[i] == w[i] && std::signbit(g[i]) == std::signbit(w[i]);
    } else {
      const double err = std::abs(g[i] - w[i]);
      worst = std::max(worst, err / (tol.atol + tol.rtol * std::abs(w[i])));
      ok = err <= tol.atol + tol.rtol * std::abs(w[i]);
    }
    if (!ok && bad++ == 0) first = i;
  }
  INFO(bad << " of " << g.size() << " out of bounds (worst " << worst << " of the bound); first at "
            << first << ": got " << (bad ? g[first] : 0.0) << ", want " << (bad ? w[first] : 0.0));
  CHECK(bad == 0);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.shape() == cb.shape() && ca.dtype() == cb.dtype() &&
         std::memcmp(ca.raw_data(), cb.raw_data(), ca.numel() * dtype_size(ca.dtype())) == 0;
}

// f() with 1 thread, then with 2, 2 and 3, at every level: every output bitwise equal.
void check_deterministic(const std::function<std::vector<Tensor>()>& f) {
  CpuStateGuard guard;
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    cpu::set_num_threads(1);
    const std::vector<Tensor> first = f();
    for (int threads : {2, 2, 3}) {
      cpu::set_num_threads(threads);
      INFO("threads: " << threads);
      const std::vector<Tensor> again = f();
      for (size_t i = 0; i < first.size(); ++i) CHECK(bitwise_equal(again[i], first[i]));
    }
  }
}

Tensor clone_or_null(const Tensor& t) { return t.defined() ? t.clone() : Tensor(); }

// The same values in the layouts a kernel must read: contiguous; channels-last (dim 1
// innermost in memory: for rank 2 the transpose); every other element of the last dim; and
// rows of the last dim cut short (contiguous runs with gaps between them).
std::vector<std::pair<std::string, Tensor>> layouts(const Tensor& v) {
  std::vector<std::pair<std::string, Tensor>> out{{"contiguous", v}};
  const int64_t r = v.dim();
  if (r >= 2) {
    Shape perm = r == 2 ? Shape{1} : Shape{0};  // the memory order of the dims
    for (int64_t d = 2; d < r; ++d) perm.push_back(d);
    perm.push_back(r == 2 ? 0 : 1);
    Shape inverse(r);
    for (int64_t d = 0; d < r; ++d) inverse[perm[d]] = d;
    out.push_back({"channels-last", v.permute(perm).contiguous().permute(inverse)});
  }
  Shape wide = v.shape();
  wide.back() *= 2;
  Tensor w = zeros(wide, v.dtype());
  Tensor s = w.slice(-1, 0, wide.back(), 2);
  s.copy_(v);
  out.push_back({"sliced", s});
  Tensor n = zeros(wide, v.dtype()).narrow(-1, 0, v.size(-1));
  n.copy_(v);
  out.push_back({"narrowed", n});
  return out;
}

// ---- batch norm ----

struct BnResult {
  Tensor y, mean, invstd, running_mean, running_var;
};

BnResult run_batch_norm(const kernel::KernelTable& t, const Tensor& x, const Tensor& w,
                        const Tensor& b, const Tensor& rm, const Tensor& rv, bool training) {
  const int64_t C = x.size(1);
  BnResult r{empty(x.shape(), x.dtype()), empty({C}, x.dtype()), empty({C}, x.dtype()),
             clone_or_null(rm), clone_or_null(rv)};
  t.batch_norm.fn(r.y, r.mean, r.invstd, x, w, b, r.running_mean, r.running_var, training, 0.1,
                  1e-5);
  return r;
}

struct BnGrads {
  Tensor gx, gw, gb;
};

BnGrads run_batch_norm_backward(const kernel::KernelTable& t, const Tensor& gy, const Tensor& x,
                                const Tensor& w, const Tensor& mean, const Tensor& invstd) {
  const int64_t C = x.size(1);
  BnGrads g{empty(x.shape(), x.dtype()), empty({C}, x.dtype()), empty({C}, x.dtype())};
  t.batch_norm_backward.fn(g.gx, g.gw, g.gb, gy, x, w, mean, invstd);
  return g;
}

void check_batch_norm(const Tensor& x, bool affine, bool running, const Tensor& gy,
                      std::optional<Tol> tolerance = std::nullopt) {
  const DType dt = x.dtype();
  const Tol tol = tolerance.value_or(norm_tol(dt));
  const int64_t C = x.size(1);
  const Tensor w = affine ? values({C}, dt, 0.5, 1.0) : Tensor();
  const Tensor b = affine ? values({C}, dt) : Tensor();
  const Tensor rm = running ? values({C}, dt) : Tensor();
  const Tensor rv = running ? rand({C}, dt) + 0.5 : Tensor();
  for (bool training : {true, false}) {
    if (!training && !running) continue;
    INFO((std::string(training ? "training" : "eval") + (affine ? ", affine" : "") +
          (running ? ", running stats" : "")));
    const BnResult want = run_batch_norm(ref_table(), x, w, b, rm, rv, training);
    const BnGrads want_g =
        run_batch_norm_backward(ref_table(), gy, x, w, want.mean, want.invstd);
    for_each_isa([&] {
      const BnResult got = run_batch_norm(cpu_table(), x, w, b, rm, rv, training);
      check_close(got.y, want.y, tol);
      check_close(got.mean, want.mean, tol);
      check_close(got.invstd, want.invstd, tol);
      if (running) {
        check_close(got.running_mean, want.running_mean, tol);
        check_close(got.running_var, want.running_var, tol);
      }
      if (!training) return;
      // The backward from the reference's saved statistics, so only the kernel differs.
      const BnGrads g = run_batch_norm_backward(cpu_table(), gy, x, w, want.mean, want.invstd);
      check_close(g.gx, want_g.gx, tol);
      check_close(g.gw, want_g.gw, tol_for(dt, {2e-6, 1e-5}, {1e-11, 1e-10}));
      check_close(g.gb, want_g.gb, tol_for(dt, {2e-6, 1e-5}, {1e-11, 1e-10}));
    });
  }
}

// ---- pooling ----

// PyTorch's pooled size (autograd/ops/pool.cpp's pooled_size).
int64_t pooled(int64_t size, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t span = size + 2 * p - k + (ceil_mode ? s - 1 : 0);
  int64_t out = span / s + 1;
  if (ceil_mode && (out - 1) * s >= size + p) --out;
  return out;
}

struct PoolCase {
  int64_t kh, kw, sh, sw, ph, pw;
  bool ceil_mode;
};

kernel::Pool2dParams params_of(const PoolCase& c, bool count_include_pad) {
  kernel::Pool2dParams p;
  p.kernel[0] = c.kh, p.kernel[1] = c.kw;
  p.stride[0] = c.sh, p.stride[1] = c.sw;
  p.padding[0] = c.ph, p.padding[1] = c.pw;
  p.ceil_mode = c.ceil_mode;
  p.count_include_pad = count_include_pad;
  return p;
}

Shape pooled_shape(const Tensor& x, const PoolCase& c) {
  return {x.size(0), x.size(1), pooled(x.size(2), c.kh, c.sh, c.ph, c.ceil_mode),
          pooled(x.size(3), c.kw, c.sw, c.pw, c.ceil_mode)};
}

const std::vector<PoolCase> kPoolCases = {
    {2, 2, 2, 2, 0, 0, false}, {3, 3, 2, 2, 1, 1, false}, {3, 3, 1, 1, 1, 1, false},
    {2, 3, 1, 2, 1, 1, true},  {3, 2, 3, 1, 0, 1, true},  {1, 1, 1, 1, 0, 0, false},
    {4, 4, 3, 3, 2, 2, true},
};

void check_pooling(const Tensor& x, const PoolCase& c) {
  const DType dt = x.dtype();
  const Shape ys = pooled_shape(x, c);
  const kernel::Pool2dParams p = params_of(c, true);
  Tensor want_y = empty(ys, dt), want_i = empty(ys, kInt64);
  ref_table().max_pool2d.fn(want_y, want_i, x, p);
  const Tensor gy = values(ys, dt);
  Tensor want_gx = empty(x.shape(), dt), want_gather = empty(ys, dt);
  ref_table().max_pool2d_backward.fn(want_gx, gy, want_i, p);
  ref_table().max_pool2d_gather.fn(want_gather, x, want_i, p);
  Tensor want_avg[2], want_avg_gx[2];
  for (int include = 0; include < 2; ++include) {
    want_avg[include] = empty(ys, dt);
    want_avg_gx[include] = empty(x.shape(), dt);
    ref_table().avg_pool2d.fn(want_avg[include], Tensor(), x, params_of(c, include));
    ref_table().avg_pool2d_backward.fn(want_avg_gx[include], gy, Tensor(), params_of(c, include));
  }
  Shape wide = ys;
  wide.back() *= 2;
  for_each_isa([&] {
    Tensor y = empty(ys, dt), i = empty(ys, kInt64);
    cpu_table().max_pool2d.fn(y, i, x, p);
    check_close(y, want_y, kExact);
    check_close(i, want_i, kExact);
    // Into outputs whose rows are not contiguous.
    Tensor ys2 = empty(wide, dt).slice(3, 0, wide.back(), 2);
    Tensor is2 = empty(wide, kInt64).slice(3, 0, wide.back(), 2);
    cpu_table().max_pool2d.fn(ys2, is2, x, p);
    check_close(ys2, want_y, kExact);
    check_close(is2, want_i, kExact);
    Tensor gx = empty(x.shape(), dt), gathered = empty(ys, dt);
    cpu_table().max_pool2d_backward.fn(gx, gy, want_i, p);
    cpu_table().max_pool2d_gather.fn(gathered, x, want_i, p);
    check_close(gx, want_gx, kExact);
    check_close(gathered, want_gather, kExact);
    for (int include = 0; include < 2; ++include) {
      INFO("count_include_pad " << include);
      Tensor avg = empty(ys, dt), avg_gx = empty(x.shape(), dt);
      cpu_table().avg_pool2d.fn(avg, Tensor(), x, params_of(c, include));
      cpu_table().avg_pool2d_backward.fn(avg_gx, gy, Tensor(), params_of(c, include));
      check_close(avg, want_avg[include], kExact);
      check_close(avg_gx, want_avg_gx[include], kExact);
    }
  });
}

// ---- optimizer updates ----

double largest_finite(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>())
    if (std::isfinite(v)) m = std::max(m, std::abs(v));
  return m;
}

// A fresh copy of t in the named layout (see layouts); undefined stays undefined.
Tensor in_layout(const Tensor& t, const std::string& layout) {
  if (!t.defined()) return t;
  for (auto& [name, copy] : layouts(t.clone()))
    if (name == layout) return copy;
  FAIL("no layout " << layout << " for " << t.str());
  return t;
}

// Runs `steps` updates of `update` on both backends from the same state (the parameter, then
// the kernel's state tensors in call order, all in `layout`), comparing every tensor after
// each step; grads[s] is step s's gradient. The absolute bound scales with the tensor's
// largest finite value: a momentum buffer sums terms of order 10 that may cancel.
void check_updates(const std::vector<Tensor>& start, const std::string& layout,
                   const std::vector<Tensor>& grads,
                   const std::function<void(const kernel::KernelTable&, std::vector<Tensor>&,
                                            const Tensor& grad, int64_t step)>& update) {
  const auto fresh = [&] {
    std::vector<Tensor> state;
    for (const Tensor& t : start) state.push_back(in_layout(t, layout));
    return state;
  };
  std::vector<Tensor> want = fresh();
  std::vector<std::vector<Tensor>> trajectory;
  for (size_t s = 0; s < grads.size(); ++s) {
    update(ref_table(), want, grads[s], static_cast<int64_t>(s) + 1);
    std::vector<Tensor> copies;
    for (const Tensor& t : want) copies.push_back(t.defined() ? t.clone() : t);
    trajectory.push_back(copies);
  }
  for_each_isa([&] {
    std::vector<Tensor> got = fresh();
    for (size_t s = 0; s < grads.size(); ++s) {
      INFO("step " << s + 1);
      update(cpu_table(), got, grads[s], static_cast<int64_t>(s) + 1);
      for (size_t k = 0; k < got.size(); ++k) {
        INFO("state tensor " << k);
        if (!got[k].defined()) continue;
        const Tensor& want = trajectory[s][k];
        const double scale = std::max(1.0, largest_finite(want));
        const double bound = got[k].dtype() == kFloat32 ? 1e-6 : 1e-14;
        check_close(got[k], want, {bound, bound * scale});
      }
    }
  });
}

// The layouts an optimizer's tensors are tried in (channels-last needs rank 2).
std::vector<std::string> param_layouts(const Shape& shape) {
  if (shape.size() < 2) return {"contiguous", "sliced"};
  return {"contiguous", "channels-last", "sliced", "narrowed"};
}

// Gradients for `steps` steps, with a NaN and infinities when asked.
std::vector<Tensor> gradients(const Tensor& like, int steps, bool specials) {
  std::vector<Tensor> g;
  for (int s = 0; s < steps; ++s) {
    Tensor v = values(like.shape(), like.dtype());
    if (specials && like.numel() >= 3 && s == 2) {
      Tensor flat = v.view({-1});
      flat.narrow(0, 0, 1).fill_(NAN);
      flat.narrow(0, 1, 1).fill_(kInf);
      flat.narrow(0, 2, 1).fill_(-kInf);
    }
    g.push_back(v.transpose(0, like.dim() - 1).contiguous().transpose(0, like.dim() - 1));
  }
  return g;
}

}  // namespace

TEST_CASE("the cpu table runs its own kernels for every fused op") {
  const auto& ref = ref_table();
  const auto& cpu = cpu_table();
  CHECK((cpu.batch_norm.fn != ref.batch_norm.fn));
  CHECK((cpu.batch_norm_backward.fn != ref.batch_norm_backward.fn));
  CHECK((cpu.softmax.fn != ref.softmax.fn));
  CHECK((cpu.log_softmax_backward.fn != ref.log_softmax_backward.fn));
  CHECK((cpu.bce_with_logits.fn != ref.bce_with_logits.fn));
  CHECK((cpu.cross_entropy_backward.fn != ref.cross_entropy_backward.fn));
  CHECK((cpu.adam_update.fn != ref.adam_update.fn));
  CHECK((cpu.rmsprop_update.fn != ref.rmsprop_update.fn));
  CHECK((cpu.sgd_update.fn != ref.sgd_update.fn));
  CHECK((cpu.max_pool2d.fn != ref.max_pool2d.fn));
  CHECK((cpu.avg_pool2d_backward.fn != ref.avg_pool2d_backward.fn));
}

TEST_CASE("batch_norm forward and backward agree over shapes, layouts and options") {
  manual_seed(11);
  std::mt19937 gen(11);
  std::vector<Shape> shapes = {{2, 3},      {1, 5, 7},   {7, 1, 3, 5},  {1, 17, 4, 4},
                               {16, 37},    {3, 5, 1, 1}, {4, 20, 9, 13}, {2, 3, 33, 17}};
  for (int i = 0; i < 3; ++i) {  // random 4-D shapes
    std::uniform_int_distribution<int64_t> n(1, 6), c(1, 40), hw(1, 19);
    shapes.push_back({n(gen), c(gen), hw(gen), hw(gen)});
  }
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : shapes) {
      if (shape[0] * (shape.size() > 2 ? shape[2] * shape.back() : 1) < 2) continue;
      for (auto& [layout, x] : layouts(values(shape, dt, 2.0, 3.0))) {
        INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout);
        const Tensor gy = values(shape, dt);
        check_batch_norm(x, true, true, gy);
        check_batch_norm(x, false, false, gy);
      }
    }
}

TEST_CASE("batch_norm backward reads broadcast gradients; eval and NaN channels as the reference") {
  manual_seed(12);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    const Shape shape{5, 19, 6, 7};
    // The gradient of y.sum(): one value expanded to every element (all strides 0).
    check_batch_norm(values(shape, dt), true, true, full({}, 0.7, dt).expand(shape));
    check_batch_norm(values(shape, dt), false, true, values({1, 19, 1, 7}, dt).expand(shape));
    // A NaN makes its channel's statistics and outputs NaN; an infinity too; others unharmed.
    Tensor x = values(shape, dt);
    x.select(1, 3).select(0, 2).select(0, 4).select(0, 1).fill_(NAN);
    x.select(1, 8).select(0, 0).select(0, 0).select(0, 0).fill_(kInf);
    check_batch_norm(x, true, true, values(shape, dt));
    // A huge mean against a small spread: float64 outputs are then good to about
    // eps |mean| / sd = 1e-9 (the reference's mean too), so that is the bound.
    check_batch_norm(values(shape, dt, 1e-3, 1e4), true, true, values(shape, dt),
                     tol_for(dt, {2e-6, 2e-6}, {1e-8, 1e-8}));
    // An extreme first element (the statistics' second pass around the mean).
    Tensor outlier = values(shape, dt);
    outlier.select(0, 0).select(1, 0).select(1, 0).fill_(1e6);
    check_batch_norm(outlier, true, true, values(shape, dt));
  }
}

TEST_CASE("softmax and log_softmax agree along every dim, in every layout, with specials") {
  manual_seed(13);
  const std::vector<Shape> shapes = {{1},    {1, 1},     {7, 1},     {5, 37},
                                     {3, 1000}, {2, 3, 17}, {4, 33, 5}, {1, 129}};
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : shapes)
      for (auto& [layout, x] : layouts(values(shape, dt, 3.0)))
        for (int64_t dim = 0; dim < x.dim(); ++dim) {
          INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout << " dim "
                                           << dim);
          const Tensor g = values(shape, dt);
          for (bool log : {false, true}) {
            INFO((log ? "log_softmax" : "softmax"));
            const auto& fwd_ref = log ? ref_table().log_softmax : ref_table().softmax;
            const auto& fwd_cpu = log ? cpu_table().log_softmax : cpu_table().softmax;
            const auto& bwd_ref =
                log ? ref_table().log_softmax_backward : ref_table().softmax_backward;
            const auto& bwd_cpu =
                log ? cpu_table().log_softmax_backward : cpu_table().softmax_backward;
            Tensor want = empty(shape, dt), want_dx = empty(shape, dt);
            fwd_ref.fn(want, x, dim);
            bwd_ref.fn(want_dx, g, want, dim);
            for_each_isa([&] {
              Tensor y = empty(shape, dt), dx = empty(shape, dt);
              fwd_cpu.fn(y, x, dim);
              check_close(y, want, math_tol(dt));
              // A transposed output for the forward; the backward from the reference's output.
              if (shape.size() == 2) {
                Tensor yt = empty({shape[1], shape[0]}, dt).t();
                fwd_cpu.fn(yt, x, dim);
                check_close(yt, want, math_tol(dt));
              }
              bwd_cpu.fn(dx, g, want, dim);
              check_close(dx, want_dx, math_tol(dt));
            });
          }
        }
  // Rows holding NaN, +-inf, all -inf, huge values; a gradient broadcast along the row.
  const std::vector<double> rows = {0.5,   NAN,   1.0,   2.0,   -kInf,   // a NaN
                                    1.0,   3.0,   -2.0,  kInf,  1.0,     // +inf
                                    -kInf, -kInf, -kInf, -kInf, -kInf,   // all -inf
                                    1e30,  -1e30, 5.0,   88.0,  -88.0};  // huge
  for (DType dt : {kFloat32, kFloat64}) {
    const Tensor x = tensor<double>(rows, {4, 5}).to(dt);
    const Tensor g = values({4, 1}, dt).expand({4, 5});
    for (bool log : {false, true}) {
      INFO(std::string(dtype_name(dt)) << (log ? " log_softmax" : " softmax") << " specials");
      Tensor want = empty({4, 5}, dt), want_dx = empty({4, 5}, dt);
      (log ? ref_table().log_softmax : ref_table().softmax).fn(want, x, 1);
      (log ? ref_table().log_softmax_backward : ref_table().softmax_backward)
          .fn(want_dx, g, want, 1);
      for_each_isa([&] {
        Tensor y = empty({4, 5}, dt), dx = empty({4, 5}, dt);
        (log ? cpu_table().log_softmax : cpu_table().softmax).fn(y, x, 1);
        (log ? cpu_table().log_softmax_backward : cpu_table().softmax_backward)
            .fn(dx, g, want, 1);
        check_close(y, want, math_tol(dt));
        check_close(dx, want_dx, math_tol(dt));
      });
    }
  }
}

TEST_CASE("binary_cross_entropy and bce_with_logits agree: weights, reductions, specials") {
  manual_seed(14);
  const std::vector<Shape> shapes = {{1}, {7}, {300}, {4, 37}, {3, 5, 19}};
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : shapes)
      for (bool logits : {false, true})
        for (int weights = 0; weights < 3; ++weights)  // none, elementwise, broadcast last dim
          for (int reduction = 0; reduction < 3; ++reduction) {
            INFO(std::string(dtype_name(dt)) << " " << shape_str(shape)
                                             << (logits ? " logits" : " probabilities")
                                             << " weights " << weights << " reduction "
                                             << reduction);
            Tensor x = logits ? values(shape, dt, 3.0) : rand(shape, dt) * 0.98 + 0.01;
            // Specials: the clamped logs at 0 and 1, huge logits, infinities, NaN.
            Tensor flat = x.view({-1});
            if (x.numel() >= 7) {
              const std::vector<double> special =
                  logits ? std::vector<double>{1000, -1000, kInf, -kInf, NAN, 0.0, -0.0}
                         : std::vector<double>{0.0, 1.0, 1e-30, 1 - 1e-7, NAN, 0.5, 1e-45};
              flat.narrow(0, 0, 7).copy_(tensor<double>(special).to(dt));
            }
            const Tensor y = (rand(shape, dt) < 0.5).to(dt) * 0.9 + 0.05;
            const Shape last{shape.back()};
            Tensor w = weights == 0   ? Tensor()
                       : weights == 1 ? rand(shape, dt) + 0.5
                                      : (rand(last, dt) + 0.5).expand(shape);
            Tensor pw = logits && weights == 2 ? (rand(last, dt) * 3).expand(shape) : Tensor();
            const Shape out_shape = reduction == 0 ? shape : Shape{};
            const Tensor g = values(out_shape, dt);
            const auto& t_ref = ref_table();
            const auto& fwd_ref = logits ? t_ref.bce_with_logits : t_ref.binary_cross_entropy;
            const auto& bwd_ref =
                logits ? t_ref.bce_with_logits_backward : t_ref.binary_cross_entropy_backward;
            Tensor want = empty(out_shape, dt), want_dx = empty(shape, dt);
            fwd_ref.fn(want, x, y, w, pw, reduction);
            bwd_ref.fn(want_dx, g, x, y, w, pw, reduction);
            const auto& t_cpu = cpu_table();
            const auto& fwd = logits ? t_cpu.bce_with_logits : t_cpu.binary_cross_entropy;
            const auto& bwd =
                logits ? t_cpu.bce_with_logits_backward : t_cpu.binary_cross_entropy_backward;
            for_each_isa([&] {
              Tensor got = empty(out_shape, dt), dx = empty(shape, dt);
              fwd.fn(got, x, y, w, pw, reduction);
              bwd.fn(dx, g, x, y, w, pw, reduction);
              check_close(got, want, math_tol(dt));
              check_close(dx, want_dx, math_tol(dt));
              // Into a transposed gradient.
              if (shape.size() == 2) {
                Tensor dxt = empty({shape[1], shape[0]}, dt).t();
                bwd.fn(dxt, g, x.t().contiguous().t(), y, w, pw, reduction);
                check_close(dxt, want_dx, math_tol(dt));
              }
            });
          }
}

TEST_CASE("cross_entropy agrees: class weights, reductions, layouts, a NaN row") {
  manual_seed(15);
  const std::vector<Shape> shapes = {{1, 1}, {1, 7}, {5, 37}, {64, 10}, {3, 1000}, {9, 2}};
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : shapes)
      for (bool weighted : {false, true})
        for (int reduction = 0; reduction < 3; ++reduction)
          for (auto& [layout, x] : layouts(values(shape, dt, 3.0))) {
            INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout
                                             << (weighted ? " weighted" : "") << " reduction "
                                             << reduction);
            const int64_t n = shape[0], c = shape[1];
            // A sliced (stride-2) target.
            const Tensor target = randint(0, c, {2 * n}).slice(0, 0, 2 * n, 2);
            const Tensor w = weighted ? rand({c}, dt) + 0.5 : Tensor();
            const Shape out_shape = reduction == 0 ? Shape{n} : Shape{};
            const Tensor g = values(out_shape, dt);
            Tensor want = empty(out_shape, dt), want_dx = empty(shape, dt);
            ref_table().cross_entropy.fn(want, x, target, w, Tensor(), reduction);
            ref_table().cross_entropy_backward.fn(want_dx, g, x, target, w, Tensor(), reduction);
            for_each_isa([&] {
              Tensor got = empty(out_shape, dt), dx = empty(shape, dt);
              cpu_table().cross_entropy.fn(got, x, target, w, Tensor(), reduction);
              cpu_table().cross_entropy_backward.fn(dx, g, x, target, w, Tensor(), reduction);
              check_close(got, want, math_tol(dt));
              check_close(dx, want_dx, math_tol(dt));
              Tensor dxt = empty({shape[1], shape[0]}, dt).t();
              cpu_table().cross_entropy_backward.fn(dxt, g, x, target, w, Tensor(), reduction);
              check_close(dxt, want_dx, math_tol(dt));
            });
          }
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = values({3, 6}, dt);
    x.select(0, 1).select(0, 4).fill_(NAN);
    const Tensor target = tensor<int64_t>({2, 4, 5});
    Tensor want = empty({3}, dt), want_dx = empty({3, 6}, dt);
    const Tensor g = values({3}, dt);
    ref_table().cross_entropy.fn(want, x, target, Tensor(), Tensor(), 0);
    ref_table().cross_entropy_backward.fn(want_dx, g, x, target, Tensor(), Tensor(), 0);
    for_each_isa([&] {
      Tensor got = empty({3}, dt), dx = empty({3, 6}, dt);
      cpu_table().cross_entropy.fn(got, x, target, Tensor(), Tensor(), 0);
      cpu_table().cross_entropy_backward.fn(dx, g, x, target, Tensor(), Tensor(), 0);
      check_close(got, want, math_tol(dt));
      check_close(dx, want_dx, math_tol(dt));
    });
  }
}

TEST_CASE("SGD updates agree with the reference over several steps, every option") {
  manual_seed(16);
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : {Shape{1}, Shape{37}, Shape{33, 70}})
      for (const std::string& layout : param_layouts(shape))
        for (double momentum : {0.0, 0.9})
          for (double dampening : {0.0, 0.1})
            for (bool nesterov : {false, true})
              for (double wd : {0.0, 1e-2}) {
                if (nesterov && (momentum == 0 || dampening != 0)) continue;
                INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout
                                                 << " momentum " << momentum << " dampening "
                                                 << dampening << " nesterov " << nesterov
                                                 << " wd " << wd);
                const Tensor p = values(shape, dt);
                const Tensor buf = momentum != 0 ? zeros(shape, dt) : Tensor();
                check_updates({p, buf}, layout, gradients(p, 4, true),
                              [&](const kernel::KernelTable& t, std::vector<Tensor>& s,
                                  const Tensor& g, int64_t step) {
                                const kernel::SgdUpdate h{0.05, momentum, dampening, wd,
                                                          nesterov, step == 1};
                                t.sgd_update.fn(s[0], g, s[1], h);
                              });
              }
}

TEST_CASE("Adam and AdamW updates agree with the reference over several steps, amsgrad included") {
  manual_seed(17);
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : {Shape{1}, Shape{37}, Shape{33, 70}})
      for (const std::string& layout : param_layouts(shape))
        for (bool amsgrad : {false, true})
          for (bool decoupled : {false, true})
            for (double wd : {0.0, 1e-2}) {
              INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout
                                               << " amsgrad " << amsgrad << " decoupled "
                                               << decoupled << " wd " << wd);
              const Tensor p = values(shape, dt);
              const Tensor vmax = amsgrad ? zeros(shape, dt) : Tensor();
              check_updates({p, zeros(shape, dt), zeros(shape, dt), vmax}, layout,
                            gradients(p, 5, true),
                            [&](const kernel::KernelTable& t, std::vector<Tensor>& s,
                                const Tensor& g, int64_t step) {
                              const kernel::AdamUpdate h{2e-3, 0.5, 0.999, 1e-8, wd,
                                                         amsgrad, decoupled, step};
                              t.adam_update.fn(s[0], g, s[1], s[2], s[3], h);
                            });
            }
}

TEST_CASE("RMSprop updates agree with the reference over several steps, every option") {
  manual_seed(18);
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : {Shape{1}, Shape{37}, Shape{33, 70}})
      for (const std::string& layout : param_layouts(shape))
        for (bool centered : {false, true})
          for (double momentum : {0.0, 0.9})
            for (double wd : {0.0, 1e-2}) {
              INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout
                                               << " centered " << centered << " momentum "
                                               << momentum << " wd " << wd);
              const Tensor p = values(shape, dt);
              const Tensor buf = momentum != 0 ? zeros(shape, dt) : Tensor();
              const Tensor avg = centered ? zeros(shape, dt) : Tensor();
              check_updates({p, zeros(shape, dt), buf, avg}, layout, gradients(p, 4, true),
                            [&](const kernel::KernelTable& t, std::vector<Tensor>& s,
                                const Tensor& g, int64_t) {
                              const kernel::RmspropUpdate h{1e-2, 0.99, 1e-8, wd, momentum,
                                                            centered};
                              t.rmsprop_update.fn(s[0], g, s[1], s[2], s[3], h);
                            });
            }
}

TEST_CASE("max and avg pooling and their adjoints equal the reference's bit for bit") {
  manual_seed(19);
  const std::vector<Shape> shapes = {{1, 1, 5, 5}, {2, 3, 17, 23}, {1, 2, 9, 40}, {2, 1, 8, 1}};
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : shapes)
      for (auto& [layout, v] : layouts(values(shape, dt)))
        for (const PoolCase& c : kPoolCases) {
          if (pooled(shape[2], c.kh, c.sh, c.ph, c.ceil_mode) < 1 ||
              pooled(shape[3], c.kw, c.sw, c.pw, c.ceil_mode) < 1)
            continue;
          INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << layout
                                           << " kernel " << c.kh << "x" << c.kw << " stride "
                                           << c.sh << "x" << c.sw << " padding " << c.ph << "x"
                                           << c.pw << (c.ceil_mode ? " ceil" : ""));
          // Quarters make ties common; NaN and -inf land in a few places.
          Tensor x = v;
          x.copy_((x * 4.0).to(kInt64).to(dt) / 4.0);
          x.copy_(where(rand(shape, kFloat64) < 0.03, NAN, x));
          x.copy_(where(rand(shape, kFloat64) < 0.03, -kInf, x));
          check_pooling(x, c);
        }
}

TEST_CASE("the fused kernels give bitwise identical results for 1, 2 and 3 threads") {
  manual_seed(20);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    const Tensor x = values({32, 40, 15, 15}, dt, 2.0, 1.0), gy = values(x.shape(), dt);
    const Tensor w = values({40}, dt), b = values({40}, dt);
    check_deterministic([&] {
      const BnResult r =
          run_batch_norm(cpu_table(), x, w, b, zeros({40}, dt), ones({40}, dt), true);
      const BnGrads g = run_batch_norm_backward(cpu_table(), gy, x, w, r.mean, r.invstd);
      return std::vector<Tensor>{r.y, r.mean, r.invstd, r.running_mean, r.running_var, g.gx, g.gw,
                                 g.gb};
    });
    const Tensor logits = values({3000, 37}, dt, 3.0), g = values(logits.shape(), dt);
    check_deterministic([&] {
      Tensor y = empty(logits.shape(), dt), dx = empty(logits.shape(), dt);
      cpu_table().log_softmax.fn(y, logits, 1);
      cpu_table().log_softmax_backward.fn(dx, g, y, 1);
      Tensor ys = empty(logits.shape(), dt);
      cpu_table().softmax.fn(ys, logits.t().contiguous().t(), 0);
      return std::vector<Tensor>{y, dx, ys};
    });
    const Tensor p = values({100003}, dt), target = rand({100003}, dt), one = full({}, 1.0, dt);
    check_deterministic([&] {
      std::vector<Tensor> out;
      for (int reduction = 0; reduction < 3; ++reduction) {
        Tensor l = empty(reduction == 0 ? Shape{100003} : Shape{}, dt), dx = empty_like(p);
        cpu_table().bce_with_logits.fn(l, p, target, Tensor(), Tensor(), reduction);
        cpu_table().bce_with_logits_backward.fn(dx, reduction == 0 ? l : one, p, target, Tensor(),
                                                Tensor(), reduction);
        out.push_back(l);
        out.push_back(dx);
      }
      return out;
    });
    const Tensor classes = randint(0, 10, {5000}), x10 = values({5000, 10}, dt, 2.0);
    check_deterministic([&] {
      Tensor l = empty({}, dt), dx = empty(x10.shape(), dt);
      cpu_table().cross_entropy.fn(l, x10, classes, Tensor(), Tensor(), 1);
      cpu_table().cross_entropy_backward.fn(dx, one, x10, classes, Tensor(), Tensor(), 1);
      return std::vector<Tensor>{l, dx};
    });
    const Tensor param = values({100003}, dt), grad = values({100003}, dt);
    check_deterministic([&] {
      Tensor q = param.clone(), m = zeros_like(param), v = zeros_like(param);
      cpu_table().adam_update.fn(q, grad, m, v, Tensor(),
                                 {1e-3, 0.9, 0.999, 1e-8, 0.0, false, true, 1});
      return std::vector<Tensor>{q, m, v};
    });
    const Tensor image = values({8, 16, 33, 33}, dt);
    kernel::Pool2dParams pp = params_of({3, 3, 2, 2, 1, 1, false}, true);
    check_deterministic([&] {
      Tensor y = empty({8, 16, 17, 17}, dt), idx = empty({8, 16, 17, 17}, kInt64);
      Tensor avg = empty({8, 16, 17, 17}, dt), gx = empty(image.shape(), dt);
      cpu_table().max_pool2d.fn(y, idx, image, pp);
      cpu_table().avg_pool2d.fn(avg, Tensor(), image, pp);
      cpu_table().avg_pool2d_backward.fn(gx, avg, Tensor(), pp);
      return std::vector<Tensor>{y, idx, avg, gx};
    });
  }
}
