// conv2d, conv_transpose2d and conv2d_weight: im2col / col2im around the tiled GEMM.
//
// As in backends/reference/conv.cpp, one conv2d maps image x [N, C, H, W] with weight
// w [O, C/G, kH, kW] to y [N, O, Ho, Wo]; per image n and group g it is the product
//   y_g[O/G, Ho*Wo] = W_g[O/G, R] * col_g[R, Ho*Wo],  R = C/G * kH * kW,
//   col_g[(c*kH + a)*kW + b, i*Wo + j] = x[n, g*C/G + c, i*sH - pH + a*dH, j*sW - pW + b*dW]
// (zero outside the image), and the other two kernels are its adjoints:
//   conv_transpose2d (in x):  col_g = W_g^T * y_g, then col2im adds each column entry back
//                             to the pixel im2col read it from;
//   conv2d_weight    (in w):  dW_g = sum over n of dy_g * col_g^T.
// Images are processed in chunks whose columns fit kColumnBudget elements, each chunk one
// im2col launch and one batched GEMM per group. col2im gathers: one thread per image pixel
// adds the few column entries that read it (in the reference's order), so no two threads
// write one address and no atomics are needed. conv2d_weight sums over the batch inside the
// GEMM's K dimension (the columns of a chunk laid side by side), so it is deterministic too.
// Sizes come from the tensors (H, W from the image, Ho, Wo from y), never from the parameters.
#include <algorithm>

#include "backends/conv_epilogue.h"
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

// Elements of one chunk's columns (64 MiB of float32).
constexpr int64_t kColumnBudget = int64_t{1} << 24;

// The sizes of one conv2d and its parameters, in a form kernels take by value.
struct Geometry {
  int64_t N, C, H, W;  // image
  int64_t O, Ho, Wo;   // output
  int64_t kH, kW, G;
  int64_t sH, sW, pH, pW, dH, dW;
  __host__ __device__ int64_t group_in() const { return C / G; }
  __host__ __device__ int64_t group_out() const { return O / G; }
  __host__ __device__ int64_t taps() const { return kH * kW; }
  __host__ __device__ int64_t rows() const { return group_in() * taps(); }  // R
  __host__ __device__ int64_t cols() const { return Ho * Wo; }               // L
};

Geometry geometry(const Tensor& image, const Tensor& y, const Tensor& w, const kernel::Conv2dParams& p) {
  return {image.size(0), image.size(1), image.size(2), image.size(3), y.size(1), y.size(2), y.size(3),
          w.size(2),     w.size(3),     p.groups,      p.stride[0],   p.stride[1], p.padding[0],
          p.padding[1],  p.dilation[0], p.dilation[1]};
}

// Strides of a 4-D tensor.
struct Strides4 {
  int64_t n, c, h, w;
};

Strides4 strides4(const Tensor& t) { return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)}; }

// Columns of images [n0, n0 + count) of x: entry (n, ct, p), ct = c*kH*kW + a*kW + b over all
// C channels (group g's rows are ct in [g*R, (g+1)*R)), p = i*Wo + j, is stored at
// col[n * n_stride + ct * ct_stride + p].
template <typename T>
__global__ void im2col_kernel(T* col, const T* x, Strides4 xs, Geometry g, int64_t n0, int64_t count,
                              int64_t n_stride, int64_t ct_stride) {
  const int64_t L = g.cols(), CT = g.C * g.taps();
  TG_GRID_LOOP(idx, count * CT * L) {
    const int64_t p = idx % L, ct = (idx / L) % CT, n = idx / (L * CT);
    const int64_t c = ct / g.taps(), a = (ct / g.kW) % g.kH, b = ct % g.kW;
    const int64_t h = (p / g.Wo) * g.sH - g.pH + a * g.dH, w = (p % g.Wo) * g.sW - g.pW + b * g.dW;
    const bool inside = h >= 0 && h < g.H && w >= 0 && w < g.W;
    col[n * n_stride + ct * ct_stride + p] = inside ? x[(n0 + n) * xs.n + c * xs.c + h * xs.h + w * xs.w] : T(0);
  }
}

