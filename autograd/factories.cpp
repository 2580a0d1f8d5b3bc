// Tensor factories: empty, zeros, ones, full, arange, linspace, rand, randn, from data.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "autograd/random.h"
#include "backends/kernels.h"

namespace tg {
namespace {

Tensor finish(Tensor t, const TensorOptions& opt) {
  if (opt.requires_grad_) t.requires_grad_(true);
  return t;
}

// Every factory allocates here: the shape is checked (check_shape, named `op`) before a byte
// is allocated, and a failed allocation is a tg::Error too.
Tensor allocate(const Shape& shape, const TensorOptions& opt, const char* op) {
  const size_t nbytes = storage_nbytes(shape, opt.dtype_, op);
  auto impl = std::make_shared<TensorImpl>();
  try {
    impl->storage = std::make_shared<Storage>(nbytes, opt.device_);
  } catch (const std::bad_alloc&) {
    TG_ERROR(op, "out of memory: a ", dtype_name(opt.dtype_), " tensor of shape ",
             shape_str(shape), " needs ", nbytes, " bytes on ", opt.device_.str());
  }
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = opt.dtype_;
  return finish(Tensor(std::move(impl)), opt);
}

Tensor filled(const Shape& shape, double value, const TensorOptions& opt, const char* op) {
  Tensor t = allocate(shape, opt.requires_grad(false), op);
  TG_KERNEL(fill, t)(t, value);
  return finish(t, opt);
}

Tensor random_tensor(const Shape& shape, const TensorOptions& opt, bool normal, const char* op) {
  TG_CHECK(is_floating(opt.dtype_), op, "expected a floating dtype, got ", dtype_name(opt.dtype_));
  Tensor t = allocate(shape, opt.requires_grad(false), op);
  GeneratorState s = reserve_counters(static_cast<uint64_t>(t.numel()));
  if (normal) {
    TG_KERNEL(normal, t)(t, s.seed, s.offset, 0.0, 1.0);
  } else {
    TG_KERNEL(uniform, t)(t, s.seed, s.offset, 0.0, 1.0);
  }
  return finish(t, opt);
}

}  // namespace

Tensor empty(const Shape& shape, TensorOptions opt) { return allocate(shape, opt, "empty"); }
Tensor full(const Shape& shape, double value, TensorOptions opt) { return filled(shape, value, opt, "full"); }
Tensor zeros(const Shape& shape, TensorOptions opt) { return filled(shape, 0.0, opt, "zeros"); }
Tensor ones(const Shape& shape, TensorOptions opt) { return filled(shape, 1.0, opt, "ones"); }
Tensor scalar_tensor(double value, TensorOptions opt) { return filled({}, value, opt, "scalar_tensor"); }

Tensor arange(double end, TensorOptions opt) { return arange(0.0, end, 1.0, opt); }

Tensor arange(double start, double end, double step, TensorOptions opt) {
  TG_CHECK(step != 0 && std::isfinite(step), "arange", "step must be finite and nonzero, got ", step);
  TG_CHECK((end - start) / step >= 0, "arange", "upper bound and step are inconsistent: start ",
           start, ", end ", end, ", step ", step);
  const double count = std::ceil((end - start) / step);
  TG_CHECK(count < 0x1p63, "arange", "start ", start, ", end ", end, " and step ", step,
           " give ", count, " values, more than a tensor can hold");
  const auto n = static_cast<int64_t>(count);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * step;
  return finish(tensor<double>(v, {n}).to(opt.dtype_).to(opt.device_), opt);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions opt) {
  TG_CHECK(steps >= 0, "linspace", "number of steps must be non-negative, got ", steps);
  std::vector<double> v(steps);
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end` (and a single
  // step is `start`).
  const int64_t halfway = std::max<int64_t>(steps / 2, 1);
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < halfway ? start + step * static_cast<double>(i)
                         : end - step * static_cast<double>(steps - 1 - i);
  return finish(tensor<double>(v, {steps}).to(opt.dtype_).to(opt.device_), opt);
}

Tensor rand(const Shape& shape, TensorOptions opt) { return random_tensor(shape, opt, false, "rand"); }
Tensor randn(const Shape& shape, TensorOptions opt) { return random_tensor(shape, opt, true, "randn"); }

// Uniform integers in [low, high). The range high - low is up to 2^64 - 1 values (computed in
// uint64: in int64 it overflows once it passes 2^63 - 1). Element i takes the 64 bits x of the
// Philox block at counter offset + i and maps them by Lemire's multiply-shift,
// k = floor(x * range / 2^64): each k gets floor or ceil of 2^64 / range of the 2^64 values of
// x, a relative bias below range / 2^64 (PyTorch's x % range has the same bound).
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt) {
  TG_CHECK(low < high, "randint", "expected low < high, got low ", low, ", high ", high);
  const int64_t n = check_shape(shape, "randint");
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  const GeneratorState s = reserve_counters(static_cast<uint64_t>(n));
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const std::array<uint32_t, 4> block = philox4x32(s.offset + static_cast<uint64_t>(i), s.seed);
    const uint64_t x = static_cast<uint64_t>(block[0]) << 32 | block[1];
    const auto k = static_cast<uint64_t>(static_cast<unsigned __int128>(x) * range >> 64);
    v[i] = static_cast<int64_t>(static_cast<uint64_t>(low) + k);  // mod 2^64: low + k, below high
  }
  return tensor<int64_t>(v, shape).to(opt.dtype_).to(opt.device_);
}

template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape) {
  Shape s = shape;
  if (s.size() == 1 && s[0] == -1) s[0] = static_cast<int64_t>(values.size());
  const int64_t n = check_shape(s, "tensor");
  TG_CHECK(n == static_cast<int64_t>(values.size()), "tensor", "shape ", shape_str(s), " needs ",
           n, " values, got ", values.size());
  Tensor t = empty(s, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor tensor<float>(const std::vector<float>&, const Shape&);
template Tensor tensor<double>(const std::vector<double>&, const Shape&);
template Tensor tensor<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor tensor<uint8_t>(const std::vector<uint8_t>&, const Shape&);

Tensor from_blob(void* data, const Shape& shape, TensorOptions opt) {
  const size_t nbytes = storage_nbytes(shape, opt.dtype_, "from_blob");
  TG_CHECK(data != nullptr || nbytes == 0, "from_blob", "data pointer is null");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(data, nbytes, opt.device_);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = opt.dtype_;
  return finish(Tensor(std::move(impl)), opt);
}

static TensorOptions like(const Tensor& t) { return TensorOptions(t.dtype()).device(t.device()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), like(t)); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), like(t)); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), like(t)); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, like(t)); }
Tensor rand_like(const Tensor& t) { return rand(t.shape(), like(t)); }
Tensor randn_like(const Tensor& t) { return randn(t.shape(), like(t)); }

}  // namespace tg
