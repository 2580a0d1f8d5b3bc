// conv2d_weight on the cpu backend: conv2d's adjoint in its weight, one long-K product over the
// batch's output pixels, summed in an order fixed by the shape.
//
// In conv.cpp's notation, with the output pixels q = (n, i, j) as K:
//   dw[o, c, a, b] = sum_q dy[n, o, i, j] x[n, c, i sh - ph + a dh, j sw - pw + b dw]
//   dW'[(t, c), o] = sum_q X(q, (t, c)) dY^T[q, o],   X(q, (t, c)) = xp[origin(q) + off(t) + c]
// over conv.cpp's zero-padded channels-last copy xp and dY^T, dy in channels-last order. Rows
// (t, c), columns o: the large operand, X (kH kW C/G values per pixel), is packed once, MR rows
// at a time right before its tiles use them (per pixel, MR loads at MR fixed offsets from
// origin(q), one MR-value copy when the rows are consecutive channels of one tap); dY^T's rows
// already are B panel rows (NR contiguous o per pixel) and are read in place, and O = 64 ...
// 512 fills whole panels even for a first layer with C = 1. A strip leaves out the pixels where
// all its taps read padding (their products are zeros): 4 x 4 outputs of a 4 x 4 kernel at
// stride 2 sum 12.25 of 16 taps on average.
//
// The batch goes by in tiles of images whose channels-last copies (x padded, and dy) take at
// most kTileBytes (2 MiB, or one image), so they are written and read while in cache. Two
// schedules, chosen by the shape:
//   * many rows (at least kMinUnits blocks of up to kBlockStrips MR-row strips): tile after
//     tile into one shared, double-buffered copy; in round t the threads copy tile t and take
//     row blocks of dW' to add tile t - 1's pixels to (one parallel region per tile). dW' is
//     summed tile by tile.
//   * few rows (a first layer, kH kW C/G = 16 or 48): the images are cut into S groups (S <= 8,
//     fixed by the shape); a thread takes a (group, row block), copies and sums the group's
//     tiles into its own partial dW', and the partials are added in group order at the end.
// Either way every element of dW' is one fixed sequence of FMA chains (tiles, then K blocks of
// at most 384 pixels within a tile, fixed by the shape), whatever the thread count.
//
// Memory: the shared tile copies (2 x 2 MiB) or one per thread, dW' (kH kW C/G x O per partial,
// S x that in the second schedule), and per thread one MR x 384 strip of X.
#include "backends/cpu/conv_common.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

using namespace conv;

constexpr int64_t kTileBytes = int64_t{2} << 20;
constexpr int64_t kBlockStrips = 32;  // MR-row strips per row block
constexpr int64_t kMinUnits = 4;      // row blocks (x groups) below which the batch is split
constexpr int64_t kMaxGroups = 8;

// is_dense (conv_common.h): gw[o, r] = sum_n gy[n, o] x[n, r] per group. False when x or gw
// does not flatten.
template <typename T>
bool weight_dense(const Tensor& gw, const Tensor& x, const Tensor& gy, const Geometry& g) {
  const int64_t xs = flat_stride(x), ws = flat_stride(gw);
  if (!is_dense(g) || xs < 0 || ws < 0) return false;
  const T* xd = static_cast<const T*>(x.raw_data());
  const T* yd = static_cast<const T*>(gy.raw_data());
  T* wd = static_cast<T*>(gw.raw_data());
  const int64_t Og = g.Og();
  for (int64_t grp = 0; grp < g.G; ++grp)
    gemm_strided(Og, g.Cg() * g.taps(), g.N, T(1), yd + grp * Og * gy.stride(1), gy.stride(1),
                 gy.stride(0), xd + grp * g.Cg() * x.stride(1), x.stride(0), xs, T(0),
                 wd + grp * Og * gw.stride(0), gw.stride(0), ws);
  return true;
}

// A strip of MR rows (t, c) of X^T over klen pixels: ap[k MR + r] = xp[origin[k] + row_offset[r]].
// Rows of one tap and consecutive channels (the usual strip) are MR contiguous values per pixel.
template <int MR, typename T>
void pack_strip(int64_t klen, const T* xp, const int64_t* origin, const int64_t* row_offset,
                T* ap) {
  bool contiguous = true;
  for (int r = 1; r < MR; ++r) contiguous = contiguous && row_offset[r] == row_offset[0] + r;
  if (contiguous) {
    for (int64_t k = 0; k < klen; ++k)
      std::memcpy(ap + k * MR, xp + origin[k] + row_offset[0], MR * sizeof(T));
    return;
  }
  for (int64_t k = 0; k < klen; ++k) {
    const T* src = xp + origin[k];
    for (int r = 0; r < MR; ++r) ap[k * MR + r] = src[row_offset[r]];
  }
}

