// Dropout (torch.nn.functional.dropout): inverted scaling, mask from the default generator.
#pragma once

#include "autograd/tensor.h"

namespace tg {

Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

}  // namespace tg
