// conv_transpose2d on the cpu backend: conv2d's adjoint in its input, computed output by output
// (an indirect GEMM per stride phase), or through columns and col2im when it has few channels.
//
// With y [N, O, Ho, Wo] the input, w [O, C/G, kH, kW] and out [N, C, H, W] (conv.cpp's
// notation, image = out):
//   out[n, c, h, v] = sum over o, taps (a, b) and (i, j) with h = i sh - ph + a dh and
//                     v = j sw - pw + b dw of  w[o, c, a, b] * y[n, o, i, j].
// Output-stationary form. Tap a reaches row h iff a dh = h + ph (mod sh), and then from
// i = (h + ph) div sh - (a dh) div sh. So the rows of one phase rho = (h + ph) mod sh share one
// set of taps {a : a dh mod sh = rho}, each at a fixed row offset; the same holds for columns.
// Per phase (rho_h, rho_w) the output is then a conv2d-like indirect product
//   out^T[pixel, c] = sum_{taps of the phase, o} yp[origin(pixel) + off(t) + o] w'[(t, o), c]
// over a zero-padded channels-last copy yp of y (rows i from (ph div sh) - (kH - 1) dh div sh
// to (H - 1 + ph) div sh, so every tap of every output pixel lands inside it): no col2im, no
// read-modify-write of the output, each output element written once. Stride 2 with a 4 x 4
// kernel gives 4 phases of 2 x 2 taps; a phase without taps (a stride larger than the dilated
// kernel) is zero.
//
// With few output channels (C/G < NR / 2, e.g. a generator's last layer with C = 1 or 3) the
// columns of that product would be mostly padding. There the product runs the other way round,
//   col[(c, a, b), q] = sum_o w[o, c, a, b] y[n, o, q]     (M = C/G kH kW rows, N = pixels q)
// on gemm.h's packed tile (y read in place as its B panels when nr pixels are a contiguous run
// of one image), and col2im adds each row into a zero-padded output tile: for a fixed row and
// output row i, consecutive j land sw apart (a contiguous add at stride 1).
//
// A 1 x 1 input under a kernel that covers the whole output (a generator's first layer) is a
// plain product, out[n, (c, a, b)] = sum_o y[n, o] w[o, (c, a, b)], on cpu::gemm_strided.
//
// Blocking as in conv.cpp: units of whole images, or bands of output rows of one large image,
// whose padded copy of y stays within 768 KiB; output pixels grouped by border class so a tile
// leaves out the taps that read only padding (conv_indirect.h); K (taps x O) in KSplit blocks
// of at most 384; results in chunks of at most 256 KiB. The columns path takes units of whole
// images whose B block, MR-row strip of col and output tile fit 1 MiB (or one image). Results
// depend on the shape alone: each output element is one fixed FMA chain (indirect), or one
// fixed sequence of col2im additions in row order within its image (columns), whatever the
// thread count or the unit it lands in.
#include "backends/cpu/conv_epilogue.h"
#include "backends/cpu/conv_indirect.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/parallel.h"

