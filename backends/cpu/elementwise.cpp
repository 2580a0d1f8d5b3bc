// The cpu backend's elementwise kernels at tensor level: copy, fill, the unary maps,
// arithmetic, comparisons and where. A tensor becomes rows (strided.h), rows are split among
// threads (parallel.h), and each row runs the active ISA's vector loop (elementwise.h). The
// int64 / uint8 / bool dtypes the reference also accepts (integer arithmetic, comparisons,
// where, copies) run a plain loop here: they are index bookkeeping, not hot paths.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/strided.h"

namespace tg::cpu {

using kernel::OpId;

namespace {

// Elements per thread below which splitting does not pay: a memory-bound float op streams
// roughly 10 elements per ns, a fork/join costs a few microseconds.
constexpr int64_t kGrain = 1 << 15;
// exp, log, tanh, sigmoid, softplus, pow: tens of cycles per element, so split sooner.
constexpr int64_t kMathGrain = 1 << 12;

template <size_t K, class F>
void for_each_row(const Shape& shape, const std::array<const Shape*, K>& strides, int64_t grain,
                  const F& f) {
  RowLoop<K> loop(shape, strides);
  parallel_for(loop.numel(), grain,
               [&](int64_t begin, int64_t end) { loop.for_rows(begin, end, f); });
}

constexpr int index_of(OpId op, OpId first) {
  return static_cast<int>(op) - static_cast<int>(first);
}

// isa.h's op enums follow op_list.def's order.
#define TG_CHECK_ORDER(Enum, first, op)                                        \
  static_assert(index_of(OpId::op, OpId::first) == static_cast<int>(Enum::op), \
                #op " is out of order");
TG_CHECK_ORDER(Unary, neg, neg) TG_CHECK_ORDER(Unary, neg, exp) TG_CHECK_ORDER(Unary, neg, log)
TG_CHECK_ORDER(Unary, neg, sqrt) TG_CHECK_ORDER(Unary, neg, rsqrt) TG_CHECK_ORDER(Unary, neg, abs)
TG_CHECK_ORDER(Unary, neg, sign) TG_CHECK_ORDER(Unary, neg, relu)
TG_CHECK_ORDER(Unary, neg, leaky_relu) TG_CHECK_ORDER(Unary, neg, sigmoid)
TG_CHECK_ORDER(Unary, neg, tanh) TG_CHECK_ORDER(Unary, neg, softplus)
TG_CHECK_ORDER(Unary, neg, pow_scalar) TG_CHECK_ORDER(Unary, neg, clamp)
TG_CHECK_ORDER(Arithmetic, add, add) TG_CHECK_ORDER(Arithmetic, add, sub)
TG_CHECK_ORDER(Arithmetic, add, mul) TG_CHECK_ORDER(Arithmetic, add, div)
TG_CHECK_ORDER(Compare, eq, eq) TG_CHECK_ORDER(Compare, eq, ne) TG_CHECK_ORDER(Compare, eq, lt)
TG_CHECK_ORDER(Compare, eq, le) TG_CHECK_ORDER(Compare, eq, gt) TG_CHECK_ORDER(Compare, eq, ge)
#undef TG_CHECK_ORDER

constexpr bool is_comparison(OpId op) { return op >= OpId::eq && op <= OpId::ge; }

// The integer / bool forms, as the reference computes them (int64 wrapping around; no division).
template <OpId Op, typename T>
auto scalar_binary(T a, T b) {
  using W = std::conditional_t<std::is_same_v<T, int64_t>, uint64_t, T>;
  if constexpr (Op == OpId::add) return static_cast<T>(W(a) + W(b));
  if constexpr (Op == OpId::sub) return static_cast<T>(W(a) - W(b));
  if constexpr (Op == OpId::mul) return static_cast<T>(W(a) * W(b));
  if constexpr (Op == OpId::eq) return a == b;
  if constexpr (Op == OpId::ne) return a != b;
  if constexpr (Op == OpId::lt) return a < b;
  if constexpr (Op == OpId::le) return a <= b;
  if constexpr (Op == OpId::gt) return a > b;
  if constexpr (Op == OpId::ge) return a >= b;
}

// A copy whose source reads down columns (its innermost dim strided, the next one contiguous:
// a transpose made contiguous) goes tile by tile, so the rows read and the rows written both
// stay in L1 instead of touching a new cache line per element. False when not that shape.
constexpr int64_t kTile = 32;

template <typename T>
bool copy_transposed(const Tensor& dst, const Tensor& src) {
  const RowLoop<2> loop(dst.shape(), {&dst.strides(), &src.strides()});
  const Shape& size = loop.sizes();
  const int64_t nd = static_cast<int64_t>(size.size());
  if (nd < 2 || loop.strides(0)[nd - 1] != 1 || loop.strides(1)[nd - 1] == 1 ||
      loop.strides(1)[nd - 2] != 1)
    return false;
  const int64_t rows = size[nd - 2], cols = size[nd - 1];
  const int64_t dst_row = loop.strides(0)[nd - 2], src_col = loop.strides(1)[nd - 1];
  const Shape outer_size(size.begin(), size.end() - 2);
  const Shape outer_dst(loop.strides(0).begin(), loop.strides(0).end() - 2);
  const Shape outer_src(loop.strides(1).begin(), loop.strides(1).end() - 2);
  const RowLoop<2> outer(outer_size, {&outer_dst, &outer_src});
  const int64_t row_tiles = (rows + kTile - 1) / kTile, col_tiles = (cols + kTile - 1) / kTile;
  T* d = data_of<T>(dst);
  const T* s = data_of<T>(src);
  const int64_t tiles = outer.numel() * row_tiles * col_tiles;
  parallel_for(tiles, kGrain / (kTile * kTile), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const auto o = outer.offsets_at(item / (row_tiles * col_tiles));
      const int64_t i0 = (item / col_tiles % row_tiles) * kTile, j0 = item % col_tiles * kTile;
      const int64_t i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) d[o[0] + i * dst_row + j] = s[o[1] + i + j * src_col];
    }
  });
  return true;
}

}  // namespace

