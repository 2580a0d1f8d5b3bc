// Reference batched matrix product: out[b] = a[b] x b[b], triple loop, double accumulator.
#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {

void matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    const int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
    T* c = typed<T>(out);
    const T* pa = typed<T>(a);
    const T* pb = typed<T>(b);
    for (int64_t bi = 0; bi < B; ++bi)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double acc = 0;
          const T* ra = pa + bi * a.stride(0) + i * a.stride(1);
          const T* cb = pb + bi * b.stride(0) + j * b.stride(2);
          for (int64_t k = 0; k < K; ++k) acc += double(ra[k * a.stride(2)]) * double(cb[k * b.stride(1)]);
          c[bi * out.stride(0) + i * out.stride(1) + j * out.stride(2)] = static_cast<T>(acc);
        }
  });
}

}  // namespace tg::reference
