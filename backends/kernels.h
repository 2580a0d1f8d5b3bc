// The kernel interface: how an op reaches its kernel.
//
//   tg::exp(x)                                  autograd/ops/unary.cpp: checks, allocates y,
//     -> kernel::lookup(table(x).exp, ...)      picks the active backend's table for x's device
//     -> reference::unary<Exp, T>(y, x, ...)    (or the SIMD / CUDA kernel registered there)
//     -> autograd::record("ExpBackward", ...)   the tape node, backward written in tg ops
//
// Each backend fills one KernelTable at start-up (backends/<name>/register.cpp); a slot it
// leaves empty, or a dtype it does not list, is a clear error when asked for, never a silent
// fallback. A new primitive op touches: one line in autograd/op_list.def, its autograd file
// (forward call + backward formula), one kernel file per backend, and its tests.
//
// Kernels may assume checked input: operands of elementwise kernels have out's shape (the op
// layer broadcasts them with stride-0 views), dtypes agree, devices agree.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/profiler.h"
#include "autograd/tensor.h"

namespace tg::kernel {

using copy_fn = void (*)(const Tensor& dst, const Tensor& src);
using fill_fn = void (*)(const Tensor& dst, double value);
using random_fn = void (*)(const Tensor& dst, uint64_t seed, uint64_t offset, double a, double b);
using unary_fn = void (*)(const Tensor& out, const Tensor& in, double alpha, double beta);
using binary_fn = void (*)(const Tensor& out, const Tensor& a, const Tensor& b);
using ternary_fn = void (*)(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
// gx = x > 0 ? gy : slope gy elementwise (0 exactly when slope is 0: relu passes no inf or NaN).
using activation_backward_fn = void (*)(const Tensor& gx, const Tensor& gy, const Tensor& x, double slope);
// out has in's rank with size 1 in every reduced dim (keepdim form).
using reduce_fn = void (*)(const Tensor& out, const Tensor& in);
using arg_reduce_fn = void (*)(const Tensor& values, const Tensor& indices, const Tensor& in,
                               int64_t dim);
using matmul_fn = void (*)(const Tensor& out, const Tensor& a, const Tensor& b);

// An epilogue fused into conv2d's or conv_transpose2d's output: out[n, c] = act(out[n, c] +
// bias[c]), with the bias optional ([C_out], out's dtype and device) and act computed exactly
// as the activation op of that name computes it.
enum class ConvActivation : int8_t { none, relu, leaky_relu, tanh, sigmoid };
struct ConvEpilogue {
  const Tensor* bias = nullptr;
  ConvActivation activation = ConvActivation::none;
  double slope = 0.0;  // leaky_relu's negative slope
  bool empty() const { return bias == nullptr && activation == ConvActivation::none; }
};

// Convolution parameters as PyTorch names them; [0] is height, [1] width.
struct Conv2dParams {
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  int64_t dilation[2] = {1, 1};
  int64_t output_padding[2] = {0, 0};  // conv_transpose2d only
  int64_t groups = 1;
  ConvEpilogue epilogue;  // conv2d and conv_transpose2d only
};
using conv_fn = void (*)(const Tensor& out, const Tensor& a, const Tensor& b, const Conv2dParams& p);

struct Pool2dParams {
  int64_t kernel[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d
};
using pool_fn = void (*)(const Tensor& out, const Tensor& indices, const Tensor& x, const Pool2dParams& p);
using pool_backward_fn = void (*)(const Tensor& out, const Tensor& in, const Tensor& indices,
                                  const Pool2dParams& p);

// Training: normalises with batch statistics over (N, H, W) per channel, writes save_mean and
// save_invstd = 1 / sqrt(biased var + eps), and updates running stats (unbiased var) when
// defined. Eval: normalises with the running statistics. weight / bias may be undefined.
using batch_norm_fn = void (*)(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                               const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Tensor& running_mean, const Tensor& running_var,
                               bool training, double momentum, double eps);
// Training-mode gradients (gw / gb may be undefined when not needed).
using batch_norm_backward_fn = void (*)(const Tensor& gx, const Tensor& gw, const Tensor& gb,
                                        const Tensor& gy, const Tensor& x, const Tensor& weight,
                                        const Tensor& save_mean, const Tensor& save_invstd);

using softmax_fn = void (*)(const Tensor& out, const Tensor& in, int64_t dim);
using softmax_backward_fn = void (*)(const Tensor& grad_in, const Tensor& grad_out,
                                     const Tensor& out, int64_t dim);

// reduction: 0 none, 1 mean, 2 sum (PyTorch's at::Reduction values). weight and pos_weight
// may be undefined.
using loss_fn = void (*)(const Tensor& out, const Tensor& input, const Tensor& target,
                         const Tensor& weight, const Tensor& pos_weight, int reduction);
using loss_backward_fn = void (*)(const Tensor& grad_input, const Tensor& grad_out,
                                  const Tensor& input, const Tensor& target, const Tensor& weight,
                                  const Tensor& pos_weight, int reduction);

// Fused optimizer updates (PyTorch's single-tensor formulas, optim/*.cpp). They write param
// and the state tensors in place; state tensors an option does not use are undefined.
struct SgdUpdate {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool init_momentum;  // the buffer is new: it starts as the first gradient, undampened
};
using sgd_update_fn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                               const SgdUpdate& h);
struct AdamUpdate {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad;
  bool decoupled_weight_decay;  // AdamW: param *= 1 - lr * weight_decay before the update
  int64_t step;                 // 1 on the first update (bias corrections 1 - beta^step)
};
using adam_update_fn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                                const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                                const AdamUpdate& h);
struct RmspropUpdate {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered;
};
using rmsprop_update_fn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                                   const Tensor& momentum_buffer, const Tensor& grad_avg,
                                   const RmspropUpdate& h);

