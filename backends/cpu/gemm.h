// Single-threaded GEMM, C = alpha A B + beta C, packed, cache-blocked and register-tiled,
// templated on the xsimd architecture (instantiated by backends/cpu/arch/*.cpp; gemm.cpp
// cuts C into units for the threads and calls this once per unit).
//
// The loops around the micro-kernel (Goto / BLIS, with the caches' roles set for packing
// cost: the slow-to-pack operand, a row-major A, is packed once):
//
//   for ic in M step MC                       A block: MC x KC, packed once per (ic, pc)
//     for pc in K step KC                     (K is never split among threads)
//       pack A[ic:+MC, pc:+KC] -> Ap          panels of MR rows, [k][MR] inside a panel
//       for jc in N step NC                   B block: KC x NC, lives in the core's L2
//         pack B[pc:+KC, jc:+NC] -> Bp        panels of NR columns, [k][NR] inside a panel
//         for ir in MC step MR                A micro-panel (MR x KC) stays in L1 ...
//           for jr in NC step NR              ... while B micro-panels stream from L2
//             micro-kernel: C[ir:+MR, jr:+NR] = alpha Ap-panel x Bp-panel + beta C
//
// The micro-kernel keeps an MR x NR tile of C in MR * NV vector registers (NR = NV vectors):
// per k it loads NV vectors of the B panel, broadcasts MR scalars of the A panel and issues
// MR * NV independent FMAs. Packing reads any strides (a transpose is a stride swap, never a
// copy of the operand) and zero-pads the edges, so the micro-kernel always runs full tiles;
// edge tiles of C go through a small buffer and get the very same arithmetic.
//
// Blocking, for this project's machine (AMD Zen 5: 32 zmm registers, 2 FMA pipes of 4-cycle
// latency, L1d 48 KiB and L2 1 MiB per core, L3 32 MiB shared):
//   * MR x NR, registers. The FMA pipes need >= 2 x 4 = 8 independent accumulators in flight;
//     more accumulators amortise the loads. With 32 registers: MR = 6, NV = 4 (6 x 64 floats)
//     uses 24 accumulators + 4 B vectors + 1 broadcast = 29 registers, 24 FMAs per 4 loads and
//     6 broadcasts, and streams B from L2 at MR / 2 = 3 flop per byte. NR = 64 makes every
//     power-of-two channel count >= 64 (DCGAN's 64 ... 512) whole tiles: 8 x 48 measured the
//     same on square products but 35% slower on DCGAN's first layer (N = 64, K = 16), where
//     a third of each tile was padding; 12-14 x 2 vectors were within noise. With 16 registers
//     (AVX2): 6 x 2 vectors = 12 accumulators + 2 + 1. Without FMA (SSE2, where a multiply-add
//     needs a temporary): 4 x 2 vectors.
//   * KC = 384, L1. The A micro-panel, MR x KC = 6 x 384 x 4 B = 9 KiB, stays in L1 while
//     NC / NR B micro-panels stream past it; a larger KC also means fewer passes over C, which
//     is read and written once per KC block. K is cut into equal blocks of at most KC.
//   * NC, L2. The packed B block, KC x NC, takes half the private L2: NC = 512 KiB / (KC x
//     sizeof(T)) rounded down to NR (320 floats, 160 doubles); the other half holds the A
//     micro-panels and C lines passing through.
//   * MC = 1008, L3. The packed A block (1008 x 384 x 4 B = 1.5 MiB) sits in L3; each of its
//     micro-panels is read from there once per B block. Packing A (a transposing gather when
//     A is row-major) happens once per (ic, pc); only the cheap B copy repeats, M / MC times.
// float64 halves the lanes and keeps the byte budgets: KC = 384, NC = 160.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "backends/cpu/isa.h"

