// Tensor handle basics: metadata, element access, autograd accessors, view construction.
#include "autograd/tensor.h"

#include <sstream>
#include <type_traits>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tg {
namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  TG_CHECK(impl != nullptr, "Tensor", "the tensor is undefined (default-constructed)");
  return *impl;
}
}  // namespace

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t check_shape(const Shape& shape, const char* op) {
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (int64_t s : shape) {
    TG_CHECK(s >= 0, op, "invalid shape ", shape_str(shape), ": size ", s,
             " is negative (sizes must be >= 0)");
    if (s == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero_product, s, &nonzero_product)) {
      TG_ERROR(op, "shape ", shape_str(shape), " is too large: the product of its sizes "
               "exceeds 2^63 - 1, the most elements a tensor can have");
    }
  }
  return has_zero ? 0 : nonzero_product;
}

size_t storage_nbytes(const Shape& shape, DType dtype, const char* op) {
  const int64_t n = check_shape(shape, op);
  int64_t nbytes = 0;
  TG_CHECK(!__builtin_mul_overflow(n, static_cast<int64_t>(dtype_size(dtype)), &nbytes), op,
           "a ", dtype_name(dtype), " tensor of shape ", shape_str(shape), " (", n,
           " elements) would need more than 2^63 - 1 bytes");
  return static_cast<size_t>(nbytes);
}

int64_t numel_of(const Shape& shape) { return check_shape(shape, "numel"); }

// Cannot overflow for a checked shape: each stride is a product of some of its sizes.
Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  TG_CHECK(dim >= lo && dim <= hi, op, "dimension out of range (expected to be in range of [",
           lo, ", ", hi, "], but got ", dim, ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

// A view reaches the elements offset + sum_i k_i strides[i], 0 <= k_i < shape[i]; the last of
// them, offset + sum_i (shape[i] - 1) strides[i], is computed with overflow checks and must lie
// in the storage. An empty view reaches no element, so only its offset's sign is checked.
Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset, const char* op) {
  TG_CHECK(strides.size() == shape.size(), op, "shape ", shape_str(shape), " and strides ",
           shape_str(strides), " differ in rank");
  const int64_t n = check_shape(shape, op);
  TG_CHECK(offset >= 0, op, "storage offset ", offset, " is negative");
  for (int64_t st : strides)
    TG_CHECK(st >= 0, op, "strides ", shape_str(strides), " of shape ", shape_str(shape),
             " hold a negative stride (only strides >= 0 are supported)");
  if (n > 0) {
    const int64_t capacity =
        static_cast<int64_t>(t.impl()->storage->nbytes() / dtype_size(t.dtype()));
    int64_t last = offset;
    bool overflow = false;
    for (size_t i = 0; i < shape.size() && !overflow; ++i) {
      int64_t step = 0;
      overflow = __builtin_mul_overflow(shape[i] - 1, strides[i], &step) ||
                 __builtin_add_overflow(last, step, &last);
    }
    TG_CHECK(!overflow && last < capacity, op, "a view of shape ", shape_str(shape),
             ", strides ", shape_str(strides), " and offset ", offset, " reaches element ",
             overflow ? std::string("beyond 2^63 - 1") : std::to_string(last),
             " of a storage of ", capacity, " ", dtype_name(t.dtype()), " elements");
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

// ---- metadata ----
const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }
int64_t Tensor::numel() const { return numel_of(shape()); }
int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device(); }
uint32_t Tensor::version() const { return checked(impl_).storage->version(); }

