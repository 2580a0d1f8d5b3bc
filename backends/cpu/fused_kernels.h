// The per-ISA inner loops of the cpu backend's fused ops: batch norm, softmax, the fused
// losses, the optimizer updates and pooling (the tensor-level code is in norm.cpp,
// softmax.cpp, loss.cpp, optim.cpp and pool.cpp). Plain data, like isa.h: included by the
// per-ISA translation units.
//
// Every loop takes contiguous runs (the tensor-level code gathers strided operands into
// blocks first); batch norm takes a channel as `rows` runs of `len` contiguous elements, run r
// at p + r * ld.
#pragma once

#include <cstdint>

namespace tg::cpu {

// ---- batch norm ----
// The gradient of one channel: gx = k ((g - mg) - xhat mgx), xhat = (x - mean) invstd.
struct BnGradInput {
  double mean, invstd, k, mg, mgx;
};

// ---- optimizer updates: kernel::SgdUpdate & co. with the scalars rounded to T as the
// reference backend rounds them ----
template <typename T>
struct SgdStep {
  T lr, weight_decay, momentum, damp;  // damp = 1 - dampening
  bool decay, use_momentum, nesterov, init_momentum;
};
template <typename T>
struct AdamStep {
  T step_size, bc2_sqrt, beta1, beta2, eps, weight_decay, decay;  // decay = 1 - lr wd (AdamW)
  bool amsgrad, decoupled, coupled_decay;  // coupled_decay: Adam with weight_decay != 0
};
template <typename T>
struct RmspropStep {
  T lr, alpha, eps, weight_decay, momentum;
  bool decay, centered, use_momentum;
};

// ---- pooling: one output row of one (n, c) plane ----
template <typename T>
struct PoolRow {
  const T* x;                 // the input plane: element (h, w) at x[h * sh + w * sw]
  int64_t sh, sw, H, W;
  int64_t h0, h1, rows_padded;  // the window's input rows, clipped, and its padded height
  int64_t kernel, stride, pad;  // along W
  bool count_include_pad;       // avg_pool2d
  T* y;                         // the output row, contiguous, wo elements
  int64_t* indices;             // max_pool2d: flat h * W + w of each max
  int64_t wo;
};

template <typename T>
struct FusedTypedKernels {
  // sums[0] += sum (x - shift), sums[1] += sum (x - shift)^2 over a channel block.
  void (*bn_stats)(int64_t rows, int64_t len, const T* x, int64_t ldx, double shift, double* sums);
  // y = (x - mean) scale + bias, in double.
  void (*bn_normalize)(int64_t rows, int64_t len, const T* x, int64_t ldx, T* y, int64_t ldy,
                       double mean, double scale, double bias);
  // sums[0] += sum g, sums[1] += sum g (x - mean).
  void (*bn_grad_stats)(int64_t rows, int64_t len, const T* g, int64_t ldg, const T* x,
                        int64_t ldx, double mean, double* sums);
  void (*bn_grad_input)(int64_t rows, int64_t len, const T* g, int64_t ldg, const T* x,
                        int64_t ldx, T* gx, int64_t ldgx, const BnGradInput& c);

  // y = softmax(x) or log_softmax(x) of one row.
  void (*softmax_row)(int64_t n, const T* x, T* y, bool log);
  // dx from the output y and its gradient g: y (g - sum g y), or g - exp(y) sum g (log).
  void (*softmax_backward_row)(int64_t n, const T* g, const T* y, T* dx, bool log);
  // logsumexp(x) as max m and log sum exp(x - m); scratch holds n elements.
  void (*logsumexp_row)(int64_t n, const T* x, T* scratch, double* m, double* log_sum);
  // dx = scale (exp((x - m) - log_sum) - [c = target]).
  void (*cross_entropy_grad_row)(int64_t n, const T* x, double m, double log_sum, T scale,
                                 int64_t target, T* dx);

  // Binary losses, [0] on probabilities, [1] on logits; w and pw may be null (1).
  // out = w loss(x, y, pw);  dx = ((g scale) w) dloss/dx, a null g standing for g scale = scale.
  void (*binary_loss[2])(int64_t n, const T* x, const T* y, const T* w, const T* pw, T* out);
  void (*binary_loss_grad[2])(int64_t n, const T* g, T scale, const T* x, const T* y, const T* w,
                              const T* pw, T* dx);

  // One pass over a parameter and its state (unused state pointers are null).
  void (*sgd_update)(int64_t n, T* p, const T* g, T* buf, const SgdStep<T>& h);
  void (*adam_update)(int64_t n, T* p, const T* g, T* m, T* v, T* vmax, const AdamStep<T>& h);
  void (*rmsprop_update)(int64_t n, T* p, const T* g, T* s, T* buf, T* avg,
                         const RmspropStep<T>& h);

  void (*max_pool_row)(const PoolRow<T>& r);
  void (*avg_pool_row)(const PoolRow<T>& r);
};

struct FusedIsaKernels {
  const char* name;  // the isa.h level it belongs to
  FusedTypedKernels<float> f32;
  FusedTypedKernels<double> f64;
};

// Defined by backends/cpu/arch/<isa>.cpp beside the level's IsaKernels.
const FusedIsaKernels& avx512_fused_kernels();
const FusedIsaKernels& avx2_fused_kernels();
const FusedIsaKernels& generic_fused_kernels();

}  // namespace tg::cpu