namespace tg::cpu::simd {

// Calls f.template operator()<I>() for I in [Begin, End): loops over registers must be fully
// unrolled so the accumulators stay in registers.
template <int Begin, int End, class F>
[[gnu::always_inline]] inline void unroll(F&& f) {
  if constexpr (Begin < End) {
    f.template operator()<Begin>();
    unroll<Begin + 1, End>(f);
  }
}

template <class Arch, class T>
struct GemmBlocking {
  using batch = xsimd::batch<T, Arch>;
  static constexpr int W = static_cast<int>(batch::size);
  static constexpr bool kWide = Arch::alignment() >= 64;        // 32 vector registers (AVX-512)
  static constexpr bool kNativeFma = Arch::alignment() >= 32;   // AVX2+FMA, AVX-512
  static constexpr int MR = kWide || kNativeFma ? 6 : 4;
  static constexpr int NV = kWide ? 4 : 2;
  static constexpr int NR = NV * W;
  static constexpr int64_t KC = 384;
  static constexpr int64_t NC = (int64_t{512} << 10) / (KC * int64_t{sizeof(T)}) / NR * NR;
  static constexpr int64_t MC = 1008;  // a multiple of every MR above
};

// A 64-byte aligned scratch buffer that only grows (one per thread and instantiation; every
// template here takes Arch so no two ISA units share a symbol).
template <class Arch, class T>
struct PackBuffer {
  T* data = nullptr;
  size_t capacity = 0;
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { std::free(data); }
  T* reserve(size_t n) {
    if (n > capacity) {
      std::free(data);
      data = static_cast<T*>(std::aligned_alloc(64, (n * sizeof(T) + 63) / 64 * 64));
      if (!data) throw std::bad_alloc();
      capacity = n;
    }
    return data;
  }
};

// One register of W lanes as a GCC vector, for __builtin_shufflevector's two-input shuffles.
template <class T, int W>
struct LaneVector {
  typedef T type __attribute__((vector_size(W * sizeof(T))));
};

// The transpose in log2(W) rounds: round H swaps the off-diagonal H x H blocks of every 2H x 2H
// block, pairing rows i and i + H (lane l of the pair's new rows comes from a's or b's lanes
// l +- H), W log2(W) two-input shuffles in all (64 vpermt2ps for 16 x 16 floats).
template <int W, int H, class V, int... L>
[[gnu::always_inline]] inline V low_blocks(V a, V b, std::integer_sequence<int, L...>) {
  return __builtin_shufflevector(a, b, ((L & H) == 0 ? L : W + L - H)...);
}
template <int W, int H, class V, int... L>
[[gnu::always_inline]] inline V high_blocks(V a, V b, std::integer_sequence<int, L...>) {
  return __builtin_shufflevector(a, b, ((L & H) == 0 ? L + H : W + L)...);
}
template <int W, int H, class V>
[[gnu::always_inline]] inline void transpose_rounds(V* r) {
  if constexpr (H >= 1) {
    unroll<0, W>([&]<int i>() {
      if constexpr ((i & H) == 0) {
        const V a = r[i], b = r[i + H];
        r[i] = low_blocks<W, H>(a, b, std::make_integer_sequence<int, W>());
        r[i + H] = high_blocks<W, H>(a, b, std::make_integer_sequence<int, W>());
      }
    });
    transpose_rounds<W, H / 2>(r);
  }
}

// dst[i][j] = src[j][i] for a W x W tile (W = one register's lanes): rows in, columns out.
template <class Arch, class T>
void transpose_tile(const T* const* src, T* const* dst) {
  constexpr int W = GemmBlocking<Arch, T>::W;
  using V = typename LaneVector<T, W>::type;
  V r[W];
  unroll<0, W>([&]<int i>() { std::memcpy(&r[i], src[i], sizeof(V)); });
  transpose_rounds<W, W / 2>(r);
  unroll<0, W>([&]<int i>() { std::memcpy(dst[i], &r[i], sizeof(V)); });
}

// A[0:mc, 0:kc] -> panels of MR rows; inside a panel, element (r, k) at [k * MR + r]. Rows past
// mc are zero.
template <class Arch, class T>
void pack_a(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst) {
  constexpr int MR = GemmBlocking<Arch, T>::MR;
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {
    const int64_t m = mc - i < MR ? mc - i : MR;
    const T* src = a + i * rs;
    if (m == MR && rs == 1) {  // column-major A (a transposed operand): MR-runs are contiguous
      for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * MR, src + k * cs, MR * sizeof(T));
    } else if (m == MR) {
      for (int64_t k = 0; k < kc; ++k)
        unroll<0, MR>([&]<int r>() { dst[k * MR + r] = src[r * rs + k * cs]; });
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < m ? src[r * rs + k * cs] : T(0);
    }
  }
}