bool Tensor::is_contiguous() const {
  const auto& s = shape();
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (s[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const auto& i = checked(impl_);
  return static_cast<char*>(i.storage->data()) + i.offset * static_cast<int64_t>(dtype_size(i.dtype));
}

template <typename T>
T* Tensor::data_ptr() const {
  TG_CHECK(dtype() == dtype_of<T>(), "data_ptr", "tensor is ", dtype_name(dtype()),
           " but data_ptr<", dtype_name(dtype_of<T>()), "> was asked for");
  return static_cast<T*>(raw_data());
}
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template int64_t* Tensor::data_ptr<int64_t>() const;
template uint8_t* Tensor::data_ptr<uint8_t>() const;
template bool* Tensor::data_ptr<bool>() const;

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  std::ostringstream os;
  os << dtype_name(dtype()) << shape_str(shape()) << " (" << device().str() << ")";
  return os.str();
}

// ---- element access: through a contiguous CPU float64 copy, so any layout works ----
// int64 values are read as they are: a double holds integers exactly only up to 2^53. Other
// dtypes converted to int64 must fit it ([-2^63, 2^63), not NaN): a tg::Error otherwise, as
// PyTorch's checked item<int64_t>(), not undefined behaviour.
template <typename T>
std::vector<T> Tensor::to_vector() const {
  if constexpr (std::is_same_v<T, int64_t>) {
    if (dtype() == kInt64) {
      Tensor c = to(kCPU).contiguous();
      const int64_t* p = c.data_ptr<int64_t>();
      return std::vector<int64_t>(p, p + c.numel());
    }
  }
  Tensor c = to(kCPU).to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  if constexpr (std::is_same_v<T, int64_t>) {
    for (int64_t i = 0; i < c.numel(); ++i)
      TG_CHECK(p[i] >= -0x1p63 && p[i] < 0x1p63, "to_vector", "value ", p[i], " of ", str(),
               " cannot be converted to int64 without overflow");
  }
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

template <typename T>
T Tensor::item() const {
  TG_CHECK(numel() == 1, "item", "a tensor with ", numel(), " elements ", shape_str(shape()),
           " cannot be converted to a scalar");
  if constexpr (std::is_same_v<T, bool>) return to_vector<double>()[0] != 0;
  else return to_vector<T>()[0];
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template bool Tensor::item<bool>() const;

double Tensor::at(std::initializer_list<int64_t> index) const {
  TG_CHECK(static_cast<int64_t>(index.size()) == dim(), "at", "expected ", dim(),
           " indices for a tensor of shape ", shape_str(shape()), ", got ", index.size());
  int64_t offset = storage_offset(), d = 0;
  for (int64_t i : index) {
    TG_CHECK(i >= -size(d) && i < size(d), "at", "index ", i, " is out of bounds for dimension ",
             d, " with size ", size(d));
    offset += (i < 0 ? i + size(d) : i) * stride(d);
    ++d;
  }
  return make_view(*this, {}, {}, offset).item<double>();
}

// ---- autograd ----
bool Tensor::requires_grad() const { return checked(impl_).requires_grad; }
bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
std::shared_ptr<autograd::Node> Tensor::grad_fn() const { return checked(impl_).grad_fn; }
std::string Tensor::grad_fn_name() const { return grad_fn() ? grad_fn()->name() : ""; }
Tensor Tensor::grad() const { return Tensor(checked(impl_).grad); }

Tensor& Tensor::requires_grad_(bool r) {
  TG_CHECK(is_leaf() || r, "requires_grad_", "cannot turn off requires_grad of a non-leaf "
           "tensor (", grad_fn_name(), "); use detach()");
  TG_CHECK(!r || is_floating(dtype()), "requires_grad_", "only float32 and float64 tensors can "
           "require gradients, got ", dtype_name(dtype()));
  impl_->requires_grad = r;
  return *this;
}

void Tensor::set_grad(const Tensor& g) {
  TG_CHECK(!g.defined() || (g.shape() == shape() && g.dtype() == dtype()), "set_grad",
           "gradient ", g.str(), " does not match tensor ", str());
  checked(impl_);
  impl_->grad = g.impl_ptr();
}

Tensor Tensor::detach() const {
  return make_view(*this, shape(), strides(), storage_offset());
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, {grad}, retain_graph, create_graph);
}

void Tensor::register_hook(GradHook hook) const {
  TG_CHECK(requires_grad(), "register_hook", "cannot register a hook on a tensor that does not "
           "require grad (", str(), ")");
  if (is_leaf()) {
    impl_->leaf_hooks.push_back(std::move(hook));
  } else {
    impl_->grad_fn->pre_hooks[impl_->output_nr].push_back(std::move(hook));
  }
}

void Tensor::retain_grad() const {
  TG_CHECK(requires_grad(), "retain_grad", "cannot retain_grad on a tensor that does not "
           "require grad (", str(), ")");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  register_hook([weak](const Tensor& g) {
    if (auto self = weak.lock()) {
      Tensor own = g.detach().clone();
      self->grad = self->grad ? (Tensor(self->grad) + own).impl_ptr() : own.impl_ptr();
    }
    return Tensor();
  });
}

}  // namespace tg
