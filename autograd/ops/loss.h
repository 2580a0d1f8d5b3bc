// Softmax and the losses (torch.nn.functional names and defaults).
#pragma once

#include "autograd/tensor.h"

namespace tg {

enum class Reduction { None = 0, Mean = 1, Sum = 2 };  // PyTorch's at::Reduction values

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// input: probabilities in [0, 1]; log clamped at -100 as PyTorch does.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                            Reduction reduction = Reduction::Mean);
// Fused sigmoid + BCE in log-sum-exp form; pos_weight broadcasts over the last dim.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight = {}, const Tensor& pos_weight = {},
                                        Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// input: log-probabilities [N, C]; target: int64 class indices [N].
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                Reduction reduction = Reduction::Mean);
// Fused log_softmax + nll_loss over class indices.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                     Reduction reduction = Reduction::Mean);
// KL(N(mu, exp(logvar)) || N(0, 1)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)) (VAE).
Tensor kl_normal(const Tensor& mu, const Tensor& logvar, Reduction reduction = Reduction::Sum);

}  // namespace tg
