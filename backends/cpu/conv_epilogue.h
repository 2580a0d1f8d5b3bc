// kernels.h's ConvEpilogue (bias, activation) fused into the cpu convolutions: each unit of
// work runs it over the part of the output it has just written, while that part is in L2, so
// the epilogue costs no pass over the output in memory. It runs the active ISA's add and
// activation row kernels (elementwise.h), the very arithmetic of the add and activation ops:
// a fused convolution equals conv, then + bias, then the activation, bit for bit.
#pragma once

#include <algorithm>

#include "backends/cpu/conv_common.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu::conv {

template <typename T>
class FusedEpilogue {
 public:
  explicit FusedEpilogue(const kernel::ConvEpilogue& e) : slope_(static_cast<T>(e.slope)) {
    const TypedKernels<T>& k = active_kernels<T>();
    if (e.bias) {
      bias_ = static_cast<const T*>(e.bias->raw_data());
      bias_stride_ = e.bias->stride(0);
      add_ = k.arithmetic[static_cast<int>(Arithmetic::add)];
    }
    const auto row = [&](Unary u) { return k.unary[static_cast<int>(u)]; };
    switch (e.activation) {
      case kernel::ConvActivation::none: break;
      case kernel::ConvActivation::relu: activation_ = row(Unary::relu); break;
      case kernel::ConvActivation::leaky_relu: activation_ = row(Unary::leaky_relu); break;
      case kernel::ConvActivation::tanh: activation_ = row(Unary::tanh); break;
      case kernel::ConvActivation::sigmoid: activation_ = row(Unary::sigmoid); break;
    }
  }

  bool empty() const { return add_ == nullptr && activation_ == nullptr; }

  // Over the output pixels [q0, q1) of every channel, pixels numbered n Ho Wo + i Wo + j across
  // the images of out [N, channels, Ho, Wo]: the span a unit of work wrote.
  void apply(const View4<T>& out, int64_t channels, int64_t Ho, int64_t Wo, int64_t q0,
             int64_t q1) const {
    if (empty()) return;
    const int64_t P = Ho * Wo;
    const bool flat = out.s3 == 1 && out.s2 == Wo;  // an image's channel is one run
    for (int64_t q = q0; q < q1;) {
      const int64_t n = q / P, first = q % P, last = std::min(P, first + q1 - q);
      for (int64_t c = 0; c < channels; ++c) {
        if (flat) {
          run(&out(n, c, 0, 0) + first, 1, last - first, c);
          continue;
        }
        for (int64_t p = first; p < last;) {
          const int64_t i = p / Wo, j = p % Wo, end = std::min(Wo, j + last - p);
          run(&out(n, c, i, j), out.s3, end - j, c);
          p += end - j;
        }
      }
      q += last - first;
    }
  }

  // Over all of out, split among the threads by images (the paths with no units of their own:
  // the dense products and the empty sums).
  void apply_all(const View4<T>& out, int64_t N, int64_t channels, int64_t Ho, int64_t Wo) const {
    if (empty()) return;
    const int64_t P = Ho * Wo;
    parallel_for(N, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, channels * P)),
                 [&](int64_t n0, int64_t n1) { apply(out, channels, Ho, Wo, n0 * P, n1 * P); });
  }

 private:
  void run(T* p, int64_t stride, int64_t n, int64_t c) const {
    if (add_) add_(n, p, stride, p, stride, bias_ + c * bias_stride_, 0);
    if (activation_) activation_(n, p, stride, p, stride, slope_, T(0));
  }

  const T* bias_ = nullptr;
  int64_t bias_stride_ = 0;
  T slope_;
  typename TypedKernels<T>::binary_row add_ = nullptr;
  typename TypedKernels<T>::unary_row activation_ = nullptr;
};

}  // namespace tg::cpu::conv
