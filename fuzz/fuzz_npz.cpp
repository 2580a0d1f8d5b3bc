// libFuzzer harness for the .npz reader (tg::npz_from_bytes, what load_npz runs on a file's
// bytes): the zip records, zip64 fields, stored and deflated entries, CRC-32s and the .npy
// entries inside. A tg::Error is the accepted outcome for a bad archive.
#include <cstdint>
#include <string>

#include "fuzz/allocation_bound.h"
#include "nn/npz.h"

namespace {

// A deflated entry may inflate to 1032 bytes per stored byte (the reader's kMaxDeflateRatio,
// a limit of the deflate format); its .npy content then costs up to 8x (fuzz_npy.cpp).
constexpr size_t kBytesPerInputByte = 1032 * 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::AllocationBound bound(size, kBytesPerInputByte);
  try {
    tg::npz_from_bytes(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const tg::Error&) {
  }
  return 0;
}
