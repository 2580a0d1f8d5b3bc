// NumPy .npy files (format version 1.0, little-endian): float32, float64, int64, uint8, bool.
// numpy.load reads what save_npy writes, and load_npy reads what numpy.save writes (C or
// Fortran order), so reference values move between PyTorch and tapegrad without glue.
#pragma once

#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace tg {

void save_npy(const Tensor& t, const std::string& path);
Tensor load_npy(const std::string& path);

// The same in memory (the .npz reader and writer build on these).
std::vector<char> npy_bytes(const Tensor& t);
Tensor npy_from_bytes(const char* data, size_t size, const std::string& what = "npy");

}  // namespace tg
