// The cpu backend's reductions at tensor level: sum over any set of dims, max / min with
// indices along one dim.
//
// sum splits the input's dims into kept and reduced ones and picks one of two loops:
//   * by chunks, when the reduced block's innermost dim is contiguous (sum over the last dims,
//     a whole-tensor sum, a per-channel sum over N, H, W: each output sums contiguous runs),
//     or when nothing is contiguous (strided runs, summed one element at a time);
//   * by columns, when instead the kept innermost dim is contiguous (sum over the batch of a
//     [N, C] gradient): whole rows are added into vectors of double accumulators, one lane per
//     output.
// Deterministic for any thread count: an output's reduced block is cut into chunks by its
// shape alone (kChunk elements, or kRowsPerChunk rows of a column block); each chunk is summed
// the same way whichever thread runs it, and chunk sums are added in order.
#include <algorithm>
#include <tuple>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/strided.h"

namespace tg::cpu {

namespace {

constexpr int64_t kChunk = 1 << 14;       // elements per partial sum
constexpr int64_t kGrain = 1 << 15;       // elements per thread worth a fork/join
constexpr int64_t kColumnBlock = 256;     // outputs per accumulator block (2 KiB of doubles)
constexpr int64_t kRowsPerChunk = 64;     // reduced rows per partial sum of a column block

struct SumPlan {
  Shape kept_size, kept_out, kept_in;  // kept dims: size, out stride, in stride
  Shape red_size, red_in;              // reduced dims: size, in stride
};

SumPlan plan_sum(const Tensor& out, const Tensor& in) {
  SumPlan p;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (in.size(d) == 1) continue;
    if (out.size(d) == 1) {
      p.red_size.push_back(in.size(d));
      p.red_in.push_back(in.stride(d));
    } else {
      p.kept_size.push_back(in.size(d));
      p.kept_out.push_back(out.stride(d));
      p.kept_in.push_back(in.stride(d));
    }
  }
  return p;
}

// Scratch memory for partial sums, from the tensor allocator (cached while the cpu backend is
// active, so a training loop's reductions do not call malloc).
double* scratch(Tensor& holder, int64_t n) {
  holder = empty({n}, kFloat64);
  return holder.data_ptr<double>();
}

// Sum of the reduced block's linear range [begin, end), from base: row pieces in order.
template <typename T>
double sum_range(const RowLoop<1>& red, const T* base, int64_t begin, int64_t end,
                 const TypedKernels<T>& k) {
  double acc = 0;
  red.for_rows(begin, end, [&](const auto& o, int64_t n, const auto& s) {
    const T* x = base + o[0];
    if (s[0] == 1) {
      acc += k.sum_contiguous(n, x);
    } else {
      for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i * s[0]]);
    }
  });
  return acc;
}

// Each output sums its block in chunks of kChunk, chunk sums added in order.
template <typename T>
void sum_by_chunks(const SumPlan& p, T* y, const T* x, const TypedKernels<T>& k) {
  const RowLoop<2> kept(p.kept_size, {&p.kept_out, &p.kept_in});
  const RowLoop<1> red(p.red_size, {&p.red_in});
  const int64_t n_out = kept.numel(), n_red = red.numel();
  const int64_t chunks = (n_red + kChunk - 1) / kChunk;
  const auto chunk_sum = [&](int64_t in_offset, int64_t c) {
    return sum_range(red, x + in_offset, c * kChunk, std::min(n_red, (c + 1) * kChunk), k);
  };
  if (chunks == 1 || n_out >= num_threads()) {
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(n_red, 1));
    parallel_for(n_out, grain, [&](int64_t begin, int64_t end) {
      kept.for_rows(begin, end, [&](const auto& o, int64_t n, const auto& s) {
        for (int64_t i = 0; i < n; ++i) {
          double acc = 0;
          for (int64_t c = 0; c < chunks; ++c) acc += chunk_sum(o[1] + i * s[1], c);
          y[o[0] + i * s[0]] = static_cast<T>(acc);
        }
      });
    });
    return;
  }
  // Few outputs, long blocks: threads take chunks; partial sums are combined in order.
  Tensor holder;
  double* partial = scratch(holder, n_out * chunks);
  parallel_for(n_out * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item)
      partial[item] = chunk_sum(kept.offsets_at(item / chunks)[1], item % chunks);
  });
  for (int64_t o = 0; o < n_out; ++o) {
    double acc = 0;
    for (int64_t c = 0; c < chunks; ++c) acc += partial[o * chunks + c];
    y[kept.offsets_at(o)[0]] = static_cast<T>(acc);
  }
}