namespace tg::cpu {

namespace {

using namespace conv;


// Output rows (or columns) of one phase: h = first + step * u for u < count.
struct PhaseAxis {
  int64_t first, count;
};
PhaseAxis phase_axis(int64_t rho, int64_t pad, int64_t stride, int64_t size) {
  const int64_t first = ((rho - pad) % stride + stride) % stride;
  return {first, first < size ? (size - 1 - first) / stride + 1 : 0};
}

struct Phase {
  PhaseAxis rows, cols;
  int64_t tap_begin;  // its taps (and their offsets) in the tap list
  KSplit split;
  int64_t weights;    // offset of its packed w' in a group's block
};

template <typename T>
void transpose_indirect(const Tensor& out, const Tensor& x, const Tensor& w, const Geometry& g,
                        const FusedEpilogue<T>& epilogue) {
  const ConvTileKernels<T>& tk = tile_kernels<T>();
  const int64_t mr = tk.mr, nr = tk.nr, Cg = g.Cg(), Og = g.Og();
  const int64_t panels = ceil_div(Cg, nr), ldc = panels * nr;
  // The padded channels-last y: rows i in [i_lo, i_lo + Hy), columns likewise; every tap of
  // every output pixel lands inside.
  const int64_t i_lo = g.ph / g.sh - (g.kH - 1) * g.dh / g.sh;
  const int64_t j_lo = g.pw / g.sw - (g.kW - 1) * g.dw / g.sw;
  const int64_t Hy = (g.H - 1 + g.ph) / g.sh - i_lo + 1, Wy = (g.W - 1 + g.pw) / g.sw - j_lo + 1;

  // The phases, their taps (with offsets in yp) and their output rows and columns by class
  // live in the calling thread's reused vectors; workers read them through pointers (a
  // thread_local named inside the lambdas below would be each worker's own).
  static thread_local std::vector<Tap> tap_storage;
  static thread_local std::vector<int64_t> offset_storage, row_taps, col_taps, piece_storage;
  static thread_local std::vector<Phase> phase_storage;
  static thread_local std::vector<AxisClasses> row_storage, col_storage;
  tap_storage.clear();
  offset_storage.clear();
  piece_storage.clear();
  phase_storage.clear();
  row_storage.resize(g.sh * g.sw);
  col_storage.resize(g.sh * g.sw);
  int64_t per_group = 0;
  for (int64_t rh = 0; rh < g.sh; ++rh) {
    row_taps.clear();
    for (int64_t a = 0; a < g.kH; ++a)
      if (a * g.dh % g.sh == rh) row_taps.push_back(a);
    for (int64_t rw = 0; rw < g.sw; ++rw) {
      col_taps.clear();
      for (int64_t b = 0; b < g.kW; ++b)
        if (b * g.dw % g.sw == rw) col_taps.push_back(b);
      const int64_t begin = static_cast<int64_t>(tap_storage.size());
      const auto th = static_cast<int64_t>(row_taps.size());
      const auto tw = static_cast<int64_t>(col_taps.size());
      for (int64_t ia = 0; ia < th; ++ia)
        for (int64_t ib = 0; ib < tw; ++ib) {
          const int64_t a = row_taps[ia], b = col_taps[ib];
          tap_storage.push_back({a, b, ia, ib});
          offset_storage.push_back(-(a * g.dh / g.sh * Wy + b * g.dw / g.sw) * g.O);
        }
      const Phase phase{phase_axis(rh, g.ph, g.sh, g.H), phase_axis(rw, g.pw, g.sw, g.W), begin,
                        KSplit(th * tw, Og), per_group};
      // Output row h = first + u sh gets tap a from y's row (h + ph) div sh - (a dh) div sh.
      const int64_t index = static_cast<int64_t>(phase_storage.size());
      row_storage[index].build(phase.rows.count, th, [&](int64_t u, int64_t ia) {
        const int64_t i = (phase.rows.first + u * g.sh + g.ph) / g.sh - row_taps[ia] * g.dh / g.sh;
        return i >= 0 && i < g.Ho;
      });
      col_storage[index].build(phase.cols.count, tw, [&](int64_t v, int64_t ib) {
        const int64_t j = (phase.cols.first + v * g.sw + g.pw) / g.sw - col_taps[ib] * g.dw / g.sw;
        return j >= 0 && j < g.Wo;
      });
      phase_storage.push_back(phase);
      per_group += phase.split.size() * ldc;
    }
  }
  const Tap* taps = tap_storage.data();
  const int64_t* tap_offset = offset_storage.data();
  const Phase* phases = phase_storage.data();
  const AxisClasses *row_classes = row_storage.data(), *col_classes = col_storage.data();
  const int64_t phase_count = static_cast<int64_t>(phase_storage.size());

  // w'[(t, o), c] = w[o, c, a, b] per group and phase.
  T* weights = scratch<T>(Slot::call_weight, g.G * per_group);
  const View4<const T> wv = view4<const T>(w);
  for (int64_t grp = 0; grp < g.G; ++grp)  // the pieces: (group, phase, block) triples
    for (int64_t ph = 0; ph < phase_count; ++ph)
      for (int64_t b = 0; b < phases[ph].split.blocks(); ++b)
        piece_storage.insert(piece_storage.end(), {grp, ph, b});
  const int64_t* block_index = piece_storage.data();
  parallel_pieces(static_cast<int64_t>(piece_storage.size()) / 3, [&](int64_t piece) {
    const int64_t grp = block_index[3 * piece], ph = block_index[3 * piece + 1];
    const Phase& phase = phases[ph];
    const PackedB pb{&phase.split, Cg, panels, nr};
    const auto weight = [&](int64_t c, int64_t o, Tap t) { return wv(grp * Og + o, c, t.a, t.b); };
    pack_b_block<T>(pb, taps + phase.tap_begin, block_index[3 * piece + 2], weight,
                    weights + grp * per_group + phase.weights);
  });

  // Units of nb images, or bands of output rows of one image; output rows [h0, h1) read y's
  // rows (h0 + ph) div sh - (kH - 1) dh div sh ... (h1 - 1 + ph) div sh.
  const int64_t reach = (g.kH - 1) * g.dh / g.sh;
  const int64_t row_bytes = Wy * g.O * static_cast<int64_t>(sizeof(T));
  const auto rows_for = [&](int64_t b) { return ceil_div(b, g.sh) + reach + 1; };
  const Units units = make_units(g.N, g.H, kChunkPixels, g.H * g.W, kTileInputBytes,
                                 Hy * row_bytes, row_bytes, rows_for,
                                 kPiecesPerThread * num_threads(), mr);
  const int64_t chunk_rows = round_up(
      std::clamp<int64_t>(kChunkBytes / (ldc * static_cast<int64_t>(sizeof(T))), mr, kChunkPixels),
      mr);
  const int64_t max_taps = g.taps();
  const View4<const T> xv = view4<const T>(x);
  const View4<T> ov = view4<T>(out);

  parallel_pieces(units.count, [&](int64_t unit) {
    const int64_t n0 = units.images(unit), images = std::min(units.nb, g.N - n0);
    const int64_t h0 = units.first_row(unit), h1 = std::min(g.H, h0 + units.band);
    const int64_t i0 = (h0 + g.ph) / g.sh - reach, Hb = (h1 - 1 + g.ph) / g.sh - i0 + 1;
    T* yp = scratch<T>(Slot::tile_input, images * Hb * Wy * g.O);
    to_channels_last(tk, xv, n0, images, g.O, g.Ho, g.Wo, i0, Hb, j_lo, Wy, yp);
    T* cbuf = scratch<T>(Slot::tile_output, chunk_rows * ldc);
    int64_t* origin = scratch<int64_t>(Slot::tile_rows, 2 * chunk_rows);
    int64_t* target = origin + chunk_rows;  // where each row of cbuf goes in out
    int64_t* segment = scratch<int64_t>(Slot::tile_offsets, 2 * max_taps);
    for (int64_t grp = 0; grp < g.G; ++grp)
      for (int64_t ph = 0; ph < phase_count; ++ph) {
        const Phase& phase = phases[ph];
        const AxisClasses &rows_by_class = row_classes[ph], &cols_by_class = col_classes[ph];
        const IndirectProduct<T> ip{&tk, &phase.split, PackedB{&phase.split, Cg, panels, nr},
                                    weights + grp * per_group + phase.weights,
                                    taps + phase.tap_begin, tap_offset + phase.tap_begin};
        // The phase's rows u (h = first + u sh) inside [h0, h1).
        const int64_t u0 = ceil_div(std::max<int64_t>(h0 - phase.rows.first, 0), g.sh);
        const int64_t u1 = ceil_div(std::max<int64_t>(h1 - phase.rows.first, 0), g.sh);
        for (const AxisClass& row_class : rows_by_class.classes)
          for (const AxisClass& cc : cols_by_class.classes) {
            const AxisClass rc = restrict_to(rows_by_class, row_class, u0, u1);
            const int64_t per_image = rc.size() * cc.size(), pixels = images * per_image;
            for (int64_t q0 = 0; q0 < pixels; q0 += chunk_rows) {
              const int64_t rows = std::min(chunk_rows, pixels - q0);
              // Pixel q = q0 + r is (image n, a-th row and b-th column of the classes), stepped
              // along instead of divided out per pixel; (h + ph) div sh = u + (first + ph) div sh
              // since h = first + u sh and first + ph >= 0.
              int64_t n = q0 / per_image, a = q0 % per_image / cc.size(), b = q0 % cc.size();
              const int64_t row0 = (phase.rows.first + g.ph) / g.sh - i0;
              const int64_t col0 = (phase.cols.first + g.pw) / g.sw - j_lo;
              for (int64_t r = 0; r < rows; ++r) {
                const int64_t u = rows_by_class.order[rc.begin + a];
                const int64_t v = cols_by_class.order[cc.begin + b];
                const int64_t h = phase.rows.first + u * g.sh, wc = phase.cols.first + v * g.sw;
                origin[r] = ((n * Hb + u + row0) * Wy + v + col0) * g.O + grp * Og;
                target[r] = (n0 + n) * ov.s0 + grp * Cg * ov.s1 + h * ov.s2 + wc * ov.s3;
                step_pixel(n, a, b, rc.size(), cc.size());
              }
              indirect_rows(ip, rc, cc, yp, origin, rows, cbuf, ldc, segment, segment + max_taps);
              scatter_rows(cbuf, ldc, rows, Cg, target, ov.data, ov.s1);
            }
          }
      }
    // The unit wrote rows [h0, h1) of images n0 ... (whole images when there are several).
    epilogue.apply(ov, g.C, g.H, g.W, n0 * g.H * g.W + h0 * g.W,
                   (n0 + images - 1) * g.H * g.W + h1 * g.W);
  });
}

template <typename T>
void transpose_columns(const Tensor& out, const Tensor& x, const Tensor& w, const Geometry& g,
                       const FusedEpilogue<T>& epilogue) {
  const ConvTileKernels<T>& tk = tile_kernels<T>();
  const int64_t mr = tk.mr, nr = tk.nr, Cg = g.Cg(), Og = g.Og(), taps = g.taps(), P = g.pixels();
  const int64_t R = Cg * taps, Rpad = round_up(R, mr);
  // A = w_g^T [R x O/G] in gemm.h's A panels, K (= o) in blocks of at most KC.
  const KSplit split(1, Og);
  T* weights = scratch<T>(Slot::call_weight, g.G * Rpad * Og);
  const View4<const T> wv = view4<const T>(w);
  parallel_pieces(g.G * split.blocks(), [&](int64_t piece) {
    const int64_t grp = piece / split.blocks();
    const KSplit::Block blk = split.block(piece % split.blocks());
    T* dst = weights + grp * Rpad * Og + blk.k0 * Rpad;
    for (int64_t r0 = 0; r0 < Rpad; r0 += mr)
      for (int64_t k = 0; k < blk.len(); ++k)
        for (int64_t r = r0; r < r0 + mr; ++r)
          dst[r0 * blk.len() + k * mr + r - r0] =
              r < R ? wv(grp * Og + blk.c0 + k, r / taps, r % taps / g.kW, r % g.kW) : T(0);
  });

  // The output tile col2im adds into: rows u = i sh + a dh of the image row h = u - ph.
  const int64_t Hp = (g.Ho - 1) * g.sh + (g.kH - 1) * g.dh + 1;
  const int64_t Wp = (g.Wo - 1) * g.sw + (g.kW - 1) * g.dw + 1;
  // Units of nb images: B (O/G x pixels), a strip of col (MR x pixels) and the output tile
  // within kColumnBytes, or one image.
  const int64_t image_bytes =
      ((Og + mr) * round_up(P, nr) + Cg * Hp * Wp) * static_cast<int64_t>(sizeof(T));
  const int64_t nb = std::clamp<int64_t>(
      std::min(kColumnBytes / image_bytes, ceil_div(g.N, kPiecesPerThread * num_threads())), 1,
      g.N);
  const View4<const T> xv = view4<const T>(x);
  const View4<T> ov = view4<T>(out);
  // When each panel of nr pixels is a run of one image's contiguous pixels, y already has the
  // panels' shape (channel o's run at y + o s1) and is read in place.
  const bool in_place = xv.s3 == 1 && xv.s2 == g.Wo && P % nr == 0;

  parallel_pieces(ceil_div(g.N, nb), [&](int64_t unit) {
    const int64_t n0 = unit * nb, images = std::min(nb, g.N - n0), Q = images * P;
    const int64_t Qpad = round_up(Q, nr);
    T* bp = in_place ? nullptr : scratch<T>(Slot::tile_b, Og * Qpad);
    int64_t* channel_rows = scratch<int64_t>(Slot::tile_rows, split.chunk);  // k s1, in place
    for (int64_t k = 0; k < split.chunk; ++k) channel_rows[k] = k * xv.s1;
    T* col = scratch<T>(Slot::tile_a, mr * Qpad);
    T* op = scratch<T>(Slot::tile_output, images * Cg * Hp * Wp);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      // B = y_g [O/G x Q] in B panels, block after block: pixel q of the unit is lane q % nr
      // of panel q / nr, copied a run of an output row at a time.
      for (int64_t b = 0; b < split.blocks() && !in_place; ++b) {
        const KSplit::Block blk = split.block(b);
        for (int64_t k = 0; k < blk.len(); ++k) {
          PanelWriter<T> lanes{bp + blk.k0 * Qpad + k * nr, nr, blk.len() * nr};
          for (int64_t n = 0; n < images; ++n)
            for (int64_t i = 0; i < g.Ho; ++i)
              lanes.put(&xv(n0 + n, grp * Og + blk.c0 + k, i, 0), xv.s3, g.Wo);
          lanes.finish();
        }
      }
      std::fill(op, op + images * Cg * Hp * Wp, T(0));
      const T* wg = weights + grp * Rpad * Og;
      for (int64_t r0 = 0; r0 < R; r0 += mr) {
        for (int64_t j0 = 0; j0 < Qpad; j0 += nr)
          for (int64_t b = 0; b < split.blocks(); ++b) {
            const KSplit::Block blk = split.block(b);
            const T* a = wg + blk.k0 * Rpad + r0 * blk.len();
            if (in_place) {
              tk.packed_rows(blk.len(), a, &xv(n0 + j0 / P, grp * Og + blk.c0, 0, j0 % P),
                             channel_rows, col + j0, Qpad, b > 0);
            } else {
              tk.packed(blk.len(), a, bp + blk.k0 * Qpad + j0 * blk.len(), col + j0, Qpad, b > 0);
            }
          }
        // col2im: row (c, a, b) of the strip adds into channel c at offset (a dh, b dw).
        for (int64_t r = r0; r < std::min(R, r0 + mr); ++r) {
          const int64_t c = r / taps, a = r % taps / g.kW, bb = r % g.kW;
          const T* src = col + (r - r0) * Qpad;
          for (int64_t n = 0; n < images; ++n)
            for (int64_t i = 0; i < g.Ho; ++i) {
              T* dst = op + ((n * Cg + c) * Hp + i * g.sh + a * g.dh) * Wp + bb * g.dw;
              const T* s = src + n * P + i * g.Wo;
              if (g.sw == 1) {
                for (int64_t j = 0; j < g.Wo; ++j) dst[j] += s[j];
              } else {
                for (int64_t j = 0; j < g.Wo; ++j) dst[j * g.sw] += s[j];
              }
            }
        }
      }
      // out[h, v] = tile[h + ph, v + pw]; rows and columns past the tile got no contribution.
      const int64_t width = std::clamp<int64_t>(Wp - g.pw, 0, g.W);
      for (int64_t n = 0; n < images; ++n)
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t h = 0; h < g.H; ++h) {
            T* dst = &ov(n0 + n, grp * Cg + c, h, 0);
            const int64_t u = h + g.ph, valid = u < Hp ? width : 0;
            const T* src = op + ((n * Cg + c) * Hp + u) * Wp + g.pw;
            for (int64_t v = 0; v < valid; ++v) dst[v * ov.s3] = src[v];
            for (int64_t v = valid; v < g.W; ++v) dst[v * ov.s3] = T(0);
          }
    }
    epilogue.apply(ov, g.C, g.H, g.W, n0 * g.H * g.W, (n0 + images) * g.H * g.W);
  });
}

