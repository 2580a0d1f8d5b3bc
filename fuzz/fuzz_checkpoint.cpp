// libFuzzer harness for the checkpoint loader: Checkpoint::load and the state-dict loads below
// it (Module::load_state_dict, what tg::load(module, path) runs; Optimizer::load_state_dict),
// each followed by a training step when it succeeds. A tg::Error is the accepted outcome.
//
// An input is either a checkpoint file (an .npz archive, "PK..."; the bytes Checkpoint::load
// reads) or, so that mutations reach the loader's checks instead of failing the archive's
// CRC-32s, a plain list of entries: repeated [name length: 1 byte][name][.npy length: 2 bytes,
// little-endian][.npy bytes]. The archive format itself is fuzz_npz's job.
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/allocation_bound.h"
#include "fuzz/checkpoint_parts.h"

namespace {

// An archive's entries may inflate 1032x and their .npy contents cost up to 8x (fuzz_npz.cpp).
constexpr size_t kBytesPerInputByte = 1032 * 8;

// The named tensors of an input; nullopt for an entry list cut short.
std::optional<tg::TensorDict> read_input(const uint8_t* data, size_t size) {
  const auto* bytes = reinterpret_cast<const char*>(data);
  if (size >= 2 && bytes[0] == 'P' && bytes[1] == 'K') return tg::npz_from_bytes(std::string(bytes, size));
  tg::TensorDict dict;
  size_t pos = 0;
  while (pos < size) {
    const size_t name_len = data[pos++];
    if (name_len + 2 > size - pos) return std::nullopt;
    std::string name(bytes + pos, name_len);
    pos += name_len;
    const size_t npy_len = data[pos] | size_t{data[pos + 1]} << 8;
    pos += 2;
    if (npy_len > size - pos) return std::nullopt;
    dict.emplace_back(std::move(name), tg::npy_from_bytes(bytes + pos, npy_len, "entry"));
    pos += npy_len;
  }
  return dict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::AllocationBound bound(size, kBytesPerInputByte);
  std::optional<tg::TensorDict> dict;
  try {
    dict = read_input(data, size);
  } catch (const tg::Error&) {
  }
  if (!dict) return 0;
  try {
    fuzz::CheckpointParts parts;
    parts.checkpoint.load(*dict);
    parts.train_step();
  } catch (const tg::Error&) {
  }
  try {
    fuzz::CheckpointParts parts;
    parts.model->load_state_dict(*dict);
    parts.train_step();
  } catch (const tg::Error&) {
  }
  try {
    fuzz::CheckpointParts parts;
    parts.opt.load_state_dict(*dict);
    parts.train_step();
  } catch (const tg::Error&) {
  }
  return 0;
}