// The kept innermost dim is contiguous in both tensors: whole reduced rows are added into a
// block of kColumnBlock double accumulators, one per output. The reduced rows are cut into
// chunks of kRowsPerChunk (so a single column block still splits among threads); each chunk's
// sums are a partial, and the partials of an output are added in order.
template <typename T>
void sum_by_columns(const SumPlan& p, T* y, const T* x, const TypedKernels<T>& k) {
  const int64_t cols = p.kept_size.back();
  const Shape outer_size(p.kept_size.begin(), p.kept_size.end() - 1);
  const Shape outer_out(p.kept_out.begin(), p.kept_out.end() - 1);
  const Shape outer_in(p.kept_in.begin(), p.kept_in.end() - 1);
  const RowLoop<2> outer(outer_size, {&outer_out, &outer_in});
  const RowLoop<1> red(p.red_size, {&p.red_in});
  const int64_t n_red = red.numel();
  const int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  const int64_t chunks = (n_red + kRowsPerChunk - 1) / kRowsPerChunk;
  const int64_t items = outer.numel() * blocks;
  Tensor holder;
  double* partial = chunks > 1 ? scratch(holder, items * chunks * kColumnBlock) : nullptr;
  // Output block `item` (an outer index and a column block): its base offsets and width.
  const auto block = [&](int64_t item) {
    const auto o = outer.offsets_at(item / blocks);
    const int64_t j0 = (item % blocks) * kColumnBlock;
    return std::tuple{o[0] + j0, o[1] + j0, std::min(kColumnBlock, cols - j0)};
  };
  const int64_t grain = std::max<int64_t>(1, kGrain / (kRowsPerChunk * kColumnBlock));
  parallel_for(items * chunks, grain, [&](int64_t begin, int64_t end) {
    double local[kColumnBlock];
    for (int64_t it = begin; it < end; ++it) {
      const auto [out_offset, in_offset, n] = block(it / chunks);
      const int64_t c = it % chunks;
      double* acc = partial ? partial + it * kColumnBlock : local;
      std::fill_n(acc, n, 0.0);
      red.for_rows(c * kRowsPerChunk, std::min(n_red, (c + 1) * kRowsPerChunk),
                   // Init-captures: clang before 16 cannot capture structured bindings.
                   [&, n = n, in_offset = in_offset](const auto& r, int64_t len, const auto& s) {
                     for (int64_t i = 0; i < len; ++i)
                       k.accumulate(n, x + in_offset + r[0] + i * s[0], acc);
                   });
      if (!partial)
        for (int64_t j = 0; j < n; ++j) y[out_offset + j] = static_cast<T>(acc[j]);
    }
  });
  if (!partial) return;
  parallel_for(items, std::max<int64_t>(1, grain / chunks), [&](int64_t begin, int64_t end) {
    double acc[kColumnBlock];
    for (int64_t item = begin; item < end; ++item) {
      const auto [out_offset, in_offset, n] = block(item);
      std::fill_n(acc, n, 0.0);
      for (int64_t c = 0; c < chunks; ++c)
        for (int64_t j = 0; j < n; ++j) acc[j] += partial[(item * chunks + c) * kColumnBlock + j];
      for (int64_t j = 0; j < n; ++j) y[out_offset + j] = static_cast<T>(acc[j]);
    }
  });
}

template <bool IsMax>
void arg_reduce(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  dispatch_floating(in.dtype(), IsMax ? "max" : "min", [&]<typename T>() {
    const auto& k = active_kernels<T>();
    const int64_t n = in.size(dim), step = in.stride(dim);
    Shape outer_size = in.shape();
    outer_size[dim] = 1;
    const RowLoop<3> outer(outer_size, {&values.strides(), &indices.strides(), &in.strides()});
    T* v = data_of<T>(values);
    int64_t* idx = data_of<int64_t>(indices);
    const T* x = data_of<T>(in);
    const auto s = outer.inner_strides();
    const bool across = step != 1 && n > 1 && s[0] == 1 && s[1] == 1 && s[2] == 1;
    const auto row = IsMax ? k.max_row : k.min_row;
    const auto cols = IsMax ? k.max_cols : k.min_cols;
    parallel_for(outer.numel(), std::max<int64_t>(1, kGrain / n), [&](int64_t begin, int64_t end) {
      outer.for_rows(begin, end, [&](const auto& o, int64_t len, const auto& st) {
        if (across) return cols(n, len, x + o[2], step, v + o[0], idx + o[1]);
        for (int64_t i = 0; i < len; ++i) {
          const T* xi = x + o[2] + i * st[2];
          T best;
          int64_t best_i;
          if (step == 1) {
            row(n, xi, &best, &best_i);
          } else {  // one strided column: the scalar scan
            cols(n, 1, xi, step, &best, &best_i);
          }
          v[o[0] + i * st[0]] = best;
          idx[o[1] + i * st[1]] = best_i;
        }
      });
    });
  });
}

}  // namespace

void sum(const Tensor& out, const Tensor& in) {
  dispatch_floating(in.dtype(), "sum", [&]<typename T>() {
    if (in.numel() == 0) return fill(out, 0.0);  // the empty sum is 0
    const SumPlan p = plan_sum(out, in);
    const auto& k = active_kernels<T>();
    T* y = data_of<T>(out);
    const T* x = data_of<T>(in);
    // Strides of the innermost kept / reduced dim (p's dims are in order, size-1 dims dropped).
    const bool reduced_contiguous = p.red_size.empty() || p.red_in.back() == 1;
    const bool kept_contiguous =
        !p.kept_size.empty() && p.kept_in.back() == 1 && p.kept_out.back() == 1;
    if (!reduced_contiguous && kept_contiguous) return sum_by_columns(p, y, x, k);
    sum_by_chunks(p, y, x, k);
  });
}

void max(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  arg_reduce<true>(values, indices, in, dim);
}

void min(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  arg_reduce<false>(values, indices, in, dim);
}

}  // namespace tg::cpu
