// The fused losses and their input gradients: binary_cross_entropy, bce_with_logits,
// cross_entropy, with the reference's formulas (backends/reference/loss.cpp): per-element
// math in the element type T, sums in double. A mean or sum writes each element's (row's)
// loss as a double, adds them with reduce.cu's deterministic sum, and a one-thread kernel
// divides (by the element count, or by the sum of the rows' class weights for cross_entropy)
// and rounds to T, so no value ever comes back to the host.
//
// Operands as the op layer passes them: for the binary losses input and target share a
// shape and weight / pos_weight are undefined or expanded to it; for cross_entropy input is
// [N, C], target int64 [N] with values in [0, C), weight [C] or undefined. out and grad_out
// are 0-dim for mean / sum and per-element (per-row) for none.
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/math.cuh"

namespace tg::cuda {
namespace {

constexpr int kNone = 0, kMean = 1;

// -(y log x + (1 - y) log(1 - x)), each log clamped at -100 so x = 0 or 1 stays finite.
struct Bce {
  template <typename T>
  __device__ T operator()(T x, T y, T) const {
    const T log_x = max_of(log_of(x), T(-100)), log_1mx = max_of(log1p_of(-x), T(-100));
    return (y - 1) * log_1mx - y * log_x;
  }
};

// d/dx = (x - y) / (x (1 - x)), the denominator kept >= PyTorch's EPSILON (the float 1e-12f).
struct BceGrad {
  template <typename T>
  __device__ T operator()(T x, T y, T) const {
    return (x - y) / max_of((1 - x) * x, static_cast<T>(1e-12f));
  }
};

// (1 - y) x + lw (log1p(e^-|x|) + max(-x, 0)), lw = 1 + (pw - 1) y: no exp of a positive number.
struct BceLogits {
  template <typename T>
  __device__ T operator()(T x, T y, T pw) const {
    const T lw = 1 + (pw - 1) * y;
    return (1 - y) * x + lw * (log1p_of(exp_of(-abs_of(x))) + max_of(-x, T(0)));
  }
};

// d/dx = lw s(x) - pw y.
struct BceLogitsGrad {
  template <typename T>
  __device__ T operator()(T x, T y, T pw) const {
    const T e = exp_of(-abs_of(x)), s = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    return (1 + (pw - 1) * y) * s - pw * y;
  }
};

// Operands: 0 = out (per element, reduction none), 1 = input, 2 = target, 3 = weight,
// 4 = pos_weight; an absent weight is the constant 1. With a reduction each element's loss
// goes to losses[i] instead.
template <typename T, typename F>
__global__ void binary_loss_kernel(T* out, double* losses, const T* x, const T* y, const T* w, const T* pw,
                                   OffsetCalculator<5> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[5];
    at.offsets(i, o);
    const T l = (w ? w[o[3]] : T(1)) * F{}(x[o[1]], y[o[2]], pw ? pw[o[4]] : T(1));
    if (losses) losses[i] = static_cast<double>(l);
    else out[o[0]] = l;
  }
}

// grad_input_i = g_i * scale * w_i * df(x_i, y_i, pw_i). Operands: 0 = grad_input,
// 1 = grad_out (stride 0 when it is the scalar of a reduction), 2 = input, 3 = target,
// 4 = weight, 5 = pos_weight.
template <typename T, typename F>
__global__ void binary_loss_backward_kernel(T* dx, const T* g, const T* x, const T* y, const T* w, const T* pw,
                                            T scale, OffsetCalculator<6> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[6];
    at.offsets(i, o);
    dx[o[0]] = g[o[1]] * scale * (w ? w[o[4]] : T(1)) * F{}(x[o[2]], y[o[3]], pw ? pw[o[5]] : T(1));
  }
}

// out = total / divisor, rounded to T: the divisor a device value (when given) or a constant.
template <typename T>
__global__ void finish_reduction_kernel(T* out, const double* total, const double* divisor, double constant) {
  *out = static_cast<T>(*total / (divisor ? *divisor : constant));
}

// A device [1] float64 tensor holding the sum of `values` (a float64 vector on the device).
Tensor total_of(const Tensor& values) {
  const Tensor s = device_empty({1}, kFloat64);
  sum(s, values);
  return s;
}

template <typename T>
void finish_reduction(const Tensor& out, const Tensor& total, const Tensor& divisor, double constant) {
  launch<finish_reduction_kernel<T>>(1, 1, 0, typed<T>(out), typed<const double>(total),
                                                    divisor.defined() ? typed<const double>(divisor) : nullptr,
                                                    constant);
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? typed<const T>(t) : nullptr;
}

const Shape& strides_or(const Tensor& t, const Shape& fallback) { return t.defined() ? t.strides() : fallback; }

