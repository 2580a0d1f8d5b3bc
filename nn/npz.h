// NumPy .npz archives (a zip of .npy entries; deflate via zlib, stored entries also read):
// the format of state dicts and checkpoints. Writes are atomic (temporary file in the same
// folder, flush, fsync, rename): an interrupted save never leaves a broken file where a good
// one was. Every entry's CRC-32 is checked on read; corrupt or truncated files raise tg::Error.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace tg {

// Named tensors in a fixed order (the order of the archive's entries).
using TensorDict = std::vector<std::pair<std::string, Tensor>>;

void save_npz(const TensorDict& tensors, const std::string& path, bool compress = true);
TensorDict load_npz(const std::string& path);
// The same from an archive already in memory; `what` names it in errors (load_npz passes the path).
TensorDict npz_from_bytes(const std::string& bytes, const std::string& what = "npz");

// Writes `bytes` to `path` atomically (temp file + fsync + rename); used by every saver.
void write_file_atomically(const std::string& path, const std::string& bytes);

// The whole file at `path`; `op` names the caller in the tg::Error raised when it cannot be read.
std::string read_file(const std::string& path, const char* op);

}  // namespace tg
