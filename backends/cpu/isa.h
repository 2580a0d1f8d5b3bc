// The per-ISA kernel set: the inner loops the cpu backend compiles once per instruction-set
// level (backends/cpu/arch/*.cpp) and picks at run time.
//
// Plain data only: this header is included by the per-ISA translation units, which are built
// with their own -m flags. Anything inline that two such units share could be emitted with
// AVX-512 instructions and then picked by the linker for every caller, so the per-ISA units
// include nothing but this file, xsimd and the kernel templates (gemm.h, elementwise.h,
// reduce.h), never the Tensor headers.
#pragma once

#include <cstdint>

namespace tg::cpu {

// The elementwise ops with a SIMD row kernel, in op_list.def's order (checked in
// elementwise.cpp against kernel::OpId).
enum class Unary : int { neg, exp, log, sqrt, rsqrt, abs, sign, relu, leaky_relu, sigmoid, tanh,
                         softplus, pow_scalar, clamp, count };
enum class Arithmetic : int { add, sub, mul, div, count };
enum class Compare : int { eq, ne, lt, le, gt, ge, count };

// One GEMM problem: C = alpha * A B + beta * C with A [M, K], B [K, N], C [M, N], each element
// (i, j) of X at x[i * rs + j * cs] (any strides: a transpose is just swapped strides).
template <typename T>
struct GemmProblem {
  int64_t M, N, K;
  T alpha;
  const T* a;
  int64_t rs_a, cs_a;
  const T* b;
  int64_t rs_b, cs_b;
  T beta;
  T* c;
  int64_t rs_c, cs_c;
};

// Row kernels take a length n and, per operand, a pointer and an element stride: stride 1 is
// the contiguous fast path, stride 0 a broadcast scalar, anything else is gathered.
template <typename T>
struct TypedKernels {
  using unary_row = void (*)(int64_t n, T* y, int64_t ys, const T* x, int64_t xs, T alpha, T beta);
  using binary_row = void (*)(int64_t n, T* y, int64_t ys, const T* a, int64_t as, const T* b,
                              int64_t bs);
  using compare_row = void (*)(int64_t n, bool* y, int64_t ys, const T* a, int64_t as, const T* b,
                               int64_t bs);
  using where_row = void (*)(int64_t n, T* y, int64_t ys, const bool* c, int64_t cs, const T* a,
                             int64_t as, const T* b, int64_t bs);
  using activation_backward_row = void (*)(int64_t n, T* y, int64_t ys, const T* g, int64_t gs,
                                           const T* x, int64_t xs, T slope);
  // Sum of x[0 .. n) accumulated in double (fixed lane order: the result depends only on n).
  using sum_contiguous_fn = double (*)(int64_t n, const T* x);
  // acc[j] += x[j] for j < n (column sums: one call per reduced row).
  using accumulate_fn = void (*)(int64_t n, const T* x, double* acc);
  // Max (or min) of x[0 .. n) and its first index; NaN wins (first NaN), as in PyTorch.
  using arg_reduce_row_fn = void (*)(int64_t n, const T* x, T* value, int64_t* index);
  // The same for `cols` independent columns: element (i, j) at x[i * row_stride + j], i < rows.
  using arg_reduce_cols_fn = void (*)(int64_t rows, int64_t cols, const T* x, int64_t row_stride,
                                      T* values, int64_t* indices);
  // Single-threaded blocked GEMM (gemm.cpp splits C among threads and calls this per part).
  using gemm_fn = void (*)(const GemmProblem<T>& p);
  // Whether gemm runs an M x N product as its transpose (gemm.h: gemm_swaps).
  using gemm_swaps_fn = bool (*)(int64_t M, int64_t N);
  // A packed once and shared by the threads that split C by columns (gemm.h: packed_a_size,
  // gemm_pack_a packing the panels [panel0, panel1) of MR rows, gemm_prepacked; M <= MC).
  using packed_a_size_fn = int64_t (*)(int64_t M, int64_t K);
  using gemm_pack_a_fn = void (*)(const GemmProblem<T>& p, int64_t panel0, int64_t panel1, T* dst);
  using gemm_prepacked_fn = void (*)(const GemmProblem<T>& p, const T* packed_a);
  // One thread's rows [r0, r1) of a product whose B blocks the threads pack together into two
  // shared buffers of gemm_kc x gemm_nc (gemm.h: gemm_shared_b; sync is a barrier).
  using gemm_shared_b_fn = void (*)(const GemmProblem<T>& p, int64_t r0, int64_t r1,
                                    int64_t rounds, int thread, int threads, T* const shared[2],
                                    void (*sync)());

  unary_row unary[static_cast<int>(Unary::count)];
  binary_row arithmetic[static_cast<int>(Arithmetic::count)];
  compare_row compare[static_cast<int>(Compare::count)];
  where_row where;
  activation_backward_row leaky_relu_backward;
  sum_contiguous_fn sum_contiguous;
  accumulate_fn accumulate;
  arg_reduce_row_fn max_row, min_row;
  arg_reduce_cols_fn max_cols, min_cols;
  gemm_fn gemm;
  gemm_swaps_fn gemm_swaps;
  packed_a_size_fn packed_a_size;
  gemm_pack_a_fn gemm_pack_a;
  gemm_prepacked_fn gemm_prepacked;
  gemm_shared_b_fn gemm_shared_b;
  int gemm_mr, gemm_nr;  // the micro-tile (register block of C)
  int64_t gemm_nc;       // columns of a packed B block (a multiple of gemm_nr)
  int64_t gemm_mc;       // rows of a packed A block
  int64_t gemm_kc;       // K block (at most)
};

struct IsaKernels {
  const char* name;  // "avx512", "avx2", "generic"
  // The 53 uniform bits of Philox counters counter .. counter + n - 1 (philox_simd.h).
  void (*philox_uniform_bits)(uint64_t counter, uint64_t seed, int64_t n, uint64_t* bits);
  TypedKernels<float> f32;
  TypedKernels<double> f64;
};

// Defined by backends/cpu/arch/<isa>.cpp (avx512 and avx2 only when built for x86-64).
const IsaKernels& avx512_kernels();
const IsaKernels& avx2_kernels();
const IsaKernels& generic_kernels();

// The level in use (see cpu.h: set_isa, TAPEGRAD_CPU_ISA).
const IsaKernels& active_isa();
template <typename T> const TypedKernels<T>& active_kernels();
template <> inline const TypedKernels<float>& active_kernels<float>() { return active_isa().f32; }
template <> inline const TypedKernels<double>& active_kernels<double>() { return active_isa().f64; }

}  // namespace tg::cpu