template <typename F>
void binary_loss(const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& weight,
                 const Tensor& pos_weight, int reduction, const char* op) {
  const int64_t n = input.numel();
  const Shape no_strides(input.dim(), 0);
  const auto at = make_offsets<5>(input.shape(), {reduction == kNone ? &out.strides() : &no_strides, &input.strides(),
                                                  &target.strides(), &strides_or(weight, no_strides),
                                                  &strides_or(pos_weight, no_strides)});
  dispatch_floating(input.dtype(), op, [&]<typename T>() {
    const Tensor losses = reduction == kNone ? Tensor() : device_empty({n}, kFloat64);
    if (n > 0) {
      launch<binary_loss_kernel<T, F>>(blocks_for(n), kThreads, 0, typed<T>(out), losses.defined() ? typed<double>(losses) : nullptr, typed<const T>(input),
          typed<const T>(target), data_or_null<T>(weight), data_or_null<T>(pos_weight), at, n);
    }
    if (reduction != kNone)
      finish_reduction<T>(out, total_of(losses), Tensor(), reduction == kMean ? static_cast<double>(n) : 1.0);
  });
}

template <typename F>
void binary_loss_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input, const Tensor& target,
                          const Tensor& weight, const Tensor& pos_weight, int reduction, const char* op) {
  const int64_t n = input.numel();
  if (n == 0) return;
  const Shape no_strides(input.dim(), 0);
  const auto at = make_offsets<6>(
      input.shape(), {&grad_input.strides(), reduction == kNone ? &grad_out.strides() : &no_strides, &input.strides(),
                      &target.strides(), &strides_or(weight, no_strides), &strides_or(pos_weight, no_strides)});
  dispatch_floating(input.dtype(), op, [&]<typename T>() {
    const T scale = reduction == kMean ? T(1) / static_cast<T>(n) : T(1);
    launch<binary_loss_backward_kernel<T, F>>(blocks_for(n), kThreads, 0, typed<T>(grad_input), typed<const T>(grad_out), typed<const T>(input), typed<const T>(target),
        data_or_null<T>(weight), data_or_null<T>(pos_weight), scale, at, n);
  });
}

// ---- cross_entropy: one group of threads per row of the [N, C] input ----

// A row's logsumexp as max m and log s = log sum_c exp(x_c - m), kept apart: x_c - m is exact
// for nearby values, m + log s would round at m's scale.
struct RowLse {
  double m, log_s;
};

// Every thread of the group gets the row's logsumexp.
template <typename T, int Lanes>
__device__ RowLse row_logsumexp(const T* row, int64_t C, int64_t sc, int lane, bool active) {
  __shared__ T max_scratch[kThreads / 32];
  __shared__ double sum_scratch[kThreads / 32];
  T m = -INFINITY;
  if (active)
    for (int64_t c = lane; c < C; c += Lanes) m = Larger{}(m, row[c * sc]);
  m = group_combine<Lanes>(m, Larger{}, max_scratch);
  double s = 0;
  if (active)
    for (int64_t c = lane; c < C; c += Lanes) s += exp(static_cast<double>(row[c * sc]) - static_cast<double>(m));
  s = group_combine<Lanes>(s, Plus{}, sum_scratch);
  return {static_cast<double>(m), log(s)};
}

// The rows' operands: input [N, C] and its strides, target [N], class weights [C] or null.
template <typename T>
struct Rows {
  const T* x;
  int64_t sx0, sx1;
  const int64_t* target;
  int64_t st;
  const T* weight;
  int64_t sw;
  int64_t N, C;
  __device__ int64_t cls(int64_t i) const { return target[i * st]; }
  __device__ double class_weight(int64_t i) const { return weight ? static_cast<double>(weight[cls(i) * sw]) : 1.0; }
};

template <typename T>
Rows<T> rows(const Tensor& input, const Tensor& target, const Tensor& weight) {
  return {typed<const T>(input), input.stride(0), input.stride(1), typed<const int64_t>(target), target.stride(0),
          data_or_null<T>(weight), weight.defined() ? weight.stride(0) : 0, input.size(0), input.size(1)};
}

// loss_i = w[t_i] (logsumexp(x_i) - x_i[t_i]): into out[i] (none), or into losses[i] with
// the row's class weight into weights[i] (the mean's divisor).
template <typename T, int Lanes>
__global__ void cross_entropy_kernel(Rows<T> r, T* out, int64_t out_stride, double* losses, double* weights) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * (kThreads / Lanes) + threadIdx.x / Lanes;
  const int lane = threadIdx.x % Lanes;
  const bool active = i < r.N;
  const T* row = r.x + (active ? i : 0) * r.sx0;
  const RowLse lse = row_logsumexp<T, Lanes>(row, r.C, r.sx1, lane, active);
  if (!active || lane != 0) return;
  const double wt = r.class_weight(i);
  const double l = wt * ((lse.m - static_cast<double>(row[r.cls(i) * r.sx1])) + lse.log_s);
  if (losses) {
    losses[i] = l;
    weights[i] = wt;
  } else {
    out[i * out_stride] = static_cast<T>(l);
  }
}

// weights[i] = w[t_i] (1 without class weights).
template <typename T>
__global__ void class_weights_kernel(Rows<T> r, double* weights) {
  TG_GRID_LOOP(i, r.N) { weights[i] = r.class_weight(i); }
}

