// Reference convolution kernels: explicit im2col / col2im around a plain GEMM loop, in double.
//
// One conv2d maps an image x [N, C, H, W] with weight w [O, C/G, kH, kW] to y [N, O, Ho, Wo].
// For image n and group g (channels c of the group, outputs o of the group) it is one product
//   y_g[O/G, Ho*Wo] = W_g[O/G, C/G*kH*kW] * col_g[C/G*kH*kW, Ho*Wo],
//   col_g[(c*kH + a)*kW + b, i*Wo + j] = x[n, g*C/G + c, i*sH - pH + a*dH, j*sW - pW + b*dW]
// with x read as zero outside the image (the padding). The other two kernels are the adjoints
// of this bilinear map:
//   conv_transpose2d (in x):  col_g = W_g^T * y_g, then col2im adds each column entry back to
//                             the pixel im2col read it from;
//   conv2d_weight    (in w):  dW_g = sum over n of dy_g * col_g^T.
// Every size is taken from the tensors (H, W from the image, Ho, Wo from y), never recomputed
// from the parameters, so the three are exact adjoints of each other for any pair of sizes;
// the op layer chooses the sizes (autograd/ops/conv.cpp).
#include <vector>

#include "backends/conv_epilogue.h"
#include "backends/reference/reference.h"
#include "backends/reference/strided.h"

namespace tg::reference {
namespace {

// The sizes of one conv2d, read from its image, its output and its weight.
struct Geometry {
  int64_t N, C, H, W;  // image
  int64_t O, Ho, Wo;   // output
  int64_t kH, kW, G;
  int64_t group_in() const { return C / G; }
  int64_t group_out() const { return O / G; }
  int64_t rows() const { return group_in() * kH * kW; }  // of col_g
  int64_t cols() const { return Ho * Wo; }
};

Geometry geometry(const Tensor& image, const Tensor& y, const Tensor& w, int64_t groups) {
  return {image.size(0), image.size(1), image.size(2), image.size(3), y.size(1), y.size(2),
          y.size(3),     w.size(2),     w.size(3),     groups};
}

// C[M, N] += A[M, K] * B[K, N], each operand addressed through (row, column) strides so a
// transposed operand is just swapped strides.
void gemm(int64_t M, int64_t N, int64_t K, const double* A, int64_t a_row, int64_t a_col,
          const double* B, int64_t b_row, int64_t b_col, double* C) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += A[i * a_row + k * a_col] * B[k * b_row + j * b_col];
      C[i * N + j] += acc;
    }
}

// Strided element (n, c, h, w) of a 4-D tensor.
template <typename T>
T& at4(const Tensor& t, int64_t n, int64_t c, int64_t h, int64_t w) {
  return typed<T>(t)[n * t.stride(0) + c * t.stride(1) + h * t.stride(2) + w * t.stride(3)];
}

// Channels [c0, c0 + count) of image n of t, as a contiguous [count, H*W] double matrix.
template <typename T>
std::vector<double> load_channels(const Tensor& t, int64_t n, int64_t c0, int64_t count) {
  const int64_t H = t.size(2), W = t.size(3);
  std::vector<double> m(count * H * W);
  for (int64_t c = 0; c < count; ++c)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w) m[(c * H + h) * W + w] = at4<T>(t, n, c0 + c, h, w);
  return m;
}

// Writes a contiguous [count, H*W] matrix into channels [c0, c0 + count) of image n of t.
template <typename T>
void store_channels(const Tensor& t, int64_t n, int64_t c0, int64_t count, const double* m) {
  const int64_t H = t.size(2), W = t.size(3);
  for (int64_t c = 0; c < count; ++c)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w) at4<T>(t, n, c0 + c, h, w) = static_cast<T>(m[(c * H + h) * W + w]);
}

// The weight as a contiguous [O, C/G*kH*kW] double matrix; W_g is rows [g*O/G, (g+1)*O/G).
template <typename T>
std::vector<double> load_weight(const Tensor& w) {
  std::vector<double> m(w.numel());
  int64_t i = 0;
  for (int64_t o = 0; o < w.size(0); ++o)
    for (int64_t c = 0; c < w.size(1); ++c)
      for (int64_t a = 0; a < w.size(2); ++a)
        for (int64_t b = 0; b < w.size(3); ++b) m[i++] = at4<T>(w, o, c, a, b);
  return m;
}

// Calls f(row, column, pixel) for every col_g entry whose pixel (an index into the group's
// [C/G, H, W] block) lies inside the image; the entries it skips read the zero padding.
template <typename F>
void for_each_tap(const Geometry& g, const kernel::Conv2dParams& p, F&& f) {
  for (int64_t c = 0; c < g.group_in(); ++c)
    for (int64_t a = 0; a < g.kH; ++a)
      for (int64_t b = 0; b < g.kW; ++b) {
        const int64_t row = (c * g.kH + a) * g.kW + b;
        for (int64_t i = 0; i < g.Ho; ++i) {
          const int64_t h = i * p.stride[0] - p.padding[0] + a * p.dilation[0];
          if (h < 0 || h >= g.H) continue;
          for (int64_t j = 0; j < g.Wo; ++j) {
            const int64_t w = j * p.stride[1] - p.padding[1] + b * p.dilation[1];
            if (w < 0 || w >= g.W) continue;
            f(row, i * g.Wo + j, (c * g.H + h) * g.W + w);
          }
        }
      }
}

