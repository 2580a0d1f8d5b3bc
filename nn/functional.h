// tg::nn::functional (namespace F = tg::nn::functional): the functional forms, as
// torch::nn::functional. They are the tg:: ops themselves, with PyTorch's argument order and
// defaults; embedding is defined with the Embedding layer.
#pragma once

#include "autograd/ops.h"
#include "nn/embedding.h"

namespace tg::nn::functional {

// activations and dropout
using tg::dropout;
using tg::leaky_relu;
using tg::relu;
using tg::sigmoid;
using tg::softplus;
using tg::tanh;
// layers
using tg::adaptive_avg_pool2d;
using tg::avg_pool2d;
using tg::batch_norm;
using tg::conv2d;
using tg::conv_transpose2d;
using tg::instance_norm;
using tg::layer_norm;
using tg::linear;
using tg::max_pool2d;
using tg::max_pool2d_with_indices;
// softmax and losses
using tg::binary_cross_entropy;
using tg::binary_cross_entropy_with_logits;
using tg::cross_entropy;
using tg::kl_normal;
using tg::l1_loss;
using tg::log_softmax;
using tg::mse_loss;
using tg::nll_loss;
using tg::softmax;

}  // namespace tg::nn::functional