// dx_ic = g_i * scale * w[t_i] (softmax(x_i)_c - [c = t_i]), scale = 1 / sum_i w[t_i] for mean
// (weight_sum on the device) and 1 otherwise; g is grad_out[i] (none) or the scalar grad_out.
template <typename T, int Lanes>
__global__ void cross_entropy_backward_kernel(Rows<T> r, T* dx, int64_t sdx0, int64_t sdx1, const T* g,
                                              int64_t g_stride, const double* weight_sum) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * (kThreads / Lanes) + threadIdx.x / Lanes;
  const int lane = threadIdx.x % Lanes;
  const bool active = i < r.N;
  const T* row = r.x + (active ? i : 0) * r.sx0;
  const RowLse lse = row_logsumexp<T, Lanes>(row, r.C, r.sx1, lane, active);
  if (!active) return;
  const double scale = weight_sum ? 1 / *weight_sum : 1.0;
  const double gi = static_cast<double>(g[i * g_stride]) * scale * r.class_weight(i);
  const int64_t cls = r.cls(i);
  for (int64_t c = lane; c < r.C; c += Lanes) {
    const double p = exp((static_cast<double>(row[c * r.sx1]) - lse.m) - lse.log_s);
    dx[i * sdx0 + c * sdx1] = static_cast<T>(gi * (p - (c == cls ? 1.0 : 0.0)));
  }
}

// Calls f.template operator()<Lanes>() with the group size for rows of C classes.
template <typename F>
void with_row_lanes(int64_t C, F&& f) {
  if (C <= 32) f.template operator()<1>();
  else f.template operator()<32>();
}

template <int Lanes>
unsigned row_blocks(int64_t N) {
  const int64_t blocks = (N + kThreads / Lanes - 1) / (kThreads / Lanes);
  TG_CHECK(blocks < (int64_t{1} << 31), "cross_entropy", "too many rows for one launch: ", N);
  return static_cast<unsigned>(blocks);
}

}  // namespace

void binary_cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& weight,
                          const Tensor& pos_weight, int reduction) {
  binary_loss<Bce>(out, input, target, weight, pos_weight, reduction, "binary_cross_entropy");
}

void binary_cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                                   const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                                   int reduction) {
  binary_loss_backward<BceGrad>(grad_input, grad_out, input, target, weight, pos_weight, reduction,
                                "binary_cross_entropy_backward");
}

void bce_with_logits(const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& weight,
                     const Tensor& pos_weight, int reduction) {
  binary_loss<BceLogits>(out, input, target, weight, pos_weight, reduction, "bce_with_logits");
}

void bce_with_logits_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                              const Tensor& target, const Tensor& weight, const Tensor& pos_weight, int reduction) {
  binary_loss_backward<BceLogitsGrad>(grad_input, grad_out, input, target, weight, pos_weight, reduction,
                                      "bce_with_logits_backward");
}

// Mean divides by sum_i w[t_i] (PyTorch's weighted mean).
void cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& weight, const Tensor&,
                   int reduction) {
  const int64_t N = input.size(0);
  dispatch_floating(input.dtype(), "cross_entropy", [&]<typename T>() {
    const bool reduce = reduction != kNone;
    const Tensor losses = reduce ? device_empty({N}, kFloat64) : Tensor();
    const Tensor weights = reduce ? device_empty({N}, kFloat64) : Tensor();
    if (N > 0) {
      with_row_lanes(input.size(1), [&]<int Lanes>() {
        launch<cross_entropy_kernel<T, Lanes>>(row_blocks<Lanes>(N), kThreads, 0, rows<T>(input, target, weight), typed<T>(out), reduce ? 0 : out.stride(0),
            reduce ? typed<double>(losses) : nullptr, reduce ? typed<double>(weights) : nullptr);
      });
    }
    if (reduction == kMean) finish_reduction<T>(out, total_of(losses), total_of(weights), 1.0);
    else if (reduce) finish_reduction<T>(out, total_of(losses), Tensor(), 1.0);
  });
}

void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor&, int reduction) {
  const int64_t N = input.size(0);
  if (N == 0 || input.size(1) == 0) return;
  dispatch_floating(input.dtype(), "cross_entropy_backward", [&]<typename T>() {
    const Rows<T> r = rows<T>(input, target, weight);
    Tensor weight_sum;
    if (reduction == kMean) {
      const Tensor weights = device_empty({N}, kFloat64);
      launch<class_weights_kernel<T>>(blocks_for(N), kThreads, 0, r, typed<double>(weights));
      weight_sum = total_of(weights);
    }
    with_row_lanes(input.size(1), [&]<int Lanes>() {
      launch<cross_entropy_backward_kernel<T, Lanes>>(row_blocks<Lanes>(N), kThreads, 0, r, typed<T>(grad_input), grad_input.stride(0), grad_input.stride(1), typed<const T>(grad_out),
          reduction == kNone ? grad_out.stride(0) : 0, weight_sum.defined() ? typed<const double>(weight_sum) : nullptr);
    });
  });
}

}  // namespace tg::cuda
