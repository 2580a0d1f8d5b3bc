// The cpu backend's kernel-table entries (registered in backends/cpu/register.cpp). Each
// unpacks tensors into rows or matrices and runs the active ISA's inner loops (isa.h).
#pragma once

#include "backends/kernels.h"

namespace tg::cpu {

// elementwise.cpp
void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
template <kernel::OpId Op>
void unary(const Tensor& out, const Tensor& in, double alpha, double beta);
template <kernel::OpId Op> void binary(const Tensor& out, const Tensor& a, const Tensor& b);
void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);

// random.cpp
void uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high);
void normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std);

// reduce.cpp
void sum(const Tensor& out, const Tensor& in);
void max(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim);
void min(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim);

// gemm.cpp
void matmul(const Tensor& out, const Tensor& a, const Tensor& b);

}  // namespace tg::cpu
