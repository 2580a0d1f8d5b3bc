// What the cpu convolution kernels share (conv.cpp, conv_transpose.cpp, conv_weight.cpp): the
// sizes read from the tensors, per-thread scratch, the padded channels-last copies they compute
// from and the transpose back, the split of a reduction into K blocks, and the weight packing.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "backends/cpu/conv_kernels.h"
#include "backends/cpu/isa.h"
#include "backends/kernels.h"

namespace tg::cpu::conv {

// K block of every product, as gemm.h's KC: a B panel (kc x nr) streams from L2 while the
// MR rows it meets stay in L1, and C is read and written once per block.
constexpr int64_t kKC = 384;
// The budgets of one unit of work (conv.cpp explains them): its padded channels-last input,
// one chunk of its results and the pixels that chunk holds at most, and a columns unit's col,
// B and result blocks. With the packed weight, about all a thread holds.
constexpr int64_t kTileInputBytes = int64_t{768} << 10;
constexpr int64_t kChunkBytes = int64_t{256} << 10;
constexpr int64_t kChunkPixels = 384;
constexpr int64_t kColumnBytes = int64_t{1} << 20;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The sizes of one conv2d, read from its image, its output and its weight (never recomputed
// from the parameters: see backends/reference/conv.cpp).
struct Geometry {
  int64_t N, C, H, W;  // image
  int64_t O, Ho, Wo;   // conv2d output
  int64_t kH, kW, G;
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t Cg() const { return C / G; }
  int64_t Og() const { return O / G; }
  int64_t taps() const { return kH * kW; }
  int64_t pixels() const { return Ho * Wo; }  // of one output image
};

inline Geometry geometry(const Tensor& image, const Tensor& y, const Tensor& w,
                         const kernel::Conv2dParams& p) {
  return {image.size(0), image.size(1), image.size(2), image.size(3), y.size(1),
          y.size(2),     y.size(3),     w.size(2),     w.size(3),     p.groups,
          p.stride[0],   p.stride[1],   p.padding[0],  p.padding[1],  p.dilation[0],
          p.dilation[1]};
}

// A 4-D tensor's elements through its strides (any layout, stride 0 included).
template <typename T>
struct View4 {
  T* data;
  int64_t s0, s1, s2, s3;
  T& operator()(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return data[n * s0 + c * s1 + h * s2 + w * s3];
  }
};

template <typename T>
View4<T> view4(const Tensor& t) {
  return {static_cast<T*>(t.raw_data()), t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

// A convolution whose one output pixel sees the whole image through the whole kernel
// (Ho = Wo = 1, H = kH, W = kW, no padding, dilation 1: a discriminator's last layer and, as
// its adjoint, a generator's first) is a plain matrix product over the flattened images, per
// group:  y[n, o] = sum_r x[n, r] w[o, r]  with r = (c, a, b). It goes to cpu::gemm_strided.
inline bool is_dense(const Geometry& g) {
  return g.Ho == 1 && g.Wo == 1 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 &&
         g.H == g.kH && g.W == g.kW;
}

// The stride of element r = (c H + h) W + w of each [C, H, W] block of t when the three dims
// flatten to one (any stride along a dim of size 1), else -1.
inline int64_t flat_stride(const Tensor& t) {
  const int64_t C = t.size(1), H = t.size(2), W = t.size(3);
  const int64_t s = W > 1 ? t.stride(3) : H > 1 ? t.stride(2) / W : t.stride(1) / (H * W);
  const bool flat = (W == 1 || t.stride(3) == s) && (H == 1 || t.stride(2) == W * s) &&
                    (C == 1 || t.stride(1) == H * W * s);
  return flat ? s : -1;
}

// Sets every element of a 4-D tensor to zero (a product with an empty sum).
template <typename T>
void fill_zero(const Tensor& t) {
  const View4<T> v = view4<T>(t);
  for (int64_t n = 0; n < t.size(0); ++n)
    for (int64_t c = 0; c < t.size(1); ++c)
      for (int64_t h = 0; h < t.size(2); ++h)
        for (int64_t w = 0; w < t.size(3); ++w) v(n, c, h, w) = T(0);
}

// The tile kernels of the active instruction-set level.
inline const ConvIsaKernels& conv_isa_kernels() {
  const std::string_view name = active_isa().name;
#ifdef TAPEGRAD_CPU_AVX512
  if (name == "avx512") return avx512_conv_kernels();
#endif
#ifdef TAPEGRAD_CPU_AVX2
  if (name == "avx2") return avx2_conv_kernels();
#endif
  return generic_conv_kernels();
}
template <typename T> const ConvTileKernels<T>& tile_kernels();
template <>
inline const ConvTileKernels<float>& tile_kernels<float>() {
  return conv_isa_kernels().f32;
}
template <>
inline const ConvTileKernels<double>& tile_kernels<double>() {
  return conv_isa_kernels().f64;
}

// ---- scratch ----
// Per-thread, 64-byte aligned buffers that only grow: a steady training loop allocates nothing
// after its first step. The calling thread's "call" slots hold what all threads of one kernel
// call share (the packed weight, conv_weight.cpp's tile copies and partial sums); the "tile"
// slots are each worker's own.
enum class Slot { call_weight, call_input, call_partials, tile_input, tile_output, tile_a, tile_b,
                  tile_offsets, tile_rows, count };

template <typename T>
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }
  T* get(int64_t n) {
    const auto want = static_cast<size_t>(std::max<int64_t>(n, 1));
    if (want > capacity_) {
      std::free(data_);
      data_ = static_cast<T*>(std::aligned_alloc(64, (want * sizeof(T) + 63) / 64 * 64));
      if (!data_) throw std::bad_alloc();
      capacity_ = want;
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

template <typename T>
T* scratch(Slot slot, int64_t n) {
  static thread_local Scratch<T> buffers[static_cast<int>(Slot::count)];
  return buffers[static_cast<int>(slot)].get(n);
}

// ---- layouts ----
// The padded channels-last copy the kernels compute from:
//   dst[n][u][v][c] = x(n0 + n, c, h0 + u, w0 + v)   for n < nb, u < Hp, v < Wp, c < C,
// and 0 where (h0 + u, w0 + v) falls outside the H x W image (the zero padding, written once
// here so no inner loop checks bounds). The copy runs along source runs (a row, or all rows
// when they follow each other in memory), tw channels x tw elements at a time through the
// register transpose; the ends of runs and of the channels go element by element.
template <typename T>
void to_channels_last(const ConvTileKernels<T>& tk, const View4<const T>& x, int64_t n0,
                      int64_t nb, int64_t C, int64_t H, int64_t W, int64_t h0, int64_t Hp,
                      int64_t w0, int64_t Wp, T* dst) {
  constexpr int kMaxTile = 16;
  const int64_t tw = tk.tw;
  const int64_t ua = std::clamp<int64_t>(-h0, 0, Hp), ub = std::clamp<int64_t>(H - h0, ua, Hp);
  const int64_t va = std::clamp<int64_t>(-w0, 0, Wp), vb = std::clamp<int64_t>(W - w0, va, Wp);
  const int64_t row_size = Wp * C, width = vb - va;
  // Rows read whole and back to back form one run; otherwise each row is a run.
  const bool merged = x.s3 == 1 && width == W && x.s2 == W;
  const int64_t run_rows = merged ? ub - ua : 1, run_len = run_rows * width;
  for (int64_t n = 0; n < nb; ++n) {
    T* image = dst + n * Hp * row_size;
    std::fill(image, image + ua * row_size, T(0));
    std::fill(image + ub * row_size, image + Hp * row_size, T(0));
    for (int64_t u = ua; u < ub; ++u) {
      std::fill(image + u * row_size, image + u * row_size + va * C, T(0));
      std::fill(image + u * row_size + vb * C, image + (u + 1) * row_size, T(0));
    }
    if (width == 0) continue;
    for (int64_t u0 = ua; u0 < ub; u0 += run_rows) {
      // Element e of the run is pixel (u0 + e / width, va + e % width).
      const auto pixel = [&](int64_t e) { return ((u0 + e / width) * Wp + va + e % width) * C; };
      const T* run = &x(n0 + n, 0, h0 + u0, w0 + va);
      for (int64_t c0 = 0; c0 < C; c0 += tw) {
        const int64_t channels = std::min(tw, C - c0);
        int64_t e0 = 0;
        if (channels == tw && x.s3 == 1) {
          const T* src[kMaxTile];
          T* out[kMaxTile];
          for (; e0 + tw <= run_len; e0 += tw) {
            for (int64_t i = 0; i < tw; ++i) {
              src[i] = run + (c0 + i) * x.s1 + e0;
              out[i] = image + pixel(e0 + i) + c0;
            }
            tk.transpose(src, out);
          }
        }
        for (int64_t c = c0; c < c0 + channels; ++c)
          for (int64_t e = e0; e < run_len; ++e) image[pixel(e) + c] = run[c * x.s1 + e * x.s3];
      }
    }
  }
}

// The transpose back: out[offsets[r] + c * cs] = src[r * lds + c] for r < rows, c < cols
// (a block of channels-last results written into a channels-first tensor).
template <typename T>
void scatter_rows(const T* src, int64_t lds, int64_t rows, int64_t cols, const int64_t* offsets,
                  T* out, int64_t cs) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t c1 = std::min(cols, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[offsets[r] + c * cs] = src[r * lds + c];
    }
  }
}

// ---- the reduction ----
// K = taps x channels, tap-major, in blocks of whole taps and channel chunks of at most kKC
// elements: one tap's chunk is a run of contiguous channels-last values, a segment of the
// indirect tile. The blocks depend on the shape alone, so every output element sums the same
// terms in the same order whatever the thread count.
struct KSplit {
  int64_t taps, channels, taps_per_block, chunk, tap_blocks, chunks;

  KSplit(int64_t taps_, int64_t channels_) : taps(taps_), channels(channels_) {
    if (channels >= kKC) {
      chunks = ceil_div(channels, kKC);
      chunk = ceil_div(channels, chunks);
      taps_per_block = 1;
      tap_blocks = taps;
    } else {
      chunks = 1;
      chunk = channels;
      tap_blocks = channels > 0 ? ceil_div(taps, std::max<int64_t>(1, kKC / channels)) : 0;
      taps_per_block = tap_blocks > 0 ? ceil_div(taps, tap_blocks) : 0;
    }
  }
  int64_t blocks() const { return tap_blocks * chunks; }
  int64_t size() const { return taps * channels; }

  struct Block {
    int64_t t0, t1, c0, c1;
    int64_t k0;  // where the block starts in K (the blocks are stored in order)
    int64_t segments() const { return t1 - t0; }
    int64_t len() const { return c1 - c0; }
    int64_t size() const { return segments() * len(); }
  };
  Block block(int64_t b) const {
    const int64_t tb = b / chunks, cb = b % chunks;
    const int64_t t0 = tb * taps_per_block, t1 = std::min(taps, t0 + taps_per_block);
    const int64_t c0 = cb * chunk, c1 = std::min(channels, c0 + chunk);
    return {t0, t1, c0, c1, t0 * channels + (t1 - t0) * c0};
  }
};

// One kernel tap: its row and column in the kernel, and its indices in the lists of rows and
// of columns that a product uses (conv_indirect.h): a and b themselves for conv2d, their rank
// among the taps of one stride phase for conv_transpose2d.
struct Tap {
  int64_t a, b, ia, ib;
};

// The B operand of the indirect tile, one KSplit block at a time: for block `b` and column
// panel jr, a [block size][nr] panel with
//   B[(s * len + k) * nr + j] = w(jr * nr + j, blk.c0 + k, taps[blk.t0 + s])
// where w(column, channel, tap) reads the weight and columns >= cols are zero. The packed
// matrix is K x round_up(cols, nr), block after block; panel(b, jr) finds one panel.
struct PackedB {
  const KSplit* split;
  int64_t cols, panels, nr;
  int64_t offset(int64_t b, int64_t jr) const {
    const KSplit::Block blk = split->block(b);
    return (blk.k0 * panels + jr * blk.size()) * nr;
  }
  int64_t total() const { return split->size() * panels * nr; }
};

// Fills B panels lane by lane: value after value into lanes 0 ... nr - 1 of one panel row,
// then the same row of the next panel (`step` elements on); finish() zero-pads the last panel.
template <typename T>
struct PanelWriter {
  T* row;
  int64_t nr, step, lane = 0;
  // n values src[0], src[stride], ...
  void put(const T* src, int64_t stride, int64_t n) {
    while (n > 0) {
      const int64_t len = std::min(n, nr - lane);
      if (stride == 1) {
        std::memcpy(row + lane, src, len * sizeof(T));
      } else if (stride == 2) {
        // A stride-2 convolution's taps: with the stride a constant, the loop is vectorised.
        for (int64_t e = 0; e < len; ++e) row[lane + e] = src[2 * e];
      } else {
        for (int64_t e = 0; e < len; ++e) row[lane + e] = src[e * stride];
      }
      src += len * stride;
      n -= len;
      lane += len;
      if (lane == nr) lane = 0, row += step;
    }
  }
  void zeros(int64_t n) {
    while (n > 0) {
      const int64_t len = std::min(n, nr - lane);
      std::fill(row + lane, row + lane + len, T(0));
      n -= len;
      lane += len;
      if (lane == nr) lane = 0, row += step;
    }
  }
  void finish() {
    if (lane > 0) std::fill(row + lane, row + nr, T(0));
  }
};

template <typename T, class Weight>
void pack_b_block(const PackedB& pb, const Tap* taps, int64_t b, const Weight& w,
                  T* dst) {
  const KSplit::Block blk = pb.split->block(b);
  for (int64_t jr = 0; jr < pb.panels; ++jr) {
    T* panel = dst + pb.offset(b, jr);
    const int64_t j0 = jr * pb.nr, n = std::min(pb.nr, pb.cols - j0);
    for (int64_t s = 0; s < blk.segments(); ++s) {
      const Tap tap = taps[blk.t0 + s];
      for (int64_t k = 0; k < blk.len(); ++k) {
        T* row = panel + (s * blk.len() + k) * pb.nr;
        for (int64_t j = 0; j < n; ++j) row[j] = w(j0 + j, blk.c0 + k, tap);
        std::fill(row + n, row + pb.nr, T(0));
      }
    }
  }
}

}  // namespace tg::cpu::conv
