// The cpu backend's batch norm, forward and training-mode backward (the reference's contract:
// backends/reference/norm.cpp). Channels are split among threads; each channel is read twice:
//   forward:  pass 1 the statistics, pass 2 y = (x - mean) (invstd w) + b;
//   backward: pass 1 sum g and sum g (x - mean), pass 2 dx.
// One channel is summed by one thread in an order fixed by the shape, so the results do not
// depend on the thread count.
//
// One-pass statistics: with a shift K (the channel's first element) and d = x - K,
//   mean = K + sum d / M,  var_sum = sum (x - mean)^2 = sum d^2 - (sum d)^2 / M,
// accumulated in double. The subtraction loses about log10 of r = (sum d)^2 / M / var_sum
// digits; r = M (mean - K)^2 / var_sum is at most M (var_sum includes (K - mean)^2) and of
// order 1 when K is a typical sample. Where r exceeds kCancellation (an outlier first element
// in a large channel), the channel is summed once more around the mean just found, as the
// reference's second pass does.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/fused.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;    // elements per thread worth a fork/join
constexpr double kCancellation = 100;  // at most ~2 decimal digits lost to the shift

// Element c of a per-channel tensor (possibly a strided view).
template <typename T>
T& at(const Tensor& t, int64_t c) {
  return data_of<T>(t)[c * t.stride(0)];
}

// One channel of K operands [N, C, *] as blocks of rows x len (norm_rows.h). The channel's
// slice (the shape with dim 1 set to 1) is collapsed over all operands' strides: an NCHW
// tensor gives one block of N runs of H W; otherwise each collapsed row is one block, a run
// of n when every operand is contiguous along it, else n runs of one element at each
// operand's stride (a stride-0 gradient included).
template <size_t K>
class ChannelBlocks {
 public:
  ChannelBlocks(const Tensor& like, const std::array<const Tensor*, K>& t)
      : loop_(slice(like), strides_of(t)) {
    for (size_t k = 0; k < K; ++k) channel_stride_[k] = t[k]->stride(1);
    merged_ = loop_.sizes().size() == 2;
    for (size_t k = 0; k < K; ++k) merged_ = merged_ && loop_.strides(k).back() == 1;
  }

  // f(rows, len, offsets, row strides) for the blocks of channel c, in a fixed order.
  template <class F>
  void each(int64_t c, const F& f) const {
    std::array<int64_t, K> base;
    for (size_t k = 0; k < K; ++k) base[k] = c * channel_stride_[k];
    if (merged_) {
      std::array<int64_t, K> ld;
      for (size_t k = 0; k < K; ++k) ld[k] = loop_.strides(k)[0];
      return f(loop_.sizes()[0], loop_.sizes()[1], base, ld);
    }
    loop_.for_rows(0, loop_.numel(), [&](const auto& o, int64_t n, const auto& s) {
      std::array<int64_t, K> off;
      bool contiguous = true;
      for (size_t k = 0; k < K; ++k) {
        off[k] = base[k] + o[k];
        contiguous = contiguous && s[k] == 1;
      }
      if (contiguous) return f(int64_t{1}, n, off, s);
      f(n, int64_t{1}, off, s);
    });
  }

 private:
  static Shape slice(const Tensor& t) {
    Shape s = t.shape();
    s[1] = 1;
    return s;
  }
  static std::array<const Shape*, K> strides_of(const std::array<const Tensor*, K>& t) {
    std::array<const Shape*, K> s;
    for (size_t k = 0; k < K; ++k) s[k] = &t[k]->strides();
    return s;
  }

  RowLoop<K> loop_;
  std::array<int64_t, K> channel_stride_;
  bool merged_;
};

// Values per channel and the channel-parallel loop.
int64_t per_channel(const Tensor& x) { return x.size(1) == 0 ? 0 : x.numel() / x.size(1); }

template <class F>
void for_each_channel(const Tensor& x, const F& f) {
  const int64_t m = std::max<int64_t>(per_channel(x), 1);
  parallel_for(x.size(1), std::max<int64_t>(1, kGrain / m), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) f(c);
  });
}

