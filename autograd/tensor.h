// tg::Tensor: a cheap shared handle to a strided view of a Storage, plus its autograd state.
//
// Copying a Tensor copies the handle, not the data (as in PyTorch). A tensor either is a leaf
// (made by a factory, or detached) or was made by an op while grad mode was on and one of the
// op's inputs required grad; then grad_fn() is the tape node that computes its gradient.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/scalar.h"
#include "autograd/storage.h"

namespace tg {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3]"

namespace autograd {
class Node;
}

class Tensor;
using TensorList = std::vector<Tensor>;
using GradHook = std::function<Tensor(const Tensor&)>;  // returns a replacement or undefined

// The state behind a handle. Views share `storage`; each handle has its own autograd fields.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;
  DType dtype = kFloat32;

  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;     // null for leaves
  uint32_t output_nr = 0;                      // which output of grad_fn this is
  std::shared_ptr<TensorImpl> grad;            // accumulated gradient (leaves, retain_grad)
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: their AccumulateGrad node
  std::vector<GradHook> leaf_hooks;            // leaves: run before accumulation
  bool retains_grad = false;
};

// Options for factories: tg::zeros({2, 3}, tg::TensorOptions().dtype(tg::kFloat64)).
struct TensorOptions {
  DType dtype_ = kFloat32;
  Device device_ = kCPU;
  bool requires_grad_ = false;
  TensorOptions() = default;
  TensorOptions(DType t) : dtype_(t) {}    // NOLINT: implicit, as in PyTorch
  TensorOptions(Device d) : device_(d) {}  // NOLINT
  TensorOptions dtype(DType t) const { auto o = *this; o.dtype_ = t; return o; }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; return o; }
  TensorOptions requires_grad(bool r = true) const { auto o = *this; o.requires_grad_ = r; return o; }
};
inline TensorOptions dtype(DType t) { return TensorOptions(t); }
inline TensorOptions device(Device d) { return TensorOptions(d); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- metadata ----
  const Shape& shape() const;
  const Shape& sizes() const { return shape(); }
  const Shape& strides() const;
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  int64_t storage_offset() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  template <typename T> T* data_ptr() const;  // checks dtype_of<T>() == dtype()
  void* raw_data() const;                      // first element, untyped
  uint32_t version() const;
  std::string str() const;  // short description: "float32[2, 3] (cpu)"

  // ---- element access ----
  template <typename T> T item() const;  // one-element tensor -> value, any dtype cast
  double at(std::initializer_list<int64_t> index) const;  // for tests and printing
  template <typename T> std::vector<T> to_vector() const;  // row-major values, cast to T

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& requires_grad_(bool r = true);
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward reaches this tensor
  void set_grad(const Tensor& g);
  std::shared_ptr<autograd::Node> grad_fn() const;
  std::string grad_fn_name() const;  // "MulBackward", or "" for leaves
  Tensor detach() const;             // shares storage, no history
  void backward(const Tensor& grad = {}, bool retain_graph = false, bool create_graph = false) const;
  void register_hook(GradHook hook) const;  // hook(grad) -> replacement (or undefined to keep)
  void retain_grad() const;                 // non-leaves keep .grad() too

  // ---- copies and conversion ----
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType t) const;
  Tensor to(Device d) const;

  // ---- views (differentiable, no copy) ----
  Tensor view(const Shape& shape) const;
  Tensor reshape(const Shape& shape) const;  // a view when strides allow, else a copy
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;  // 2-D transpose
  Tensor permute(const Shape& dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a size
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

  // ---- in-place (not recorded on the tape; bump the version counter). Const like PyTorch's:
  // they change the data, not the handle. ----
  const Tensor& zero_() const;
  const Tensor& fill_(double value) const;
  const Tensor& copy_(const Tensor& src) const;
  const Tensor& add_(const Tensor& other, double alpha = 1.0) const;
  const Tensor& sub_(const Tensor& other, double alpha = 1.0) const;
  const Tensor& mul_(const Tensor& other) const;
  // A scalar that would change the dtype (int64 tensor, floating scalar) is an error in place.
  const Tensor& mul_(Scalar value) const;
  const Tensor& add_(Scalar value) const;

  // ---- common ops as methods (free functions in ops.h are the full API) ----
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor pow(double exponent) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor matmul(const Tensor& other) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ----
Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor arange(double end, TensorOptions opt = {});
Tensor arange(double start, double end, double step = 1.0, TensorOptions opt = {});
Tensor linspace(double start, double end, int64_t steps, TensorOptions opt = {});
Tensor rand(const Shape& shape, TensorOptions opt = {});   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions opt = {});  // N(0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt = kInt64);
Tensor scalar_tensor(double value, TensorOptions opt = {});
// Copies the values (vector) or wraps caller memory without copying (from_blob; the caller
// keeps it alive, as in PyTorch).
template <typename T> Tensor tensor(const std::vector<T>& values, const Shape& shape = {-1});
Tensor from_blob(void* data, const Shape& shape, TensorOptions opt = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);

// Internal: a new tensor aliasing t's storage with another shape/strides/offset (no autograd).
// The layout is checked (check_shape; strides >= 0, offset >= 0, and every element it reaches
// inside the storage) or a tg::Error names `op`.
Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset,
                 const char* op = "make_view");
Shape contiguous_strides(const Shape& shape);

// Every tensor's shape passes here when its TensorImpl is made (empty, from_blob, make_view).
// Returns the number of elements, or a tg::Error naming `op` and the shape: sizes must be >= 0
// and the product of the nonzero sizes must fit int64 (so numel, every contiguous stride and
// every product of some of the sizes, as flatten forms, fit too, even when a zero size makes
// numel 0).
int64_t check_shape(const Shape& shape, const char* op);
// numel * dtype_size(dtype) of a contiguous tensor of `shape`, checked to fit int64.
size_t storage_nbytes(const Shape& shape, DType dtype, const char* op);
int64_t numel_of(const Shape& shape);  // check_shape(shape, "numel")
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);  // -1 -> ndim-1, checked

}  // namespace tg
