// Elementwise kernels: unary maps, binary arithmetic and comparisons, where. One thread per
// output element (grid-stride), operands at any strides (broadcast operands arrive as
// stride-0 views); the formulas are the reference backend's, in the element type.
#include <type_traits>

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/math.cuh"

namespace tg::cuda {
namespace {

using kernel::OpId;

template <OpId Op, typename T>
__device__ T unary_value(T x, T alpha, T beta) {
  if constexpr (Op == OpId::neg) return -x;
  if constexpr (Op == OpId::exp) return exp_of(x);
  if constexpr (Op == OpId::log) return log_of(x);
  if constexpr (Op == OpId::sqrt) return sqrt_of(x);
  if constexpr (Op == OpId::rsqrt) return T(1) / sqrt_of(x);
  if constexpr (Op == OpId::abs) return abs_of(x);
  if constexpr (Op == OpId::sign) return static_cast<T>((x > 0) - (x < 0));
  if constexpr (Op == OpId::relu) return x < 0 ? T(0) : x;  // NaN passes through
  if constexpr (Op == OpId::leaky_relu) return x < 0 ? x * alpha : x;
  if constexpr (Op == OpId::sigmoid) {
    const T e = exp_of(-abs_of(x));  // exp of a non-positive number: no overflow
    return x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
  }
  if constexpr (Op == OpId::tanh) return tanh_of(x);
  if constexpr (Op == OpId::softplus) {
    const T bx = alpha * x;  // alpha = beta, beta = threshold
    return bx > beta ? x : log1p_of(exp_of(bx)) / alpha;
  }
  if constexpr (Op == OpId::pow_scalar) return pow_of(x, alpha);
  if constexpr (Op == OpId::clamp) {
    if (isnan(x)) return x;
    return x < alpha ? alpha : (x > beta ? beta : x);
  }
}

template <OpId Op, typename T>
__global__ void unary_kernel(T* y, const T* x, T alpha, T beta, OffsetCalculator<2> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[2];
    at.offsets(i, o);
    y[o[0]] = unary_value<Op, T>(x[o[1]], alpha, beta);
  }
}

constexpr bool is_comparison(OpId op) {
  return op == OpId::eq || op == OpId::ne || op == OpId::lt || op == OpId::le || op == OpId::gt ||
         op == OpId::ge;
}

// The (op, type) pairs the backend registers: comparisons on every dtype, add / sub / mul on
// float, double and int64, div on float and double.
template <OpId Op, typename T>
constexpr bool binary_supported() {
  if constexpr (is_comparison(Op)) return true;
  if constexpr (Op == OpId::div) return std::is_floating_point_v<T>;
  return std::is_floating_point_v<T> || std::is_same_v<T, int64_t>;
}

template <OpId Op, typename T>
__device__ auto binary_value(T a, T b) {
  if constexpr (Op == OpId::add) return a + b;
  if constexpr (Op == OpId::sub) return a - b;
  if constexpr (Op == OpId::mul) return a * b;
  if constexpr (Op == OpId::div) return a / b;
  if constexpr (Op == OpId::eq) return a == b;
  if constexpr (Op == OpId::ne) return a != b;
  if constexpr (Op == OpId::lt) return a < b;
  if constexpr (Op == OpId::le) return a <= b;
  if constexpr (Op == OpId::gt) return a > b;
  if constexpr (Op == OpId::ge) return a >= b;
}

template <OpId Op, typename T, typename R>
__global__ void binary_kernel(R* y, const T* a, const T* b, OffsetCalculator<3> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[3];
    at.offsets(i, o);
    y[o[0]] = binary_value<Op, T>(a[o[1]], b[o[2]]);
  }
}

template <typename T>
__global__ void where_kernel(T* y, const bool* cond, const T* a, const T* b, OffsetCalculator<4> at,
                             int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[4];
    at.offsets(i, o);
    y[o[0]] = cond[o[1]] ? a[o[2]] : b[o[3]];
  }
}

