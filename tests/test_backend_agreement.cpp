// The cpu backend agrees with the reference backend: every op of its kernel table, at every
// instruction-set level this machine supports, in float32 and float64, on random shapes with
// vector tails, transposed and sliced operands, broadcast (stride-0) operands and sizes that
// take every blocked and chunked path. Ops that round nothing or round once (copies,
// arithmetic, comparisons, selections, arg-reductions, sqrt) must match bit for bit; the
// others match within the bound stated beside each.
//
// The kernels run on one thread here: tests/test_cpu_determinism.cpp proves every op family
// bitwise identical for 1, 2 and 3 threads, and one thread keeps this program fast when ctest
// runs several test programs on the two cores at once.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "cpu_test_helpers.h"

using namespace tg;
using test::CpuStateGuard;
using test::cpu_table;
using test::ref_table;
using tg::test::max_abs_diff;

namespace {

const struct SingleThreaded {
  SingleThreaded() { cpu::set_num_threads(1); }
} kSingleThreaded;

// Runs f(isa) once per instruction-set level, with that level active.
template <class F>
void for_each_isa(F&& f) {
  CpuStateGuard guard;
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    INFO("isa: " << isa);
    f(isa);
  }
}

// Values of `shape` drawn N(shift, scale^2) in float64, then converted to dt (their absolute
// values for uint8: a negative double converted to uint8 is undefined behaviour).
Tensor values(const Shape& shape, DType dt, double scale = 1.0, double shift = 0.0) {
  Tensor v = randn(shape, kFloat64) * scale + shift;
  return (dt == kUInt8 ? v.abs() : v).to(dt);
}

// Rounds t's values in place to multiples of 1/4 (keeping its layout): ties become common.
void round_to_quarters(Tensor& t) {
  if (is_floating(t.dtype())) t.copy_((t * 4.0).to(kInt64).to(t.dtype()) / 4.0);
}

struct Operand {
  std::string layout;
  Tensor t;
};

// The same kind of values in the layouts kernels must handle: contiguous; transposed (the
// last two dims swapped in memory); every other element of a wider tensor; and a view at a
// storage offset.
std::vector<Operand> layouts(const Shape& shape, DType dt, double scale = 1.0, double shift = 0.0) {
  std::vector<Operand> out{{"contiguous", values(shape, dt, scale, shift)}};
  if (shape.size() >= 2) {
    Shape swapped = shape;
    std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
    out.push_back({"transposed", values(swapped, dt, scale, shift).transpose(-1, -2)});
  }
  if (!shape.empty()) {
    Shape wide = shape;
    wide.back() *= 2;
    out.push_back({"sliced", values(wide, dt, scale, shift).slice(-1, 0, wide.back(), 2)});
    Shape taller = shape;
    taller.front() += 1;
    out.push_back({"offset", values(taller, dt, scale, shift).narrow(0, 1, shape.front())});
  }
  return out;
}

bool same_bits(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  return got == want && std::signbit(got) == std::signbit(want);
}

// got == want bit for bit (NaN matches NaN; +0 and -0 differ).
void check_identical(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.dtype() == want.dtype());
  auto g = got.to_vector<double>(), w = want.to_vector<double>();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < g.size(); ++i)
    if (!same_bits(g[i], w[i]) && bad++ == 0) first = i;
  INFO(bad << " of " << g.size() << " differ; first at " << first << ": got "
            << (bad ? g[first] : 0.0) << ", want " << (bad ? w[first] : 0.0));
  CHECK(bad == 0);
}

// |got - want| <= ulps units in the last place of want (of the smallest normal number for
// subnormal results); NaN matches NaN and infinities must match exactly.
void check_ulps(const Tensor& got, const Tensor& want, double ulps) {
  REQUIRE(got.shape() == want.shape());
  const bool f32 = got.dtype() == kFloat32;
  const double eps =
      f32 ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
  const double tiny = f32 ? std::numeric_limits<float>::min() : std::numeric_limits<double>::min();
  auto g = got.to_vector<double>(), w = want.to_vector<double>();
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) || std::isnan(w[i]) || std::isinf(g[i]) || std::isinf(w[i])) {
      bad += !same_bits(g[i], w[i]);
      continue;
    }
    const double err = std::abs(g[i] - w[i]) / (eps * std::max(std::abs(w[i]), tiny));
    worst = std::max(worst, err);
    bad += err > ulps;
  }
  INFO("worst error " << worst << " ulp (bound " << ulps << "), " << bad
                       << " elements out of bounds");
  CHECK(bad == 0);
}

