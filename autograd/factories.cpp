// Tensor factories: empty, zeros, ones, full, arange, linspace, rand, randn, from data.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/random.h"
#include "backends/kernels.h"

namespace tg {
namespace {

void check_shape(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    TG_CHECK(s >= 0, op, "negative dimension ", s, " in shape ", shape_str(shape));
}

Tensor finish(Tensor t, const TensorOptions& opt) {
  if (opt.requires_grad_) t.requires_grad_(true);
  return t;
}

Tensor random_tensor(const Shape& shape, const TensorOptions& opt, bool normal, const char* op) {
  check_shape(shape, op);
  TG_CHECK(is_floating(opt.dtype_), op, "expected a floating dtype, got ", dtype_name(opt.dtype_));
  Tensor t = empty(shape, opt.dtype(opt.dtype_).requires_grad(false));
  GeneratorState s = reserve_counters(static_cast<uint64_t>(t.numel()));
  if (normal) {
    TG_KERNEL(normal, t)(t, s.seed, s.offset, 0.0, 1.0);
  } else {
    TG_KERNEL(uniform, t)(t, s.seed, s.offset, 0.0, 1.0);
  }
  return finish(t, opt);
}

}  // namespace

Tensor empty(const Shape& shape, TensorOptions opt) {
  check_shape(shape, "empty");
  auto impl = std::make_shared<TensorImpl>();
  const int64_t n = numel_of(shape);
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(n) * dtype_size(opt.dtype_), opt.device_);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = opt.dtype_;
  return finish(Tensor(std::move(impl)), opt);
}

Tensor full(const Shape& shape, double value, TensorOptions opt) {
  Tensor t = empty(shape, opt.requires_grad(false));
  TG_KERNEL(fill, t)(t, value);
  return finish(t, opt);
}

Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor scalar_tensor(double value, TensorOptions opt) { return full({}, value, opt); }

Tensor arange(double end, TensorOptions opt) { return arange(0.0, end, 1.0, opt); }

Tensor arange(double start, double end, double step, TensorOptions opt) {
  TG_CHECK(step != 0 && std::isfinite(step), "arange", "step must be finite and nonzero, got ", step);
  TG_CHECK((end - start) / step >= 0, "arange", "upper bound and step are inconsistent: start ",
           start, ", end ", end, ", step ", step);
  const auto n = static_cast<int64_t>(std::ceil((end - start) / step));
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

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt) {
  TG_CHECK(low < high, "randint", "expected low < high, got low ", low, ", high ", high);
  Tensor u = rand(shape, kFloat64);
  std::vector<double> v = u.to_vector<double>();
  for (double& x : v) x = std::floor(static_cast<double>(low) + x * static_cast<double>(high - low));
  return tensor<double>(v, shape).to(opt.dtype_).to(opt.device_);
}

template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& shape) {
  Shape s = shape;
  if (s.size() == 1 && s[0] == -1) s[0] = static_cast<int64_t>(values.size());
  TG_CHECK(numel_of(s) == static_cast<int64_t>(values.size()), "tensor", "shape ", shape_str(s),
           " needs ", numel_of(s), " values, got ", values.size());
  Tensor t = empty(s, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor tensor<float>(const std::vector<float>&, const Shape&);
template Tensor tensor<double>(const std::vector<double>&, const Shape&);
template Tensor tensor<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor tensor<uint8_t>(const std::vector<uint8_t>&, const Shape&);

Tensor from_blob(void* data, const Shape& shape, TensorOptions opt) {
  check_shape(shape, "from_blob");
  TG_CHECK(data != nullptr || numel_of(shape) == 0, "from_blob", "data pointer is null");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(data, numel_of(shape) * dtype_size(opt.dtype_), opt.device_);
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