template <typename T>
__global__ void leaky_relu_backward_kernel(T* gx, const T* gy, const T* x, T slope,
                                           OffsetCalculator<3> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[3];
    at.offsets(i, o);
    gx[o[0]] = x[o[2]] > T(0) ? gy[o[1]] : (slope == T(0) ? T(0) : gy[o[1]] * slope);
  }
}

}  // namespace

template <OpId Op>
void unary(const Tensor& out, const Tensor& in, double alpha, double beta) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto at = make_offsets<2>(out.shape(), {&out.strides(), &in.strides()});
  dispatch_floating(in.dtype(), kernel::op_name(Op), [&]<typename T>() {
    launch<unary_kernel<Op, T>>(blocks_for(n), kThreads, 0, typed<T>(out), typed<T>(in), static_cast<T>(alpha), static_cast<T>(beta), at, n);
  });
}

template <OpId Op>
void binary(const Tensor& out, const Tensor& a, const Tensor& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto at = make_offsets<3>(out.shape(), {&out.strides(), &a.strides(), &b.strides()});
  dispatch_all(a.dtype(), [&]<typename T>() {
    if constexpr (!binary_supported<Op, T>()) {
      TG_ERROR(kernel::op_name(Op), "arithmetic on ", dtype_name(a.dtype()), " is not supported");
    } else {
      using R = std::conditional_t<is_comparison(Op), bool, T>;
      launch<binary_kernel<Op, T, R>>(blocks_for(n), kThreads, 0, typed<R>(out), typed<T>(a),
                                                                         typed<T>(b), at, n);
    }
  });
}

void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const auto at = make_offsets<4>(out.shape(), {&out.strides(), &cond.strides(), &a.strides(), &b.strides()});
  dispatch_all(a.dtype(), [&]<typename T>() {
    launch<where_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(out), typed<bool>(cond),
                                                              typed<T>(a), typed<T>(b), at, n);
  });
}

void leaky_relu_backward(const Tensor& gx, const Tensor& gy, const Tensor& x, double slope) {
  const int64_t n = gx.numel();
  if (n == 0) return;
  const auto at = make_offsets<3>(gx.shape(), {&gx.strides(), &gy.strides(), &x.strides()});
  dispatch_floating(x.dtype(), "leaky_relu_backward", [&]<typename T>() {
    launch<leaky_relu_backward_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(gx), typed<T>(gy), typed<T>(x), static_cast<T>(slope), at, n);
  });
}

#define TG_INSTANTIATE_UNARY(name) template void unary<OpId::name>(const Tensor&, const Tensor&, double, double);
#define TG_INSTANTIATE_BINARY(name) template void binary<OpId::name>(const Tensor&, const Tensor&, const Tensor&);
TG_INSTANTIATE_UNARY(neg) TG_INSTANTIATE_UNARY(exp) TG_INSTANTIATE_UNARY(log)
TG_INSTANTIATE_UNARY(sqrt) TG_INSTANTIATE_UNARY(rsqrt) TG_INSTANTIATE_UNARY(abs)
TG_INSTANTIATE_UNARY(sign) TG_INSTANTIATE_UNARY(relu) TG_INSTANTIATE_UNARY(leaky_relu)
TG_INSTANTIATE_UNARY(sigmoid) TG_INSTANTIATE_UNARY(tanh) TG_INSTANTIATE_UNARY(softplus)
TG_INSTANTIATE_UNARY(pow_scalar) TG_INSTANTIATE_UNARY(clamp)
TG_INSTANTIATE_BINARY(add) TG_INSTANTIATE_BINARY(sub) TG_INSTANTIATE_BINARY(mul)
TG_INSTANTIATE_BINARY(div) TG_INSTANTIATE_BINARY(eq) TG_INSTANTIATE_BINARY(ne)
TG_INSTANTIATE_BINARY(lt) TG_INSTANTIATE_BINARY(le) TG_INSTANTIATE_BINARY(gt)
TG_INSTANTIATE_BINARY(ge)
#undef TG_INSTANTIATE_UNARY
#undef TG_INSTANTIATE_BINARY

}  // namespace tg::cuda