// |got - want| <= bound, elementwise.
void check_within(const Tensor& got, const Tensor& want, const Tensor& bound) {
  REQUIRE(got.shape() == want.shape());
  auto g = got.to_vector<double>(), w = want.to_vector<double>(), b = bound.to_vector<double>();
  size_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - w[i]);
    worst = std::max(worst, b[i] > 0 ? err / b[i] : err);
    bad += !(err <= b[i]);
  }
  INFO("worst error / bound " << worst << ", " << bad << " of " << g.size() << " out of bounds");
  CHECK(bad == 0);
}

Tensor empty_as(const Tensor& like) { return empty(like.shape(), like.dtype()); }

const std::vector<Shape> kElementwiseShapes = {
    {}, {1}, {7}, {17}, {33, 5}, {3, 1, 65}, {2, 9, 31}, {300, 257}};  // the last one is threaded

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("the cpu table fills every slot the reference table fills") {
  for (int i = 0; i < static_cast<int>(kernel::OpId::count); ++i) {
    const auto id = static_cast<kernel::OpId>(i);
    INFO("op: " << std::string(kernel::op_name(id)));
    CHECK(cpu_table().has(id) == ref_table().has(id));
  }
}

TEST_CASE("cpu is the default CPU backend and both backends can be selected") {
  auto names = kernel::available_backends();
  CHECK(std::find(names.begin(), names.end(), "cpu") != names.end());
  CHECK(std::find(names.begin(), names.end(), "reference") != names.end());
  const std::string initial = kernel::current_backend();
  if (!std::getenv("TAPEGRAD_BACKEND")) CHECK(initial == "cpu");
  kernel::set_backend("reference");
  CHECK(kernel::current_backend() == "reference");
  kernel::set_backend("cpu");
  CHECK(kernel::current_backend() == "cpu");
  kernel::set_backend(initial);
  CHECK_THROWS_WITH_ALL(kernel::set_backend("gpu9"), "set_backend", "unknown backend 'gpu9'", "cpu",
                        "reference");
}

TEST_CASE("every instruction-set level can be forced, and a missing one is a clear error") {
  CpuStateGuard guard;
  const auto levels = cpu::available_isas();
  REQUIRE_FALSE(levels.empty());
  CHECK(levels.back() == "generic");
  if (!std::getenv("TAPEGRAD_CPU_ISA")) CHECK(cpu::isa_name() == levels.front());
  for (const auto& isa : levels) {
    cpu::set_isa(isa);
    CHECK(cpu::isa_name() == isa);
  }
  CHECK_THROWS_WITH_ALL(cpu::set_isa("avx9"), "cpu::set_isa", "unknown level 'avx9'",
                        "available here", "generic");
  for (const char* level : {"avx512", "avx2"})
    if (std::find(levels.begin(), levels.end(), level) == levels.end())
      CHECK_THROWS_WITH_ALL(cpu::set_isa(level), "does not support level", level);
  CHECK_THROWS_WITH_ALL(cpu::set_num_threads(0), "cpu::set_num_threads", "at least 1", "0");
}

TEST_CASE("copy converts between every pair of dtypes bit for bit, in any layout") {
  manual_seed(1);
  const std::vector<DType> dtypes = {kFloat32, kFloat64, kInt64, kUInt8, kBool};
  for (DType from : dtypes)
    for (DType to : dtypes)
      for (const Shape& shape : {Shape{}, Shape{7}, Shape{5, 33}, Shape{300, 257}})
        for (auto& src : layouts(shape, from, 4.0, 2.0)) {
          INFO(std::string(dtype_name(from)) << " -> " << std::string(dtype_name(to)) << " "
                                             << shape_str(shape) << " " << src.layout);
          Tensor want = empty(shape, to);
          ref_table().copy.fn(want, src.t);
          for_each_isa([&](const std::string&) {
            Tensor got = empty(shape, to);
            cpu_table().copy.fn(got, src.t);
            check_identical(got, want);
          });
        }
  // Into a transposed destination, from a broadcast (stride-0) source.
  Tensor src = values({1, 33}, kFloat32).expand({40, 33});
  Tensor want = empty({33, 40}, kFloat64).t(), got = empty({33, 40}, kFloat64).t();
  ref_table().copy.fn(want, src);
  cpu_table().copy.fn(got, src);
  check_identical(got, want);
}

