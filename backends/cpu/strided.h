// Iterating K strided operands of one shape as rows. Dims are collapsed first (size-1 dims
// dropped, neighbours merged wherever every operand's strides allow), so a contiguous tensor
// is one long row, a slice of rows is a few long rows, and a broadcast operand shows up as a
// row stride of 0: the row kernels' fast paths see through the tensor's original rank.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "autograd/tensor.h"

namespace tg::cpu {

template <typename T>
T* data_of(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

template <size_t K>
class RowLoop {
 public:
  using Offsets = std::array<int64_t, K>;

  RowLoop(const Shape& shape, const std::array<const Shape*, K>& strides) {
    numel_ = numel_of(shape);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (shape[d] == 1) continue;
      bool merge = !sizes_.empty();
      for (size_t k = 0; k < K && merge; ++k)
        merge = (*strides[k])[d] == strides_[k].back() * sizes_.back();
      if (merge) {
        sizes_.back() *= shape[d];
        continue;
      }
      sizes_.push_back(shape[d]);
      for (size_t k = 0; k < K; ++k) strides_[k].push_back((*strides[k])[d]);
    }
    if (sizes_.empty()) {  // a single element
      sizes_.push_back(1);
      for (size_t k = 0; k < K; ++k) strides_[k].push_back(0);
    }
    // Built innermost first; store outermost first like a Shape.
    std::reverse(sizes_.begin(), sizes_.end());
    for (auto& s : strides_) std::reverse(s.begin(), s.end());
  }

  int64_t numel() const { return numel_; }
  // The collapsed dims (outermost first) and operand k's strides along them.
  const Shape& sizes() const { return sizes_; }
  const Shape& strides(size_t k) const { return strides_[k]; }
  int64_t row_length() const { return sizes_.back(); }
  Offsets inner_strides() const {
    Offsets s;
    for (size_t k = 0; k < K; ++k) s[k] = strides_[k].back();
    return s;
  }

  // Element offsets of the linear (row-major) index i.
  Offsets offsets_at(int64_t i) const {
    Offsets off{};
    for (int64_t d = static_cast<int64_t>(sizes_.size()) - 1; d >= 0 && i > 0; --d) {
      const int64_t idx = i % sizes_[d];
      i /= sizes_[d];
      for (size_t k = 0; k < K; ++k) off[k] += idx * strides_[k][d];
    }
    return off;
  }

  // f(offsets, n, inner_strides) for the pieces of rows that cover linear indices [begin, end).
  template <class F>
  void for_rows(int64_t begin, int64_t end, F&& f) const {
    if (begin >= end) return;
    const int64_t nd = static_cast<int64_t>(sizes_.size()), len = sizes_.back();
    const Offsets inner = inner_strides();
    Shape idx(nd, 0);
    int64_t rest = begin;
    for (int64_t d = nd - 1; d >= 0; --d) {
      idx[d] = rest % sizes_[d];
      rest /= sizes_[d];
    }
    Offsets off = offsets_at(begin);
    while (begin < end) {
      const int64_t n = std::min(len - idx[nd - 1], end - begin);
      f(off, n, inner);
      begin += n;
      if (begin >= end) return;
      // Next row: back to column 0, then advance the outer dims like an odometer.
      for (size_t k = 0; k < K; ++k) off[k] -= idx[nd - 1] * inner[k];
      idx[nd - 1] = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        for (size_t k = 0; k < K; ++k) off[k] += strides_[k][d];
        if (++idx[d] < sizes_[d]) break;
        for (size_t k = 0; k < K; ++k) off[k] -= sizes_[d] * strides_[k][d];
        idx[d] = 0;
      }
    }
  }

 private:
  int64_t numel_ = 0;
  Shape sizes_;
  std::array<Shape, K> strides_;
};

}  // namespace tg::cpu
