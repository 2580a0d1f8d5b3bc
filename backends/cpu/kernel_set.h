// Fills one IsaKernels table with the kernel templates instantiated for an xsimd architecture;
// each backends/cpu/arch/<isa>.cpp includes this and calls make_isa_kernels<its arch>.
#pragma once

#include <utility>

#include "backends/cpu/elementwise.h"
#include "backends/cpu/gemm.h"
#include "backends/cpu/isa.h"
#include "backends/cpu/philox_simd.h"
#include "backends/cpu/reduce.h"

namespace tg::cpu::simd {

template <class Arch, class T, int... U, int... A, int... C>
TypedKernels<T> make_typed_kernels(std::integer_sequence<int, U...>,
                                   std::integer_sequence<int, A...>,
                                   std::integer_sequence<int, C...>) {
  TypedKernels<T> k{};
  ((k.unary[U] = unary_row<Arch, T, static_cast<Unary>(U)>), ...);
  ((k.arithmetic[A] = arithmetic_row<Arch, T, static_cast<Arithmetic>(A)>), ...);
  ((k.compare[C] = compare_row<Arch, T, static_cast<Compare>(C)>), ...);
  k.where = where_row<Arch, T>;
  k.leaky_relu_backward = leaky_relu_backward_row<Arch, T>;
  k.sum_contiguous = sum_contiguous<Arch, T>;
  k.accumulate = accumulate<Arch, T>;
  k.max_row = arg_reduce_row<Arch, T, true>;
  k.min_row = arg_reduce_row<Arch, T, false>;
  k.max_cols = arg_reduce_cols<Arch, T, true>;
  k.min_cols = arg_reduce_cols<Arch, T, false>;
  k.gemm = gemm<Arch, T>;
  k.gemm_swaps = gemm_swaps<Arch, T>;
  k.packed_a_size = packed_a_size<Arch, T>;
  k.gemm_pack_a = gemm_pack_a<Arch, T>;
  k.gemm_prepacked = gemm_prepacked<Arch, T>;
  k.gemm_shared_b = gemm_shared_b<Arch, T>;
  k.gemm_mr = GemmBlocking<Arch, T>::MR;
  k.gemm_nr = GemmBlocking<Arch, T>::NR;
  k.gemm_nc = GemmBlocking<Arch, T>::NC;
  k.gemm_mc = GemmBlocking<Arch, T>::MC;
  k.gemm_kc = GemmBlocking<Arch, T>::KC;
  return k;
}

template <class Arch>
IsaKernels make_isa_kernels(const char* name) {
  const auto u = std::make_integer_sequence<int, static_cast<int>(Unary::count)>();
  const auto a = std::make_integer_sequence<int, static_cast<int>(Arithmetic::count)>();
  const auto c = std::make_integer_sequence<int, static_cast<int>(Compare::count)>();
  return {name, philox_uniform_bits<Arch>, make_typed_kernels<Arch, float>(u, a, c),
          make_typed_kernels<Arch, double>(u, a, c)};
}

}  // namespace tg::cpu::simd