TEST_CASE("fill writes the reference's values in any dtype and layout") {
  for (DType dt : {kFloat32, kFloat64, kInt64, kUInt8, kBool})
    for (double v : {0.0, 1.5, -3.0})
      for (auto& dst : layouts({65, 9}, dt)) {
        INFO(std::string(dtype_name(dt)) << " " << v << " " << dst.layout);
        Tensor want = dst.t.clone();
        ref_table().fill.fn(want, v);
        cpu_table().fill.fn(dst.t, v);
        check_identical(dst.t, want);
      }
}

TEST_CASE("uniform and normal draw the reference's Philox values bit for bit") {
  // The second counter offset makes the 64-bit counter carry into its high word mid-fill.
  for_each_isa([](const std::string&) {
    for (DType dt : {kFloat32, kFloat64})
      for (const Shape& shape : {Shape{1}, Shape{17}, Shape{300, 257}})
        for (uint64_t offset : {uint64_t{77}, (uint64_t{1} << 32) - 5})
          for (auto& dst : layouts(shape, dt)) {
            INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << dst.layout
                                             << " offset " << offset);
            Tensor want = dst.t.clone(), got = dst.t;
            ref_table().uniform.fn(want, 1234, offset, -2.0, 3.0);
            cpu_table().uniform.fn(got, 1234, offset, -2.0, 3.0);
            check_identical(got, want);
            ref_table().normal.fn(want, 99, offset, 1.0, 0.5);
            cpu_table().normal.fn(got, 99, offset, 1.0, 0.5);
            check_identical(got, want);
          }
  });
}

namespace {

struct UnaryCase {
  kernel::OpId op;
  double alpha, beta;
  double ulps;    // 0: bit for bit
  double shift;   // input ~ N(shift, 3^2)
};

// exp, log, tanh, sigmoid, softplus are xsimd's polynomials: measured within 1.9 ulp of glibc
// at every level in both dtypes (tanh is the worst), so the bound is 3 ulp. pow with exponent
// 2 is x * x, correctly rounded, vs std::pow's < 1 ulp. Other exponents call std::pow itself.
const std::vector<UnaryCase> kUnaryCases = {
    {kernel::OpId::neg, 0, 0, 0, 0},        {kernel::OpId::abs, 0, 0, 0, 0},
    {kernel::OpId::sign, 0, 0, 0, 0},       {kernel::OpId::relu, 0, 0, 0, 0},
    {kernel::OpId::leaky_relu, 0.2, 0, 0, 0}, {kernel::OpId::clamp, -0.5, 0.7, 0, 0},
    {kernel::OpId::clamp, -kInf, 0.3, 0, 0}, {kernel::OpId::clamp, 0.5, -0.5, 0, 0},
    {kernel::OpId::sqrt, 0, 0, 0, 4},        {kernel::OpId::rsqrt, 0, 0, 0, 4},
    {kernel::OpId::pow_scalar, 2, 0, 1, 0},  {kernel::OpId::pow_scalar, 3, 0, 0, 0},
    {kernel::OpId::pow_scalar, -1.5, 0, 0, 6}, {kernel::OpId::exp, 0, 0, 3, 0},
    {kernel::OpId::log, 0, 0, 3, 6},         {kernel::OpId::tanh, 0, 0, 3, 0},
    {kernel::OpId::sigmoid, 0, 0, 3, 0},     {kernel::OpId::softplus, 1, 20, 3, 0},
    {kernel::OpId::softplus, 2, 5, 3, 0},
};

kernel::unary_fn unary_kernel(const kernel::KernelTable& t, kernel::OpId op) {
  switch (op) {
#define TG_CASE(name) \
  case kernel::OpId::name: return t.name.fn;
    TG_CASE(neg) TG_CASE(exp) TG_CASE(log) TG_CASE(sqrt) TG_CASE(rsqrt) TG_CASE(abs) TG_CASE(sign)
    TG_CASE(relu) TG_CASE(leaky_relu) TG_CASE(sigmoid) TG_CASE(tanh) TG_CASE(softplus)
    TG_CASE(pow_scalar) TG_CASE(clamp)
#undef TG_CASE
    default: FAIL("not a unary op"); return nullptr;
  }
}

// Runs the op on x into a fresh contiguous output, or into `out` (any layout) when given.
void check_unary(const UnaryCase& c, const Tensor& x, const Tensor& out = {}) {
  Tensor want = empty_as(x);
  unary_kernel(ref_table(), c.op)(want, x, c.alpha, c.beta);
  for_each_isa([&](const std::string&) {
    Tensor got = out.defined() ? out : empty_as(x);
    unary_kernel(cpu_table(), c.op)(got, x, c.alpha, c.beta);
    if (c.ulps == 0) check_identical(got, want);
    else check_ulps(got, want, c.ulps);
  });
}

}  // namespace