// The shape's constants and the operands of one call.
template <typename T>
struct WeightProblem {
  const ConvTileKernels<T>* tk;
  Geometry g;
  int64_t M, Mpad, panels, ldc;  // dW' is Mpad x ldc per group
  int64_t Hp, Wp;                // the padded x
  int64_t image_size, tile_images;
  int64_t row_blocks, block_rows;
  View4<const T> x, gy;
  // The taps inside the image: rows [w[4 i], w[4 i + 1]) of the kernel for output row i,
  // columns [w[4 j + 2], w[4 j + 3]) for output column j.
  const int64_t* windows = nullptr;

  WeightProblem(const ConvTileKernels<T>& k, const Geometry& geo, const Tensor& xt,
                const Tensor& gyt)
      : tk(&k), g(geo), M(geo.taps() * geo.Cg()), Mpad(round_up(M, k.mr)),
        panels(ceil_div(geo.Og(), k.nr)), ldc(panels * k.nr),
        Hp((geo.Ho - 1) * geo.sh + (geo.kH - 1) * geo.dh + 1),
        Wp((geo.Wo - 1) * geo.sw + (geo.kW - 1) * geo.dw + 1),
        image_size(Hp * Wp * geo.C + geo.pixels() * geo.O),
        tile_images(std::clamp<int64_t>(kTileBytes / (image_size * int64_t{sizeof(T)}), 1, geo.N)),
        row_blocks(ceil_div(Mpad / k.mr, kBlockStrips)),
        block_rows(ceil_div(Mpad / k.mr, row_blocks) * k.mr),
        x(view4<const T>(xt)), gy(view4<const T>(gyt)) {}

  // The channels-last copies of images [n0, n0 + count) at xt and dyt.
  void copy_tile(int64_t n0, int64_t count, T* xt, T* dyt) const {
    for (int64_t n = 0; n < count; ++n) copy_image(n0 + n, n, xt, dyt);
  }
  void copy_image(int64_t n, int64_t slot, T* xt, T* dyt) const {
    to_channels_last(*tk, x, n, 1, g.C, g.H, g.W, -g.ph, Hp, -g.pw, Wp, xt + slot * Hp * Wp * g.C);
    to_channels_last(*tk, gy, n, 1, g.O, g.Ho, g.Wo, 0, g.Ho, 0, g.Wo,
                     dyt + slot * g.pixels() * g.O);
  }

