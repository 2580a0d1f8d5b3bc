// select_device: a backend name to the backend selected and the device it runs on.
#include "device.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#ifdef TAPEGRAD_EXAMPLES_CUDA
#include "backends/cuda/cuda.h"  // in builds with the cuda backend only
#endif

namespace examples {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

constexpr const char* kBuildCuda = "configure with -DTAPEGRAD_CUDA=ON (nvcc) or -DTAPEGRAD_CUDA_EMULATOR=ON";

// "cuda:0 (<name>)" for a usable CUDA device; throws why there is none.
std::string cuda_device_name(const std::string& what) {
#ifdef TAPEGRAD_EXAMPLES_CUDA
  if (!tg::cuda::is_available()) throw std::runtime_error(what + ": no CUDA device: " + tg::cuda::unavailable_reason());
  return tg::kCUDA.str() + " (" + tg::cuda::device_name() + ")";
#else
  throw std::runtime_error(what + ": the library has the cuda backend but these programs were built without it "
                                  "(examples/common/CMakeLists.txt defines TAPEGRAD_EXAMPLES_CUDA)");
#endif
}

}  // namespace

std::vector<std::string> built_backends() { return tg::kernel::available_backends(); }

Device select_device(const std::string& backend, const std::string& source) {
  const std::string what = source + (source == "TAPEGRAD_BACKEND" ? "=" : " ") + backend;
  const std::vector<std::string> built = built_backends();
  if (std::find(built.begin(), built.end(), backend) == built.end()) {
    if (backend == "cuda") {
      throw std::runtime_error(what + ": this build has no CUDA backend (backends built: " + joined(built) + "); " +
                               kBuildCuda);
    }
    throw std::runtime_error(what + ": unknown backend (backends built: " + joined(built) + ")");
  }
  Device d;
  d.backend = backend;
  if (backend == "cuda") {
    d.device = tg::kCUDA;
    d.name = cuda_device_name(what);
  } else {
    d.device = tg::kCPU;
    d.name = tg::kCPU.str();
  }
  tg::kernel::set_backend(backend);
  return d;
}

Device select_device_from(const std::string& backend) {
  const char* env = std::getenv("TAPEGRAD_BACKEND");
  const std::string env_backend = env ? env : "";
  try {
    built_backends();
  } catch (const tg::Error& e) {
    // The library reads TAPEGRAD_BACKEND when it is first used, and stops on a backend it has
    // not built; then it cannot list the ones it has.
    throw std::runtime_error("TAPEGRAD_BACKEND=" + env_backend + ": " +
                             (env_backend == "cuda" ? std::string("this build has no CUDA backend; ") + kBuildCuda
                                                    : std::string("unknown backend")) +
                             " (" + e.what() + ")");
  }
  if (!backend.empty()) return select_device(backend, "--backend");
  if (!env_backend.empty()) return select_device(env_backend, "TAPEGRAD_BACKEND");
  return select_device(tg::kernel::current_backend(tg::DeviceType::CPU), "the default backend");
}

}  // namespace examples
