// The loop under every reference kernel: visits each index of a shape in row-major order and
// hands the callback the element offset of that index in each of K strided operands.
#pragma once

#include <array>
#include <vector>

#include "autograd/tensor.h"

namespace tg::reference {

template <size_t K, typename F>
void for_each_offset(const Shape& shape, const std::array<const Shape*, K>& strides, F&& f) {
  const size_t nd = shape.size();
  for (int64_t s : shape)
    if (s == 0) return;
  std::array<int64_t, K> off{};
  if (nd == 0) {
    f(off);
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  const int64_t inner = shape[nd - 1];
  std::array<int64_t, K> inner_stride;
  for (size_t k = 0; k < K; ++k) inner_stride[k] = (*strides[k])[nd - 1];
  while (true) {
    std::array<int64_t, K> o = off;
    for (int64_t i = 0; i < inner; ++i) {
      f(o);
      for (size_t k = 0; k < K; ++k) o[k] += inner_stride[k];
    }
    // Advance the outer dims like an odometer.
    int64_t d = static_cast<int64_t>(nd) - 2;
    for (; d >= 0; --d) {
      for (size_t k = 0; k < K; ++k) off[k] += (*strides[k])[d];
      if (++idx[d] < shape[d]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= shape[d] * (*strides[k])[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

template <typename T>
T* typed(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

}  // namespace tg::reference
