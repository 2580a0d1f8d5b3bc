// The CUDA emulator's own proofs: kernels written to be wrong are reported with the kernel's
// name, the block and the thread, and kernels written to be right run as on a GPU (barriers,
// shuffles, shared memory per block, multi-dimensional indices). Built only with
// TAPEGRAD_CUDA_EMULATOR=ON. `test_cuda_emulator --race` launches a kernel with a missing
// __syncthreads for the ThreadSanitizer build's test of the race report (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "backends/cuda/launch.cuh"

using namespace tg::cuda;

namespace {

// ---- kernels written to be wrong ----

// Thread 5 of block 1 writes one element past the end of `out`.
__global__ void write_past_end(float* out, int n) {
  if (blockIdx.x == 1 && threadIdx.x == 5) out[n] = 1.0f;
}

// Reverses 64 values through shared memory, without the barrier between the write and the
// read of another thread's element.
__global__ void reverse_without_barrier(float* out, const float* in) {
  __shared__ float tile[64];
  tile[threadIdx.x] = in[threadIdx.x];
  out[threadIdx.x] = tile[63 - threadIdx.x];
}

// Lane 7 leaves before the shuffle that names it.
__global__ void shuffle_after_exit(float* out) {
  if (threadIdx.x == 7) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, static_cast<float>(threadIdx.x), 1);
}

