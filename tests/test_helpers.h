// Helpers shared by the test suites: seeded random inputs in the layouts tests must cover
// (contiguous, transposed, sliced, expanded), and gradcheck assertions with readable failures.
#pragma once

#include <doctest/doctest.h>

#include <cmath>

#include <string>

#include "tapegrad.h"

namespace tg::test {

// A float64 leaf of `shape` with values in N(0, 1) (seeded by the caller via manual_seed).
inline Tensor leaf(const Shape& shape) { return randn(shape, kFloat64).requires_grad_(); }

// A non-contiguous float64 leaf of `shape`: the transpose of a [.., w, h] tensor's storage.
inline Tensor transposed_leaf(const Shape& shape) {
  REQUIRE(shape.size() >= 2);
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Tensor base = randn(swapped, kFloat64);
  Tensor t = base.transpose(-1, -2).detach().requires_grad_();
  REQUIRE_FALSE(t.is_contiguous());
  return t;
}

// A non-contiguous float64 leaf of `shape` that is every other element of a wider tensor.
inline Tensor strided_leaf(const Shape& shape) {
  Shape wide = shape;
  wide.back() = 2 * wide.back();
  Tensor t = randn(wide, kFloat64).slice(-1, 0, wide.back(), 2).detach().requires_grad_();
  return t;
}

// CHECKs gradcheck and prints its report on failure.
#define CHECK_GRADCHECK(fn, inputs, ...)                                            \
  do {                                                                               \
    auto tg_result_ = ::tg::gradcheck((fn), (inputs), ##__VA_ARGS__);                \
    INFO(tg_result_.message);                                                        \
    CHECK(tg_result_.ok);                                                            \
  } while (0)

#define CHECK_GRADGRADCHECK(fn, inputs, ...)                                         \
  do {                                                                               \
    auto tg_result_ = ::tg::gradgradcheck((fn), (inputs), ##__VA_ARGS__);            \
    INFO(tg_result_.message);                                                        \
    CHECK(tg_result_.ok);                                                            \
  } while (0)

// CHECKs that `expr` throws tg::Error whose message contains every one of the fragments.
#define CHECK_THROWS_WITH_ALL(expr, ...)                                             \
  do {                                                                               \
    std::string tg_msg_;                                                             \
    try {                                                                            \
      (void)(expr);                                                                  \
    } catch (const ::tg::Error& e) {                                                 \
      tg_msg_ = e.what();                                                            \
    }                                                                                \
    INFO("message: " << tg_msg_);                                                    \
    CHECK_FALSE(tg_msg_.empty());                                                    \
    for (const char* frag : {__VA_ARGS__}) CHECK(tg_msg_.find(frag) != std::string::npos); \
  } while (0)

// Max |a - b| over all elements (shapes must match).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

}  // namespace tg::test