// B[0:kc, 0:nc] -> panels of NR columns; inside a panel, element (k, c) at [k * NR + c].
// Columns past nc are zero.
template <class Arch, class T>
void pack_b(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T* dst) {
  constexpr int NR = GemmBlocking<Arch, T>::NR;
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {
    const int64_t n = nc - j < NR ? nc - j : NR;
    const T* src = b + j * cs;
    if (n == NR && cs == 1) {  // row-major B: NR-runs are contiguous
      for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, src + k * rs, NR * sizeof(T));
    } else if (n == NR && rs == 1) {
      // Column-major B (a transposed operand, linear's weight.t()): W x W register transposes,
      // W columns' contiguous runs of k in, W packed rows out; the k tail element by element.
      constexpr int W = GemmBlocking<Arch, T>::W;
      int64_t k0 = 0;
      for (; k0 + W <= kc; k0 += W)
        for (int c0 = 0; c0 < NR; c0 += W) {
          const T* in[W];
          T* out[W];
          for (int i = 0; i < W; ++i) {
            in[i] = src + (c0 + i) * cs + k0;
            out[i] = dst + (k0 + i) * NR + c0;
          }
          transpose_tile<Arch, T>(in, out);
        }
      for (int c = 0; c < NR; ++c)
        for (int64_t k = k0; k < kc; ++k) dst[k * NR + c] = src[c * cs + k];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int c = 0; c < NR; ++c) dst[k * NR + c] = c < n ? src[k * rs + c * cs] : T(0);
    }
  }
}

// C tile (MR x NR, row stride rs_c, unit column stride) = alpha * Ap Bp + beta * C, where
// read_c == false means beta == 0 and C is not read (so NaN / garbage in C never leaks in).
template <class Arch, class T>
void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t rs_c,
                  T alpha, T beta, bool read_c) {
  using G = GemmBlocking<Arch, T>;
  using batch = typename G::batch;
  constexpr int MR = G::MR, NV = G::NV, NR = G::NR, W = G::W;
  batch acc[MR][NV];
  unroll<0, MR>([&]<int r>() {
    __builtin_prefetch(c + r * rs_c, 1);
    unroll<0, NV>([&]<int v>() { acc[r][v] = batch(T(0)); });
  });
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    batch bv[NV];
    unroll<0, NV>([&]<int v>() { bv[v] = batch::load_aligned(b + v * W); });
    unroll<0, MR>([&]<int r>() {
      const batch av(a[r]);
      unroll<0, NV>([&]<int v>() { acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]); });
    });
  }
  const batch va(alpha), vb(beta);
  unroll<0, MR>([&]<int r>() {
    unroll<0, NV>([&]<int v>() {
      T* p = c + r * rs_c + v * W;
      const batch out =
          read_c ? xsimd::fma(va, acc[r][v], vb * batch::load_unaligned(p)) : va * acc[r][v];
      out.store_unaligned(p);
    });
  });
}

// A partial tile, or one with a non-unit column stride: through an MR x NR buffer so the
// arithmetic is the micro-kernel's, element for element.
template <class Arch, class T>
void edge_kernel(int64_t m, int64_t n, int64_t kc, const T* a, const T* b, T* c, int64_t rs_c,
                 int64_t cs_c, T alpha, T beta, bool read_c) {
  using G = GemmBlocking<Arch, T>;
  alignas(64) T tile[G::MR * G::NR];
  for (int64_t r = 0; r < G::MR; ++r)
    for (int64_t j = 0; j < G::NR; ++j)
      tile[r * G::NR + j] = read_c && r < m && j < n ? c[r * rs_c + j * cs_c] : T(0);
  micro_kernel<Arch, T>(kc, a, b, tile, G::NR, alpha, beta, read_c);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) c[r * rs_c + j * cs_c] = tile[r * G::NR + j];
}

// C = beta * C (K == 0 or alpha == 0: A and B are not read, as in BLAS).
template <class Arch, class T>
void scale_c(const GemmProblem<T>& p) {
  for (int64_t i = 0; i < p.M; ++i)
    for (int64_t j = 0; j < p.N; ++j) {
      T& x = p.c[i * p.rs_c + j * p.cs_c];
      x = p.beta == T(0) ? T(0) : p.beta * x;
    }
}

// The share of an MR x NR tiling of an M x N product that is real work, not padding.
template <class Arch, class T>
double tile_use(int64_t M, int64_t N) {
  using G = GemmBlocking<Arch, T>;
  const auto use = [](int64_t x, int64_t t) {
    return static_cast<double>(x) / static_cast<double>((x + t - 1) / t * t);
  };
  return use(M, G::MR) * use(N, G::NR);
}

// A product with few columns (N = 1 in a critic's last layer, N = 20 in a VAE's latent layer)
// fills a 6 x 64 tile badly: it runs as C^T = B^T A^T instead, with the roles of M and N
// swapped (only strides change). Each element of C is still the same FMA chain over k in the
// same order, so the result is bitwise the same either way. The 1.25 margin pays for the
// swapped C going through edge_kernel's buffer (its column stride is not 1).
template <class Arch, class T>
bool gemm_swaps(int64_t M, int64_t N) {
  return tile_use<Arch, T>(N, M) > 1.25 * tile_use<Arch, T>(M, N);
}