// Half of the block returns before a barrier the other half waits at.
__global__ void barrier_in_divergent_code(float* out) {
  if (threadIdx.x < 16) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

// Lane 0 waits at a shuffle for lanes that wait at a barrier for lane 0.
__global__ void shuffle_against_barrier(float* out) {
  if (threadIdx.x == 0) out[0] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
  else __syncthreads();
}

__global__ void fill_ones(float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = 1.0f;
}

// Declared for blocks of at most 64 threads.
__global__ void __launch_bounds__(64) fill_ones_bounded(float* out) { out[threadIdx.x] = 1.0f; }

// A pointer the launch cannot see (inside a struct), read after its allocation was freed.
struct Wrapped {
  const float* p;
};
__global__ void read_through_struct(float* out, Wrapped in) { out[threadIdx.x] = in.p[threadIdx.x]; }

// ---- kernels written to be right ----

// Reverses 64 values through shared memory, with the barrier.
__global__ void reverse_with_barrier(float* out, const float* in) {
  __shared__ float tile[64];
  tile[threadIdx.x] = in[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = tile[63 - threadIdx.x];
}

// out[block] = sum of in over the block's 256 values: a warp butterfly, then one value per warp
// through shared memory.
__global__ void block_sums(float* out, const float* in) {
  __shared__ float warp_sums[8];
  float v = in[blockIdx.x * blockDim.x + threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0;
    for (int w = 0; w < 8; ++w) total += warp_sums[w];
    out[blockIdx.x] = total;
  }
}

// Each thread writes its flattened (block, thread) coordinates.
__global__ void coordinates(int* out) {
  const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const int threads = blockDim.x * blockDim.y * blockDim.z;
  out[block * threads + thread] = block * 1000 + thread;
}

// Up and down shuffles within segments of 8 lanes.
__global__ void segment_shuffles(int* up, int* down) {
  const int lane = threadIdx.x;
  up[lane] = __shfl_up_sync(0xffffffffu, lane, 1, 8);
  down[lane] = __shfl_down_sync(0xffffffffu, lane, 2, 8);
}

}  // namespace

template <>
inline constexpr unsigned tg::cuda::kLaunchBound<&fill_ones_bounded> = 64;

namespace {

template <typename T>
T* device_alloc(size_t n) {
  void* p = nullptr;
  REQUIRE(cudaMalloc(&p, n * sizeof(T)) == cudaSuccess);
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> download(const T* p, size_t n) {
  std::vector<T> v(n);
  REQUIRE(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return v;
}

// The message of the tg::Error a failing call throws ("" when it does not throw).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}

void check_mentions(const std::string& message, std::initializer_list<const char*> fragments) {
  INFO("message: " << message);
  for (const char* f : fragments) CHECK(message.find(f) != std::string::npos);
}

// A fault is sticky, as on a GPU: every later call fails until the device is reset.
void reset_device() {
  CHECK(cudaDeviceSynchronize() != cudaSuccess);
  REQUIRE(cudaDeviceReset() == cudaSuccess);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
}

}  // namespace

TEST_CASE("a host pointer or a freed allocation passed to a kernel is refused at the launch") {
  std::vector<float> host(64);
  check_mentions(error_of([&] { launch<fill_ones>(1, 64, 0, host.data(), 64); }),
                 {"fill_ones", "pointer argument 1", "not device memory"});
  reset_device();
  float* freed = device_alloc<float>(64);
  REQUIRE(cudaFree(freed) == cudaSuccess);
  check_mentions(error_of([&] { launch<fill_ones>(1, 64, 0, freed, 64); }), {"fill_ones", "freed", "use after free"});
  reset_device();
}

// Faults caught by the emulator's signal handler. Under ThreadSanitizer the process dies at the
// second fault whose handler leaves by siglongjmp, so the race-check build runs all but this
// suite (the plain and ASan builds run it).
TEST_SUITE_BEGIN("faults");

TEST_CASE("a write past an allocation names the kernel, block, thread and allocation") {
  float* out = device_alloc<float>(64);
  const std::string message = error_of([&] { launch<write_past_end>(2, 32, 0, out, 64); });
  check_mentions(message, {"write_past_end", "block (1,0,0)", "thread (5,0,0)", "illegal write",
                           "0 bytes past the end of the device allocation of 256 bytes", "cudaErrorIllegalAddress"});
  // Sticky: the next allocation fails with the same error.
  void* p = nullptr;
  CHECK(cudaMalloc(&p, 16) == cudaErrorIllegalAddress);
  reset_device();
}

TEST_CASE("a read of freed memory through a pointer the launch cannot see faults as a use after free") {
  float* out = device_alloc<float>(32);
  float* in = device_alloc<float>(32);
  REQUIRE(cudaFree(in) == cudaSuccess);
  check_mentions(error_of([&] { launch<read_through_struct>(1, 32, 0, out, Wrapped{in}); }),
                 {"read_through_struct", "block (0,0,0)", "thread (0,0,0)", "illegal read", "freed", "use after free"});
  reset_device();
}

TEST_SUITE_END();

TEST_CASE("a shuffle whose mask names a lane that exited is reported") {
  float* out = device_alloc<float>(32);
  check_mentions(error_of([&] { launch<shuffle_after_exit>(1, 32, 0, out); }),
                 {"shuffle_after_exit", "block (0,0,0)", "thread (", "__shfl_xor_sync", "lane 7", "exited"});
  reset_device();
}

TEST_CASE("a barrier some threads never reach, and a deadlock, are reported") {
  float* out = device_alloc<float>(32);
  check_mentions(error_of([&] { launch<barrier_in_divergent_code>(1, 32, 0, out); }),
                 {"barrier_in_divergent_code", "block (0,0,0)", "thread (", "__syncthreads reached by 16 of the block's 32",
                  "exited threads (0,0,0)"});
  reset_device();
  out = device_alloc<float>(32);
  check_mentions(error_of([&] { launch<shuffle_against_barrier>(1, 32, 0, out); }),
                 {"shuffle_against_barrier", "block (0,0,0)", "deadlock", "waiting at __syncthreads: (1,0,0)",
                  "waiting at a warp shuffle or __syncwarp: (0,0,0)"});
  reset_device();
}

TEST_CASE("launch configurations a GPU refuses are refused, and the device stays usable") {
  float* out = device_alloc<float>(4096);
  check_mentions(error_of([&] { launch<fill_ones>(1, 2048, 0, out, 4096); }),
                 {"fill_ones", "blockDim (2048,1,1) has 2048 threads; a block holds at most 1024",
                  "cudaErrorInvalidConfiguration"});
  check_mentions(error_of([&] { launch<fill_ones>(dim3(1, 70000), 32, 0, out, 4096); }), {"fill_ones", "gridDim (1,70000,1)"});
  check_mentions(error_of([&] { launch<fill_ones>(1, dim3(1, 1, 65), 0, out, 4096); }), {"fill_ones", "blockDim (1,1,65)"});
  check_mentions(error_of([&] { launch<fill_ones>(1, 32, 64 * 1024, out, 4096); }),
                 {"fill_ones", "65536 bytes of dynamic shared memory"});
  check_mentions(error_of([&] { launch<fill_ones_bounded>(1, 128, 0, out); }),
                 {"fill_ones_bounded", "blockDim (128,1,1) has 128 threads; its __launch_bounds__ allow 64",
                  "cudaErrorLaunchOutOfResources"});
  launch<fill_ones_bounded>(1, 64, 0, out);
  // A refused configuration is not sticky: the next launch runs.
  launch<fill_ones>(16, 256, 0, out, 4096);
  for (float v : download(out, 4096)) REQUIRE(v == 1.0f);
  REQUIRE(cudaFree(out) == cudaSuccess);
}

TEST_CASE("runtime calls check pointers, sizes and directions") {
  float* p = device_alloc<float>(8);
  std::vector<float> host(16);
  CHECK(cudaMemcpy(p, host.data(), 16 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(std::string(cudaGetErrorString(cudaErrorInvalidValue)).find("not inside the device allocation") != std::string::npos);
  CHECK(cudaMemcpy(host.data(), p, 8 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaFree(p + 1) == cudaErrorInvalidValue);
  REQUIRE(cudaFree(p) == cudaSuccess);
  CHECK(cudaFree(p) == cudaErrorInvalidValue);
  CHECK(std::string(cudaGetErrorString(cudaErrorInvalidValue)).find("freed twice") != std::string::npos);
  void* huge = nullptr;
  CHECK(cudaMalloc(&huge, size_t{1} << 50) == cudaErrorMemoryAllocation);
  CHECK(cudaGetLastError() == cudaErrorMemoryAllocation);
  CHECK(cudaGetLastError() == cudaSuccess);  // a non-sticky error is cleared by reading it
}

TEST_CASE("barriers, shuffles and shared memory per block compute what a GPU computes") {
  float* in = device_alloc<float>(64 * 4);
  float* out = device_alloc<float>(64);
  std::vector<float> values(64 * 4);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 64);
  REQUIRE(cudaMemcpy(in, values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  launch<reverse_with_barrier>(1, 64, 0, out, in);
  const std::vector<float> reversed = download(out, 64);
  for (int i = 0; i < 64; ++i) CHECK(reversed[i] == static_cast<float>(63 - i));

  float* sums = device_alloc<float>(1);
  launch<block_sums>(1, 256, 0, sums, in);
  CHECK(download(sums, 1)[0] == 4.0f * (63 * 64 / 2));

  int* coords = device_alloc<int>(2 * 3 * 4 * 2 * 2);
  launch<coordinates>(dim3(2, 3, 4), dim3(2, 2), 0, coords);
  const std::vector<int> c = download(coords, 96);
  for (int b = 0; b < 24; ++b)
    for (int t = 0; t < 4; ++t) CHECK(c[b * 4 + t] == b * 1000 + t);

  int* up = device_alloc<int>(32);
  int* down = device_alloc<int>(32);
  launch<segment_shuffles>(1, 32, 0, up, down);
  const std::vector<int> u = download(up, 32), d = download(down, 32);
  for (int lane = 0; lane < 32; ++lane) {
    CHECK(u[lane] == (lane % 8 >= 1 ? lane - 1 : lane));
    CHECK(d[lane] == (lane % 8 + 2 < 8 ? lane + 2 : lane));
  }
  for (void* p : {static_cast<void*>(in), static_cast<void*>(out), static_cast<void*>(sums), static_cast<void*>(coords),
                  static_cast<void*>(up), static_cast<void*>(down)})
    REQUIRE(cudaFree(p) == cudaSuccess);
}

// For ThreadSanitizer's race report (tests/CMakeLists.txt): a kernel with a missing barrier.
// Without TSan the emulator runs it to a wrong answer and no report; the race is TSan's to see.
int run_racy_kernel() {
  float* in = nullptr;
  float* out = nullptr;
  cudaMalloc(reinterpret_cast<void**>(&in), 64 * sizeof(float));
  cudaMalloc(reinterpret_cast<void**>(&out), 64 * sizeof(float));
  std::vector<float> values(64, 1.0f);
  cudaMemcpy(in, values.data(), 64 * sizeof(float), cudaMemcpyHostToDevice);
  launch<reverse_without_barrier>(1, 64, 0, out, in);
  return cudaDeviceSynchronize() == cudaSuccess ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--race") == 0) return run_racy_kernel();
  doctest::Context context(argc, argv);
  return context.run();
}
