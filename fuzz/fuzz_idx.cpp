// libFuzzer harness for the IDX reader (tg::data::idx_from_bytes, what read_idx runs on a
// file's bytes): raw files and gzip streams inflated by zlib, every element type. A tg::Error
// is the accepted outcome for a bad file.
#include <cstdint>
#include <string>

#include "fuzz/allocation_bound.h"
#include "nn/data/idx.h"

namespace {

// gzip may legitimately inflate 1032x (a limit of the deflate format, which the reader checks
// the header against before allocating), and a signed byte widens to an 8-byte int64.
constexpr size_t kBytesPerInputByte = 1032 * 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::AllocationBound bound(size, kBytesPerInputByte);
  try {
    tg::data::idx_from_bytes(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const tg::Error&) {
  }
  return 0;
}
