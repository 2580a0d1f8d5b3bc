// The benchmark networks, layer for layer those of torch_workloads.py: the 32x32 DCGAN (with
// and without D's final Sigmoid), the PyTorch tutorial's 64x64 DCGAN, the MLP GAN and the MLP
// VAE; and its FLOP model.
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include "tapegrad.h"

namespace workloads {

constexpr int64_t kNoise = 100;  // NZ: length of G's input noise

struct GanModels {
  tg::nn::Sequential g, d;
};

// logits = true drops D's final Sigmoid (for BCE-with-logits). N(0, 0.02) conv weights,
// N(1, 0.02) BN scale (nn::init::dcgan_), as the torch side's dcgan_init.
GanModels dcgan32_models(bool logits, int64_t nc = 1);
GanModels dcgan64_models(int64_t nc = 3, int64_t ngf = 64, int64_t ndf = 64);
GanModels mlpgan_models();  // flattened 28x28 images, dropout 0.3 in D; PyTorch's default init

// 784 -> 400 -> (mu, logvar) of 20; 20 -> 400 -> 784 -> sigmoid.
class VAEImpl : public tg::nn::Module {
 public:
  VAEImpl();
  // (reconstruction, mu, logvar), z = mu + eps * exp(logvar / 2) (the reparameterisation).
  std::tuple<tg::Tensor, tg::Tensor, tg::Tensor> forward(const tg::Tensor& x);

  tg::nn::Linear fc1, fc21, fc22, fc3, fc4;
};
TG_MODULE(VAE);

// BCE(sum) of the reconstruction plus KL(N(mu, exp(logvar)) || N(0, I)), summed.
tg::Tensor vae_loss(const tg::Tensor& recon, const tg::Tensor& x, const tg::Tensor& mu,
                    const tg::Tensor& logvar);

// FLOP model (torch_workloads.py's): forward FLOPs (2 * MACs) of each Conv2d, ConvTranspose2d
// and Linear of `model` in execution order, for a batch of `n` examples of `example_shape`
// ([C, H, W] for conv nets, [features] for MLPs). Shapes are propagated through the modules
// in order; every Linear here sees a 2-D input, so its count is 2 * n * in * out.
std::vector<int64_t> layer_flops(tg::nn::Module& model, int64_t n, const tg::Shape& example_shape);

// One GAN step: D(real) fwd+bwd, G(z) fwd, D(fake.detach()) fwd+bwd, D(fake) fwd + bwd into G
// = 3 D forwards + 3 D backwards (a backward is 2 forwards: input and weight gradients; two of
// them skip D's first-layer input gradient) + 1 G forward + 1 G backward (without the input
// gradient of G's first layer): 9 FD - 2 fd[0] + 3 FG - fg[0].
int64_t gan_step_flops(const std::vector<int64_t>& fg, const std::vector<int64_t>& fd);

// One VAE step: forward + backward of every layer, without fc1's input gradient.
int64_t vae_step_flops(const std::vector<int64_t>& f);

}  // namespace workloads