enum class OpId : int {
#define TG_OP(name, sig) name,
#include "autograd/op_list.def"
#undef TG_OP
  count
};
const char* op_name(OpId id);

// Bit (1 << int(dtype)) set for each dtype a slot supports.
using DTypeMask = uint32_t;
constexpr DTypeMask mask_of(DType t) { return 1u << static_cast<int>(t); }
constexpr DTypeMask kFloatingTypes = mask_of(kFloat32) | mask_of(kFloat64);
constexpr DTypeMask kAllTypes = 0x1f;

template <typename Fn>
struct Slot {
  Fn fn = nullptr;
  DTypeMask dtypes = 0;
};

struct KernelTable {
#define TG_OP(name, sig) Slot<sig##_fn> name;
#include "autograd/op_list.def"
#undef TG_OP
  bool has(OpId id) const;  // the slot is filled
};

// ---- backends ----
void register_backend(const std::string& name, DeviceType device, const KernelTable& table);
// Selects the backend that runs ops on its device type ("reference", "cpu", "cuda").
// Initially the value of the environment variable TAPEGRAD_BACKEND, else the fastest one.
void set_backend(const std::string& name);
std::string current_backend(DeviceType device = DeviceType::CPU);
std::vector<std::string> available_backends();
const KernelTable& table_for(Device device);
const KernelTable& table_named(const std::string& name);  // for cross-backend tests

// FLOPs of one kernel call from its tensor operands in call order (profiler.h's model).
double kernel_flops(OpId id, const std::vector<const Tensor*>& operands);
void profile_kernel_call(OpId id, double seconds, const std::vector<const Tensor*>& operands);

// A looked-up kernel: calling it runs the kernel, timed when a profiler is alive.
template <typename Fn>
struct KernelCall {
  Fn fn;
  OpId id;
  template <typename... Args>
  void operator()(const Args&... args) const {
    if (!profiler::enabled()) {
      fn(args...);
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    fn(args...);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::vector<const Tensor*> operands;
    (collect(operands, args), ...);
    profile_kernel_call(id, elapsed.count(), operands);
  }

 private:
  static void collect(std::vector<const Tensor*>& v, const Tensor& t) { v.push_back(&t); }
  template <typename T>
  static void collect(std::vector<const Tensor*>&, const T&) {}
};

// The kernel of `slot`, or a tg::Error naming the op, backend and dtype it lacks.
template <typename Fn>
KernelCall<Fn> lookup(const Slot<Fn>& slot, OpId id, DType dtype, Device device) {
  if (!slot.fn || !(slot.dtypes & mask_of(dtype))) {
    TG_ERROR(op_name(id), "backend '", current_backend(device.type), "' has no kernel for ",
             dtype_name(dtype), " on ", device.str());
  }
  return {slot.fn, id};
}

}  // namespace tg::kernel

// TG_KERNEL(exp, x) -> the active backend's exp kernel for x's dtype and device.
#define TG_KERNEL(op, t)                                                                  \
  ::tg::kernel::lookup(::tg::kernel::table_for((t).device()).op, ::tg::kernel::OpId::op, \
                       (t).dtype(), (t).device())

// Backends (each defined in backends/<name>/register.cpp).
namespace tg::reference {
tg::kernel::KernelTable make_table();
}