// K in equal blocks of at most KC (K = 512 runs as 256 + 256, not 384 + 128): fixed by K
// alone, so every element of C sees the same sequence of FMAs however C is split.
template <class Arch, class T>
int64_t k_step(int64_t K) {
  using G = GemmBlocking<Arch, T>;
  const int64_t k_blocks = (K + G::KC - 1) / G::KC;
  return (K + k_blocks - 1) / k_blocks;
}

// A packed whole (every K block, rows padded to MR), for products whose M fits one MC block
// and whose threads share it (gemm.cpp): K block b starts at b * Mpad * k_step, and its panel
// of rows [i, i + MR) at i * kc further, as pack_a lays one block out.
template <class Arch, class T>
int64_t packed_a_size(int64_t M, int64_t K) {
  using G = GemmBlocking<Arch, T>;
  const int64_t step = k_step<Arch, T>(K);
  return (M + G::MR - 1) / G::MR * G::MR * ((K + step - 1) / step) * step;
}

// Packs the panels [panel0, panel1) of A (rows panel0 MR ...) into that layout at dst.
template <class Arch, class T>
void gemm_pack_a(const GemmProblem<T>& p, int64_t panel0, int64_t panel1, T* dst) {
  using G = GemmBlocking<Arch, T>;
  const int64_t step = k_step<Arch, T>(p.K), Mpad = (p.M + G::MR - 1) / G::MR * G::MR;
  const int64_t i0 = panel0 * G::MR, i1 = std::min(p.M, panel1 * G::MR);
  if (i1 <= i0) return;
  for (int64_t pc = 0, b = 0; pc < p.K; pc += step, ++b) {
    const int64_t kc = std::min(step, p.K - pc);
    pack_a<Arch, T>(i1 - i0, kc, p.a + i0 * p.rs_a + pc * p.cs_a, p.rs_a, p.cs_a,
                    dst + b * Mpad * step + i0 * kc);
  }
}

// The two inner loops: rows [ic, ic + mc) of C times the packed B block of columns
// [jc, jc + nc), for one K block of kc, A's rows packed at ap and B's panels at bp.
template <class Arch, class T>
void macro_kernel(const GemmProblem<T>& p, int64_t ic, int64_t mc, int64_t jc, int64_t nc,
                  int64_t kc, const T* ap, const T* bp, T beta, bool read_c) {
  using G = GemmBlocking<Arch, T>;
  for (int64_t ir = 0; ir < mc; ir += G::MR) {
    const int64_t m = mc - ir < G::MR ? mc - ir : G::MR;
    for (int64_t jr = 0; jr < nc; jr += G::NR) {
      const int64_t n = nc - jr < G::NR ? nc - jr : G::NR;
      T* c = p.c + (ic + ir) * p.rs_c + (jc + jr) * p.cs_c;
      const T* a_panel = ap + ir * kc;
      const T* b_panel = bp + jr * kc;
      if (m == G::MR && n == G::NR && p.cs_c == 1) {
        micro_kernel<Arch, T>(kc, a_panel, b_panel, c, p.rs_c, p.alpha, beta, read_c);
      } else {
        edge_kernel<Arch, T>(m, n, kc, a_panel, b_panel, c, p.rs_c, p.cs_c, p.alpha, beta, read_c);
      }
    }
  }
}

