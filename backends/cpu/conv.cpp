// conv2d on the cpu backend: an indirect GEMM over a padded channels-last copy of the input,
// on gemm.h's register tile. (conv_transpose.cpp and conv_weight.cpp are its two adjoints.)
//
// The three kernels compute backends/reference/conv.cpp's bilinear map and its adjoints; every
// size is read from the tensors. With x [N, C, H, W], w [O, C/G, kH, kW], y [N, O, Ho, Wo],
// taps t = (a, b) of the kernel and, per group, c < C/G, o < O/G:
//   y[n, o, i, j] = sum_{t, c} w[o, c, a, b] * x[n, c, i sh - ph + a dh, j sw - pw + b dw]
// (x zero outside the image). As a product, rows = output pixels q = (n, i, j), columns = o,
// K = (t, c):   Y^T[q, o] = sum_k X(q, k) W'[k, o],   X(q, (t, c)) = xp[origin(q) + off(t) + c]
// where xp is x copied into a zero-padded channels-last buffer [n][u][v][c] (u = h + ph,
// v = w + pw), origin(q) = ((n Hp + i sh) Wp + j sw) C and off(t) = (a dh Wp + b dw) C.
//
// Why not im2col + GEMM: the im2col matrix X holds every input value kH kW / (sh sw) times (4x
// for DCGAN's 4 x 4 kernels at stride 2), written once and read back by GEMM packing. Here,
// for a fixed pixel and tap, X's row is C contiguous values of xp, so the indirect tile
// (conv_micro.h) reads them in place through MR row pointers: the only copies are xp (1x the
// input, a register transpose 16 x 16 at a time) and the transpose of the results into y. Taps
// that read only padding are skipped (pixels grouped by border class, conv_indirect.h), where
// im2col would multiply its zeros. The weight W' is packed once per call into gemm.h's B
// panels [k][NR] (NR = 64 floats at AVX-512: O = 64 ... 512 are whole panels).
//
// Two shapes take other routes: one output pixel covering the whole image (a plain product,
// cpu::gemm_strided), and few products per output, C/G kH kW <= O/G (a first layer on 1 or 3
// channels), where transposing the outputs would cost more than the products: there the
// pixels are the vector dimension, y_g = w_g col with col (C/G kH kW short rows) written
// straight into B panels from x, a run of an output row at a time.
//
// Blocking and memory (sizes for float32; float64 keeps the byte budgets):
//   * K in KSplit blocks of whole taps x channel chunks, at most KC = 384: the B panel
//     (384 x 64 x 4 B = 96 KiB) streams from L2 while the MR pixels' rows stay in L1.
//   * Units of work, taken dynamically by the threads: nb whole images whose padded copy fits
//     kTileInputBytes (768 KiB), or bands of output rows of one larger image, so a unit's copy
//     of the input stays within 768 KiB (at least one padded input row band) and in L2.
//   * Inside a unit, output pixels in chunks whose results [pixels x O] take at most
//     kChunkBytes (256 KiB), transposed into y when their K loop ends.
//   * The columns route: units of output pixels whose col and result blocks take at most
//     kColumnBytes (1 MiB).
// So no buffer grows with the batch: per thread about 1 MiB, plus the packed weight.
//
// Determinism: an output element is one tile's FMA chain over the K blocks, fixed by the shape;
// which thread runs which unit (and how many threads there are) changes nothing.
#include <span>

#include "backends/cpu/conv_epilogue.h"
#include "backends/cpu/conv_indirect.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

using namespace conv;


// is_dense (conv_common.h): y[n, o] = sum_r x[n, r] w[o, r] per group. False when x or w does
// not flatten.
template <typename T>
bool conv2d_dense(const Tensor& out, const Tensor& x, const Tensor& w, const Geometry& g) {
  const int64_t xs = flat_stride(x), ws = flat_stride(w);
  if (!is_dense(g) || xs < 0 || ws < 0) return false;
  const T* xd = static_cast<const T*>(x.raw_data());
  const T* wd = static_cast<const T*>(w.raw_data());
  T* yd = static_cast<T*>(out.raw_data());
  const int64_t Og = g.Og();
  for (int64_t grp = 0; grp < g.G; ++grp)
    gemm_strided(g.N, Og, g.Cg() * g.taps(), T(1), xd + grp * g.Cg() * x.stride(1), x.stride(0),
                 xs, wd + grp * Og * w.stride(0), ws, w.stride(0), T(0),
                 yd + grp * Og * out.stride(1), out.stride(0), out.stride(1));
  return true;
}