  // Adds the pixels of one tile (count images, copied at xt / dyt) to rows [m0, m1) of group
  // grp's dW' at dw (overwritten instead when `first`).
  void accumulate(int64_t grp, int64_t m0, int64_t m1, int64_t count, const T* xt, const T* dyt,
                  T* dw, bool first) const {
    const int64_t mr = tk->mr, nr = tk->nr, P = g.pixels(), Q = count * P;
    const int64_t Cg = g.Cg(), Og = g.Og();
    const int64_t steps = ceil_div(Q, kKC), step = ceil_div(Q, steps);
    T* ap = scratch<T>(Slot::tile_a, step * mr);
    int64_t* origin = scratch<int64_t>(Slot::tile_rows, 5 * step);
    int64_t* row = origin + step;           // output row i of each pixel
    int64_t* col = row + step;              // and its column j
    int64_t* kept_origin = col + step;      // the pixels a strip keeps: their origins
    int64_t* b_rows = kept_origin + step;   // and their rows of dY^T
    int64_t row_offset[16];
    // Leaving out pixels pays when a strip's rows are one or two taps (C/G >= MR); with fewer
    // channels a strip spans many taps, and hardly any pixel misses them all.
    const bool skip_padding = Cg >= mr;
    for (int64_t k0 = 0; k0 < Q; k0 += step) {
      const int64_t klen = std::min(step, Q - k0);
      // Pixel q = k0 + k is (n, i, j), stepped along instead of divided out per pixel.
      int64_t n = k0 / P, i = k0 % P / g.Wo, j = k0 % g.Wo;
      for (int64_t k = 0; k < klen; ++k) {
        origin[k] = ((n * Hp + i * g.sh) * Wp + j * g.sw) * g.C + grp * Cg;
        row[k] = i;
        col[k] = j;
        if (++j == g.Wo) {
          j = 0;
          if (++i == g.Ho) {
            i = 0;
            ++n;
          }
        }
      }
      const bool overwrite = first && k0 == 0;
      int64_t kept = 0, kept_t0 = -1, kept_t1 = -1;  // the kept pixels are those of taps t0..t1
      for (int64_t r0 = m0; r0 < m1; r0 += mr) {
        // A: the strip of rows (t, c) = r0 ... r0 + mr - 1 (rows past M repeat the last one
        // and land in dW's padding rows), over the pixels where one of its taps reads inside
        // the image: elsewhere its values are padding, zeros that add nothing.
        for (int64_t r = 0; r < mr; ++r) {
          const int64_t rr = std::min(r0 + r, M - 1), t = rr / Cg, c = rr % Cg;
          row_offset[r] = (t / g.kW * g.dh * Wp + t % g.kW * g.dw) * g.C + c;
        }
        const int64_t t0 = skip_padding ? std::min(r0, M - 1) / Cg : 0;
        const int64_t t1 = skip_padding ? std::min(r0 + mr - 1, M - 1) / Cg : g.taps() - 1;
        if (t0 != kept_t0 || t1 != kept_t1) {
          kept = 0;
          for (int64_t k = 0; k < klen; ++k) {
            bool any = !skip_padding;
            for (int64_t t = t0; t <= t1 && !any; ++t) {
              const int64_t a = t / g.kW, b = t % g.kW;
              any = a >= windows[4 * row[k]] && a < windows[4 * row[k] + 1] &&
                    b >= windows[4 * col[k] + 2] && b < windows[4 * col[k] + 3];
            }
            if (!any) continue;
            kept_origin[kept] = origin[k];
            b_rows[kept++] = (k0 + k) * g.O;
          }
          kept_t0 = t0;
          kept_t1 = t1;
        }
        if (kept == 0) {
          if (overwrite)
            for (int64_t r = 0; r < mr; ++r) std::fill_n(dw + (r0 + r) * ldc, ldc, T(0));
          continue;
        }
        if (mr == 6) {
          pack_strip<6>(kept, xt, kept_origin, row_offset, ap);
        } else if (mr == 4) {
          pack_strip<4>(kept, xt, kept_origin, row_offset, ap);
        } else {
          for (int64_t k = 0; k < kept; ++k)
            for (int64_t r = 0; r < mr; ++r) ap[k * mr + r] = xt[kept_origin[k] + row_offset[r]];
        }
        // B: the kept rows of dY^T, read in place (NR contiguous o per pixel). Lanes past this
        // group's O/G channels read the next channels or the tile's slack; they only fill dW'
        // columns that are never read.
        for (int64_t jr = 0; jr < panels; ++jr)
          tk->packed_rows(kept, ap, dyt + grp * Og + jr * nr, b_rows, dw + r0 * ldc + jr * nr,
                          ldc, !overwrite);
      }
    }
  }
};