TEST_CASE("unary maps agree: exact ones bit for bit, transcendental ones within 3 ulp") {
  manual_seed(2);
  for (const auto& c : kUnaryCases)
    for (DType dt : {kFloat32, kFloat64}) {
      INFO(std::string(kernel::op_name(c.op)) << "(alpha " << c.alpha << ", beta " << c.beta
                                              << ") " << std::string(dtype_name(dt)));
      for (const Shape& shape : kElementwiseShapes)
        for (auto& x : layouts(shape, dt, 3.0, c.shift)) {
          INFO(shape_str(shape) << " " << x.layout);
          check_unary(c, x.t);
        }
      // Into a transposed output.
      Tensor x = values({33, 20}, dt, 3.0, c.shift);
      check_unary(c, x, empty({20, 33}, dt).t());
      // Special values, and the ranges where xsimd's exp and log depart from libm (overflow
      // edge, subnormal results and inputs).
      const std::vector<double> specials = {0.0,    -0.0,    kInf,  -kInf, NAN,  88.5, -88.5,
                                            -100.0, 709.5,   -740., 1e-310, -1e-310, 1e-40, 20.0,
                                            -20.0,  0.3,     -0.7,  1e30,   -1e30};
      Tensor special = tensor<double>(specials).to(dt);
      check_unary(c, special);
    }
}

namespace {

kernel::binary_fn binary_kernel(const kernel::KernelTable& t, kernel::OpId op) {
  switch (op) {
#define TG_CASE(name) \
  case kernel::OpId::name: return t.name.fn;
    TG_CASE(add) TG_CASE(sub) TG_CASE(mul) TG_CASE(div) TG_CASE(eq) TG_CASE(ne) TG_CASE(lt)
    TG_CASE(le) TG_CASE(gt) TG_CASE(ge)
#undef TG_CASE
    default: FAIL("not a binary op"); return nullptr;
  }
}

bool is_comparison(kernel::OpId op) { return op >= kernel::OpId::eq && op <= kernel::OpId::ge; }

// Broadcast cases as the op layer hands them to kernels: operands expanded to out's shape.
struct BroadcastCase {
  Shape out, a, b;
};
const std::vector<BroadcastCase> kBroadcastCases = {
    {{5, 7}, {5, 7}, {7}},           {{4, 3, 33}, {4, 1, 33}, {3, 1}},
    {{65}, {}, {65}},                {{65}, {65}, {}},
    {{300, 257}, {300, 257}, {300, 1}}, {{2, 1, 17}, {1, 1, 17}, {2, 1, 1}},
    {{1}, {1}, {1}},                 {{300, 257}, {257}, {300, 257}},
};

}  // namespace

