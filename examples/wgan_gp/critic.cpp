// make_critic and gradient_penalty for WGAN-GP (see critic.h).
#include "critic.h"

namespace wgan {

namespace nn = tg::nn;
using tg::Tensor;

nn::Sequential make_critic(int64_t in, int64_t hidden) {
  return nn::Sequential(nn::Linear(in, hidden), nn::ReLU(), nn::Linear(hidden, hidden), nn::ReLU(),
                        nn::Linear(hidden, hidden), nn::ReLU(), nn::Linear(hidden, 1));
}

// The scores are summed before the gradient: row i's score depends on x_hat_i alone, so
// d(sum_j critic(x_hat_j))/dx_hat_i = grad critic(x_hat_i). The 1e-12 keeps d sqrt finite at a
// zero gradient.
Tensor gradient_penalty(nn::Sequential& critic, const Tensor& real, const Tensor& fake, double weight) {
  Tensor eps = tg::rand({real.size(0), 1}, tg::TensorOptions(real.dtype()).device(real.device()));
  Tensor x_hat = (eps * real + (1.0 - eps) * fake).detach().requires_grad_();
  Tensor score_sum = critic->forward(x_hat).sum();
  Tensor grad = tg::autograd::grad({score_sum}, {x_hat}, {}, {}, /*create_graph=*/true)[0];
  Tensor norm = tg::sqrt(tg::sum(tg::square(grad), {1}) + 1e-12);
  return weight * tg::mean(tg::square(norm - 1.0));
}

}  // namespace wgan
