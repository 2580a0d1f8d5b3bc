// The WGAN-GP critic and its gradient penalty (Gulrajani et al. 2017), shared by the wgan_gp
// program and its finite-difference check (penalty_check.cpp).
#pragma once

#include <cstdint>

#include "tapegrad.h"

namespace wgan {

constexpr int64_t kHidden = 256;  // width of every hidden layer, generator and critic

// in -> hidden -> hidden -> hidden -> score; no batch norm, which would couple the examples
// whose individual input gradients the penalty needs.
tg::nn::Sequential make_critic(int64_t in, int64_t hidden = kHidden);

// weight * mean_i (||grad_x critic(x_hat_i)||_2 - 1)^2 with x_hat = eps real + (1 - eps) fake,
// eps ~ U[0, 1) per row (one row is one critic input), drawn from the default generator.
// The input gradient is taken with create_graph, so the penalty is differentiable in the
// critic's parameters (a double backward); real and fake get no gradient (x_hat is detached).
tg::Tensor gradient_penalty(tg::nn::Sequential& critic, const tg::Tensor& real, const tg::Tensor& fake, double weight);

}  // namespace wgan
