// The CUDA backend (backends/cuda). With a GPU: every kernel against the reference backend in
// float32 and float64, on random shapes with tails and non-contiguous, broadcast and
// misaligned operands; float64 gradchecks with the tensors on the GPU; a DCGAN-style training
// step on the GPU against the same step on the CPU; the caching allocator. Without one: the
// errors and the registry behave, and the kernels' index arithmetic (backends/cuda/indexing.h)
// is checked on the host. The program then prints why the GPU cases did not run and exits
// with 77, which CTest reports as skipped.
//
// Tolerances: copies, fills, uniform draws, comparisons, selections, arg-reductions, pooling
// and the ops that round once (+ - * / sqrt) match bit for bit. Math-library functions (exp,
// log, tanh, pow, ...) differ from glibc's by a few units in the last place, so they are
// held to kUlps ulps. Sums accumulated in double, in another order, are held to a few ulps of
// the sum of magnitudes. GEMM-based ops accumulate in the element type: their bound is the
// classic |error| <= K * eps * sum |a_k b_k|, computed with the reference kernel on |a|, |b|.
#define DOCTEST_CONFIG_IMPLEMENT
#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <sstream>

#include "backends/cuda/cuda.h"
#include "backends/cuda/indexing.h"
#include "test_helpers.h"

using namespace tg;

namespace {

constexpr double kUlps = 8;

const kernel::KernelTable& ref() { return kernel::table_named("reference"); }
const kernel::KernelTable& gpu() { return kernel::table_named("cuda"); }

double eps_of(DType t) {
  return t == kFloat32 ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
}

// Ulps of dt that a double sum of n terms may move by when its terms are added in another
// order (the kernels combine in trees, the reference in sequence): up to n double roundings,
// relative to the sum of magnitudes. Nothing for float32 results, a lot for float64 ones.
double order_ulps(DType dt, int64_t n) {
  return static_cast<double>(n) * std::numeric_limits<double>::epsilon() / eps_of(dt);
}

// t's layout (shape, strides, offset) over a GPU copy of t's whole storage.
Tensor on_gpu(const Tensor& t) {
  const auto elements = static_cast<int64_t>(t.impl()->storage->nbytes() / dtype_size(t.dtype()));
  const Tensor storage = make_view(t, {elements}, {1}, 0).to(kCUDA);
  return make_view(storage, t.shape(), t.strides(), t.storage_offset());
}

// Values N(shift, scale^2) of `shape` in dt (absolute values for uint8), in the layouts
// kernels must handle: contiguous; transposed; every other element; at a storage offset of
// one element (so vector loads are misaligned); broadcast along the first dim.
struct Operand {
  std::string layout;
  Tensor t;
};

Tensor values(const Shape& shape, DType dt, double scale = 1.0, double shift = 0.0) {
  Tensor v = randn(shape, kFloat64) * scale + shift;
  return (dt == kUInt8 ? v.abs() : v).to(dt);
}

std::vector<Operand> layouts(const Shape& shape, DType dt, double scale = 1.0, double shift = 0.0) {
  std::vector<Operand> out{{"contiguous", values(shape, dt, scale, shift)}};
  if (shape.empty()) return out;
  if (shape.size() >= 2) {
    Shape swapped = shape;
    std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
    out.push_back({"transposed", values(swapped, dt, scale, shift).transpose(-1, -2)});
  }
  Shape wide = shape;
  wide.back() *= 2;
  out.push_back({"sliced", values(wide, dt, scale, shift).slice(-1, 0, wide.back(), 2)});
  const Tensor flat = values({numel_of(shape) + 1}, dt, scale, shift);
  out.push_back({"offset", make_view(flat, shape, contiguous_strides(shape), 1)});
  Shape one = shape;
  one.front() = 1;
  out.push_back({"broadcast", values(one, dt, scale, shift).expand(shape)});
  return out;
}

bool same_bits(double got, double want) {
  if (std::isnan(got) || std::isnan(want)) return std::isnan(got) && std::isnan(want);
  return got == want && std::signbit(got) == std::signbit(want);
}

// got (on any device) equals want bit for bit; NaN matches NaN.
void check_identical(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < g.size(); ++i)
    if (!same_bits(g[i], w[i]) && bad++ == 0) first = i;
  INFO(bad << " of " << g.size() << " differ; first at " << first << ": got " << (bad ? g[first] : 0.0)
            << ", want " << (bad ? w[first] : 0.0));
  CHECK(bad == 0);
}

// |got - want| <= bound elementwise (bound a tensor of want's shape, or one number); NaN
// matches NaN and infinities must match exactly.
void check_within(const Tensor& got, const Tensor& want, const std::vector<double>& bound) {
  REQUIRE(got.shape() == want.shape());
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double b = bound.size() == 1 ? bound[0] : bound[i];
    const bool ok = std::isnan(w[i]) || std::isinf(w[i]) ? same_bits(g[i], w[i]) : std::abs(g[i] - w[i]) <= b;
    if (!ok && bad++ == 0) first = i;
  }
  INFO(bad << " of " << g.size() << " out of bounds; first at " << first << ": got " << (bad ? g[first] : 0.0)
            << ", want " << (bad ? w[first] : 0.0));
  CHECK(bad == 0);
}

// |got - want| <= ulps units of want's dtype relative to |want| (and to `scale`, the size of
// the values the result was computed from, for results near zero).
void check_ulps(const Tensor& got, const Tensor& want, double ulps, double scale = 0) {
  const double eps = eps_of(want.dtype());
  std::vector<double> bound;
  for (double w : want.to_vector<double>()) bound.push_back(ulps * eps * (std::abs(w) + scale) + 1e-300);
  check_within(got, want, bound);
}

// A fresh output of `shape` on the host and on the GPU.
struct Outputs {
  Tensor cpu, cuda;
};
Outputs outputs(const Shape& shape, DType dt) {
  return {empty(shape, dt), empty(shape, TensorOptions(dt).device(kCUDA))};
}

std::vector<DType> floating() { return {kFloat32, kFloat64}; }

}  // namespace

// ---------------------------------------------------------------------------------------
// Cases that need no GPU.

