// Device discovery, the stream, and CUDA errors as tg::Error.
#include <cstdlib>
#include <cstring>
#include <string>

#include "autograd/profiler.h"
#include "backends/cuda/cuda.h"
#include "backends/cuda/runtime.h"

namespace tg::cuda {
namespace {

struct Discovery {
  int count = 0;
  std::string reason;  // why none is usable; "" when count > 0
};

// Asked once: cudaGetDeviceCount fails cleanly (cudaErrorInsufficientDriver,
// cudaErrorNoDevice) when the driver library or the GPU is missing.
const Discovery& discovery() {
  static const Discovery d = [] {
    Discovery r;
    const cudaError_t e = cudaGetDeviceCount(&r.count);
    if (e != cudaSuccess) {
      r.count = 0;
      r.reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e);
      (void)cudaGetLastError();  // the failed query leaves nothing behind for later calls
    } else if (r.count == 0) {
      r.reason = "cudaGetDeviceCount found no CUDA device";
    }
    return r;
  }();
  return d;
}

// The path from the repository root ("backends/cuda/..."): messages stay short.
const char* short_path(const char* file) {
  const char* p = std::strstr(file, "backends/cuda/");
  return p ? p : file;
}

bool sync_each_launch() {
  static const bool on = [] {
    const char* v = std::getenv("TAPEGRAD_CUDA_SYNC");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

}  // namespace

bool is_available() { return discovery().count > 0; }
int device_count() { return discovery().count; }
std::string unavailable_reason() { return discovery().reason; }

std::string device_name() {
  TG_CHECK(is_available(), "cuda", "no usable CUDA device (", unavailable_reason(), ")");
  cudaDeviceProp prop{};
  TG_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

void synchronize() {
  if (is_available()) TG_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line) {
  TG_ERROR("cuda", call, " failed at ", short_path(file), ":", line, ": ", cudaGetErrorString(error),
           " (", cudaGetErrorName(error), ")");
}

namespace {

[[noreturn]] void throw_kernel_error(cudaError_t error, const char* kernel) {
  TG_ERROR("cuda", "kernel ", kernel, " failed: ", cudaGetErrorString(error), " (", cudaGetErrorName(error), ")");
}

}  // namespace

void check_launch(const char* kernel) {
  const cudaError_t launch = cudaGetLastError();
  if (launch != cudaSuccess) throw_kernel_error(launch, kernel);
  if (sync_each_launch() || profiler::enabled()) {
    const cudaError_t run = cudaStreamSynchronize(stream());
    if (run != cudaSuccess) throw_kernel_error(run, kernel);
  }
}

std::string kernel_name_from_signature(const char* signature) {
  std::string s = signature;
  const size_t at = s.find("Kernel = ");
  if (at == std::string::npos) return s;
  s = s.substr(at + 9);
  s = s.substr(0, s.find_first_of(";]"));
  // Namespaces add nothing to a kernel's name in a message.
  for (const char* prefix : {"tg::cuda::", "{anonymous}::", "(anonymous namespace)::"}) {
    for (size_t p; (p = s.find(prefix)) != std::string::npos;) s.erase(p, std::strlen(prefix));
  }
  if (!s.empty() && s[0] == '&') s.erase(0, 1);
  return s;
}

cudaStream_t stream() {
  // Non-blocking: the backend's work is ordered by this stream alone, not by the legacy
  // default stream other libraries in the process may use.
  static cudaStream_t s = [] {
    cudaStream_t created = nullptr;
    TG_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking));
    return created;
  }();
  return s;
}

unsigned blocks_for(int64_t n, int threads) {
  constexpr int64_t kMaxBlocks = int64_t{1} << 20;
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

Tensor device_empty(const Shape& shape, DType dtype) {
  return empty(shape, TensorOptions(dtype).device(kCUDA));
}

}  // namespace tg::cuda