// col_g from the group's channels of one image ([C/G, H*W], contiguous).
std::vector<double> im2col(const Geometry& g, const kernel::Conv2dParams& p, const double* image) {
  std::vector<double> col(g.rows() * g.cols(), 0.0);
  for_each_tap(g, p, [&](int64_t row, int64_t column, int64_t pixel) {
    col[row * g.cols() + column] = image[pixel];
  });
  return col;
}

// The adjoint of im2col: adds every col_g entry to the pixel it was read from.
void col2im(const Geometry& g, const kernel::Conv2dParams& p, const double* col, double* image) {
  for_each_tap(g, p, [&](int64_t row, int64_t column, int64_t pixel) {
    image[pixel] += col[row * g.cols() + column];
  });
}

// The epilogue runs after the product, in the reference's own add and activation kernels.
const kernel::EpilogueKernels kEpilogue{binary<kernel::OpId::add>, unary<kernel::OpId::relu>,
                                        unary<kernel::OpId::leaky_relu>, unary<kernel::OpId::tanh>,
                                        unary<kernel::OpId::sigmoid>};

}  // namespace

void conv2d(const Tensor& out, const Tensor& x, const Tensor& w, const kernel::Conv2dParams& p) {
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
    const Geometry g = geometry(x, out, w, p.groups);
    const std::vector<double> weight = load_weight<T>(w);
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const std::vector<double> image = load_channels<T>(x, n, grp * g.group_in(), g.group_in());
        const std::vector<double> col = im2col(g, p, image.data());
        std::vector<double> y(g.group_out() * g.cols(), 0.0);
        // y_g = W_g col_g
        gemm(g.group_out(), g.cols(), g.rows(), weight.data() + grp * g.group_out() * g.rows(),
             g.rows(), 1, col.data(), g.cols(), 1, y.data());
        store_channels<T>(out, n, grp * g.group_out(), g.group_out(), y.data());
      }
  });
  kernel::apply_conv_epilogue(out, p.epilogue, kEpilogue);
}

void conv_transpose2d(const Tensor& out, const Tensor& x, const Tensor& w,
                      const kernel::Conv2dParams& p) {
  dispatch_floating(x.dtype(), "conv_transpose2d", [&]<typename T>() {
    const Geometry g = geometry(out, x, w, p.groups);  // out is the image, x the conv2d output
    const std::vector<double> weight = load_weight<T>(w);
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const std::vector<double> y = load_channels<T>(x, n, grp * g.group_out(), g.group_out());
        std::vector<double> col(g.rows() * g.cols(), 0.0);
        // col_g = W_g^T y_g: W_g read with swapped strides
        gemm(g.rows(), g.cols(), g.group_out(), weight.data() + grp * g.group_out() * g.rows(), 1,
             g.rows(), y.data(), g.cols(), 1, col.data());
        std::vector<double> image(g.group_in() * g.H * g.W, 0.0);
        col2im(g, p, col.data(), image.data());
        store_channels<T>(out, n, grp * g.group_in(), g.group_in(), image.data());
      }
  });
  kernel::apply_conv_epilogue(out, p.epilogue, kEpilogue);
}

void conv2d_weight(const Tensor& gw, const Tensor& x, const Tensor& gy, const kernel::Conv2dParams& p) {
  dispatch_floating(x.dtype(), "conv2d_weight", [&]<typename T>() {
    const Geometry g = geometry(x, gy, gw, p.groups);
    std::vector<double> dweight(gw.numel(), 0.0);  // [O, C/G*kH*kW], summed over the batch
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const std::vector<double> image = load_channels<T>(x, n, grp * g.group_in(), g.group_in());
        const std::vector<double> col = im2col(g, p, image.data());
        const std::vector<double> dy = load_channels<T>(gy, n, grp * g.group_out(), g.group_out());
        // dW_g += dy_g col_g^T: col_g read with swapped strides
        gemm(g.group_out(), g.rows(), g.cols(), dy.data(), g.cols(), 1, col.data(), 1, g.cols(),
             dweight.data() + grp * g.group_out() * g.rows());
      }
    int64_t i = 0;
    for (int64_t o = 0; o < gw.size(0); ++o)
      for (int64_t c = 0; c < gw.size(1); ++c)
        for (int64_t a = 0; a < gw.size(2); ++a)
          for (int64_t b = 0; b < gw.size(3); ++b) at4<T>(gw, o, c, a, b) = static_cast<T>(dweight[i++]);
  });
}

}  // namespace tg::reference