// The blocked product; A comes packed whole (gemm_pack_a) when `packed` is given (then
// p.M <= MC), and is packed here block by block otherwise.
template <class Arch, class T>
void gemm_blocks(const GemmProblem<T>& p, const T* packed) {
  using G = GemmBlocking<Arch, T>;
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K <= 0 || p.alpha == T(0)) return scale_c<Arch, T>(p);
  static thread_local PackBuffer<Arch, T> a_buffer, b_buffer;
  T* bp = b_buffer.reserve(static_cast<size_t>(G::KC * G::NC));
  const int64_t step = k_step<Arch, T>(p.K), Mpad = (p.M + G::MR - 1) / G::MR * G::MR;
  for (int64_t ic = 0; ic < p.M; ic += G::MC) {
    const int64_t mc = p.M - ic < G::MC ? p.M - ic : G::MC;
    for (int64_t pc = 0; pc < p.K; pc += step) {
      const int64_t kc = p.K - pc < step ? p.K - pc : step;
      // The first K block applies beta; later ones accumulate onto it.
      const bool read_c = pc > 0 || p.beta != T(0);
      const T beta = pc > 0 ? T(1) : p.beta;
      const T* ap = packed ? packed + pc / step * Mpad * step : nullptr;
      if (!packed) {
        T* buffer = a_buffer.reserve(static_cast<size_t>(G::MC * G::KC));
        pack_a<Arch, T>(mc, kc, p.a + ic * p.rs_a + pc * p.cs_a, p.rs_a, p.cs_a, buffer);
        ap = buffer;
      }
      for (int64_t jc = 0; jc < p.N; jc += G::NC) {
        const int64_t nc = p.N - jc < G::NC ? p.N - jc : G::NC;
        pack_b<Arch, T>(kc, nc, p.b + pc * p.rs_b + jc * p.cs_b, p.rs_b, p.cs_b, bp);
        macro_kernel<Arch, T>(p, ic, mc, jc, nc, kc, ap, bp, beta, read_c);
      }
    }
  }
}

// One thread's part of a large product whose B blocks the threads pack together (gemm.cpp:
// the team runs this with thread = 0 .. threads - 1 and sync an OpenMP barrier). The thread
// owns C's rows [r0, r1), taken in `rounds` equal A blocks (the same count on every thread, so
// all meet the same barriers), and packs its share of each B block's panels into shared[b % 2]
// for the b-th block; after sync() every thread reads the whole block. B is packed once per
// round instead of once per unit of C, A once per thread. Two buffers alternate: the thread
// that packs block b + 1 has passed block b's barrier, which every thread reached only after
// finishing block b - 1, the last reader of that buffer. The K blocks and each element's FMA
// chain are gemm_blocks', so results are bitwise the same.
template <class Arch, class T>
void gemm_shared_b(const GemmProblem<T>& p, int64_t r0, int64_t r1, int64_t rounds, int thread,
                   int threads, T* const shared[2], void (*sync)()) {
  using G = GemmBlocking<Arch, T>;
  static thread_local PackBuffer<Arch, T> a_buffer;
  const int64_t step = k_step<Arch, T>(p.K);
  const int64_t round_rows = ((r1 - r0 + rounds - 1) / rounds + G::MR - 1) / G::MR * G::MR;
  T* ap = a_buffer.reserve(static_cast<size_t>(std::max<int64_t>(round_rows, G::MR) * step));
  int64_t block = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    const int64_t ic = std::min(r1, r0 + round * round_rows), mc = std::min(r1 - ic, round_rows);
    for (int64_t pc = 0; pc < p.K; pc += step) {
      const int64_t kc = std::min(step, p.K - pc);
      const bool read_c = pc > 0 || p.beta != T(0);
      const T beta = pc > 0 ? T(1) : p.beta;
      if (mc > 0) pack_a<Arch, T>(mc, kc, p.a + ic * p.rs_a + pc * p.cs_a, p.rs_a, p.cs_a, ap);
      for (int64_t jc = 0; jc < p.N; jc += G::NC, ++block) {
        const int64_t nc = std::min(G::NC, p.N - jc), panels = (nc + G::NR - 1) / G::NR;
        const int64_t q0 = panels * thread / threads, q1 = panels * (thread + 1) / threads;
        T* bp = shared[block % 2];
        const int64_t j0 = q0 * G::NR, j1 = std::min(nc, q1 * G::NR);
        if (j1 > j0)
          pack_b<Arch, T>(kc, j1 - j0, p.b + pc * p.rs_b + (jc + j0) * p.cs_b, p.rs_b, p.cs_b,
                          bp + j0 * kc);
        sync();
        if (mc > 0) macro_kernel<Arch, T>(p, ic, mc, jc, nc, kc, ap, bp, beta, read_c);
      }
    }
  }
}

template <class Arch, class T>
void gemm(const GemmProblem<T>& p) {
  if (p.M > 0 && p.N > 0 && gemm_swaps<Arch, T>(p.M, p.N))
    return gemm<Arch, T>({p.N, p.M, p.K, p.alpha, p.b, p.cs_b, p.rs_b, p.a, p.cs_a, p.rs_a, p.beta,
                          p.c, p.cs_c, p.rs_c});
  gemm_blocks<Arch, T>(p, nullptr);
}

template <class Arch, class T>
void gemm_prepacked(const GemmProblem<T>& p, const T* packed_a) {
  gemm_blocks<Arch, T>(p, packed_a);
}

}  // namespace tg::cpu::simd