TEST_CASE("is_available, device_count and unavailable_reason agree") {
  if (cuda::is_available()) {
    CHECK(cuda::device_count() > 0);
    CHECK(cuda::unavailable_reason().empty());
  } else {
    CHECK(cuda::device_count() == 0);
    CHECK_FALSE(cuda::unavailable_reason().empty());
  }
}

TEST_CASE("the cuda backend fills every slot of the kernel table") {
  for (int id = 0; id < static_cast<int>(kernel::OpId::count); ++id) {
    INFO("op " << kernel::op_name(static_cast<kernel::OpId>(id)));
    CHECK(gpu().has(static_cast<kernel::OpId>(id)));
  }
}

TEST_CASE("the cuda backend serves cuda:0 and set_backend leaves the CPU's choice alone") {
  const auto names = kernel::available_backends();
  CHECK(std::find(names.begin(), names.end(), "cuda") != names.end());
  CHECK(kernel::current_backend(DeviceType::CUDA) == "cuda");
  const std::string cpu_backend = kernel::current_backend(DeviceType::CPU);
  kernel::set_backend("cuda");
  CHECK(kernel::current_backend(DeviceType::CPU) == cpu_backend);
  CHECK(kernel::current_backend(DeviceType::CUDA) == "cuda");
  kernel::set_backend("reference");
  CHECK(kernel::current_backend(DeviceType::CUDA) == "cuda");
  kernel::set_backend(cpu_backend);
}

TEST_CASE("offsets of merged dims are the strided offsets of every operand") {
  manual_seed(1);
  const std::vector<double> draws = rand({400}, kFloat64).to_vector<double>();
  size_t next = 0;
  auto draw = [&](int64_t n) { return static_cast<int64_t>(draws[next++ % draws.size()] * n); };
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t rank = 1 + draw(5);
    Shape shape(rank), contiguous(rank), other(rank);
    for (int64_t d = 0; d < rank; ++d) shape[d] = 1 + draw(4);
    contiguous = contiguous_strides(shape);
    for (int64_t d = 0; d < rank; ++d) other[d] = draw(3) == 0 ? 0 : contiguous[d] * (1 + draw(2)) + draw(2);
    const auto at = cuda::make_offsets<2>(shape, {&contiguous, &other});
    int64_t linear = 0;
    Shape idx(rank, 0);
    while (true) {
      int64_t want0 = 0, want1 = 0, got[2];
      for (int64_t d = 0; d < rank; ++d) want0 += idx[d] * contiguous[d], want1 += idx[d] * other[d];
      at.offsets(linear++, got);
      REQUIRE(got[0] == want0);
      REQUIRE(got[1] == want1);
      int64_t d = rank - 1;
      for (; d >= 0 && ++idx[d] == shape[d]; --d) idx[d] = 0;
      if (d < 0) break;
    }
  }
  const Shape shape{4, 5, 6}, strides = contiguous_strides(shape);
  CHECK(cuda::make_offsets<1>(shape, {&strides}).ndim == 1);  // a contiguous tensor is one dim
}

TEST_CASE("the pooling and convolution inverse maps find exactly the windows and taps") {
  for (int64_t size : {1, 5, 8})
    for (int64_t kernel : {1, 2, 3})
      for (int64_t stride : {1, 2, 3})
        for (int64_t pad = 0; pad <= kernel / 2; ++pad) {
          const int64_t outputs = (size + 2 * pad - kernel) / stride + 1;
          for (int64_t h = 0; h < size; ++h) {
            const cuda::Range r = cuda::windows_containing(h, outputs, kernel, stride, pad);
            for (int64_t i = 0; i < outputs; ++i) {
              const cuda::Window w = cuda::pool_window(i, size, kernel, stride, pad);
              INFO("size " << size << " kernel " << kernel << " stride " << stride << " pad " << pad << " h " << h
                           << " i " << i);
              CHECK((w.begin <= h && h < w.end) == (r.first <= i && i <= r.last));
            }
            for (int64_t dilation : {1, 2})
              for (int64_t a = 0; a < kernel; ++a) {
                int64_t want = -1;
                for (int64_t i = 0; i < outputs; ++i)
                  if (i * stride - pad + a * dilation == h) want = i;
                CHECK(cuda::tap_source(h, a, outputs, stride, pad, dilation) == want);
              }
          }
        }
}

TEST_SUITE("no_gpu") {
TEST_CASE("without a GPU, moving a tensor to cuda:0 is a tg::Error that says why") {
  const std::string reason = cuda::unavailable_reason();
  CHECK_THROWS_WITH_ALL(zeros({2, 3}).to(kCUDA), "to:", "cannot move float32[2, 3] (cpu) to cuda:0",
                        "no usable CUDA device", reason.c_str());
  CHECK_THROWS_WITH_ALL(zeros({2}, TensorOptions().device(kCUDA)), "cuda:", "no usable CUDA device");
  CHECK_THROWS_WITH_ALL(cuda::device_name(), "cuda:", "no usable CUDA device");
  CHECK_NOTHROW(cuda::synchronize());
  CHECK(cuda::allocator_stats().system_allocations == 0);
}
}  // TEST_SUITE("no_gpu")

// ---------------------------------------------------------------------------------------
// Cases that need a GPU.