// Image pixels of images [n0, n0 + count): each the sum (in double, taps in the reference's
// order) of the column entries im2col would have read from it, columns laid out as above.
template <typename T>
__global__ void col2im_kernel(T* image, Strides4 is, const T* col, Geometry g, int64_t n0, int64_t count,
                              int64_t n_stride, int64_t ct_stride) {
  TG_GRID_LOOP(idx, count * g.C * g.H * g.W) {
    const int64_t w = idx % g.W, h = (idx / g.W) % g.H, c = (idx / (g.W * g.H)) % g.C, n = idx / (g.W * g.H * g.C);
    double acc = 0;
    for (int64_t a = 0; a < g.kH; ++a) {
      const int64_t i = tap_source(h, a, g.Ho, g.sH, g.pH, g.dH);
      if (i < 0) continue;
      for (int64_t b = 0; b < g.kW; ++b) {
        const int64_t j = tap_source(w, b, g.Wo, g.sW, g.pW, g.dW);
        if (j < 0) continue;
        acc += static_cast<double>(col[n * n_stride + ((c * g.kH + a) * g.kW + b) * ct_stride + i * g.Wo + j]);
      }
    }
    image[(n0 + n) * is.n + c * is.c + h * is.h + w * is.w] = static_cast<T>(acc);
  }
}

template <typename T>
void im2col(T* col, const Tensor& x, const Geometry& g, int64_t n0, int64_t count, int64_t n_stride,
            int64_t ct_stride) {
  const int64_t total = count * g.C * g.taps() * g.cols();
  if (total == 0) return;
  launch<im2col_kernel<T>>(blocks_for(total), kThreads, 0, col, typed<const T>(x), strides4(x), g, n0,
                                                                  count, n_stride, ct_stride);
}

template <typename T>
void col2im(const Tensor& image, const T* col, const Geometry& g, int64_t n0, int64_t count, int64_t n_stride,
            int64_t ct_stride) {
  const int64_t total = count * g.C * g.H * g.W;
  if (total == 0) return;
  launch<col2im_kernel<T>>(blocks_for(total), kThreads, 0, typed<T>(image), strides4(image), col, g, n0,
                                                                  count, n_stride, ct_stride);
}

// Images per chunk: as many as fit the column budget, at least one.
int64_t chunk_images(const Geometry& g) {
  const int64_t per_image = std::max<int64_t>(g.C * g.taps() * g.cols(), 1);
  return std::clamp<int64_t>(kColumnBudget / per_image, 1, std::max<int64_t>(g.N, 1));
}

// A contiguous tensor to write `out` through (out itself when it is contiguous), and the
// copy back when it is not.
Tensor writable(const Tensor& out) { return out.is_contiguous() ? out : device_empty(out.shape(), out.dtype()); }
void write_back(const Tensor& out, const Tensor& written) {
  if (!written.is_same(out)) copy(out, written);
}

// The epilogue (bias, activation) as two elementwise passes after the product. Folding it into
// the GEMM's store would save those passes' memory traffic; whether that pays is a GPU
// measurement.
const kernel::EpilogueKernels kEpilogue{binary<kernel::OpId::add>, unary<kernel::OpId::relu>,
                                        unary<kernel::OpId::leaky_relu>, unary<kernel::OpId::tanh>,
                                        unary<kernel::OpId::sigmoid>};

}  // namespace

void conv2d(const Tensor& out, const Tensor& x, const Tensor& w, const kernel::Conv2dParams& p) {
  if (out.numel() == 0) return;
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
    const Geometry g = geometry(x, out, w, p);
    const int64_t R = g.rows(), L = g.cols(), Og = g.group_out(), CT = g.C * g.taps();
    const Tensor weight = contiguous_on_device(w);  // W_g: rows [g*O/G, (g+1)*O/G) of [O, R]
    const Tensor y = writable(out);
    const int64_t chunk = chunk_images(g);
    const Tensor col = device_empty({chunk * CT * L}, x.dtype());
    for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
      const int64_t count = std::min(chunk, g.N - n0);
      im2col<T>(typed<T>(col), x, g, n0, count, CT * L, L);
      for (int64_t grp = 0; grp < g.G; ++grp)  // y_g[n] = W_g col_g[n] for the chunk's images
        gemm<T>(count, Og, L, R, {typed<const T>(weight) + grp * Og * R, 0, R, 1},
                {typed<const T>(col) + grp * R * L, CT * L, L, 1},
                {typed<T>(y) + (n0 * g.O + grp * Og) * L, g.O * L, L, 1}, false);
    }
    write_back(out, y);
  });
  kernel::apply_conv_epilogue(out, p.epilogue, kEpilogue);
}

