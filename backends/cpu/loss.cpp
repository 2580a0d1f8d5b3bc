// The cpu backend's fused losses and their input gradients: binary_cross_entropy,
// bce_with_logits (elementwise, loss_rows.h) and cross_entropy (row-wise, softmax_rows.h),
// with the reference's contract (backends/reference/loss.cpp): operands as the op layer passes
// them, per-element losses in the element type, sums in double, mean dividing by the element
// count (binary) or by the sum of the targets' class weights (cross_entropy).
//
// Deterministic for any thread count: a reduced binary loss sums fixed chunks of kChunk
// elements (in blocks cut by the shape alone) and adds the chunk sums in order; cross_entropy
// computes each row's loss on one thread and adds the rows in order, as the reference does.
#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/fused.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

constexpr int kNone = 0, kMean = 1;
constexpr int64_t kGrain = 1 << 13;   // elements per thread (a log / exp or two each)
constexpr int64_t kChunk = 1 << 14;   // elements per partial sum of a reduced loss

// An optional operand's data (null when undefined).
template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? data_of<T>(t) : nullptr;
}

template <bool Logits>
void binary_loss(const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& weight,
                 const Tensor& pos_weight, int reduction) {
  dispatch_floating(input.dtype(), Logits ? "bce_with_logits" : "binary_cross_entropy",
                    [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    const auto loss = k.binary_loss[Logits];
    const Shape absent = absent_strides(input.shape());
    const auto strides = [&](const Tensor& t) { return t.defined() ? &t.strides() : &absent; };
    const bool none = reduction == kNone;
    const RowLoop<5> loop(input.shape(), {none ? &out.strides() : &absent, &input.strides(),
                                          &target.strides(), strides(weight), strides(pos_weight)});
    const std::array<T*, 5> data{none ? data_of<T>(out) : nullptr, data_of<T>(input),
                                 data_of<T>(target), data_or_null<T>(weight),
                                 data_or_null<T>(pos_weight)};
    const int64_t numel = input.numel();
    if (none) {
      parallel_for(numel, kGrain, [&](int64_t begin, int64_t end) {
        for_blocks(loop, data, 1u, begin, end,
                   [&](int64_t n, const auto& p) { loss(n, p[1], p[2], p[3], p[4], p[0]); });
      });
      return;
    }
    const auto& sum = active_kernels<T>().sum_contiguous;
    const int64_t chunks = (numel + kChunk - 1) / kChunk;
    std::vector<double> partial(chunks, 0.0);
    parallel_for(chunks, std::max<int64_t>(1, kGrain / kChunk), [&](int64_t c0, int64_t c1) {
      alignas(64) T l[kFusedBlock];
      for (int64_t c = c0; c < c1; ++c) {
        for_blocks(loop, data, 0u, c * kChunk, std::min(numel, (c + 1) * kChunk),
                   [&](int64_t n, const auto& p) {
          for (int64_t i = 0; i < n; i += kFusedBlock) {
            const int64_t m = std::min(kFusedBlock, n - i);
            loss(m, p[1] + i, p[2] + i, p[3] ? p[3] + i : nullptr, p[4] ? p[4] + i : nullptr, l);
            partial[c] += sum(m, l);
          }
        });
      }
    });
    double acc = 0;
    for (double s : partial) acc += s;
    *data_of<T>(out) = static_cast<T>(reduction == kMean ? acc / static_cast<double>(numel) : acc);
  });
}

// grad_input = g * scale * w * dloss/dx, scale = 1/n for mean; a reduced loss's g is one value.
template <bool Logits>
void binary_loss_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                          const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                          int reduction) {
  dispatch_floating(input.dtype(),
                    Logits ? "bce_with_logits_backward" : "binary_cross_entropy_backward",
                    [&]<typename T>() {
    const auto grad = fused_kernels<T>().binary_loss_grad[Logits];
    const Shape absent = absent_strides(input.shape());
    const auto strides = [&](const Tensor& t) { return t.defined() ? &t.strides() : &absent; };
    const bool none = reduction == kNone;
    const RowLoop<6> loop(input.shape(),
                          {&grad_input.strides(), none ? &grad_out.strides() : &absent,
                           &input.strides(), &target.strides(), strides(weight),
                           strides(pos_weight)});
    const std::array<T*, 6> data{data_of<T>(grad_input), none ? data_of<T>(grad_out) : nullptr,
                                 data_of<T>(input), data_of<T>(target), data_or_null<T>(weight),
                                 data_or_null<T>(pos_weight)};
    const T scale = reduction == kMean ? T(1) / static_cast<T>(input.numel()) : T(1);
    // The reference's g * scale, once, for a reduced loss.
    const T g_scale = none ? scale : *data_of<T>(grad_out) * scale;
    parallel_for(input.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for_blocks(loop, data, 1u, begin, end, [&](int64_t n, const auto& p) {
        grad(n, p[1], g_scale, p[2], p[3], p[4], p[5], p[0]);
      });
    });
  });
}