// Channel c's mean and sum of squared deviations (see the top of the file).
template <typename T>
std::pair<double, double> channel_stats(const ChannelBlocks<2>& blocks, const T* x, int64_t c,
                                        int64_t first, double m, const FusedTypedKernels<T>& k) {
  const auto sums_around = [&](double shift) {
    double sums[2] = {0, 0};
    blocks.each(c, [&](int64_t rows, int64_t len, const auto& off, const auto& ld) {
      k.bn_stats(rows, len, x + off[1], ld[1], shift, sums);
    });
    return std::pair{sums[0], sums[1] - sums[0] * sums[0] / m};
  };
  // An infinite first element would turn the mean into inf - inf; the reference's is inf.
  const double first_value = m > 0 ? static_cast<double>(x[first]) : 0.0;
  const double shift = std::isfinite(first_value) ? first_value : 0.0;
  auto [d, var_sum] = sums_around(shift);
  const double mean = shift + d / m;
  if (!(d * d / m > kCancellation * var_sum)) return {mean, var_sum};
  std::tie(d, var_sum) = sums_around(mean);
  return {mean + d / m, var_sum};
}

}  // namespace

void batch_norm(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                const Tensor& x, const Tensor& weight, const Tensor& bias,
                const Tensor& running_mean, const Tensor& running_var, bool training,
                double momentum, double eps) {
  dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    const ChannelBlocks<2> blocks(x, {&y, &x});
    const double m = static_cast<double>(per_channel(x));
    const T* px = data_of<T>(x);
    T* py = data_of<T>(y);
    for_each_channel(x, [&](int64_t c) {
      double mean, invstd;
      if (training) {
        double var_sum;
        std::tie(mean, var_sum) = channel_stats(blocks, px, c, c * x.stride(1), m, k);
        invstd = 1.0 / std::sqrt(var_sum / m + eps);
        if (running_mean.defined()) {
          T& r = at<T>(running_mean, c);
          r = static_cast<T>((1 - momentum) * r + momentum * mean);
        }
        if (running_var.defined()) {
          T& r = at<T>(running_var, c);
          r = static_cast<T>((1 - momentum) * r + momentum * var_sum / (m - 1));
        }
      } else {
        mean = at<T>(running_mean, c);
        invstd = 1.0 / std::sqrt(static_cast<double>(at<T>(running_var, c)) + eps);
      }
      if (save_mean.defined()) at<T>(save_mean, c) = static_cast<T>(mean);
      if (save_invstd.defined()) at<T>(save_invstd, c) = static_cast<T>(invstd);
      const double scale = invstd * (weight.defined() ? at<T>(weight, c) : 1.0);
      const double b = bias.defined() ? at<T>(bias, c) : 0.0;
      blocks.each(c, [&](int64_t rows, int64_t len, const auto& off, const auto& ld) {
        k.bn_normalize(rows, len, px + off[1], ld[1], py + off[0], ld[0], mean, scale, b);
      });
    });
  });
}

// With x̂ = (x - mean)·invstd and y = w·x̂ + b, per channel (M values):
//   db = Σg,  dw = Σ g·x̂ = invstd Σ g (x - mean),  dx = (w·invstd)·((g − Σg/M) − x̂·dw/M).
void batch_norm_backward(const Tensor& gx, const Tensor& gw, const Tensor& gb, const Tensor& gy,
                         const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd) {
  dispatch_floating(x.dtype(), "batch_norm_backward", [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    // An undefined gx borrows x's layout: its blocks are then never written.
    const ChannelBlocks<3> blocks(x, {gx.defined() ? &gx : &x, &gy, &x});
    const double m = static_cast<double>(per_channel(x));
    const T* px = data_of<T>(x);
    const T* pg = data_of<T>(gy);
    for_each_channel(x, [&](int64_t c) {
      const double mean = at<T>(save_mean, c), invstd = at<T>(save_invstd, c);
      double sums[2] = {0, 0};
      blocks.each(c, [&](int64_t rows, int64_t len, const auto& off, const auto& ld) {
        k.bn_grad_stats(rows, len, pg + off[1], ld[1], px + off[2], ld[2], mean, sums);
      });
      const double sg = sums[0], sgx = sums[1] * invstd;
      if (gb.defined()) at<T>(gb, c) = static_cast<T>(sg);
      if (gw.defined()) at<T>(gw, c) = static_cast<T>(sgx);
      if (!gx.defined()) return;
      const double w = weight.defined() ? at<T>(weight, c) : 1.0;
      const BnGradInput coeffs{mean, invstd, w * invstd, sg / m, sgx / m};
      T* pgx = data_of<T>(gx);
      blocks.each(c, [&](int64_t rows, int64_t len, const auto& off, const auto& ld) {
        k.bn_grad_input(rows, len, pg + off[1], ld[1], px + off[2], ld[2], pgx + off[0], ld[0],
                        coeffs);
      });
    });
  });
}

}  // namespace tg::cpu
