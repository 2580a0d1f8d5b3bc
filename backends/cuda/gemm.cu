// The GEMM under matmul, linear and the convolutions: C = A B (or C += A B) for batches of
// strided matrices, a shared-memory tiled kernel with register blocking (no cuBLAS).
//
// Each block of 256 threads owns a BM x BN tile of C and walks K in steps of BK. Per step it
// stages the BM x BK slice of A (stored k-major, As[k][m]) and the BK x BN slice of B in
// shared memory, each thread loading one vector's worth (4 floats or 2 doubles, 16 bytes) of
// each; then every thread multiplies a TM-row column of As by a TN-column row of Bs into its
// TM x TN accumulators held in registers. A staged value is read by BN / TN (or BM / TM)
// threads from shared memory, and each thread does TM * TN multiply-adds per TM + TN shared
// loads: 8 x 8 for float (4 flops per shared load), 4 x 4 for double, whose registers are
// twice as wide. An operand that is contiguous along the staged direction, 16-byte aligned
// and with strides that keep every vector aligned is loaded with vector loads; any other
// layout (transposed, sliced, broadcast) takes the same path element by element. Edge tiles
// read zeros past the matrix and write only inside it. Accumulation is in T (float32 sums
// round as the CPU backend's GEMM does); the order is fixed, so results are deterministic.
#include <algorithm>
#include <cstdint>

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

template <typename T>
struct Tile;
template <>
struct Tile<float> {
  static constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8, kVec = 4;
  using Vec = float4;
};
template <>
struct Tile<double> {
  static constexpr int BM = 64, BN = 64, BK = 8, TM = 4, TN = 4, kVec = 2;
  using Vec = double2;
};

// How an operand's staging loads are laid out: along its unit-stride dim when it has one.
enum class Layout : int {
  kAlongK,      // A with unit column stride (row-major), B with unit row stride (B^T row-major)
  kAlongOuter,  // along M for A, N for B: unit stride there, or a general layout
};

struct OperandPlan {
  Layout layout;
  bool vector;  // whole vectors are aligned: vector loads where a vector lies inside the matrix
};

// Loads `count` consecutive values starting at (i, j) and stepping along i (AlongI) or j, from
// a matrix of rows x cols; zeros past its edge.
template <typename T, int kVec>
__device__ void load_run(T (&v)[kVec], const T* base, int64_t i, int64_t j, int64_t rows, int64_t cols,
                         int64_t row_stride, int64_t col_stride, bool along_i, bool vector) {
  using Vec = typename Tile<T>::Vec;
  const int64_t last_i = along_i ? i + kVec - 1 : i, last_j = along_i ? j : j + kVec - 1;
  if (vector && last_i < rows && last_j < cols) {
    const Vec w = *reinterpret_cast<const Vec*>(base + i * row_stride + j * col_stride);
    const T* parts = reinterpret_cast<const T*>(&w);
#pragma unroll
    for (int e = 0; e < kVec; ++e) v[e] = parts[e];
    return;
  }
#pragma unroll
  for (int e = 0; e < kVec; ++e) {
    const int64_t ii = along_i ? i + e : i, jj = along_i ? j : j + e;
    v[e] = ii < rows && jj < cols ? base[ii * row_stride + jj * col_stride] : T(0);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
gemm_kernel(int64_t batch, int64_t M, int64_t N, int64_t K, Matrix<const T> a, Matrix<const T> b,
            Matrix<T> c, bool accumulate, OperandPlan plan_a, OperandPlan plan_b, int64_t tiles_n) {
  constexpr int BM = Tile<T>::BM, BN = Tile<T>::BN, BK = Tile<T>::BK, TM = Tile<T>::TM, TN = Tile<T>::TN;
  constexpr int kVec = Tile<T>::kVec;
  static_assert(BM * BK == kThreads * kVec && BN * BK == kThreads * kVec, "one vector per thread per operand");
  static_assert((BM / TM) * (BN / TN) == kThreads, "one TM x TN block of C per thread");
  __shared__ T As[BK][BM];
  __shared__ T Bs[BK][BN];

  const int t = threadIdx.x;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x / tiles_n) * BM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x % tiles_n) * BN;
  const int ty = t / (BN / TN), tx = t % (BN / TN);  // this thread's rows ty*TM.., cols tx*TN..

  for (int64_t bi = blockIdx.z; bi < batch; bi += gridDim.z) {
    const T* A = a.data + bi * a.batch;
    const T* B = b.data + bi * b.batch;
    T acc[TM][TN] = {};
    for (int64_t k0 = 0; k0 < K; k0 += BK) {
      T v[kVec];
      if (plan_a.layout == Layout::kAlongK) {  // kVec consecutive k of one row of A
        const int r = t / (BK / kVec), kk = (t % (BK / kVec)) * kVec;
        load_run<T, kVec>(v, A, m0 + r, k0 + kk, M, K, a.row, a.col, false, plan_a.vector);
#pragma unroll
        for (int e = 0; e < kVec; ++e) As[kk + e][r] = v[e];
      } else {  // kVec consecutive rows of A at one k
        const int kk = t / (BM / kVec), r = (t % (BM / kVec)) * kVec;
        load_run<T, kVec>(v, A, m0 + r, k0 + kk, M, K, a.row, a.col, true, plan_a.vector);
#pragma unroll
        for (int e = 0; e < kVec; ++e) As[kk][r + e] = v[e];
      }
      if (plan_b.layout == Layout::kAlongK) {  // kVec consecutive k of one column of B
        const int col = t / (BK / kVec), kk = (t % (BK / kVec)) * kVec;
        load_run<T, kVec>(v, B, k0 + kk, n0 + col, K, N, b.row, b.col, true, plan_b.vector);
#pragma unroll
        for (int e = 0; e < kVec; ++e) Bs[kk + e][col] = v[e];
      } else {  // kVec consecutive columns of B at one k
        const int kk = t / (BN / kVec), col = (t % (BN / kVec)) * kVec;
        load_run<T, kVec>(v, B, k0 + kk, n0 + col, K, N, b.row, b.col, false, plan_b.vector);
#pragma unroll
        for (int e = 0; e < kVec; ++e) Bs[kk][col + e] = v[e];
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        T ra[TM], rb[TN];
#pragma unroll
        for (int i = 0; i < TM; ++i) ra[i] = As[kk][ty * TM + i];
#pragma unroll
        for (int j = 0; j < TN; ++j) rb[j] = Bs[kk][tx * TN + j];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
      }
      __syncthreads();  // the next step overwrites the staged slices
    }
    T* C = c.data + bi * c.batch;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int64_t m = m0 + ty * TM + i;
      if (m >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int64_t n = n0 + tx * TN + j;
        if (n >= N) continue;
        T& out = C[m * c.row + n * c.col];
        out = accumulate ? out + acc[i][j] : acc[i][j];
      }
    }
  }
}

}  // namespace