// Few products per output (C/G kH kW <= O/G: a first layer on 1 or 3 channels). The indirect
// product would spend most of its time transposing its outputs into y; here the pixels are
// the vector dimension instead, y_g[O/G, pixels] = w_g[O/G, R] col[R, pixels] on gemm.h's
// packed tile, with col (R = C/G kH kW rows, short) written straight into B panels, a run of
// an output row at a time, and y written row by row.
template <typename T>
void conv2d_columns(const Tensor& out, const Tensor& x, const Tensor& w, const Geometry& g,
                    const FusedEpilogue<T>& epilogue) {
  const ConvTileKernels<T>& tk = tile_kernels<T>();
  const int64_t mr = tk.mr, nr = tk.nr, Cg = g.Cg(), Og = g.Og(), taps = g.taps(), P = g.pixels();
  const int64_t R = Cg * taps, Opad = round_up(Og, mr);
  // A = w_g in gemm.h's A panels, K (= r) in blocks of at most KC.
  const KSplit split(1, R);
  T* weights = scratch<T>(Slot::call_weight, g.G * Opad * R);
  const View4<const T> wv = view4<const T>(w);
  parallel_pieces(g.G * split.blocks(), [&](int64_t piece) {
    const int64_t grp = piece / split.blocks();
    const KSplit::Block blk = split.block(piece % split.blocks());
    T* dst = weights + grp * Opad * R + blk.k0 * Opad;
    for (int64_t o0 = 0; o0 < Opad; o0 += mr)
      for (int64_t k = 0; k < blk.len(); ++k)
        for (int64_t o = o0; o < o0 + mr; ++o) {
          const int64_t r = blk.c0 + k;
          dst[o0 * blk.len() + k * mr + o - o0] =
              o < Og ? wv(grp * Og + o, r / taps, r % taps / g.kW, r % g.kW) : T(0);
        }
  });

  // Units: runs of output pixels (across images), their col and result blocks within
  // kColumnBytes; a unit's pixels go by output row segments [j_begin, j_end) of row (n, i).
  const int64_t unit_pixels = round_up(
      std::max(nr, std::min(kColumnBytes / ((R + Opad) * static_cast<int64_t>(sizeof(T))),
                            ceil_div(g.N * P, kPiecesPerThread * num_threads()))),
      nr);
  const View4<const T> xv = view4<const T>(x);
  const View4<T> yv = view4<T>(out);
  // Every panel of nr pixels lies inside one image, its pixels contiguous in y.
  const bool direct = yv.s3 == 1 && yv.s2 == g.Wo && P % nr == 0;
  const auto for_each_segment = [&](int64_t q0, int64_t q1, const auto& f) {
    for (int64_t q = q0; q < q1;) {
      const int64_t n = q / P, i = q % P / g.Wo, j = q % g.Wo, end = std::min(g.Wo, j + q1 - q);
      f(n, i, j, end, q - q0);
      q += end - j;
    }
  };
  // Row r = (c, a, b) of col, per group: where it sits in the B panels, and the output
  // columns j whose tap b lands inside the image: 0 <= j sw - pw + b dw < W.
  struct ColumnRow {
    int64_t c, a, shift, in0, in1;
    int64_t k0, k, len;  // its K block's start and length, and its k inside the block
  };
  const auto row_count = static_cast<size_t>(R);
  const std::span<ColumnRow> rows(scratch<ColumnRow>(Slot::call_input, R), row_count);
  for (int64_t r = 0; r < R; ++r) {
    const int64_t a = r % taps / g.kW, b = r % g.kW, shift = b * g.dw - g.pw;
    const int64_t in0 =
        std::clamp<int64_t>(ceil_div(std::max<int64_t>(-shift, 0), g.sw), 0, g.Wo);
    const int64_t in1 =
        std::clamp<int64_t>(g.W - shift > 0 ? ceil_div(g.W - shift, g.sw) : 0, in0, g.Wo);
    const KSplit::Block blk = split.block(r / split.chunk);
    rows[static_cast<size_t>(r)] = {r / taps, a, shift, in0, in1, blk.k0, r - blk.c0, blk.len()};
  }
  parallel_pieces(ceil_div(g.N * P, unit_pixels), [&](int64_t unit) {
    const int64_t q0 = unit * unit_pixels, q1 = std::min(g.N * P, q0 + unit_pixels);
    const int64_t Qpad = round_up(q1 - q0, nr);
    T* bp = scratch<T>(Slot::tile_b, R * Qpad);
    T* cbuf = scratch<T>(Slot::tile_output, Opad * Qpad);
    // Row r of col from the unit's pixel `at` on: its K block starts at bp + k0 Qpad, panels
    // of nr pixels, [len][nr] each, one after the other; the row is k inside each panel.
    const auto writer = [&](const ColumnRow& row, int64_t at) {
      return PanelWriter<T>{bp + row.k0 * Qpad + (at / nr * row.len + row.k) * nr, nr,
                            row.len * nr, at % nr};
    };
    for (int64_t grp = 0; grp < g.G; ++grp) {
      // col[r = (c, a, b), (n, i, j)] = x[n, c, i sh - ph + a dh, j sw - pw + b dw], or 0: one
      // walk over the unit's output-row segments fills every row r.
      for_each_segment(q0, q1, [&](int64_t n, int64_t i, int64_t j0, int64_t j1, int64_t at) {
        for (const ColumnRow& row : rows) {
          PanelWriter<T> lanes = writer(row, at);
          const int64_t h = i * g.sh - g.ph + row.a * g.dh;
          if (h < 0 || h >= g.H) {
            lanes.zeros(j1 - j0);
            continue;
          }
          const int64_t v0 = std::clamp(row.in0, j0, j1), v1 = std::clamp(row.in1, v0, j1);
          lanes.zeros(v0 - j0);
          if (v1 > v0)
            lanes.put(&xv(n, grp * Cg + row.c, h, v0 * g.sw + row.shift), g.sw * xv.s3, v1 - v0);
          lanes.zeros(j1 - v1);
        }
      });
      for (const ColumnRow& row : rows) writer(row, q1 - q0).finish();
      // Whole tiles of MR channels go straight into y when each panel of nr pixels is a run of
      // one image's contiguous pixels; the rest through cbuf.
      const int64_t direct_rows = direct ? Og / mr * mr : 0;
      const T* wg = weights + grp * Opad * R;
      for (int64_t b = 0; b < split.blocks(); ++b) {
        const KSplit::Block blk = split.block(b);
        // A panel of nr pixels stays in L1 while every tile of MR channels of w_g passes it.
        for (int64_t j0 = 0; j0 < Qpad; j0 += nr) {
          const int64_t q = q0 + j0;
          T* y_panel = direct ? &yv(q / P, grp * Og, 0, 0) + q % P : nullptr;
          const T* b_panel = bp + blk.k0 * Qpad + j0 * blk.len();
          for (int64_t o0 = 0; o0 < Opad; o0 += mr) {
            const bool in_y = o0 < direct_rows;
            T* c = in_y ? y_panel + o0 * yv.s1 : cbuf + o0 * Qpad + j0;
            tk.packed(blk.len(), wg + blk.k0 * Opad + o0 * blk.len(), b_panel, c,
                      in_y ? yv.s1 : Qpad, b > 0);
          }
        }
      }
      for (int64_t o = direct_rows; o < Og; ++o)
        for_each_segment(q0, q1, [&](int64_t n, int64_t i, int64_t j0, int64_t j1, int64_t at) {
          const T* src = cbuf + o * Qpad + at;
          T* dst = &yv(n, grp * Og + o, i, j0);
          if (yv.s3 == 1) {
            std::memcpy(dst, src, (j1 - j0) * sizeof(T));
          } else {
            for (int64_t j = j0; j < j1; ++j) dst[(j - j0) * yv.s3] = src[j - j0];
          }
        });
    }
    epilogue.apply(yv, g.O, g.Ho, g.Wo, q0, q1);
  });
}

