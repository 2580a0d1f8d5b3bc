// Copies (any strides, any dtype pair, and between host and device), fill, and the Philox
// random fills, which draw exactly the counters the CPU backends draw.
#include "autograd/random.h"
#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/launch.cuh"

namespace tg::cuda {
namespace {

template <typename D, typename S>
__global__ void copy_kernel(D* dst, const S* src, OffsetCalculator<2> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[2];
    at.offsets(i, o);
    dst[o[0]] = static_cast<D>(src[o[1]]);
  }
}

template <typename T>
__global__ void fill_kernel(T* dst, T value, OffsetCalculator<1> at, int64_t n) {
  TG_GRID_LOOP(i, n) {
    int64_t o[1];
    at.offsets(i, o);
    dst[o[0]] = value;
  }
}

// Both on the device.
void device_copy(const Tensor& dst, const Tensor& src) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const auto at = make_offsets<2>(dst.shape(), {&dst.strides(), &src.strides()});
  dispatch_all(dst.dtype(), [&]<typename D>() {
    dispatch_all(src.dtype(), [&]<typename S>() {
      launch<copy_kernel<D, S>>(blocks_for(n), kThreads, 0, typed<D>(dst), typed<S>(src), at, n);
    });
  });
}

// A contiguous host tensor with t's values, in t's dtype (t itself when it is one).
Tensor contiguous_on_host(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = empty(t.shape(), t.dtype());
  TG_KERNEL(copy, c)(c, t);
  return c;
}

size_t nbytes_of(const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype()); }

// Host -> device: the host values made contiguous on the host, copied in one transfer, then
// spread into dst's layout and dtype on the device when they differ.
void upload(const Tensor& dst, const Tensor& src) {
  const Tensor host = contiguous_on_host(src);
  const bool direct = dst.is_contiguous() && dst.dtype() == src.dtype();
  const Tensor staging = direct ? dst : device_empty(src.shape(), src.dtype());
  TG_CUDA_CHECK(cudaMemcpyAsync(staging.raw_data(), host.raw_data(), nbytes_of(host),
                                cudaMemcpyHostToDevice, stream()));
  // The host tensor may be freed as soon as this returns.
  TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
  if (!direct) device_copy(dst, staging);
}

// Device -> host: src gathered into a contiguous block of dst's dtype on the device, copied in
// one transfer, then spread into dst's layout on the host when it is not contiguous.
void download(const Tensor& dst, const Tensor& src) {
  Tensor packed = src;
  if (!src.is_contiguous() || src.dtype() != dst.dtype()) {
    packed = device_empty(src.shape(), dst.dtype());
    device_copy(packed, src);
  }
  const Tensor host = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype());
  TG_CUDA_CHECK(cudaMemcpyAsync(host.raw_data(), packed.raw_data(), nbytes_of(packed),
                                cudaMemcpyDeviceToHost, stream()));
  TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
  if (!host.is_same(dst)) TG_KERNEL(copy, dst)(dst, host);
}

// ---- Philox4x32-10, as autograd/random.cpp computes it ----
struct PhiloxBlock {
  uint32_t x[4];
};

__device__ PhiloxBlock philox4x32(uint64_t counter, uint64_t seed) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57, kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = __umulhi(kM0, c0), lo0 = kM0 * c0;
    const uint32_t hi1 = __umulhi(kM1, c2), lo1 = kM1 * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return {{c0, c1, c2, c3}};
}

// 53 random bits of two 32-bit words, as a double in [0, 1) (times 2^-53: exact).
__device__ double unit_double(uint32_t hi, uint32_t lo) {
  const uint64_t bits = ((static_cast<uint64_t>(hi) << 21) ^ (lo >> 11)) & ((uint64_t{1} << 53) - 1);
  return static_cast<double>(bits) * 0x1.0p-53;
}

// The draws are written with explicitly rounded operations (__dmul_rn, __dadd_rn): nvcc would
// otherwise fuse a * b + c into one FMA, rounding once where the host rounds twice, and the
// uniform draws would differ from the CPU's in the last bit.
template <typename T>
__global__ void uniform_kernel(T* dst, OffsetCalculator<1> at, int64_t n, uint64_t seed, uint64_t offset,
                               double low, double high) {
  TG_GRID_LOOP(i, n) {
    const PhiloxBlock r = philox4x32(offset + static_cast<uint64_t>(i), seed);
    double v = __dadd_rn(low, __dmul_rn(high - low, unit_double(r.x[0], r.x[1])));
    // A float32 rounding of a value just below `high` may equal it; keep the interval open.
    if constexpr (sizeof(T) == sizeof(float)) {
      if (static_cast<float>(v) >= static_cast<float>(high))
        v = nextafterf(static_cast<float>(high), static_cast<float>(low));
    }
    int64_t o[1];
    at.offsets(i, o);
    dst[o[0]] = static_cast<T>(v);
  }
}

// Box-Muller on two uniforms of one block: sqrt(-2 log u1) cos(2 pi u2), u1 in (0, 1].
template <typename T>
__global__ void normal_kernel(T* dst, OffsetCalculator<1> at, int64_t n, uint64_t seed, uint64_t offset,
                              double mean, double std) {
  constexpr double kTwoPi = 2.0 * 3.14159265358979323846;
  TG_GRID_LOOP(i, n) {
    const PhiloxBlock r = philox4x32(offset + static_cast<uint64_t>(i), seed);
    const double u1 = __dmul_rn(
        static_cast<double>(((static_cast<uint64_t>(r.x[0]) << 21) ^ (r.x[1] >> 11)) & ((uint64_t{1} << 53) - 1)) + 1.0,
        0x1.0p-53);
    const double u2 = unit_double(r.x[2], r.x[3]);
    const double z = __dmul_rn(sqrt(-2.0 * log(u1)), cos(__dmul_rn(kTwoPi, u2)));
    int64_t o[1];
    at.offsets(i, o);
    dst[o[0]] = static_cast<T>(__dadd_rn(mean, __dmul_rn(std, z)));
  }
}

}  // namespace

// dst and src share a shape; either may be on the host (then the other is on the device).
void copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  if (src.device().is_cpu()) return upload(dst, src);
  if (dst.device().is_cpu()) return download(dst, src);
  device_copy(dst, src);
}

Tensor contiguous_on_device(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = device_empty(t.shape(), t.dtype());
  device_copy(c, t);
  return c;
}

void fill(const Tensor& dst, double value) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const auto at = make_offsets<1>(dst.shape(), {&dst.strides()});
  dispatch_all(dst.dtype(), [&]<typename T>() {
    launch<fill_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(dst), static_cast<T>(value), at, n);
  });
}

void uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const auto at = make_offsets<1>(dst.shape(), {&dst.strides()});
  dispatch_floating(dst.dtype(), "uniform", [&]<typename T>() {
    launch<uniform_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(dst), at, n, seed, offset, low, high);
  });
}

void normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const auto at = make_offsets<1>(dst.shape(), {&dst.strides()});
  dispatch_floating(dst.dtype(), "normal", [&]<typename T>() {
    launch<normal_kernel<T>>(blocks_for(n), kThreads, 0, typed<T>(dst), at, n, seed, offset, mean, std);
  });
}

}  // namespace tg::cuda
