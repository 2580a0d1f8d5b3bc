// Copies and conversions (contiguous, clone, to) and the in-place ops. In-place ops are not
// recorded: they bump the storage's version so a node that saved the tensor refuses to use it.
#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

// A contiguous copy of t in `dtype`, recorded as `name` (gradient converted back to t's dtype).
Tensor copy_as(const Tensor& t, DType dtype, const char* name) {
  Tensor out = detail::empty_with(t.shape(), dtype, t);
  TG_KERNEL(copy, out)(out, t);
  if (is_floating(dtype)) {
    DType back = t.dtype();
    autograd::record(name, {t}, {out}, {}, [back](const autograd::BackwardContext& c) {
      return TensorList{c.grads[0].to(back)};
    });
  }
  return out;
}

void check_inplace(const Tensor& self, const Tensor& other, const char* op) {
  detail::check_defined(self, op, "self");
  TG_CHECK(!GradMode::is_enabled() || !(self.requires_grad() || (other.defined() && other.requires_grad())),
           op, "in-place ops are not recorded on the tape; ", self.str(),
           " (or the other operand) requires grad. Run it under tg::NoGradGuard or use the "
           "out-of-place form");
}

// In place, the result must keep self's dtype: a scalar that promotes it (int64 tensor and a
// floating scalar: float32) is refused, as PyTorch's "result type can't be cast" error.
void check_scalar_keeps_dtype(const Tensor& self, const Scalar& value, const char* op) {
  detail::check_defined(self, op, "self");
  const DType result = result_type(self.dtype(), value);
  TG_CHECK(result == self.dtype(), op, "the result of ", self.str(), " and the scalar ",
           value.to_double(), " is ", dtype_name(result), ", which cannot be written back into ",
           dtype_name(self.dtype()), " in place; use the out-of-place form");
}

}  // namespace

Tensor Tensor::contiguous() const {
  return is_contiguous() ? *this : copy_as(*this, dtype(), "ContiguousBackward");
}

Tensor Tensor::clone() const { return copy_as(*this, dtype(), "CloneBackward"); }

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  return copy_as(*this, t, "ToCopyBackward");
}

// A copy between the host and a device runs on the device's backend, whose copy kernel takes
// a CPU operand on either side (it makes a strided source contiguous on its own side first).
Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  const Device accelerator = d.is_cpu() ? device() : d;
  TG_CHECK(kernel::current_backend(accelerator.type) != "none", "to", "cannot move ", str(), " to ",
           d.str(), ": this build has no backend for ", accelerator.str(),
           " (configure with TAPEGRAD_CUDA=ON on a machine with nvcc)");
  Tensor out;
  try {
    out = empty(shape(), TensorOptions(dtype()).device(d));
  } catch (const Error& e) {  // e.g. no usable GPU: say which move failed
    TG_ERROR("to", "cannot move ", str(), " to ", d.str(), ": ", e.what());
  }
  kernel::lookup(kernel::table_for(accelerator).copy, kernel::OpId::copy, dtype(), accelerator)(out, *this);
  if (is_floating(dtype())) {
    const Device back = device();
    autograd::record("ToCopyBackward", {*this}, {out}, {}, [back](const autograd::BackwardContext& c) {
      return TensorList{c.grads[0].to(back)};
    });
  }
  return out;
}

const Tensor& Tensor::copy_(const Tensor& src) const {
  check_inplace(*this, src, "copy_");
  TG_CHECK(src.device() == device(), "copy_", "device mismatch: ", str(), " and ", src.str());
  Tensor b = src.expand(shape());
  TG_KERNEL(copy, *this)(*this, b);
  impl()->storage->bump_version();
  return *this;
}

const Tensor& Tensor::fill_(double value) const {
  check_inplace(*this, {}, "fill_");
  TG_KERNEL(fill, *this)(*this, value);
  impl()->storage->bump_version();
  return *this;
}

const Tensor& Tensor::zero_() const { return fill_(0.0); }

// The arithmetic in-place ops write the out-of-place result back (the CPU backend's fused
// update kernels are what optimizers use on hot paths).
const Tensor& Tensor::add_(const Tensor& other, double alpha) const {
  check_inplace(*this, other, "add_");
  Tensor r = add(*this, other, alpha);
  TG_CHECK(r.shape() == shape(), "add_", "the result ", shape_str(r.shape()),
           " does not fit in self ", shape_str(shape()));
  return copy_(r);
}

const Tensor& Tensor::sub_(const Tensor& other, double alpha) const { return add_(other, -alpha); }

const Tensor& Tensor::add_(Scalar value) const {
  check_scalar_keeps_dtype(*this, value, "add_");
  return add_(detail::scalar_like(value, *this));
}

const Tensor& Tensor::mul_(const Tensor& other) const {
  check_inplace(*this, other, "mul_");
  Tensor r = mul(*this, other);
  TG_CHECK(r.shape() == shape(), "mul_", "the result ", shape_str(r.shape()),
           " does not fit in self ", shape_str(shape()));
  return copy_(r);
}

const Tensor& Tensor::mul_(Scalar value) const {
  check_scalar_keeps_dtype(*this, value, "mul_");
  return mul_(detail::scalar_like(value, *this));
}

}  // namespace tg
