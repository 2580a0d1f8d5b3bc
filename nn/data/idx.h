// IDX files, the format of MNIST and its relatives: a big-endian header (magic 0x0000TTRR: two
// zero bytes, an element type code TT, a rank RR; then RR uint32 dimensions) and the values.
#pragma once

#include <string>

#include "autograd/tensor.h"

namespace tg::data {

// Reads an IDX file, raw or gzip-compressed (told apart by the first bytes, not the name).
// Element types: 0x08 unsigned byte -> uint8; 0x09 signed byte, 0x0B int16, 0x0C int32 ->
// int64; 0x0D float32 -> float32; 0x0E float64 -> float64. The header is checked against the
// file's size (for gzip, the size in its trailer) before anything is allocated; a bad file is a
// tg::Error naming the file and the problem.
Tensor read_idx(const std::string& path);
// The same from a file's bytes already in memory; `what` names it in errors (read_idx passes
// the path).
Tensor idx_from_bytes(std::string bytes, const std::string& what = "idx");

}  // namespace tg::data