void copy(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    auto* d = static_cast<char*>(dst.raw_data());
    const auto* s = static_cast<const char*>(src.raw_data());
    if (d == s) return;
    const int64_t bytes = dst.numel() * static_cast<int64_t>(dtype_size(dst.dtype()));
    parallel_for(bytes, kGrain * 4,
                 [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, e - b); });
    return;
  }
  if (dst.dtype() == src.dtype() &&
      dispatch_all(dst.dtype(), [&]<typename T>() { return copy_transposed<T>(dst, src); }))
    return;
  dispatch_all(dst.dtype(), [&]<typename D>() {
    dispatch_all(src.dtype(), [&]<typename S>() {
      D* d = data_of<D>(dst);
      const S* s = data_of<S>(src);
      for_each_row<2>(dst.shape(), {&dst.strides(), &src.strides()}, kGrain,
                      [&](const auto& o, int64_t n, const auto& st) {
                        D* dp = d + o[0];
                        const S* sp = s + o[1];
                        if (st[0] == 1 && st[1] == 1) {
                          for (int64_t i = 0; i < n; ++i) dp[i] = static_cast<D>(sp[i]);
                        } else {
                          for (int64_t i = 0; i < n; ++i)
                            dp[i * st[0]] = static_cast<D>(sp[i * st[1]]);
                        }
                      });
    });
  });
}

void fill(const Tensor& dst, double value) {
  dispatch_all(dst.dtype(), [&]<typename T>() {
    T* d = data_of<T>(dst);
    const T v = static_cast<T>(value);
    for_each_row<1>(dst.shape(), {&dst.strides()}, kGrain,
                    [&](const auto& o, int64_t n, const auto& st) {
                      for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = v;
                    });
  });
}

template <OpId Op>
void unary(const Tensor& out, const Tensor& in, double alpha, double beta) {
  constexpr bool math = Op == OpId::exp || Op == OpId::log || Op == OpId::sigmoid ||
                        Op == OpId::tanh || Op == OpId::softplus || Op == OpId::pow_scalar;
  dispatch_floating(in.dtype(), kernel::op_name(Op), [&]<typename T>() {
    const auto row = active_kernels<T>().unary[index_of(Op, OpId::neg)];
    T* y = data_of<T>(out);
    const T* x = data_of<T>(in);
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    for_each_row<2>(out.shape(), {&out.strides(), &in.strides()}, math ? kMathGrain : kGrain,
                    [&](const auto& o, int64_t n, const auto& s) {
                      row(n, y + o[0], s[0], x + o[1], s[1], a, b);
                    });
  });
}