TEST_CASE("arithmetic and comparisons agree bit for bit with broadcast and strided operands") {
  manual_seed(3);
  const std::vector<kernel::OpId> ops = {kernel::OpId::add, kernel::OpId::sub, kernel::OpId::mul,
                                         kernel::OpId::div, kernel::OpId::eq,  kernel::OpId::ne,
                                         kernel::OpId::lt,  kernel::OpId::le,  kernel::OpId::gt,
                                         kernel::OpId::ge};
  for (kernel::OpId op : ops)
    for (DType dt : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
      const bool compare = is_comparison(op);
      if (!compare && (dt == kUInt8 || dt == kBool)) continue;  // not in either table
      if (op == kernel::OpId::div && dt == kInt64) continue;
      INFO(std::string(kernel::op_name(op)) << " " << std::string(dtype_name(dt)));
      for (const auto& bc : kBroadcastCases) {
        // Each layout of a against a contiguous b, and a contiguous a against each layout of b.
        std::vector<std::pair<Operand, Operand>> pairs;
        for (auto& a : layouts(bc.a, dt, 2.0)) pairs.push_back({a, layouts(bc.b, dt, 2.0).front()});
        for (auto& b : layouts(bc.b, dt, 2.0)) pairs.push_back({layouts(bc.a, dt, 2.0).front(), b});
        for (auto& [a, b] : pairs) {
          INFO(shape_str(bc.out) << " = " << a.layout << " " << shape_str(bc.a) << " op "
                                 << b.layout << " " << shape_str(bc.b));
          round_to_quarters(a.t);  // ties (eq, le, ge) and exact zeros (div) become common
          round_to_quarters(b.t);
          const DType out_dt = compare ? kBool : dt;
          Tensor want = empty(bc.out, out_dt), got = empty(bc.out, out_dt);
          binary_kernel(ref_table(), op)(want, a.t.expand(bc.out), b.t.expand(bc.out));
          for_each_isa([&](const std::string&) {
            binary_kernel(cpu_table(), op)(got, a.t.expand(bc.out), b.t.expand(bc.out));
            check_identical(got, want);
          });
        }
      }
    }
  // NaN operands in every lane position, and a transposed output.
  Tensor a = tensor<double>({NAN, 1.0, -0.0, 0.0, kInf, NAN, -kInf, 2.0, 3.0}).to(kFloat32);
  Tensor b = tensor<double>({1.0, NAN, 0.0, -0.0, kInf, NAN, 1.0, 2.0, 0.0}).to(kFloat32);
  for (kernel::OpId op : ops) {
    const DType out_dt = is_comparison(op) ? kBool : kFloat32;
    Tensor want = empty({9}, out_dt), got = empty({9}, out_dt);
    binary_kernel(ref_table(), op)(want, a, b);
    for_each_isa([&](const std::string&) {
      binary_kernel(cpu_table(), op)(got, a, b);
      check_identical(got, want);
    });
  }
  Tensor x = values({40, 33}, kFloat64), y = values({33}, kFloat64).expand({40, 33});
  Tensor want = empty({40, 33}, kFloat64), got = empty({33, 40}, kFloat64).t();
  ref_table().mul.fn(want, x, y);
  cpu_table().mul.fn(got, x, y);
  check_identical(got, want);
}

TEST_CASE("leaky_relu_backward agrees bit for bit, with zeros, infinities and NaN") {
  manual_seed(5);
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : {Shape{1}, Shape{37}, Shape{9, 130}})
      for (auto& x : layouts(shape, dt))
        for (auto& g : layouts(shape, dt))
          for (double slope : {0.0, 0.2}) {
            INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " x " << x.layout
                                             << " g " << g.layout << " slope " << slope);
            // Some x exactly 0 (the kink takes slope) and some g infinite or NaN.
            Tensor xv = where(rand(shape, kFloat64) < 0.1, 0.0, x.t.to(kFloat64)).to(dt);
            Tensor gv = where(rand(shape, kFloat64) < 0.05, INFINITY, g.t.to(kFloat64));
            gv = where(rand(shape, kFloat64) < 0.05, NAN, gv).to(dt);
            Tensor want = empty(shape, dt), got = empty(shape, dt);
            ref_table().leaky_relu_backward.fn(want, gv, xv, slope);
            for_each_isa([&](const std::string&) {
              cpu_table().leaky_relu_backward.fn(got, gv, xv, slope);
              check_identical(got, want);
            });
          }
}

TEST_CASE("where selects bit for bit with broadcast condition and operands, in every dtype") {
  manual_seed(4);
  for (DType dt : {kFloat32, kFloat64, kInt64, kUInt8, kBool})
    for (const auto& bc : kBroadcastCases)
      for (auto& cond : layouts(bc.a, kFloat64)) {
        INFO(std::string(dtype_name(dt)) << " " << shape_str(bc.out) << " condition "
                                         << cond.layout);
        Tensor c = cond.t > 0.0;
        Tensor a = values(bc.a, dt, 3.0), b = values(bc.b, dt, 3.0);
        Tensor want = empty(bc.out, dt), got = empty(bc.out, dt);
        ref_table().where.fn(want, c.expand(bc.out), a.expand(bc.out), b.expand(bc.out));
        for_each_isa([&](const std::string&) {
          cpu_table().where.fn(got, c.expand(bc.out), a.expand(bc.out), b.expand(bc.out));
          check_identical(got, want);
        });
      }
}