void conv_transpose2d(const Tensor& out, const Tensor& x, const Tensor& w, const kernel::Conv2dParams& p) {
  if (out.numel() == 0) return;
  dispatch_floating(x.dtype(), "conv_transpose2d", [&]<typename T>() {
    const Geometry g = geometry(out, x, w, p);  // out is the image, x the conv2d output
    const int64_t R = g.rows(), L = g.cols(), Og = g.group_out(), CT = g.C * g.taps();
    const Tensor weight = contiguous_on_device(w);
    const Tensor y = contiguous_on_device(x);
    const int64_t chunk = chunk_images(g);
    const Tensor col = device_empty({chunk * CT * L}, x.dtype());
    for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
      const int64_t count = std::min(chunk, g.N - n0);
      for (int64_t grp = 0; grp < g.G; ++grp)  // col_g[n] = W_g^T y_g[n]: W_g read with swapped strides
        gemm<T>(count, R, L, Og, {typed<const T>(weight) + grp * Og * R, 0, 1, R},
                {typed<const T>(y) + (n0 * g.O + grp * Og) * L, g.O * L, L, 1},
                {typed<T>(col) + grp * R * L, CT * L, L, 1}, false);
      col2im<T>(out, typed<const T>(col), g, n0, count, CT * L, L);
    }
  });
  kernel::apply_conv_epilogue(out, p.epilogue, kEpilogue);
}

void conv2d_weight(const Tensor& gw, const Tensor& x, const Tensor& gy, const kernel::Conv2dParams& p) {
  if (gw.numel() == 0) return;
  dispatch_floating(x.dtype(), "conv2d_weight", [&]<typename T>() {
    const Geometry g = geometry(x, gy, gw, p);
    const int64_t R = g.rows(), L = g.cols(), Og = g.group_out(), CT = g.C * g.taps();
    const Tensor dweight = writable(gw);
    if (g.N == 0) fill(dweight, 0.0);
    const int64_t chunk = chunk_images(g);
    const Tensor col = device_empty({chunk * CT * L}, x.dtype());
    const Tensor dy = device_empty({g.O, chunk, g.Ho, g.Wo}, x.dtype());
    for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
      const int64_t count = std::min(chunk, g.N - n0);
      // Columns side by side: entry (ct, n*L + p) at col[ct * count*L + n*L + p], and dy of the
      // chunk as [O, count*L] to match, so the GEMM's K runs over (image, position).
      im2col<T>(typed<T>(col), x, g, n0, count, L, count * L);
      const Tensor dy_chunk = make_view(dy, {g.O, count, g.Ho, g.Wo}, contiguous_strides({g.O, count, g.Ho, g.Wo}), 0);
      copy(dy_chunk, make_view(gy, {g.O, count, g.Ho, g.Wo}, {gy.stride(1), gy.stride(0), gy.stride(2), gy.stride(3)},
                               gy.storage_offset() + n0 * gy.stride(0)));
      for (int64_t grp = 0; grp < g.G; ++grp)  // dW_g (+)= dy_g col_g^T: col_g read with swapped strides
        gemm<T>(1, Og, R, count * L, {typed<const T>(dy_chunk) + grp * Og * count * L, 0, count * L, 1},
                {typed<const T>(col) + grp * R * count * L, 0, 1, count * L},
                {typed<T>(dweight) + grp * Og * R, 0, R, 1}, n0 > 0);
    }
    write_back(gw, dweight);
  });
}

}  // namespace tg::cuda