template <OpId Op>
void binary(const Tensor& out, const Tensor& a, const Tensor& b) {
  constexpr bool compare = is_comparison(Op);
  dispatch_all(a.dtype(), [&]<typename T>() {
    using R = std::conditional_t<compare, bool, T>;
    R* y = data_of<R>(out);
    const T* pa = data_of<T>(a);
    const T* pb = data_of<T>(b);
    const std::array<const Shape*, 3> strides{&out.strides(), &a.strides(), &b.strides()};
    if constexpr (std::is_floating_point_v<T>) {
      const auto& k = active_kernels<T>();
      const auto row = [&] {
        if constexpr (compare) return k.compare[index_of(Op, OpId::eq)];
        else return k.arithmetic[index_of(Op, OpId::add)];
      }();
      for_each_row<3>(out.shape(), strides, kGrain, [&](const auto& o, int64_t n, const auto& s) {
        row(n, y + o[0], s[0], pa + o[1], s[1], pb + o[2], s[2]);
      });
    } else if constexpr (Op == OpId::div) {
      // div is true division (torch.div): an integer quotient would truncate instead, and a
      // zero divisor or INT64_MIN / -1 would trap (SIGFPE) and end the process.
      TG_ERROR(kernel::op_name(Op), "integer division is not supported (", dtype_name(a.dtype()),
               " operands): div is true division, as torch.div; convert the operands to a floating dtype");
    } else if constexpr (compare || std::is_same_v<T, int64_t>) {
      for_each_row<3>(out.shape(), strides, kGrain, [&](const auto& o, int64_t n, const auto& s) {
        for (int64_t i = 0; i < n; ++i)
          y[o[0] + i * s[0]] = scalar_binary<Op, T>(pa[o[1] + i * s[1]], pb[o[2] + i * s[2]]);
      });
    } else {
      TG_ERROR(kernel::op_name(Op), "arithmetic on ", dtype_name(a.dtype()), " is not supported");
    }
  });
}

void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  dispatch_all(a.dtype(), [&]<typename T>() {
    T* y = data_of<T>(out);
    const bool* c = data_of<bool>(cond);
    const T* pa = data_of<T>(a);
    const T* pb = data_of<T>(b);
    const std::array<const Shape*, 4> strides{&out.strides(), &cond.strides(), &a.strides(),
                                              &b.strides()};
    if constexpr (std::is_floating_point_v<T>) {
      const auto row = active_kernels<T>().where;
      for_each_row<4>(out.shape(), strides, kGrain, [&](const auto& o, int64_t n, const auto& s) {
        row(n, y + o[0], s[0], c + o[1], s[1], pa + o[2], s[2], pb + o[3], s[3]);
      });
    } else {
      for_each_row<4>(out.shape(), strides, kGrain, [&](const auto& o, int64_t n, const auto& s) {
        for (int64_t i = 0; i < n; ++i)
          y[o[0] + i * s[0]] = c[o[1] + i * s[1]] ? pa[o[2] + i * s[2]] : pb[o[3] + i * s[3]];
      });
    }
  });
}

void leaky_relu_backward(const Tensor& gx, const Tensor& gy, const Tensor& x, double slope) {
  dispatch_floating(x.dtype(), "leaky_relu_backward", [&]<typename T>() {
    const auto row = active_kernels<T>().leaky_relu_backward;
    T* out = data_of<T>(gx);
    const T* g = data_of<T>(gy);
    const T* v = data_of<T>(x);
    const T s = static_cast<T>(slope);
    for_each_row<3>(gx.shape(), {&gx.strides(), &gy.strides(), &x.strides()}, kGrain,
                    [&](const auto& o, int64_t n, const auto& st) {
                      row(n, out + o[0], st[0], g + o[1], st[1], v + o[2], st[2], s);
                    });
  });
}

#define TG_INSTANTIATE_UNARY(name) \
  template void unary<OpId::name>(const Tensor&, const Tensor&, double, double);
#define TG_INSTANTIATE_BINARY(name) \
  template void binary<OpId::name>(const Tensor&, const Tensor&, const Tensor&);
TG_INSTANTIATE_UNARY(neg) TG_INSTANTIATE_UNARY(exp) TG_INSTANTIATE_UNARY(log)
TG_INSTANTIATE_UNARY(sqrt) TG_INSTANTIATE_UNARY(rsqrt) TG_INSTANTIATE_UNARY(abs)
TG_INSTANTIATE_UNARY(sign) TG_INSTANTIATE_UNARY(relu) TG_INSTANTIATE_UNARY(leaky_relu)
TG_INSTANTIATE_UNARY(sigmoid) TG_INSTANTIATE_UNARY(tanh) TG_INSTANTIATE_UNARY(softplus)
TG_INSTANTIATE_UNARY(pow_scalar) TG_INSTANTIATE_UNARY(clamp)
TG_INSTANTIATE_BINARY(add) TG_INSTANTIATE_BINARY(sub) TG_INSTANTIATE_BINARY(mul)
TG_INSTANTIATE_BINARY(div) TG_INSTANTIATE_BINARY(eq) TG_INSTANTIATE_BINARY(ne)
TG_INSTANTIATE_BINARY(lt) TG_INSTANTIATE_BINARY(le) TG_INSTANTIATE_BINARY(gt)
TG_INSTANTIATE_BINARY(ge)
#undef TG_INSTANTIATE_UNARY
#undef TG_INSTANTIATE_BINARY

}  // namespace tg::cpu