// is_dense (conv_common.h): out[n, r] = sum_o x[n, o] w[o, r] per group. False when out or w
// does not flatten.
template <typename T>
bool transpose_dense(const Tensor& out, const Tensor& x, const Tensor& w, const Geometry& g) {
  const int64_t os = flat_stride(out), ws = flat_stride(w);
  if (!is_dense(g) || os < 0 || ws < 0) return false;
  const T* xd = static_cast<const T*>(x.raw_data());
  const T* wd = static_cast<const T*>(w.raw_data());
  T* od = static_cast<T*>(out.raw_data());
  const int64_t Og = g.Og();
  for (int64_t grp = 0; grp < g.G; ++grp)
    gemm_strided(g.N, g.Cg() * g.taps(), Og, T(1), xd + grp * Og * x.stride(1), x.stride(0),
                 x.stride(1), wd + grp * Og * w.stride(0), w.stride(0), ws, T(0),
                 od + grp * g.Cg() * out.stride(1), out.stride(0), os);
  return true;
}

template <typename T>
void conv_transpose2d_kernel(const Tensor& out, const Tensor& x, const Tensor& w,
                             const kernel::Conv2dParams& p) {
  if (out.numel() == 0) return;
  const Geometry g = geometry(out, x, w, p);  // out is the image, x the conv2d output
  const FusedEpilogue<T> epilogue(p.epilogue);
  const bool empty_sum = g.Og() * g.taps() == 0 || g.pixels() == 0;
  if (empty_sum || transpose_dense<T>(out, x, w, g)) {
    if (empty_sum) fill_zero<T>(out);
    return epilogue.apply_all(view4<T>(out), g.N, g.C, g.H, g.W);
  }
  if (2 * g.Cg() < tile_kernels<T>().nr) return transpose_columns<T>(out, x, w, g, epilogue);
  transpose_indirect<T>(out, x, w, g, epilogue);
}

}  // namespace

void conv_transpose2d(const Tensor& out, const Tensor& x, const Tensor& w,
                      const kernel::Conv2dParams& p) {
  dispatch_floating(x.dtype(), "conv_transpose2d",
                    [&]<typename T>() { conv_transpose2d_kernel<T>(out, x, w, p); });
}

}  // namespace tg::cpu
