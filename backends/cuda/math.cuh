// The math library by element type, for kernels templated on float / double: exp_of(x) is
// expf for float and exp for double (never the fast approximate intrinsics), and so on.
#pragma once

#include "backends/cuda/runtime.h"

namespace tg::cuda {

__device__ inline float exp_of(float x) { return expf(x); }
__device__ inline double exp_of(double x) { return exp(x); }
__device__ inline float log_of(float x) { return logf(x); }
__device__ inline double log_of(double x) { return log(x); }
__device__ inline float log1p_of(float x) { return log1pf(x); }
__device__ inline double log1p_of(double x) { return log1p(x); }
__device__ inline float sqrt_of(float x) { return sqrtf(x); }
__device__ inline double sqrt_of(double x) { return sqrt(x); }
__device__ inline float abs_of(float x) { return fabsf(x); }
__device__ inline double abs_of(double x) { return fabs(x); }
__device__ inline float tanh_of(float x) { return tanhf(x); }
__device__ inline double tanh_of(double x) { return tanh(x); }
__device__ inline float pow_of(float x, float y) { return powf(x, y); }
__device__ inline double pow_of(double x, double y) { return pow(x, y); }

// std::max's rule (a < b ? b : a): a NaN first argument is kept, a NaN second one is not.
template <typename T>
__device__ T max_of(T a, T b) {
  return a < b ? b : a;
}

}  // namespace tg::cuda
