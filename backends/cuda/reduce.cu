// Reductions: sum over any set of dims (accumulated in double, as the reference), and max /
// min with indices along one dim (first index on ties; NaN wins, the first NaN's index).
//
// Deterministic by construction: how the elements of one output are split between threads
// and combined depends on the shapes alone, never on timing. A group of threads (one thread,
// a warp or a block, chosen from the reduced length) owns a chunk of one output's elements;
// each thread adds its elements in order, the group combines in a fixed tree, and when one
// output is split into several chunks a second pass adds the chunk sums in chunk order.
#include <algorithm>
#include <cstdint>

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

// Chunks of one output's elements: a long reduction into few outputs is split so the grid
// has enough blocks; the second pass adds at most kMaxChunks partial sums per output.
constexpr int64_t kChunkElements = 8192;
constexpr int64_t kMaxChunks = 1024;
constexpr int64_t kFewOutputs = 128;

// Group (output m, chunk c) = blockIdx.x * groups per block + threadIdx.x / Lanes sums the
// reduced elements [c * chunk, (c + 1) * chunk) of output m, into out (one chunk) or into
// partials[m * chunks + c].
template <typename T, int Lanes, bool ToPartials>
__global__ void sum_kernel(T* out, double* partials, const T* in, OffsetCalculator<2> kept,
                           OffsetCalculator<1> reduced, int64_t outputs, int64_t length, int64_t chunk,
                           int64_t chunks) {
  __shared__ double scratch[kThreads / 32];
  const int64_t group = static_cast<int64_t>(blockIdx.x) * (kThreads / Lanes) + threadIdx.x / Lanes;
  const int lane = threadIdx.x % Lanes;
  const bool active = group < outputs * chunks;
  int64_t o[2] = {0, 0};
  double acc = 0;
  if (active) {
    kept.offsets(group / chunks, o);
    const int64_t begin = (group % chunks) * chunk;
    const int64_t end = begin + chunk < length ? begin + chunk : length;
    for (int64_t r = begin + lane; r < end; r += Lanes) {
      int64_t at[1];
      reduced.offsets(r, at);
      acc += static_cast<double>(in[o[1] + at[0]]);
    }
  }
  acc = group_combine<Lanes>(acc, Plus{}, scratch);  // every thread calls: no early return above
  if (!active || lane != 0) return;
  if constexpr (ToPartials) partials[group] = acc;
  else out[o[0]] = static_cast<T>(acc);
}

// out[m] = the sum of partials[m * chunks .. (m + 1) * chunks), in chunk order.
template <typename T>
__global__ void sum_partials_kernel(T* out, const double* partials, OffsetCalculator<2> kept,
                                    int64_t outputs, int64_t chunks) {
  TG_GRID_LOOP(m, outputs) {
    double acc = 0;
    for (int64_t c = 0; c < chunks; ++c) acc += partials[m * chunks + c];
    int64_t o[2];
    kept.offsets(m, o);
    out[o[0]] = static_cast<T>(acc);
  }
}

template <typename T, int Lanes, bool ToPartials>
void launch_sum(T* out, double* partials, const T* in, const OffsetCalculator<2>& kept,
                const OffsetCalculator<1>& reduced, int64_t outputs, int64_t length, int64_t chunk,
                int64_t chunks) {
  constexpr int64_t kGroupsPerBlock = kThreads / Lanes;
  const int64_t blocks = (outputs * chunks + kGroupsPerBlock - 1) / kGroupsPerBlock;
  TG_CHECK(blocks < (int64_t{1} << 31), "sum", "too many outputs for one launch: ", outputs);
  launch<sum_kernel<T, Lanes, ToPartials>>(static_cast<unsigned>(blocks), kThreads, 0, out, partials, in, kept, reduced, outputs, length, chunk, chunks);
}

// max (IsMax) or min of two candidates: a NaN wins (the earlier of two NaNs), then the larger
// (smaller) value, then the earlier index. Commutative and associative, so any combining
// order gives the reference's sequential answer.
template <typename T, bool IsMax>
struct PickBest {
  __device__ ArgBest<T> operator()(ArgBest<T> a, ArgBest<T> b) const {
    const bool a_nan = isnan(a.value), b_nan = isnan(b.value);
    if (a_nan || b_nan) {
      if (a_nan && b_nan) return a.index < b.index ? a : b;
      return a_nan ? a : b;
    }
    if (a.value != b.value) return (IsMax ? a.value > b.value : a.value < b.value) ? a : b;
    return a.index < b.index ? a : b;
  }
};

