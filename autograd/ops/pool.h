// Pooling (torch.nn.functional.max_pool2d / avg_pool2d / adaptive_avg_pool2d).
#pragma once

#include <optional>
#include <tuple>

#include "autograd/ops/conv.h"

namespace tg {

// stride defaults to kernel_size, as in PyTorch.
Tensor max_pool2d(const Tensor& x, Size2 kernel_size, std::optional<Size2> stride = {},
                  Size2 padding = 0, bool ceil_mode = false);
// Also returns the int64 indices (flat within each H*W plane), as return_indices=True.
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2 kernel_size,
                                                   std::optional<Size2> stride = {},
                                                   Size2 padding = 0, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, Size2 kernel_size, std::optional<Size2> stride = {},
                  Size2 padding = 0, bool ceil_mode = false, bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

}  // namespace tg