namespace {

// Sum bound: both backends accumulate in double, in different orders, so their double sums
// differ by at most 2 n u_64 sum|x| (the classic recursive-summation bound, twice); a float32
// result may then round to the neighbouring float: + 1 ulp of float32.
Tensor sum_bound(const Tensor& abs_sum, int64_t n, DType dt) {
  const double u64 = std::numeric_limits<double>::epsilon() / 2;
  Tensor b = abs_sum.to(kFloat64) * (2.0 * static_cast<double>(n) * u64);
  const double ulp32 = std::numeric_limits<float>::epsilon();
  if (dt == kFloat32) b = b + abs_sum.to(kFloat64) * ulp32;
  return b;
}

void check_sum(const Tensor& x, const Shape& dims) {
  Shape keep = x.shape();
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d), keep[d] = 1;
  Tensor want = empty(keep, x.dtype()), abs_sum = empty(keep, x.dtype());
  ref_table().sum.fn(want, x);
  ref_table().sum.fn(abs_sum, x.abs());
  const Tensor bound = sum_bound(abs_sum, n, x.dtype());
  for_each_isa([&](const std::string&) {
    Tensor got = empty(keep, x.dtype());
    cpu_table().sum.fn(got, x);
    check_within(got, want, bound);
  });
}

}  // namespace

TEST_CASE("sum agrees within double-accumulation rounding over any dims and layouts") {
  manual_seed(5);
  struct SumCase {
    Shape shape, dims;
  };
  const std::vector<SumCase> cases = {
      {{1}, {0}},          {{7}, {0}},          {{100003}, {0}},        {{300, 257}, {0}},
      {{300, 257}, {1}},   {{300, 257}, {0, 1}}, {{4, 5, 6, 7}, {0, 2}}, {{4, 5, 6, 7}, {1, 3}},
      {{8, 6, 17, 17}, {0, 2, 3}}, {{5, 1, 9}, {1}}, {{5, 1, 9}, {0, 1}}, {{3, 4}, {}},
      {{2, 70000}, {1}},   {{70000, 3}, {0}},
  };
  for (DType dt : {kFloat32, kFloat64})
    for (const auto& c : cases)
      for (auto& x : layouts(c.shape, dt, 1.0, 0.5)) {
        INFO(std::string(dtype_name(dt)) << " sum of " << shape_str(c.shape) << " over "
                                         << shape_str(c.dims) << " " << x.layout);
        check_sum(x.t, c.dims);
      }
  // A broadcast (stride-0) input, and an empty one (the empty sum is 0).
  check_sum(values({1, 257}, kFloat32).expand({300, 257}), {0});
  check_sum(values({300, 1}, kFloat32).expand({300, 257}), {1});
  for_each_isa([&](const std::string&) {
    Tensor got = full({1, 3}, 7.0);
    cpu_table().sum.fn(got, empty({0, 3}));
    CHECK(got.to_vector<float>() == std::vector<float>{0, 0, 0});
  });
}

TEST_CASE("max and min pick the reference's values and first indices, NaN and ties included") {
  manual_seed(6);
  for (DType dt : {kFloat32, kFloat64})
    for (const Shape& shape : {Shape{1}, Shape{37}, Shape{70, 3}, Shape{3, 70}, Shape{5, 1, 33},
                               Shape{40, 129}, Shape{2, 3000}})
      for (auto& x : layouts(shape, dt))
        for (int64_t dim = 0; dim < static_cast<int64_t>(shape.size()); ++dim)
          for (bool with_nan : {false, true}) {
            INFO(std::string(dtype_name(dt)) << " " << shape_str(shape) << " " << x.layout
                                             << " dim " << dim << (with_nan ? " with NaN" : ""));
            // Coarse values make ties common; NaNs land in a few places. (Written into x's
            // storage, so the layout under test is kept.)
            Tensor v = x.t;
            round_to_quarters(v);
            if (with_nan) v.copy_(where(rand(shape, kFloat64) < 0.02, NAN, v));
            Shape ks = shape;
            ks[dim] = 1;
            for (bool is_max : {true, false}) {
              Tensor want_v = empty(ks, dt), want_i = empty(ks, kInt64);
              (is_max ? ref_table().max.fn : ref_table().min.fn)(want_v, want_i, v, dim);
              for_each_isa([&](const std::string&) {
                Tensor got_v = empty(ks, dt), got_i = empty(ks, kInt64);
                (is_max ? cpu_table().max.fn : cpu_table().min.fn)(got_v, got_i, v, dim);
                check_identical(got_v, want_v);
                check_identical(got_i, want_i);
              });
            }
          }
}

