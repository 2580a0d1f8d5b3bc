// libFuzzer harness for the .npy reader (tg::npy_from_bytes, what load_npy runs on a file's
// bytes). A tg::Error is the accepted outcome for a bad file; a file that loads must survive a
// round trip: writing the tensor and reading it back gives the same bytes again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "autograd/npy.h"
#include "fuzz/allocation_bound.h"

namespace {

// The tensor takes at most the file's size; its shape and strides take 8 bytes per dimension,
// each of which needs at least 2 header bytes ("0,"), and vectors grow by doubling: 8x.
constexpr size_t kBytesPerInputByte = 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::AllocationBound bound(size, kBytesPerInputByte);
  try {
    const tg::Tensor t = tg::npy_from_bytes(reinterpret_cast<const char*>(data), size);
    const std::vector<char> written = tg::npy_bytes(t);
    const std::vector<char> again = tg::npy_bytes(tg::npy_from_bytes(written.data(), written.size()));
    if (again != written) {
      std::fprintf(stderr, "fuzz_npy: %s does not round-trip through npy_bytes\n", t.str().c_str());
      std::abort();
    }
  } catch (const tg::Error&) {
  }
  return 0;
}