template <typename T>
void conv2d_indirect(const Tensor& out, const Tensor& x, const Tensor& w, const Geometry& g,
                     const FusedEpilogue<T>& epilogue) {
  const int64_t Cg = g.Cg(), Og = g.Og(), taps = g.taps();
  const ConvTileKernels<T>& tk = tile_kernels<T>();
  const int64_t mr = tk.mr, nr = tk.nr;
  // The padded input covers every tap of every output pixel: row u = i sh + a dh.
  const int64_t Hp = (g.Ho - 1) * g.sh + (g.kH - 1) * g.dh + 1;
  const int64_t Wp = (g.Wo - 1) * g.sw + (g.kW - 1) * g.dw + 1;

  // The taps, their offsets in the padded input and the output rows and columns by class live
  // in the calling thread's reused vectors; workers read them through pointers (a thread_local
  // named inside the lambdas below would be each worker's own).
  static thread_local std::vector<Tap> tap_storage;
  static thread_local std::vector<int64_t> offset_storage;
  static thread_local AxisClasses row_storage, col_storage;
  tap_storage.clear();
  offset_storage.clear();
  for (int64_t a = 0; a < g.kH; ++a)
    for (int64_t b = 0; b < g.kW; ++b) {
      tap_storage.push_back({a, b, a, b});
      offset_storage.push_back((a * g.dh * Wp + b * g.dw) * g.C);
    }
  row_storage.build(g.Ho, g.kH, [&](int64_t i, int64_t a) {
    const int64_t h = i * g.sh - g.ph + a * g.dh;
    return h >= 0 && h < g.H;
  });
  col_storage.build(g.Wo, g.kW, [&](int64_t j, int64_t b) {
    const int64_t v = j * g.sw - g.pw + b * g.dw;
    return v >= 0 && v < g.W;
  });
  const AxisClasses &rows_by_class = row_storage, &cols_by_class = col_storage;

  // W' per group: K = (t, c), O / G columns, packed once.
  const KSplit split(taps, Cg);
  const PackedB pb{&split, Og, ceil_div(Og, nr), nr};
  const int64_t ldc = pb.panels * nr;
  T* weights = scratch<T>(Slot::call_weight, g.G * pb.total());
  const View4<const T> wv = view4<const T>(w);
  const Tap* tap_list = tap_storage.data();
  parallel_pieces(g.G * split.blocks(), [&](int64_t piece) {
    const int64_t grp = piece / split.blocks(), b = piece % split.blocks();
    const auto weight = [&](int64_t o, int64_t c, Tap t) { return wv(grp * Og + o, c, t.a, t.b); };
    pack_b_block<T>(pb, tap_list, b, weight, weights + grp * pb.total());
  });

  // Units of nb images, or bands of output rows of one image; a band of b rows reads the
  // padded rows [i0 sh, (i0 + b - 1) sh + (kH - 1) dh].
  const int64_t row_bytes = Wp * g.C * static_cast<int64_t>(sizeof(T));
  const auto rows_for = [&](int64_t b) { return (b - 1) * g.sh + (g.kH - 1) * g.dh + 1; };
  const Units units = make_units(g.N, g.Ho, kChunkPixels, g.pixels(), kTileInputBytes,
                                 Hp * row_bytes, row_bytes, rows_for,
                                 kPiecesPerThread * num_threads(), mr);
  const int64_t chunk_rows = round_up(
      std::clamp<int64_t>(kChunkBytes / (ldc * static_cast<int64_t>(sizeof(T))), mr, kChunkPixels),
      mr);
  const View4<const T> xv = view4<const T>(x);
  const View4<T> yv = view4<T>(out);
  const int64_t* tap_offset = offset_storage.data();

  parallel_pieces(units.count, [&](int64_t unit) {
    const int64_t n0 = units.images(unit), images = std::min(units.nb, g.N - n0);
    const int64_t i0 = units.first_row(unit), i1 = std::min(g.Ho, i0 + units.band);
    const int64_t Hb = rows_for(i1 - i0);  // padded rows of this unit, from i0 sh
    T* xp = scratch<T>(Slot::tile_input, images * Hb * Wp * g.C);
    to_channels_last(tk, xv, n0, images, g.C, g.H, g.W, i0 * g.sh - g.ph, Hb, -g.pw, Wp, xp);
    T* cbuf = scratch<T>(Slot::tile_output, chunk_rows * ldc);
    int64_t* origin = scratch<int64_t>(Slot::tile_rows, 2 * chunk_rows);
    int64_t* target = origin + chunk_rows;  // where each row of cbuf goes in y
    int64_t* segment = scratch<int64_t>(Slot::tile_offsets, 2 * taps);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const T* wg = weights + grp * pb.total();
      const IndirectProduct<T> ip{&tk, &split, pb, wg, tap_list, tap_offset};
      for (const AxisClass& row_class : rows_by_class.classes)
        for (const AxisClass& cc : cols_by_class.classes) {
          // The class's pixels in this unit, image by image: (n, rows of rc, columns of cc).
          const AxisClass rc = restrict_to(rows_by_class, row_class, i0, i1);
          const int64_t per_image = rc.size() * cc.size(), pixels = images * per_image;
          for (int64_t q0 = 0; q0 < pixels; q0 += chunk_rows) {
            const int64_t rows = std::min(chunk_rows, pixels - q0);
            // Pixel q = q0 + r is (image n, a-th row and b-th column of the classes), stepped
            // along instead of divided out per pixel.
            int64_t n = q0 / per_image, a = q0 % per_image / cc.size(), b = q0 % cc.size();
            for (int64_t r = 0; r < rows; ++r) {
              const int64_t i = rows_by_class.order[rc.begin + a];
              const int64_t j = cols_by_class.order[cc.begin + b];
              origin[r] = ((n * Hb + (i - i0) * g.sh) * Wp + j * g.sw) * g.C + grp * Cg;
              target[r] = (n0 + n) * yv.s0 + grp * Og * yv.s1 + i * yv.s2 + j * yv.s3;
              step_pixel(n, a, b, rc.size(), cc.size());
            }
            indirect_rows(ip, rc, cc, xp, origin, rows, cbuf, ldc, segment, segment + taps);
            scatter_rows(cbuf, ldc, rows, Og, target, yv.data, yv.s1);
          }
        }
    }
    // The unit wrote output rows [i0, i1) of images n0 ... (whole images when there are several).
    epilogue.apply(yv, g.O, g.Ho, g.Wo, n0 * g.pixels() + i0 * g.Wo,
                   (n0 + images - 1) * g.pixels() + i1 * g.Wo);
  });
}

template <typename T>
void conv2d_kernel(const Tensor& out, const Tensor& x, const Tensor& w,
                   const kernel::Conv2dParams& p) {
  if (out.numel() == 0) return;
  const Geometry g = geometry(x, out, w, p);
  const FusedEpilogue<T> epilogue(p.epilogue);
  if (g.Cg() * g.taps() == 0 || conv2d_dense<T>(out, x, w, g)) {
    if (g.Cg() * g.taps() == 0) fill_zero<T>(out);
    return epilogue.apply_all(view4<T>(out), g.N, g.O, g.Ho, g.Wo);
  }
  if (g.Cg() * g.taps() <= g.Og()) return conv2d_columns<T>(out, x, w, g, epilogue);
  conv2d_indirect<T>(out, x, w, g, epilogue);
}

}  // namespace

void conv2d(const Tensor& out, const Tensor& x, const Tensor& w, const kernel::Conv2dParams& p) {
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() { conv2d_kernel<T>(out, x, w, p); });
}

}  // namespace tg::cpu
