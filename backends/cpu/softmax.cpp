// The cpu backend's softmax and log_softmax along one dim, with their backward kernels (the
// reference's contract: backends/reference/softmax.cpp). Every 1-D slice along dim is one row
// of softmax_rows.h: used in place when each operand is contiguous along dim (softmax over
// the last dim), else gathered into a row buffer and the result scattered back. Slices are
// split among threads, each computed whole by one thread, so results do not depend on the
// thread count.
#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/fused.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

// exp per element: ~20 cycles, so a few thousand elements pay for a thread.
constexpr int64_t kGrain = 1 << 13;

// f(n, p) once per slice along dim of K operands shaped like t[0], p[k] pointing at n
// contiguous elements of operand k (its slice, or a copy; copies of the operands set in
// `written` are scattered back).
template <typename T, size_t K, class F>
void for_each_slice(int64_t dim, const std::array<const Tensor*, K>& t, unsigned written,
                    const F& f) {
  const int64_t n = t[0]->size(dim);
  Shape outer_shape = t[0]->shape();
  outer_shape[dim] = 1;
  std::array<const Shape*, K> strides;
  std::array<int64_t, K> step;
  std::array<T*, K> data;
  bool contiguous = true;
  for (size_t k = 0; k < K; ++k) {
    strides[k] = &t[k]->strides();
    step[k] = t[k]->stride(dim);
    data[k] = data_of<T>(*t[k]);
    contiguous = contiguous && (step[k] == 1 || n == 1);
  }
  const RowLoop<K> outer(outer_shape, strides);
  if (n == 0) return;
  parallel_for(outer.numel(), std::max<int64_t>(1, kGrain / n), [&](int64_t begin, int64_t end) {
    std::vector<T> buffer(contiguous ? 0 : K * n);
    outer.for_rows(begin, end, [&](const auto& o, int64_t len, const auto& s) {
      for (int64_t i = 0; i < len; ++i) {
        std::array<T*, K> p;
        for (size_t k = 0; k < K; ++k) p[k] = data[k] + o[k] + i * s[k];
        if (contiguous) {
          f(n, p);
          continue;
        }
        std::array<T*, K> row;
        for (size_t k = 0; k < K; ++k) {
          row[k] = buffer.data() + k * n;
          if (!(written >> k & 1u))
            for (int64_t j = 0; j < n; ++j) row[k][j] = p[k][j * step[k]];
        }
        f(n, row);
        for (size_t k = 0; k < K; ++k)
          if (written >> k & 1u)
            for (int64_t j = 0; j < n; ++j) p[k][j * step[k]] = row[k][j];
      }
    });
  });
}

template <bool Log>
void softmax_forward(const Tensor& out, const Tensor& in, int64_t dim) {
  dispatch_floating(in.dtype(), Log ? "log_softmax" : "softmax", [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    for_each_slice<T, 2>(dim, {&out, &in}, 1u,
                         [&](int64_t n, const auto& p) { k.softmax_row(n, p[1], p[0], Log); });
  });
}

template <bool Log>
void softmax_backward_impl(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out,
                           int64_t dim) {
  dispatch_floating(out.dtype(), Log ? "log_softmax_backward" : "softmax_backward",
                    [&]<typename T>() {
    const auto& k = fused_kernels<T>();
    for_each_slice<T, 3>(dim, {&grad_in, &grad_out, &out}, 1u, [&](int64_t n, const auto& p) {
      k.softmax_backward_row(n, p[1], p[2], p[0], Log);
    });
  });
}

}  // namespace

void softmax(const Tensor& out, const Tensor& in, int64_t dim) {
  softmax_forward<false>(out, in, dim);
}
void log_softmax(const Tensor& out, const Tensor& in, int64_t dim) {
  softmax_forward<true>(out, in, dim);
}

void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out,
                      int64_t dim) {
  softmax_backward_impl<false>(grad_in, grad_out, out, dim);
}
void log_softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out,
                          int64_t dim) {
  softmax_backward_impl<true>(grad_in, grad_out, out, dim);
}

}  // namespace tg::cpu