namespace {

// op(A) of shape [M, K] in float64 values, then dt: transposed means stored as [K, M].
Tensor matrix(int64_t rows, int64_t cols, bool transposed, DType dt) {
  return transposed ? values({cols, rows}, dt).t() : values({rows, cols}, dt);
}

// GEMM bound (Higham, Accuracy and Stability, 3.5): an FMA dot product of length K is within
// K u (|A||B|) of the exact one, and the reference (double, then rounded) within u |A||B|.
void check_matmul(const Tensor& a, const Tensor& b, const Tensor& out_like) {
  const int64_t K = a.size(2);
  Tensor want = empty_as(out_like), magnitude = empty_as(out_like);
  ref_table().matmul.fn(want, a, b);
  ref_table().matmul.fn(magnitude, a.abs(), b.abs());
  const double u = (a.dtype() == kFloat32 ? std::numeric_limits<float>::epsilon()
                                          : std::numeric_limits<double>::epsilon()) / 2;
  const Tensor bound = magnitude.to(kFloat64) * (static_cast<double>(K + 2) * u);
  for_each_isa([&](const std::string&) {
    Tensor got = out_like.is_contiguous() ? empty_as(out_like) : out_like;
    cpu_table().matmul.fn(got, a, b);
    check_within(got, want, bound);
  });
}

}  // namespace

TEST_CASE("matmul agrees at odd sizes and in every transpose combination") {
  manual_seed(7);
  struct Size {
    int64_t M, N, K;
  };
  // Vector tails; whole micro-tiles (6 x 64 at AVX-512, 6 x 16 at AVX2, 4 x 8 generic); K cut
  // into several KC (384) blocks; more than one MC (1008) block of rows; few columns, which
  // run as C^T = B^T A^T (N = 1: a critic's last layer; N = 20: a VAE's latent layer); A
  // packed once and shared by the threads (M <= MC, several column tiles: 100 x 300).
  const std::vector<Size> sizes = {
      {1, 1, 1},      {1, 17, 3},     {7, 13, 5},    {6, 64, 16},   {12, 128, 400},
      {17, 49, 33},   {9, 100, 800},  {65, 97, 260}, {1100, 70, 20}, {128, 1, 256},
      {128, 20, 400}, {1100, 3, 50},  {100, 300, 200}};
  for (DType dt : {kFloat32, kFloat64})
    for (const auto& s : sizes)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          INFO(std::string(dtype_name(dt)) << " M=" << s.M << " N=" << s.N << " K=" << s.K
                                           << (ta ? " A^T" : "") << (tb ? " B^T" : ""));
          Tensor a = matrix(s.M, s.K, ta, dt).unsqueeze(0);
          Tensor b = matrix(s.K, s.N, tb, dt).unsqueeze(0);
          check_matmul(a, b, empty({1, s.M, s.N}, dt));
        }
}

TEST_CASE("batched matmul handles stride-0 batches, sliced operands and strided outputs") {
  manual_seed(8);
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(std::string(dtype_name(dt)));
    // A shared right operand (folded into one taller GEMM) and a shared left one.
    const Tensor out = empty({3, 7, 9}, dt);
    check_matmul(values({3, 7, 20}, dt), values({1, 20, 9}, dt).expand({3, 20, 9}), out);
    check_matmul(values({1, 7, 20}, dt).expand({3, 7, 20}), values({3, 20, 9}, dt), out);
    // Every other column of wider tensors, a transposed output, many small products.
    Tensor a = values({4, 33, 2 * 19}, dt).slice(2, 0, 38, 2);
    Tensor b = values({4, 19, 2 * 50}, dt).slice(2, 0, 100, 2);
    check_matmul(a, b, empty({4, 33, 50}, dt));
    check_matmul(a, b, empty({4, 50, 33}, dt).transpose(1, 2));
    check_matmul(values({64, 5, 6}, dt), values({64, 6, 7}, dt), empty({64, 5, 7}, dt));
    // K = 0: the product is zero.
    for_each_isa([&](const std::string&) {
      Tensor got = full({2, 3, 4}, 5.0, dt);
      cpu_table().matmul.fn(got, empty({2, 3, 0}, dt), empty({2, 0, 4}, dt));
      CHECK(max_abs_diff(got, zeros({2, 3, 4}, dt)) == 0);
    });
  }
}