TEST_SUITE("gpu") {

TEST_CASE("copies move every dtype and layout between host and device unchanged") {
  manual_seed(2);
  for (DType dt : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    for (const Operand& op : layouts({5, 37}, dt == kBool ? kFloat64 : dt)) {
      INFO(dtype_name(dt) << " " << op.layout);
      const Tensor src = dt == kBool ? gt(op.t, zeros({1}, kFloat64)) : op.t;
      const Tensor there = src.to(kCUDA);
      CHECK(there.device() == kCUDA);
      check_identical(there.to(kCPU), src);
      check_identical(on_gpu(src).to(kCPU), src);  // a strided device source
      // Into a strided host destination, and converting dtypes on the device.
      Tensor host = empty({37, 5}, dt).transpose(0, 1);
      gpu().copy.fn(host, there);
      check_identical(host, src);
      for (DType to : {kFloat32, kFloat64, kInt64}) {
        Outputs out = outputs(src.shape(), to);
        ref().copy.fn(out.cpu, src);
        gpu().copy.fn(out.cuda, on_gpu(src));
        check_identical(out.cuda, out.cpu);
      }
    }
  }
  const Tensor x = tensor<double>({1.5, -2, 3}, {3});
  CHECK(x.to(kCUDA).sum().item<double>() == 2.5);
  std::ostringstream host_text, device_text;
  host_text << x;
  device_text << x.to(kCUDA);
  CHECK(device_text.str().find(host_text.str().substr(0, host_text.str().size() - 1)) == 0);
  CHECK(device_text.str().find("device='cuda:0'") != std::string::npos);
}

TEST_CASE("fills and the Philox draws give the CPU's numbers") {
  for (DType dt : floating()) {
    Outputs out = outputs({3, 1001}, dt);
    ref().fill.fn(out.cpu, -2.5);
    gpu().fill.fn(out.cuda, -2.5);
    check_identical(out.cuda, out.cpu);
    ref().uniform.fn(out.cpu, 7, 12345, -1.0, 3.0);
    gpu().uniform.fn(out.cuda, 7, 12345, -1.0, 3.0);
    check_identical(out.cuda, out.cpu);  // integer bits and two explicitly rounded operations
    Tensor strided_cpu = empty({1001, 3}, dt).t(), strided_gpu = empty({1001, 3}, TensorOptions(dt).device(kCUDA)).t();
    ref().normal.fn(strided_cpu, 9, 77, 0.5, 2.0);
    gpu().normal.fn(strided_gpu, 9, 77, 0.5, 2.0);
    check_ulps(strided_gpu, strided_cpu, 4, 2.0);  // log and cos of CUDA's library, within an ulp or two
  }
  manual_seed(5);
  const Tensor a = rand({257});
  manual_seed(5);
  check_identical(rand({257}, TensorOptions().device(kCUDA)), a);
}

TEST_CASE("unary kernels match the reference") {
  using kernel::OpId;
  struct Case {
    OpId id;
    kernel::Slot<kernel::unary_fn> kernel::KernelTable::*slot;
    double alpha, beta, shift;
    bool exact;
  };
  const std::vector<Case> cases = {
      {OpId::neg, &kernel::KernelTable::neg, 0, 0, 0, true},
      {OpId::exp, &kernel::KernelTable::exp, 0, 0, 0, false},
      {OpId::log, &kernel::KernelTable::log, 0, 0, 3, false},
      {OpId::sqrt, &kernel::KernelTable::sqrt, 0, 0, 3, true},
      {OpId::rsqrt, &kernel::KernelTable::rsqrt, 0, 0, 3, true},
      {OpId::abs, &kernel::KernelTable::abs, 0, 0, 0, true},
      {OpId::sign, &kernel::KernelTable::sign, 0, 0, 0, true},
      {OpId::relu, &kernel::KernelTable::relu, 0, 0, 0, true},
      {OpId::leaky_relu, &kernel::KernelTable::leaky_relu, 0.2, 0, 0, true},
      {OpId::sigmoid, &kernel::KernelTable::sigmoid, 0, 0, 0, false},
      {OpId::tanh, &kernel::KernelTable::tanh, 0, 0, 0, false},
      {OpId::softplus, &kernel::KernelTable::softplus, 2.0, 3.0, 0, false},
      {OpId::pow_scalar, &kernel::KernelTable::pow_scalar, 1.7, 0, 3, false},
      {OpId::clamp, &kernel::KernelTable::clamp, -0.5, 0.75, 0, true},
  };
  manual_seed(3);
  for (const Case& c : cases)
    for (DType dt : floating())
      for (const Operand& in : layouts({3, 67}, dt, 1.0, c.shift)) {
        INFO(kernel::op_name(c.id) << " " << dtype_name(dt) << " " << in.layout);
        Outputs out = outputs(in.t.shape(), dt);
        (ref().*c.slot).fn(out.cpu, in.t, c.alpha, c.beta);
        (gpu().*c.slot).fn(out.cuda, on_gpu(in.t), c.alpha, c.beta);
        if (c.exact) check_identical(out.cuda, out.cpu);
        else check_ulps(out.cuda, out.cpu, kUlps);
      }
}

TEST_CASE("binary kernels, comparisons, where and leaky_relu_backward match the reference") {
  using Slot = kernel::Slot<kernel::binary_fn> kernel::KernelTable::*;
  const std::vector<std::pair<Slot, bool>> ops = {  // (slot, writes bool)
      {&kernel::KernelTable::add, false}, {&kernel::KernelTable::sub, false}, {&kernel::KernelTable::mul, false},
      {&kernel::KernelTable::div, false}, {&kernel::KernelTable::eq, true},   {&kernel::KernelTable::ne, true},
      {&kernel::KernelTable::lt, true},   {&kernel::KernelTable::le, true},   {&kernel::KernelTable::gt, true},
      {&kernel::KernelTable::ge, true}};
  manual_seed(4);
  const Shape shape{4, 3, 33};
  for (DType dt : {kFloat32, kFloat64, kInt64})
    for (const Operand& a : layouts(shape, dt, 3.0))
      for (const Operand& b : layouts(shape, dt, 3.0, 0.5)) {
        INFO(dtype_name(dt) << " " << a.layout << " op " << b.layout);
        for (const auto& [slot, is_comparison] : ops) {
          if (dt == kInt64 && slot == &kernel::KernelTable::div) continue;
          Outputs out = outputs(shape, is_comparison ? kBool : dt);
          (ref().*slot).fn(out.cpu, a.t, b.t);
          (gpu().*slot).fn(out.cuda, on_gpu(a.t), on_gpu(b.t));
          check_identical(out.cuda, out.cpu);
        }
        const Tensor cond = gt(values(shape, kFloat64), zeros({1}, kFloat64));
        Outputs out = outputs(shape, dt);
        ref().where.fn(out.cpu, cond, a.t, b.t);
        gpu().where.fn(out.cuda, on_gpu(cond), on_gpu(a.t), on_gpu(b.t));
        check_identical(out.cuda, out.cpu);
        if (dt == kInt64) continue;
        // relu / leaky_relu's fused backward: gradient a, input b.
        for (double slope : {0.0, 0.2}) {
          Outputs grad = outputs(shape, dt);
          ref().leaky_relu_backward.fn(grad.cpu, a.t, b.t, slope);
          gpu().leaky_relu_backward.fn(grad.cuda, on_gpu(a.t), on_gpu(b.t), slope);
          check_identical(grad.cuda, grad.cpu);
        }
      }
}

TEST_CASE("sum matches the reference on every path: per thread, warp, block and chunked") {
  manual_seed(6);
  struct Case {
    Shape shape, out;  // out in keepdim form
  };
  const std::vector<Case> cases = {
      {{5000, 3}, {5000, 1}},    // 3 values per output: one thread each
      {{700, 300}, {700, 1}},    // a warp per output
      {{300, 5000}, {300, 1}},   // a block per output
      {{3, 70001}, {3, 1}},      // few long outputs: chunks, then a second pass
      {{6, 7, 8}, {1, 7, 1}},    // reduced dims on both sides of a kept one
      {{4, 5}, {1, 1}},          // everything
      {{0, 5}, {1, 5}},          // an empty sum is 0
  };
  for (const Case& c : cases)
    for (DType dt : floating())
      for (const Operand& in : layouts(c.shape, dt)) {
        INFO(shape_str(c.shape) << " -> " << shape_str(c.out) << " " << dtype_name(dt) << " " << in.layout);
        Outputs out = outputs(c.out, dt), mag = outputs(c.out, kFloat64);
        ref().sum.fn(out.cpu, in.t);
        gpu().sum.fn(out.cuda, on_gpu(in.t));
        ref().sum.fn(mag.cpu, in.t.abs().to(kFloat64));
        // double sums in another order, then one rounding to T
        const int64_t n = c.out[0] == 0 ? 0 : numel_of(c.shape) / numel_of(c.out);
        std::vector<double> bound;
        for (double m : mag.cpu.to_vector<double>()) bound.push_back((1 + order_ulps(dt, n)) * eps_of(dt) * m + 1e-300);
        check_within(out.cuda, out.cpu, bound);
      }
}

TEST_CASE("max and min with indices match the reference, ties and NaN included") {
  manual_seed(7);
  for (const Shape& shape : {Shape{9, 20}, Shape{4, 1000}, Shape{2, 9000}, Shape{3, 5, 4}})
    for (DType dt : floating())
      for (const Operand& op : layouts(shape, dt)) {
        const Tensor in = op.t;  // rounded in place, keeping the layout
        in.copy_((in * 4.0).to(kInt64).to(dt) / 4.0);  // quarters: ties are common
        if (shape[0] > 3)  // a NaN in column 7 of every row
          in.copy_(where(arange(static_cast<double>(shape.back()), kFloat64).expand(shape) == 7.0,
                         full(shape, NAN, dt), in));
        for (int64_t dim = 0; dim < static_cast<int64_t>(shape.size()); ++dim) {
          INFO(shape_str(shape) << " dim " << dim << " " << dtype_name(dt) << " " << op.layout);
          Shape out_shape = shape;
          out_shape[dim] = 1;
          for (auto slot : {&kernel::KernelTable::max, &kernel::KernelTable::min}) {
            Outputs v = outputs(out_shape, dt), i = outputs(out_shape, kInt64);
            (ref().*slot).fn(v.cpu, i.cpu, in, dim);
            (gpu().*slot).fn(v.cuda, i.cuda, on_gpu(in), dim);
            check_identical(v.cuda, v.cpu);
            check_identical(i.cuda, i.cpu);
          }
        }
      }
}

TEST_CASE("matmul matches the reference for every operand layout, tails included") {
  manual_seed(8);
  struct Case {
    int64_t B, M, K, N;
  };
  for (const Case& c : {Case{1, 1, 1, 1}, Case{2, 129, 17, 130}, Case{3, 64, 64, 64}, Case{1, 200, 301, 5},
                        Case{2, 7, 1, 9}})
    for (DType dt : floating())
      for (const Operand& a : layouts({c.B, c.M, c.K}, dt))
        for (const Operand& b : layouts({c.B, c.K, c.N}, dt)) {
          INFO("[" << c.B << ", " << c.M << ", " << c.K << "] x [" << c.K << ", " << c.N << "] " << dtype_name(dt)
                   << " a " << a.layout << ", b " << b.layout);
          Outputs out = outputs({c.B, c.M, c.N}, dt), mag = outputs({c.B, c.M, c.N}, kFloat64);
          ref().matmul.fn(out.cpu, a.t, b.t);
          gpu().matmul.fn(out.cuda, on_gpu(a.t), on_gpu(b.t));
          ref().matmul.fn(mag.cpu, a.t.abs().to(kFloat64), b.t.abs().to(kFloat64));
          std::vector<double> bound;
          for (double m : mag.cpu.to_vector<double>()) bound.push_back((c.K + 1) * eps_of(dt) * m + 1e-300);
          check_within(out.cuda, out.cpu, bound);
        }
}

TEST_CASE("conv2d, conv_transpose2d and conv2d_weight match the reference") {
  manual_seed(9);
  struct Case {
    int64_t N, C, H, W, O, k, stride, pad, dilation, groups;
  };
  for (const Case& c : {Case{2, 3, 9, 7, 4, 3, 1, 1, 1, 1}, Case{3, 4, 8, 8, 6, 4, 2, 1, 1, 2},
                        Case{1, 2, 11, 6, 3, 3, 2, 0, 2, 1}, Case{5, 8, 4, 4, 16, 4, 1, 0, 1, 1}})
    for (DType dt : floating()) {
      kernel::Conv2dParams p;
      p.stride[0] = p.stride[1] = c.stride;
      p.padding[0] = p.padding[1] = c.pad;
      p.dilation[0] = p.dilation[1] = c.dilation;
      p.groups = c.groups;
      const int64_t Ho = (c.H + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride + 1;
      const int64_t Wo = (c.W + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride + 1;
      const Shape x_shape{c.N, c.C, c.H, c.W}, w_shape{c.O, c.C / c.groups, c.k, c.k}, y_shape{c.N, c.O, Ho, Wo};
      // Each product has at most K = (C/G) k^2 terms (conv2d), O/G + k^2 (transpose, whose
      // col2im adds k^2 column entries) or N Ho Wo (weight); the bound uses the largest.
      const double K = std::max<double>({static_cast<double>(c.C / c.groups * c.k * c.k),
                                         static_cast<double>(c.O / c.groups + c.k * c.k),
                                         static_cast<double>(c.N * Ho * Wo)});
      for (const Operand& x : layouts(x_shape, dt))
        for (const Operand& w : layouts(w_shape, dt)) {
          if (x.layout == "broadcast" || w.layout == "broadcast") continue;
          INFO("conv N" << c.N << " C" << c.C << " O" << c.O << " k" << c.k << " s" << c.stride << " p" << c.pad
                        << " d" << c.dilation << " g" << c.groups << " " << dtype_name(dt) << " x " << x.layout
                        << ", w " << w.layout);
          const Tensor gy = values(y_shape, dt);
          const auto compare = [&](auto slot, const Shape& out_shape, const Tensor& a, const Tensor& b) {
            Outputs out = outputs(out_shape, dt), mag = outputs(out_shape, kFloat64);
            (ref().*slot).fn(out.cpu, a, b, p);
            (gpu().*slot).fn(out.cuda, on_gpu(a), on_gpu(b), p);
            (ref().*slot).fn(mag.cpu, a.abs().to(kFloat64), b.abs().to(kFloat64), p);
            std::vector<double> bound;
            for (double m : mag.cpu.to_vector<double>()) bound.push_back((K + 1) * eps_of(dt) * m + 1e-300);
            check_within(out.cuda, out.cpu, bound);
          };
          compare(&kernel::KernelTable::conv2d, y_shape, x.t, w.t);
          compare(&kernel::KernelTable::conv_transpose2d, x_shape, gy, w.t);
          compare(&kernel::KernelTable::conv2d_weight, w_shape, x.t, gy);
        }
    }
}

TEST_CASE("pooling kernels and their adjoints match the reference bit for bit") {
  manual_seed(10);
  struct Case {
    int64_t H, W, k, stride, pad;
    bool ceil_mode, count_include_pad;
  };
  for (const Case& c : {Case{8, 8, 2, 2, 0, false, true}, Case{9, 7, 3, 2, 1, true, false},
                        Case{5, 6, 3, 1, 1, false, true}, Case{7, 7, 2, 3, 0, true, true}})
    for (DType dt : floating())
      for (const Operand& x : layouts({2, 3, c.H, c.W}, dt)) {
        INFO("H" << c.H << " W" << c.W << " k" << c.k << " s" << c.stride << " p" << c.pad << " ceil " << c.ceil_mode
                 << " " << dtype_name(dt) << " " << x.layout);
        kernel::Pool2dParams p;
        p.kernel[0] = p.kernel[1] = c.k;
        p.stride[0] = p.stride[1] = c.stride;
        p.padding[0] = p.padding[1] = c.pad;
        p.ceil_mode = c.ceil_mode;
        p.count_include_pad = c.count_include_pad;
        const auto out_size = [&](int64_t size) {
          const int64_t span = size + 2 * c.pad - c.k;
          int64_t o = (c.ceil_mode ? (span + c.stride - 1) / c.stride : span / c.stride) + 1;
          if (c.ceil_mode && (o - 1) * c.stride >= size + c.pad) --o;
          return o;
        };
        const Shape y_shape{2, 3, out_size(c.H), out_size(c.W)}, x_shape = x.t.shape();
        const Tensor rounded = x.t;  // halves, in place: ties within windows
        rounded.copy_((rounded * 2.0).to(kInt64).to(dt) / 2.0);
        Outputs y = outputs(y_shape, dt), idx = outputs(y_shape, kInt64);
        ref().max_pool2d.fn(y.cpu, idx.cpu, rounded, p);
        gpu().max_pool2d.fn(y.cuda, idx.cuda, on_gpu(rounded), p);
        check_identical(y.cuda, y.cpu);
        check_identical(idx.cuda, idx.cpu);
        const Tensor gy = values(y_shape, dt), big = values(x_shape, dt);
        Outputs gx = outputs(x_shape, dt), gathered = outputs(y_shape, dt);
        ref().max_pool2d_backward.fn(gx.cpu, gy, idx.cpu, p);
        gpu().max_pool2d_backward.fn(gx.cuda, gy.to(kCUDA), idx.cuda, p);
        check_identical(gx.cuda, gx.cpu);
        ref().max_pool2d_gather.fn(gathered.cpu, big, idx.cpu, p);
        gpu().max_pool2d_gather.fn(gathered.cuda, big.to(kCUDA), idx.cuda, p);
        check_identical(gathered.cuda, gathered.cpu);
        Outputs avg = outputs(y_shape, dt), spread = outputs(x_shape, dt);
        ref().avg_pool2d.fn(avg.cpu, Tensor(), x.t, p);
        gpu().avg_pool2d.fn(avg.cuda, Tensor(), on_gpu(x.t), p);
        check_identical(avg.cuda, avg.cpu);
        ref().avg_pool2d_backward.fn(spread.cpu, gy, Tensor(), p);
        gpu().avg_pool2d_backward.fn(spread.cuda, gy.to(kCUDA), Tensor(), p);
        check_identical(spread.cuda, spread.cpu);
      }
}

TEST_CASE("batch_norm forward and backward match the reference") {
  manual_seed(11);
  for (const Shape& shape : {Shape{6, 4}, Shape{3, 5, 7, 9}, Shape{2, 3, 40, 40}})
    for (DType dt : floating())
      for (const Operand& x : layouts(shape, dt, 2.0, 1.0)) {
        if (x.layout == "broadcast") continue;  // a channel of equal values has no variance to compare
        for (bool training : {true, false})
          for (bool affine : {true, false}) {
            INFO(shape_str(shape) << " " << dtype_name(dt) << " " << x.layout << " training " << training << " affine "
                                  << affine);
            const int64_t C = shape[1];
            const Tensor w = affine ? values({C}, dt) : Tensor(), b = affine ? values({C}, dt) : Tensor();
            const Tensor rm = values({C}, dt), rv = values({C}, dt).abs() + 0.5;
            Tensor rm_gpu = rm.to(kCUDA), rv_gpu = rv.to(kCUDA), rm_cpu = rm.clone(), rv_cpu = rv.clone();
            Outputs y = outputs(shape, dt), mean = outputs({C}, dt), invstd = outputs({C}, dt);
            ref().batch_norm.fn(y.cpu, mean.cpu, invstd.cpu, x.t, w, b, rm_cpu, rv_cpu, training, 0.1, 1e-5);
            gpu().batch_norm.fn(y.cuda, mean.cuda, invstd.cuda, on_gpu(x.t), affine ? w.to(kCUDA) : Tensor(),
                                affine ? b.to(kCUDA) : Tensor(), rm_gpu, rv_gpu, training, 0.1, 1e-5);
            const double scale = 2.0 * (1.0 + (affine ? 3.0 : 0.0));  // |x|, |w| and |b| are a few units
            const double ulps = kUlps + order_ulps(dt, x.t.numel() / C);  // the statistics are sums
            check_ulps(y.cuda, y.cpu, ulps, scale);
            check_ulps(mean.cuda, mean.cpu, ulps, 1.0);
            check_ulps(invstd.cuda, invstd.cpu, ulps);
            check_ulps(rm_gpu, rm_cpu, ulps, 1.0);
            check_ulps(rv_gpu, rv_cpu, ulps, 1.0);
            if (!training) continue;
            const Tensor gy = values(shape, dt);
            Outputs gx = outputs(shape, dt), gw = outputs({C}, dt), gb = outputs({C}, dt);
            ref().batch_norm_backward.fn(gx.cpu, gw.cpu, gb.cpu, gy, x.t, w, mean.cpu, invstd.cpu);
            gpu().batch_norm_backward.fn(gx.cuda, gw.cuda, gb.cuda, gy.to(kCUDA), on_gpu(x.t),
                                         affine ? w.to(kCUDA) : Tensor(), mean.cpu.to(kCUDA), invstd.cpu.to(kCUDA));
            const double m = static_cast<double>(x.t.numel() / C);  // the sums run over m values
            check_ulps(gx.cuda, gx.cpu, ulps, scale);
            check_ulps(gw.cuda, gw.cpu, ulps, 3.0 * m);
            check_ulps(gb.cuda, gb.cpu, ulps, 3.0 * m);
          }
      }
}

TEST_CASE("softmax and log_softmax, forward and backward, match the reference") {
  manual_seed(12);
  for (const Shape& shape : {Shape{40, 5}, Shape{7, 300}, Shape{3, 3000}, Shape{4, 6, 5}})
    for (DType dt : floating())
      for (const Operand& x : layouts(shape, dt, 3.0))
        for (int64_t dim = 0; dim < static_cast<int64_t>(shape.size()); ++dim) {
          INFO(shape_str(shape) << " dim " << dim << " " << dtype_name(dt) << " " << x.layout);
          const Tensor g = values(shape, dt);
          for (bool log : {false, true}) {
            const auto forward = log ? &kernel::KernelTable::log_softmax : &kernel::KernelTable::softmax;
            const auto backward = log ? &kernel::KernelTable::log_softmax_backward : &kernel::KernelTable::softmax_backward;
            Outputs y = outputs(shape, dt), dx = outputs(shape, dt);
            (ref().*forward).fn(y.cpu, x.t, dim);
            (gpu().*forward).fn(y.cuda, on_gpu(x.t), dim);
            const double ulps = kUlps + order_ulps(dt, shape[dim]);  // s is a sum over the slice
            check_ulps(y.cuda, y.cpu, ulps, log ? 10.0 : 0.0);  // log_softmax: |x - max| is a few units
            (ref().*backward).fn(dx.cpu, g, y.cpu, dim);
            (gpu().*backward).fn(dx.cuda, g.to(kCUDA), y.cpu.to(kCUDA), dim);
            check_ulps(dx.cuda, dx.cpu, ulps, 3.0 * shape[dim]);  // a sum over the slice inside
          }
        }
}

TEST_CASE("the fused losses and their gradients match the reference") {
  manual_seed(13);
  const Shape shape{6, 37};
  for (DType dt : floating())
    for (int reduction : {0, 1, 2}) {
      const Tensor logits = values(shape, dt, 3.0), probs = sigmoid(logits), target = rand(shape, dt);
      const Tensor weight = rand({37}, dt).expand(shape), pos_weight = (rand({37}, dt) + 0.5).expand(shape);
      const Shape out_shape = reduction == 0 ? shape : Shape{};
      const Tensor g = values(out_shape, dt);
      for (bool weighted : {false, true}) {
        INFO(dtype_name(dt) << " reduction " << reduction << " weighted " << weighted);
        const Tensor w = weighted ? weight : Tensor(), pw = weighted ? pos_weight : Tensor();
        const auto wg = [](const Tensor& t) { return t.defined() ? on_gpu(t) : Tensor(); };
        for (bool logit_form : {false, true}) {
          const auto forward = logit_form ? &kernel::KernelTable::bce_with_logits : &kernel::KernelTable::binary_cross_entropy;
          const auto backward = logit_form ? &kernel::KernelTable::bce_with_logits_backward
                                           : &kernel::KernelTable::binary_cross_entropy_backward;
          const Tensor& input = logit_form ? logits : probs;
          const Tensor& pos = logit_form ? pw : Tensor();
          Outputs out = outputs(out_shape, dt), dx = outputs(shape, dt);
          (ref().*forward).fn(out.cpu, input, target, w, pos, reduction);
          (gpu().*forward).fn(out.cuda, on_gpu(input), on_gpu(target), wg(w), wg(pos), reduction);
          check_ulps(out.cuda, out.cpu, kUlps, 10.0);
          (ref().*backward).fn(dx.cpu, g, input, target, w, pos, reduction);
          (gpu().*backward).fn(dx.cuda, g.to(kCUDA), on_gpu(input), on_gpu(target), wg(w), wg(pos), reduction);
          check_ulps(dx.cuda, dx.cpu, kUlps, 10.0);
        }
        const Tensor classes = randint(0, 37, {6}), class_weight = weighted ? rand({37}, dt) + 0.1 : Tensor();
        Outputs out = outputs(reduction == 0 ? Shape{6} : Shape{}, dt), dx = outputs(shape, dt);
        const Tensor row_g = values(reduction == 0 ? Shape{6} : Shape{}, dt);
        ref().cross_entropy.fn(out.cpu, logits, classes, class_weight, Tensor(), reduction);
        gpu().cross_entropy.fn(out.cuda, on_gpu(logits), classes.to(kCUDA), wg(class_weight), Tensor(), reduction);
        check_ulps(out.cuda, out.cpu, kUlps, 10.0);
        ref().cross_entropy_backward.fn(dx.cpu, row_g, logits, classes, class_weight, Tensor(), reduction);
        gpu().cross_entropy_backward.fn(dx.cuda, row_g.to(kCUDA), on_gpu(logits), classes.to(kCUDA), wg(class_weight),
                                        Tensor(), reduction);
        check_ulps(dx.cuda, dx.cpu, kUlps, 1.0);
      }
    }
}

TEST_CASE("fused optimizer updates match the reference over several steps") {
  manual_seed(14);
  for (DType dt : floating()) {
    const Shape shape{7, 45};
    const auto state = [&](const Tensor& like) { return like.defined() ? like.clone() : Tensor(); };
    const auto run = [&](const char* name, auto step) {
      INFO(name << " " << dtype_name(dt));
      const Tensor p0 = values(shape, dt), s0 = values(shape, dt).abs(), s1 = values(shape, dt).abs(),
                   s2 = values(shape, dt).abs() * 0.1;
      Tensor p[2] = {p0.clone(), p0.to(kCUDA)}, a[2] = {state(s0), s0.to(kCUDA)}, b[2] = {state(s1), s1.to(kCUDA)},
             c[2] = {state(s2), s2.to(kCUDA)};
      for (int64_t t = 1; t <= 3; ++t) {
        const Tensor g = values(shape, dt);
        step(ref(), p[0], g, a[0], b[0], c[0], t);
        step(gpu(), p[1], on_gpu(g), a[1], b[1], c[1], t);
      }
      // Three steps of a few roundings each, which the GPU may contract into FMAs.
      check_ulps(p[1], p[0], 64, 1.0);
      check_ulps(a[1], a[0], 64, 1.0);
      check_ulps(b[1], b[0], 64, 1.0);
      check_ulps(c[1], c[0], 64, 1.0);
    };
    for (bool nesterov : {false, true})
      run("sgd", [&](const kernel::KernelTable& t, const Tensor& p, const Tensor& g, const Tensor& buf, const Tensor&,
                     const Tensor&, int64_t step) {
        t.sgd_update.fn(p, g, buf, {0.1, 0.9, nesterov ? 0.0 : 0.2, 0.01, nesterov, step == 1});
      });
    for (bool amsgrad : {false, true})
      for (bool decoupled : {false, true})
        run("adam", [&](const kernel::KernelTable& t, const Tensor& p, const Tensor& g, const Tensor& m,
                        const Tensor& v, const Tensor& vmax, int64_t step) {
          t.adam_update.fn(p, g, m, v, amsgrad ? vmax : Tensor(), {1e-2, 0.9, 0.999, 1e-8, 0.01, amsgrad, decoupled, step});
        });
    for (bool centered : {false, true})
      run("rmsprop", [&](const kernel::KernelTable& t, const Tensor& p, const Tensor& g, const Tensor& sq,
                         const Tensor& buf, const Tensor& avg, int64_t) {
        t.rmsprop_update.fn(p, g, sq, buf, centered ? avg : Tensor(), {1e-2, 0.99, 1e-8, 0.01, 0.9, centered});
      });
  }
}

TEST_CASE("float64 gradchecks hold with the tensors on the GPU") {
  manual_seed(15);
  const auto leaf = [](const Shape& shape) { return randn(shape, kFloat64).to(kCUDA).requires_grad_(); };
  using Fn = std::function<TensorList(const TensorList&)>;
  const std::vector<std::pair<const char*, std::pair<Fn, TensorList>>> cases = {
      {"broadcast mul, div, exp, tanh", {[](const TensorList& v) { return TensorList{tanh(v[0] * exp(v[1]) / (v[1] * v[1] + 1.0))}; },
                                         {leaf({3, 4}), leaf({4})}}},
      {"sum and mean over dims, max along a dim",
       {[](const TensorList& v) { return TensorList{sum(v[0], {0, 2}), mean(v[0], {1}), std::get<0>(max(v[0], 1))}; },
        {leaf({2, 3, 4})}}},
      {"matmul of a transposed operand", {[](const TensorList& v) { return TensorList{matmul(v[0].t(), v[1])}; },
                                          {leaf({4, 3}), leaf({4, 5})}}},
      {"conv2d with stride, padding and groups",
       {[](const TensorList& v) { return TensorList{conv2d(v[0], v[1], v[2], 2, 1, 1, 2)}; },
        {leaf({2, 4, 5, 5}), leaf({4, 2, 3, 3}), leaf({4})}}},
      {"conv_transpose2d", {[](const TensorList& v) { return TensorList{conv_transpose2d(v[0], v[1], {}, 2, 1, 1)}; },
                            {leaf({1, 3, 3, 3}), leaf({3, 2, 3, 3})}}},
      {"conv_transpose2d with a fused bias and tanh",
       {[](const TensorList& v) { return TensorList{conv_transpose2d(v[0], v[1], v[2], 2, 1, 0, 1, 1, {Activation::tanh})}; },
        {leaf({1, 3, 3, 3}), leaf({3, 2, 4, 4}), leaf({2})}}},
      {"max_pool2d and avg_pool2d", {[](const TensorList& v) {
                                       return TensorList{max_pool2d(v[0], 2, 1), avg_pool2d(v[0], 3, 2, 1, true, false)};
                                     },
                                     {leaf({1, 2, 5, 5})}}},
      {"batch_norm in training", {[](const TensorList& v) { return TensorList{batch_norm(v[0], {}, {}, v[1], v[2], true)}; },
                                  {leaf({4, 3, 2, 2}), leaf({3}), leaf({3})}}},
      {"softmax and log_softmax", {[](const TensorList& v) { return TensorList{softmax(v[0], 1), log_softmax(v[0], 0)}; },
                                   {leaf({3, 5})}}},
      {"bce_with_logits and cross_entropy", {[](const TensorList& v) {
                                               const Tensor target = full({3, 4}, 0.3, TensorOptions(kFloat64).device(kCUDA));
                                               const Tensor cls = tensor<int64_t>({0, 3, 1}, {3}).to(kCUDA);
                                               return TensorList{binary_cross_entropy_with_logits(v[0], target),
                                                                 cross_entropy(v[0], cls)};
                                             },
                                             {leaf({3, 4})}}},
  };
  for (const auto& [name, c] : cases) {
    INFO(name);
    CHECK_GRADCHECK(c.first, c.second);
  }
  // Double backward through conv2d on the GPU (its backward is conv_transpose2d and conv2d_weight).
  CHECK_GRADGRADCHECK([](const TensorList& v) { return TensorList{conv2d(v[0], v[1], {}, 1, 1)}; },
                      (TensorList{leaf({1, 2, 4, 4}), leaf({2, 2, 3, 3})}));
}

TEST_CASE("a DCGAN-style training step on the GPU matches the same step on the CPU") {
  manual_seed(16);
  const auto generator = [] {
    nn::Sequential g;
    g->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(8, 16, 4).bias(false)));
    g->push_back(nn::BatchNorm2d(16));
    g->push_back(nn::ReLU());
    g->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(16, 1, 4).stride(2).padding(1).bias(false)));
    g->push_back(nn::Tanh());
    return g;
  };
  const auto discriminator = [] {
    nn::Sequential d;
    d->push_back(nn::Conv2d(nn::Conv2dOptions(1, 16, 4).stride(2).padding(1).bias(false)));
    d->push_back(nn::BatchNorm2d(16));
    d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
    d->push_back(nn::Conv2d(nn::Conv2dOptions(16, 1, 4).bias(false)));
    return d;
  };
  nn::Sequential g_cpu = generator(), d_cpu = discriminator(), g_gpu = generator(), d_gpu = discriminator();
  nn::init::dcgan_(*g_cpu);
  nn::init::dcgan_(*d_cpu);
  g_gpu->load_state_dict(g_cpu->state_dict());
  d_gpu->load_state_dict(d_cpu->state_dict());
  g_gpu->to(kCUDA);
  d_gpu->to(kCUDA);
  const auto adam = [](nn::Sequential& m) { return optim::Adam(m->parameters(), optim::AdamOptions(2e-4).betas({0.5, 0.999})); };
  optim::Adam opt_g_cpu = adam(g_cpu), opt_d_cpu = adam(d_cpu), opt_g_gpu = adam(g_gpu), opt_d_gpu = adam(d_gpu);
  const Tensor real = tanh(randn({6, 1, 8, 8})), noise = randn({6, 8, 1, 1});
  const auto step = [](nn::Sequential& g, nn::Sequential& d, optim::Adam& opt_g, optim::Adam& opt_d, const Tensor& real,
                       const Tensor& noise) {
    const Tensor is_real = full({6}, 1.0, TensorOptions().device(real.device()));
    const Tensor is_fake = full({6}, 0.0, TensorOptions().device(real.device()));
    const Tensor fake = g->forward(noise);
    const Tensor loss_d = binary_cross_entropy_with_logits(d->forward(real).reshape({6}), is_real) +
                          binary_cross_entropy_with_logits(d->forward(fake.detach()).reshape({6}), is_fake);
    opt_d.zero_grad();
    loss_d.backward();
    opt_d.step();
    const Tensor loss_g = binary_cross_entropy_with_logits(d->forward(fake).reshape({6}), is_real);
    opt_g.zero_grad();
    loss_g.backward();
    opt_g.step();
    return std::pair{loss_d.item<double>(), loss_g.item<double>()};
  };
  for (int i = 0; i < 2; ++i) {
    const auto [ld_cpu, lg_cpu] = step(g_cpu, d_cpu, opt_g_cpu, opt_d_cpu, real, noise);
    const auto [ld_gpu, lg_gpu] = step(g_gpu, d_gpu, opt_g_gpu, opt_d_gpu, real.to(kCUDA), noise.to(kCUDA));
    CHECK(ld_gpu == doctest::Approx(ld_cpu).epsilon(1e-4));  // float32 with sums in other orders
    CHECK(lg_gpu == doctest::Approx(lg_cpu).epsilon(1e-4));
  }
  for (const auto& [cpu_model, gpu_model] : {std::pair{g_cpu, g_gpu}, std::pair{d_cpu, d_gpu}}) {
    const auto cpu_state = cpu_model->state_dict(), gpu_state = gpu_model->state_dict();
    for (size_t i = 0; i < cpu_state.size(); ++i) {
      INFO(cpu_state[i].first);
      CHECK(tg::test::max_abs_diff(gpu_state[i].second.to(kCPU), cpu_state[i].second) < 1e-4);
    }
  }
}

