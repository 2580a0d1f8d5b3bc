// The indirect product that conv2d (conv.cpp) and conv_transpose2d (conv_transpose.cpp) run on
// a unit of images: output pixels grouped into classes that see the same kernel taps inside the
// input, and per class C^T = sum over its taps of (channels-last input rows) x (packed weight).
//
// Near a border some taps read only padding. A tile of MR pixels can leave a tap out only if it
// is padding for all of them, so pixels are grouped by class: along each axis, positions whose
// in-range taps form the same range [lo, hi) of that axis's taps (interior positions share the
// full range; each border position has its own). A class is a (row class, column class) pair,
// and its tiles skip every other tap: 4 x 4 outputs of a 4 x 4 kernel at stride 2 do 9/16,
// 12/16 or all 16 taps instead of 16 everywhere, and a 1 x 1 input upsampled to 4 x 4 (a
// generator's first layer) does the one tap each output pixel has instead of all 16.
#pragma once

#include "backends/cpu/conv_common.h"

namespace tg::cpu::conv {

// Positions order[begin, end) of one axis all have the in-range taps [lo, hi) of that axis.
struct AxisClass {
  int64_t lo, hi, begin, end;
  int64_t size() const { return end - begin; }
};

// The positions of one axis (output rows or columns), class after class in order of first
// appearance. Reused from call to call (clear() keeps the capacity).
struct AxisClasses {
  std::vector<AxisClass> classes;
  std::vector<int64_t> order;
  std::vector<AxisClass> ranges;  // per position, while building

  // in_range(position, tap) for tap < taps; the in-range taps of a position are contiguous
  // (the input coordinate is monotonic in the tap index).
  template <class InRange>
  void build(int64_t positions, int64_t taps, const InRange& in_range) {
    classes.clear();
    order.clear();
    ranges.clear();
    for (int64_t pos = 0; pos < positions; ++pos) {
      int64_t lo = 0, hi = 0;
      for (int64_t t = 0; t < taps; ++t)
        if (in_range(pos, t)) {
          if (hi == 0) lo = t;
          hi = t + 1;
        }
      ranges.push_back({lo, hi, pos, pos + 1});
    }
    for (int64_t pos = 0; pos < positions; ++pos) {
      const AxisClass& r = ranges[pos];
      bool seen = false;
      for (const AxisClass& c : classes) seen = seen || (c.lo == r.lo && c.hi == r.hi);
      if (seen) continue;
      const int64_t begin = static_cast<int64_t>(order.size());
      for (int64_t q = pos; q < positions; ++q)
        if (ranges[q].lo == r.lo && ranges[q].hi == r.hi) order.push_back(q);
      classes.push_back({r.lo, r.hi, begin, static_cast<int64_t>(order.size())});
    }
  }
};

// The positions of class c inside [lo, hi) (a class lists its positions in increasing order).
inline AxisClass restrict_to(const AxisClasses& axis, const AxisClass& c, int64_t lo, int64_t hi) {
  const auto first = axis.order.begin();
  const auto b = std::lower_bound(first + c.begin, first + c.end, lo);
  const auto e = std::lower_bound(b, first + c.end, hi);
  return {c.lo, c.hi, b - first, e - first};
}

// The next pixel of a class's pixels in a unit, taken image by image, row by row: (image n,
// a-th of its `rows` rows, b-th of its `cols` columns).
inline void step_pixel(int64_t& n, int64_t& a, int64_t& b, int64_t rows, int64_t cols) {
  if (++b < cols) return;
  b = 0;
  if (++a < rows) return;
  a = 0;
  ++n;
}

// How the output is cut into units of work: nb whole images at a time while one image's padded
// input copy fits the budget; otherwise one image at a time, in bands of `band` output rows.
// nb is a multiple of MR when it can be: a border class holds nb x (its rows x columns) pixels
// per unit, often nb x 1 x 1, so its tiles of MR pixels come out full.
struct Units {
  int64_t nb, band, bands, count;
  int64_t images(int64_t unit) const { return unit / bands * nb; }  // first image
  int64_t first_row(int64_t unit) const { return unit % bands * band; }
};

// input_row_bytes: bytes of padded input per output row; whole_bytes: one image's padded input.
// rows_for(b) gives the padded input rows that b output rows need.
template <class RowsFor>
Units make_units(int64_t N, int64_t rows, int64_t pixels_target, int64_t pixels_per_image,
                 int64_t budget, int64_t whole_bytes, int64_t row_bytes, const RowsFor& rows_for,
                 int64_t per_thread_units, int64_t mr) {
  if (whole_bytes <= budget) {
    int64_t nb = std::clamp<int64_t>(
        std::min({ceil_div(pixels_target, pixels_per_image),
                  budget / std::max<int64_t>(whole_bytes, 1), ceil_div(N, per_thread_units)}),
        1, N);
    if (nb >= mr) nb = nb / mr * mr;
    return {nb, rows, 1, ceil_div(N, nb)};
  }
  int64_t band = rows;
  while (band > 1 && rows_for(band) * row_bytes > budget) band = (band + 1) / 2;
  return {1, band, ceil_div(rows, band), N * ceil_div(rows, band)};
}

// What every tile of one product shares: the packed weight (B), its K blocks over the tap list,
// and each tap's offset from a pixel's origin in the channels-last input.
template <typename T>
struct IndirectProduct {
  const ConvTileKernels<T>* tk;
  const KSplit* split;
  PackedB pb;
  const T* weights;
  const Tap* taps;            // tap t has indices (ia, ib) in the two axes' tap lists
  const int64_t* tap_offset;  // per tap
};

// C[0:rows, 0:ldc] = the product for `rows` pixels of one class (row class rc, column class
// cc), pixel r's channels-last vectors at src + origin[r] + tap_offset[t]. a_off and b_off
// hold one entry per tap. K blocks in their fixed order; the first block with a tap in range
// writes C, the later ones add to it; a class with no tap in range gets zeros.
template <typename T>
void indirect_rows(const IndirectProduct<T>& ip, const AxisClass& rc, const AxisClass& cc,
                   const T* src, const int64_t* origin, int64_t rows, T* c, int64_t ldc,
                   int64_t* a_off, int64_t* b_off) {
  constexpr int kMaxMR = 16;
  const int64_t mr = ip.tk->mr, nr = ip.tk->nr;
  bool first = true;
  for (int64_t b = 0; b < ip.split->blocks(); ++b) {
    const KSplit::Block blk = ip.split->block(b);
    int64_t segments = 0;
    for (int64_t s = 0; s < blk.segments(); ++s) {
      const Tap& t = ip.taps[blk.t0 + s];
      if (t.ia < rc.lo || t.ia >= rc.hi || t.ib < cc.lo || t.ib >= cc.hi) continue;
      a_off[segments] = ip.tap_offset[blk.t0 + s] + blk.c0;
      b_off[segments] = s * blk.len() * nr;
      ++segments;
    }
    if (segments == 0) continue;
    for (int64_t r0 = 0; r0 < rows; r0 += mr) {
      const T* row_ptrs[kMaxMR];
      for (int64_t r = 0; r < mr; ++r) row_ptrs[r] = src + origin[std::min(r0 + r, rows - 1)];
      for (int64_t jr = 0; jr < ip.pb.panels; ++jr)
        ip.tk->indirect(segments, blk.len(), row_ptrs, a_off, b_off,
                        ip.weights + ip.pb.offset(b, jr), c + r0 * ldc + jr * nr, ldc, !first);
    }
    first = false;
  }
  if (first) std::fill(c, c + round_up(rows, mr) * ldc, T(0));
}

}  // namespace tg::cpu::conv