// gemm_kernel's __launch_bounds__, for the emulator's launch check.
template <>
inline constexpr unsigned kLaunchBound<&gemm_kernel<float>> = kThreads;
template <>
inline constexpr unsigned kLaunchBound<&gemm_kernel<double>> = kThreads;

namespace {

// How one operand is staged: along k when along_k (its k stride is 1), else along its other
// dim; vector loads when the stride along the vectors is 1 and every vector start (tile
// starts are multiples of kVec) lands on a 16-byte boundary.
template <typename T>
OperandPlan plan_operand(const Matrix<const T>& x, bool along_k, int64_t k_stride, int64_t outer_stride) {
  constexpr int kVec = Tile<T>::kVec;
  const Layout layout = along_k ? Layout::kAlongK : Layout::kAlongOuter;
  const int64_t unit = along_k ? k_stride : outer_stride, across = along_k ? outer_stride : k_stride;
  const bool aligned = reinterpret_cast<uintptr_t>(x.data) % 16 == 0;
  return {layout, unit == 1 && aligned && across % kVec == 0 && x.batch % kVec == 0};
}

}  // namespace

template <typename T>
void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, Matrix<const T> a, Matrix<const T> b,
          Matrix<T> c, bool accumulate) {
  if (batch == 0 || M == 0 || N == 0) return;
  // A is M x K: its k stride is a.col. B is K x N: its k stride is b.row.
  const OperandPlan plan_a = plan_operand(a, a.col == 1, a.col, a.row);
  const OperandPlan plan_b = plan_operand(b, b.row == 1 && b.col != 1, b.row, b.col);
  const int64_t tiles_m = (M + Tile<T>::BM - 1) / Tile<T>::BM, tiles_n = (N + Tile<T>::BN - 1) / Tile<T>::BN;
  TG_CHECK(tiles_m * tiles_n < (int64_t{1} << 31), "matmul", "a ", M, " x ", N, " product has too many tiles");
  const dim3 grid(static_cast<unsigned>(tiles_m * tiles_n), 1, static_cast<unsigned>(std::min<int64_t>(batch, 65535)));
  launch<gemm_kernel<T>>(grid, kThreads, 0, batch, M, N, K, a, b, c, accumulate, plan_a, plan_b, tiles_n);
}

template void gemm<float>(int64_t, int64_t, int64_t, int64_t, Matrix<const float>, Matrix<const float>,
                          Matrix<float>, bool);
template void gemm<double>(int64_t, int64_t, int64_t, int64_t, Matrix<const double>, Matrix<const double>,
                           Matrix<double>, bool);

// out[b] = a[b] b[b] for [B, M, K] x [B, K, N] at any strides (stride 0 repeats a matrix).
void matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    gemm<T>(out.size(0), out.size(1), out.size(2), a.size(2),
            {typed<const T>(a), a.stride(0), a.stride(1), a.stride(2)},
            {typed<const T>(b), b.stride(0), b.stride(1), b.stride(2)},
            {typed<T>(out), out.stride(0), out.stride(1), out.stride(2)}, false);
  });
}

}  // namespace tg::cuda