// One group of Lanes threads per output: each thread scans positions lane, lane + Lanes, ...
// of the reduced dim; the group combines. The starting candidate (-inf or +inf at an index
// past the end) loses to every real element.
template <typename T, bool IsMax, int Lanes>
__global__ void arg_reduce_kernel(T* values, int64_t* indices, const T* in, OffsetCalculator<3> outer,
                                  int64_t outputs, int64_t length, int64_t step) {
  __shared__ ArgBest<T> scratch[kThreads / 32];
  const int64_t group = static_cast<int64_t>(blockIdx.x) * (kThreads / Lanes) + threadIdx.x / Lanes;
  const int lane = threadIdx.x % Lanes;
  const bool active = group < outputs;
  const PickBest<T, IsMax> pick;
  ArgBest<T> best{IsMax ? -INFINITY : INFINITY, INT64_MAX};
  int64_t o[3] = {0, 0, 0};
  if (active) {
    outer.offsets(group, o);
    for (int64_t i = lane; i < length; i += Lanes) best = pick(best, {in[o[2] + i * step], i});
  }
  best = group_combine<Lanes>(best, pick, scratch);
  if (!active || lane != 0) return;
  values[o[0]] = best.value;
  indices[o[1]] = best.index;
}

template <typename T, bool IsMax, int Lanes>
void launch_arg_reduce(const Tensor& values, const Tensor& indices, const Tensor& in,
                       const OffsetCalculator<3>& outer, int64_t outputs, int64_t length, int64_t step) {
  constexpr int64_t kGroupsPerBlock = kThreads / Lanes;
  const int64_t blocks = (outputs + kGroupsPerBlock - 1) / kGroupsPerBlock;
  TG_CHECK(blocks < (int64_t{1} << 31), IsMax ? "max" : "min", "too many outputs for one launch: ", outputs);
  launch<arg_reduce_kernel<T, IsMax, Lanes>>(static_cast<unsigned>(blocks), kThreads, 0, typed<T>(values), typed<int64_t>(indices), typed<T>(in), outer, outputs, length, step);
}

template <bool IsMax>
void arg_reduce(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  const int64_t outputs = values.numel(), length = in.size(dim), step = in.stride(dim);
  if (outputs == 0) return;
  Shape outer_shape = in.shape();
  outer_shape[dim] = 1;
  const auto outer = make_offsets<3>(outer_shape, {&values.strides(), &indices.strides(), &in.strides()});
  dispatch_floating(in.dtype(), IsMax ? "max" : "min", [&]<typename T>() {
    if (length <= 32) launch_arg_reduce<T, IsMax, 1>(values, indices, in, outer, outputs, length, step);
    else if (length <= 4096) launch_arg_reduce<T, IsMax, 32>(values, indices, in, outer, outputs, length, step);
    else launch_arg_reduce<T, IsMax, kThreads>(values, indices, in, outer, outputs, length, step);
  });
}

}  // namespace

// out is in keepdim form: in's dims split into kept ones (out's size equals in's) and reduced
// ones (out's size 1, in's not); each output sums its reduced sub-block.
void sum(const Tensor& out, const Tensor& in) {
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
  if (in.numel() == 0) return fill(out, 0.0);  // an empty sum
  const int64_t nd = in.dim(), length = in.numel() / outputs;
  Shape kept_shape(nd), reduced_shape(nd);
  for (int64_t d = 0; d < nd; ++d) {
    const bool reduced = out.size(d) == 1 && in.size(d) != 1;
    kept_shape[d] = reduced ? 1 : in.size(d);
    reduced_shape[d] = reduced ? in.size(d) : 1;
  }
  const auto kept = make_offsets<2>(kept_shape, {&out.strides(), &in.strides()});
  const auto reduced = make_offsets<1>(reduced_shape, {&in.strides()});
  const int64_t chunks = outputs >= kFewOutputs || length <= kChunkElements
                             ? 1
                             : std::min(kMaxChunks, (length + kChunkElements - 1) / kChunkElements);
  const int64_t chunk = (length + chunks - 1) / chunks;
  dispatch_floating(in.dtype(), "sum", [&]<typename T>() {
    T* y = typed<T>(out);
    const T* x = typed<T>(in);
    if (chunks > 1) {
      const Tensor partials = device_empty({outputs * chunks}, kFloat64);
      launch_sum<T, kThreads, true>(nullptr, typed<double>(partials), x, kept, reduced, outputs, length,
                                    chunk, chunks);
      launch<sum_partials_kernel<T>>(blocks_for(outputs), kThreads, 0, y, typed<double>(partials), kept,
                                                                             outputs, chunks);
    } else if (length <= 16) {
      launch_sum<T, 1, false>(y, nullptr, x, kept, reduced, outputs, length, chunk, 1);
    } else if (length <= 2048) {
      launch_sum<T, 32, false>(y, nullptr, x, kept, reduced, outputs, length, chunk, 1);
    } else {
      launch_sum<T, kThreads, false>(y, nullptr, x, kept, reduced, outputs, length, chunk, 1);
    }
  });
}

void max(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  arg_reduce<true>(values, indices, in, dim);
}
void min(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  arg_reduce<false>(values, indices, in, dim);
}

}  // namespace tg::cuda