TEST_CASE("cpu::gemm honours alpha, beta, transposes and leading dimensions") {
  manual_seed(9);
  const int64_t pad = 3;
  // The second shape has few columns: it runs as C^T = B^T A^T.
  for (auto [M, N, K] : {std::array<int64_t, 3>{37, 41, 29}, {130, 5, 29}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0, -0.5}) {
          INFO("M=" << M << " N=" << N << (ta ? " A^T" : "") << (tb ? " B^T" : "") << " beta "
                    << beta);
          const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
          std::vector<double> a = values({(ta ? K : M) * lda}, kFloat64).to_vector<double>();
          std::vector<double> b = values({(tb ? N : K) * ldb}, kFloat64).to_vector<double>();
          std::vector<double> c0 = values({M * ldc}, kFloat64).to_vector<double>();
          if (beta == 0.0)
            std::fill(c0.begin(), c0.end(), std::numeric_limits<double>::quiet_NaN());
          for_each_isa([&](const std::string&) {
            std::vector<double> c = c0;
            cpu::gemm(ta, tb, M, N, K, 1.5, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
            // Within (K + 2) u of the magnitudes involved (see check_matmul); NaN fails.
            int64_t bad = 0;
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) {
                double dot = 0, mag = 0;
                for (int64_t k = 0; k < K; ++k) {
                  const double x = ta ? a[k * lda + i] : a[i * lda + k];
                  const double y = tb ? b[j * ldb + k] : b[k * ldb + j];
                  dot += x * y;
                  mag += std::abs(x * y);
                }
                const double cterm = beta == 0.0 ? 0.0 : beta * c0[i * ldc + j];
                const double want = 1.5 * dot + cterm;
                const double u = std::numeric_limits<double>::epsilon();
                const double bound = (K + 2) * u * (1.5 * mag + std::abs(cterm));
                bad += !(std::abs(c[i * ldc + j] - want) <= bound);
              }
            CHECK(bad == 0);
            // The padding between rows of C is never written.
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = N; j < ldc; ++j)
                CHECK(same_bits(c[i * ldc + j], c0[i * ldc + j]));
          });
        }
  }
  float x = 0;
  CHECK_THROWS_WITH_ALL(cpu::gemm(false, false, -1, 2, 2, 1.f, &x, 2, &x, 2, 0.f, &x, 2),
                        "cpu::gemm", "M=-1");
  CHECK_THROWS_WITH_ALL(cpu::gemm(false, true, 4, 4, 8, 1.f, &x, 4, &x, 8, 0.f, &x, 4), "cpu::gemm",
                        "leading dimensions too small", "lda=4", "K=8");
}

TEST_CASE("a model's forward and backward give the same numbers on both backends") {
  manual_seed(10);
  const std::string initial = kernel::current_backend();
  Tensor x = randn({16, 30}), w = randn({20, 30}) * 0.2, b = randn({20});
  const auto run = [&](const std::string& backend) {
    kernel::set_backend(backend);
    Tensor wl = w.detach().requires_grad_(), bl = b.detach().requires_grad_();
    Tensor h = tanh(linear(x, wl, bl));
    Tensor loss = (sigmoid(h) * h).sum() + logsumexp(h, {1}).mean();
    loss.backward();
    return std::vector<Tensor>{loss.detach(), wl.grad(), bl.grad()};
  };
  auto want = run("reference");
  auto got = run("cpu");
  kernel::set_backend(initial);
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("result " << i);
    CHECK(max_abs_diff(got[i], want[i]) <= 1e-5 * (1.0 + max(want[i].abs()).item<double>()));
  }
}

TEST_CASE("the caching allocator serves a steady loop without new system allocations") {
  const std::string initial = kernel::current_backend();
  kernel::set_backend("cpu");
  manual_seed(11);
  Tensor w = randn({64, 48}).requires_grad_();
  const auto step = [&] {
    Tensor x = randn({32, 64});
    Tensor loss = relu(matmul(x, w)).pow(2.0).mean();
    loss.backward();
    w.grad().zero_();
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up: the loop's blocks enter the cache
  const int64_t live = memory::live_allocations(), live_bytes = memory::live_bytes();
  const auto before = cpu::allocator_stats();
  for (int i = 0; i < 5; ++i) step();
  const auto after = cpu::allocator_stats();
  CHECK(after.system_allocations == before.system_allocations);
  CHECK(after.reuses > before.reuses);
  // Storages are still counted as they come and go, cache or not.
  CHECK(memory::live_allocations() == live);
  CHECK(memory::live_bytes() == live_bytes);
  CHECK(after.cached_bytes > 0);
  cpu::empty_cache();
  CHECK(cpu::allocator_stats().cached_bytes == 0);
  // The reference backend allocates through the default allocator: the cache does not move.
  kernel::set_backend("reference");
  const auto idle = cpu::allocator_stats();
  { Tensor t = randn({1000}); }
  CHECK(cpu::allocator_stats().reuses == idle.reuses);
  CHECK(cpu::allocator_stats().system_allocations == idle.system_allocations);
  kernel::set_backend(initial);
}