TEST_CASE("a steady loop reuses cached device blocks instead of calling cudaMalloc") {
  manual_seed(17);
  const Tensor w = randn({64, 32}, TensorOptions().device(kCUDA)).requires_grad_();
  const auto step = [&] {
    const Tensor x = randn({16, 64}, TensorOptions().device(kCUDA));
    const Tensor loss = relu(matmul(x, w)).sum();
    loss.backward();
    NoGradGuard no_grad;
    w.grad().zero_();
  };
  step();
  step();
  const cuda::AllocatorStats before = cuda::allocator_stats();
  for (int i = 0; i < 5; ++i) step();
  const cuda::AllocatorStats after = cuda::allocator_stats();
  CHECK(after.system_allocations == before.system_allocations);
  CHECK(after.reuses > before.reuses);
  CHECK(after.in_use_bytes == before.in_use_bytes);
  cuda::empty_cache();
  CHECK(cuda::allocator_stats().cached_bytes == 0);
}

TEST_CASE("CUDA failures are tg::Errors that name the call and CUDA's message") {
  CHECK_THROWS_WITH_ALL(empty({int64_t{1} << 48}, TensorOptions().device(kCUDA)), "cuda:", "cudaMalloc",
                        "out of memory");
  CHECK(cuda::device_name().size() > 0);
}

}  // TEST_SUITE("gpu")

// Without a GPU the "gpu" suite is left out, the reason is printed, and the exit code is 77
// (CTest's SKIP_RETURN_CODE for this test) unless a case that ran failed.
int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const bool gpu_present = cuda::is_available();
  if (gpu_present) {
    context.addFilter("test-suite-exclude", "no_gpu");
    std::printf("CUDA device: %s\n", cuda::device_name().c_str());
  } else {
    context.addFilter("test-suite-exclude", "gpu");
    std::printf("SKIPPED: no CUDA device (%s) \u2014 the CUDA tests need a GPU; only the cases that need none run\n",
                cuda::unavailable_reason().c_str());
  }
  std::fflush(stdout);
  const int failed = context.run();
  if (failed || context.shouldExit()) return failed;
  return gpu_present ? 0 : 77;
}
