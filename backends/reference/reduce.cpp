// Reference reductions: sum over any set of dims (accumulated in double), max / min with
// indices along one dim (first index on ties; NaN wins, as in PyTorch).
#include <cmath>

#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {

// out is in keepdim form. Splits in's dims into kept (size == out's) and reduced (out size 1)
// and, for each output element, walks the reduced sub-block.
void sum(const Tensor& out, const Tensor& in) {
  dispatch_floating(in.dtype(), "sum", [&]<typename T>() {
    const int64_t nd = in.dim();
    Shape kept_shape(nd), kept_in_strides(nd), red_shape(nd), red_strides(nd);
    for (int64_t d = 0; d < nd; ++d) {
      bool reduced = out.size(d) == 1 && in.size(d) != 1;
      kept_shape[d] = reduced ? 1 : in.size(d);
      kept_in_strides[d] = in.stride(d);
      red_shape[d] = reduced ? in.size(d) : 1;
      red_strides[d] = in.stride(d);
    }
    T* y = typed<T>(out);
    const T* x = typed<T>(in);
    for_each_offset<2>(kept_shape, {&out.strides(), &kept_in_strides}, [&](const auto& o) {
      double acc = 0;
      const T* base = x + o[1];
      for_each_offset<1>(red_shape, {&red_strides}, [&](const auto& r) { acc += base[r[0]]; });
      y[o[0]] = static_cast<T>(acc);
    });
  });
}

template <bool IsMax>
static void arg_reduce(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  dispatch_floating(in.dtype(), IsMax ? "max" : "min", [&]<typename T>() {
    Shape outer_shape = in.shape();
    outer_shape[dim] = 1;
    const int64_t n = in.size(dim), step = in.stride(dim);
    T* v = typed<T>(values);
    int64_t* idx = typed<int64_t>(indices);
    const T* x = typed<T>(in);
    for_each_offset<3>(outer_shape, {&values.strides(), &indices.strides(), &in.strides()},
                       [&](const auto& o) {
                         T best = x[o[2]];
                         int64_t best_i = 0;
                         for (int64_t i = 1; i < n && !std::isnan(best); ++i) {
                           T c = x[o[2] + i * step];
                           if (std::isnan(c) || (IsMax ? c > best : c < best)) best = c, best_i = i;
                         }
                         v[o[0]] = best;
                         idx[o[1]] = best_i;
                       });
  });
}

void max(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  arg_reduce<true>(values, indices, in, dim);
}
void min(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  arg_reduce<false>(values, indices, in, dim);
}

}  // namespace tg::reference