// Row i of an [N, C] input as a contiguous array: the row itself, or a copy in buf.
template <typename T>
const T* input_row(const Tensor& input, int64_t i, T* buf) {
  const T* row = data_of<T>(input) + i * input.stride(0);
  const int64_t c = input.size(1), s = input.stride(1);
  if (s == 1) return row;
  for (int64_t j = 0; j < c; ++j) buf[j] = row[j * s];
  return buf;
}

// w[target_i] for row i, 1 without weights.
template <typename T>
double class_weight(const Tensor& weight, int64_t cls) {
  return weight.defined() ? static_cast<double>(data_of<T>(weight)[cls * weight.stride(0)]) : 1.0;
}

int64_t target_of(const Tensor& target, int64_t i) {
  return data_of<int64_t>(target)[i * target.stride(0)];
}

}  // namespace

void binary_cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target,
                          const Tensor& weight, const Tensor& pos_weight, int reduction) {
  binary_loss<false>(out, input, target, weight, pos_weight, reduction);
}
void binary_cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out,
                                   const Tensor& input, const Tensor& target, const Tensor& weight,
                                   const Tensor& pos_weight, int reduction) {
  binary_loss_backward<false>(grad_input, grad_out, input, target, weight, pos_weight, reduction);
}
void bce_with_logits(const Tensor& out, const Tensor& input, const Tensor& target,
                     const Tensor& weight, const Tensor& pos_weight, int reduction) {
  binary_loss<true>(out, input, target, weight, pos_weight, reduction);
}
void bce_with_logits_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                              const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                              int reduction) {
  binary_loss_backward<true>(grad_input, grad_out, input, target, weight, pos_weight, reduction);
}

// loss_i = w[t_i] (logsumexp(x_i) - x_i[t_i]); mean divides by sum_i w[t_i] (PyTorch).
void cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target,
                   const Tensor& weight, const Tensor&, int reduction) {
  dispatch_floating(input.dtype(), "cross_entropy", [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    const int64_t n = input.size(0), c = input.size(1);
    std::vector<double> loss(n);
    parallel_for(n, std::max<int64_t>(1, kGrain / std::max<int64_t>(c, 1)),
                 [&](int64_t begin, int64_t end) {
      std::vector<T> buf(2 * c);
      for (int64_t i = begin; i < end; ++i) {
        const T* x = input_row<T>(input, i, buf.data());
        const int64_t cls = target_of(target, i);
        double m, log_sum;
        k.logsumexp_row(c, x, buf.data() + c, &m, &log_sum);
        loss[i] = class_weight<T>(weight, cls) * ((m - static_cast<double>(x[cls])) + log_sum);
      }
    });
    T* y = data_of<T>(out);
    double acc = 0, weight_sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (reduction == kNone) y[i * out.stride(0)] = static_cast<T>(loss[i]);
      acc += loss[i];
      weight_sum += class_weight<T>(weight, target_of(target, i));
    }
    if (reduction != kNone) *y = static_cast<T>(reduction == kMean ? acc / weight_sum : acc);
  });
}

// dx_ic = g_i * scale * w[t_i] (softmax(x_i)_c - [c = t_i]), scale = 1 / sum_i w[t_i] for mean.
void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor&,
                            int reduction) {
  dispatch_floating(input.dtype(), "cross_entropy_backward", [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    const int64_t n = input.size(0), c = input.size(1), dsc = grad_input.stride(1);
    double scale = 1;
    if (reduction == kMean) {
      double weight_sum = 0;
      for (int64_t i = 0; i < n; ++i) weight_sum += class_weight<T>(weight, target_of(target, i));
      scale = 1 / weight_sum;
    }
    const T* g = data_of<T>(grad_out);
    parallel_for(n, std::max<int64_t>(1, kGrain / std::max<int64_t>(c, 1)),
                 [&](int64_t begin, int64_t end) {
      std::vector<T> buf(3 * c);
      for (int64_t i = begin; i < end; ++i) {
        const T* x = input_row<T>(input, i, buf.data());
        const int64_t cls = target_of(target, i);
        double m, log_sum;
        k.logsumexp_row(c, x, buf.data() + c, &m, &log_sum);
        const double gi = (reduction == kNone ? g[i * grad_out.stride(0)] : *g) * scale *
                          class_weight<T>(weight, cls);
        T* dx = data_of<T>(grad_input) + i * grad_input.stride(0);
        T* row = dsc == 1 ? dx : buf.data() + 2 * c;
        k.cross_entropy_grad_row(c, x, m, log_sum, static_cast<T>(gi), cls, row);
        if (dsc != 1)
          for (int64_t j = 0; j < c; ++j) dx[j * dsc] = row[j];
      }
    });
  });
}

}  // namespace tg::cpu
