// Reference batch norm, forward and training-mode backward: one channel at a time, statistics
// accumulated in double, any strides (x, y, gy, gx are [N, C, *]; per-channel tensors are [C]).
#include <cmath>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {
namespace {

// Element c of a 1-D tensor (per-channel statistics and parameters may be strided views).
template <typename T>
T& at(const Tensor& t, int64_t c) {
  return typed<T>(t)[c * t.stride(0)];
}

// The shape of one channel's slice of x: x's shape with the channel dim set to 1.
Shape channel_slice(const Tensor& x) {
  Shape s = x.shape();
  s[1] = 1;
  return s;
}

}  // namespace

// Training: mean = Σx / M, var = Σ(x - mean)² / M (two passes: no cancellation), with M the
// number of values per channel; running stats move by momentum towards mean and the unbiased
// var·M / (M - 1). Eval: mean and var are the running stats. Then
// y = (x - mean) / sqrt(var + eps) · w + b.
void batch_norm(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                const Tensor& running_var, bool training, double momentum, double eps) {
  dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    const int64_t C = x.size(1), M = C == 0 ? 0 : x.numel() / C;
    const Shape slice = channel_slice(x);
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = typed<T>(x) + c * x.stride(1);
      T* yc = typed<T>(y) + c * y.stride(1);
      double mean, invstd;
      if (training) {
        double sum = 0, sq = 0;
        for_each_offset<1>(slice, {&x.strides()}, [&](const auto& o) { sum += xc[o[0]]; });
        mean = sum / static_cast<double>(M);
        for_each_offset<1>(slice, {&x.strides()}, [&](const auto& o) {
          const double d = xc[o[0]] - mean;
          sq += d * d;
        });
        invstd = 1.0 / std::sqrt(sq / static_cast<double>(M) + eps);
        if (running_mean.defined()) {
          T& r = at<T>(running_mean, c);
          r = static_cast<T>((1 - momentum) * r + momentum * mean);
        }
        if (running_var.defined()) {
          T& r = at<T>(running_var, c);
          r = static_cast<T>((1 - momentum) * r + momentum * sq / static_cast<double>(M - 1));
        }
      } else {
        mean = at<T>(running_mean, c);
        invstd = 1.0 / std::sqrt(static_cast<double>(at<T>(running_var, c)) + eps);
      }
      if (save_mean.defined()) at<T>(save_mean, c) = static_cast<T>(mean);
      if (save_invstd.defined()) at<T>(save_invstd, c) = static_cast<T>(invstd);
      const double w = weight.defined() ? at<T>(weight, c) : 1.0;
      const double b = bias.defined() ? at<T>(bias, c) : 0.0;
      for_each_offset<2>(slice, {&y.strides(), &x.strides()}, [&](const auto& o) {
        yc[o[0]] = static_cast<T>((xc[o[1]] - mean) * invstd * w + b);
      });
    }
  });
}

// With x̂ = (x - mean)·invstd and y = w·x̂ + b, per channel (M values):
//   db = Σg,  dw = Σ g·x̂,  dx = (w·invstd / M)·(M·g − Σg − x̂·Σ(g·x̂))
// (the last from dx̂ = w·g through x̂'s dependence on the batch mean and variance).
void batch_norm_backward(const Tensor& gx, const Tensor& gw, const Tensor& gb, const Tensor& gy,
                         const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd) {
  dispatch_floating(x.dtype(), "batch_norm_backward", [&]<typename T>() {
    const int64_t C = x.size(1), M = C == 0 ? 0 : x.numel() / C;
    const Shape slice = channel_slice(x);
    for (int64_t c = 0; c < C; ++c) {
      const T* xc = typed<T>(x) + c * x.stride(1);
      const T* gyc = typed<T>(gy) + c * gy.stride(1);
      const double mean = at<T>(save_mean, c), invstd = at<T>(save_invstd, c);
      double sg = 0, sgx = 0;
      for_each_offset<2>(slice, {&gy.strides(), &x.strides()}, [&](const auto& o) {
        sg += gyc[o[0]];
        sgx += gyc[o[0]] * (xc[o[1]] - mean) * invstd;
      });
      if (gb.defined()) at<T>(gb, c) = static_cast<T>(sg);
      if (gw.defined()) at<T>(gw, c) = static_cast<T>(sgx);
      if (!gx.defined()) continue;
      T* gxc = typed<T>(gx) + c * gx.stride(1);
      const double w = weight.defined() ? at<T>(weight, c) : 1.0;
      const double k = w * invstd, mg = sg / static_cast<double>(M), mgx = sgx / static_cast<double>(M);
      for_each_offset<3>(slice, {&gx.strides(), &gy.strides(), &x.strides()}, [&](const auto& o) {
        const double xhat = (xc[o[2]] - mean) * invstd;
        gxc[o[0]] = static_cast<T>(k * (gyc[o[1]] - mg - xhat * mgx));
      });
    }
  });
}

}  // namespace tg::reference