template <typename T>
void conv2d_weight_kernel(const Tensor& gw, const Tensor& x, const Tensor& gy,
                          const kernel::Conv2dParams& p) {
  if (gw.numel() == 0) return;
  const Geometry g = geometry(x, gy, gw, p);
  if (g.N * g.pixels() == 0) return fill_zero<T>(gw);
  if (weight_dense<T>(gw, x, gy, g)) return;
  WeightProblem<T> wp(tile_kernels<T>(), g, x, gy);
  // The kernel rows (columns) that land inside the image, per output row (column); in the
  // calling thread's reused vector, read by the workers through wp.windows.
  static thread_local std::vector<int64_t> window_storage;
  window_storage.assign(4 * std::max(g.Ho, g.Wo), 0);
  const auto window = [](int64_t start, int64_t step, int64_t taps, int64_t size, int64_t* w) {
    for (int64_t t = taps - 1; t >= 0; --t)
      if (start + t * step >= 0 && start + t * step < size) w[0] = t;  // the first inside
    for (int64_t t = 0; t < taps; ++t)
      if (start + t * step >= 0 && start + t * step < size) w[1] = t + 1;  // past the last
  };
  for (int64_t i = 0; i < g.Ho; ++i)
    window(i * g.sh - g.ph, g.dh, g.kH, g.H, &window_storage[4 * i]);
  for (int64_t j = 0; j < g.Wo; ++j)
    window(j * g.sw - g.pw, g.dw, g.kW, g.W, &window_storage[4 * j + 2]);
  wp.windows = window_storage.data();
  // A tile's copies, plus nr elements of slack that the last B rows' spare lanes may read.
  const int64_t tile_size = wp.tile_images * wp.image_size + wp.tk->nr;
  const int64_t dw_size = g.G * wp.Mpad * wp.ldc;
  const int64_t units = g.G * wp.row_blocks;
  const auto rows_of = [&](int64_t unit, int64_t& grp, int64_t& m0, int64_t& m1) {
    grp = unit / wp.row_blocks;
    m0 = unit % wp.row_blocks * wp.block_rows;
    m1 = std::min(wp.Mpad, m0 + wp.block_rows);
  };

  int64_t S = 1;
  T* dw = nullptr;
  if (units >= kMinUnits) {
    // Tile after tile, double-buffered: round t copies tile t while the row blocks sum tile
    // t - 1 (the pieces are handed out in order, copies first), one parallel region per tile.
    T* buffers = scratch<T>(Slot::call_input, 2 * tile_size);
    for (T* slack : {buffers + tile_size - wp.tk->nr, buffers + 2 * tile_size - wp.tk->nr})
      std::fill(slack, slack + wp.tk->nr, T(0));
    dw = scratch<T>(Slot::call_partials, dw_size);
    const int64_t tiles = ceil_div(g.N, wp.tile_images);
    const auto tile_x = [&](int64_t t) { return buffers + t % 2 * tile_size; };
    const auto tile_dy = [&](int64_t t) {
      return tile_x(t) + wp.tile_images * wp.Hp * wp.Wp * g.C;
    };
    for (int64_t t = 0; t <= tiles; ++t) {
      const int64_t n0 = t * wp.tile_images;
      const int64_t copies = t < tiles ? std::min(wp.tile_images, g.N - n0) : 0;
      const int64_t sums = t > 0 ? units : 0;
      const int64_t count = std::min(wp.tile_images, g.N - (n0 - wp.tile_images));  // tile t - 1
      parallel_pieces(copies + sums, [&](int64_t piece) {
        if (piece < copies) return wp.copy_image(n0 + piece, piece, tile_x(t), tile_dy(t));
        int64_t grp, m0, m1;
        rows_of(piece - copies, grp, m0, m1);
        wp.accumulate(grp, m0, m1, count, tile_x(t - 1), tile_dy(t - 1),
                      dw + grp * wp.Mpad * wp.ldc, t == 1);
      });
    }
  } else {
    // Groups of images, each summed into its own partial.
    S = std::clamp<int64_t>(ceil_div(kMaxGroups, units), 1, std::min(kMaxGroups, g.N));
    dw = scratch<T>(Slot::call_partials, S * dw_size);
    parallel_pieces(S * units, [&](int64_t piece) {
      const int64_t s = piece / units, na = g.N * s / S, nb = g.N * (s + 1) / S;
      int64_t grp, m0, m1;
      rows_of(piece % units, grp, m0, m1);
      T* xt = scratch<T>(Slot::tile_input, tile_size);
      std::fill(xt + tile_size - wp.tk->nr, xt + tile_size, T(0));
      T* dyt = xt + wp.tile_images * wp.Hp * wp.Wp * g.C;
      for (int64_t n0 = na; n0 < nb; n0 += wp.tile_images) {
        const int64_t count = std::min(wp.tile_images, nb - n0);
        wp.copy_tile(n0, count, xt, dyt);
        wp.accumulate(grp, m0, m1, count, xt, dyt, dw + s * dw_size + grp * wp.Mpad * wp.ldc,
                      n0 == na);
      }
    });
  }

  // dw[o, c, a, b] = the sum over the partials, in order, of dW'[(t, c), o]: a transpose. A
  // piece takes 16 columns o; for each (c, t) it reads one contiguous run of dW'[(t, c), o0 ..]
  // and writes it across the 16 rows dw[o, c, ...], so that the kH kW taps of one (o, c), which
  // are consecutive in dw, are written while their cache line stays in L1.
  constexpr int64_t kBlock = 16;
  const View4<T> wv = view4<T>(gw);
  const int64_t Og = g.Og(), Cg = g.Cg(), column_pieces = ceil_div(Og, kBlock);
  parallel_for(g.G * column_pieces, 1, [&](int64_t begin, int64_t end) {
    for (int64_t piece = begin; piece < end; ++piece) {
      const int64_t grp = piece / column_pieces, o0 = piece % column_pieces * kBlock;
      const int64_t o1 = std::min(Og, o0 + kBlock);
      T* out = wv.data + (grp * Og + o0) * wv.s0;
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t t = 0; t < g.taps(); ++t) {
          const T* src = dw + (grp * wp.Mpad + t * Cg + c) * wp.ldc;
          T* dst = out + c * wv.s1 + t / g.kW * wv.s2 + t % g.kW * wv.s3;
          for (int64_t o = o0; o < o1; ++o) {
            T sum = src[o];
            for (int64_t s = 1; s < S; ++s) sum += src[s * dw_size + o];
            dst[(o - o0) * wv.s0] = sum;
          }
        }
    }
  });
}

}  // namespace

void conv2d_weight(const Tensor& gw, const Tensor& x, const Tensor& gy,
                   const kernel::Conv2dParams& p) {
  dispatch_floating(x.dtype(), "conv2d_weight",
                    [&]<typename T>() { conv2d_weight_kernel<T>(gw, x, gy, p); });
}

}  // namespace tg::cpu
