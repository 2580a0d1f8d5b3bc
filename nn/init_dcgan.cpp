// init::dcgan_: the DCGAN initialisation over a module tree (PyTorch's dcgan weights_init).
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/norm.h"

namespace tg::nn::init {

void dcgan_(Module& module) {
  module.apply([](Module& m) {
    auto conv = [](const Tensor& weight, const Tensor& bias) {
      normal_(weight, 0.0, 0.02);
      if (bias.defined()) zeros_(bias);
    };
    if (auto* c = dynamic_cast<Conv2dImpl*>(&m)) conv(c->weight, c->bias);
    if (auto* c = dynamic_cast<ConvTranspose2dImpl*>(&m)) conv(c->weight, c->bias);
    if (auto* bn = dynamic_cast<BatchNormImplBase*>(&m); bn && bn->options.affine()) {
      normal_(bn->weight, 1.0, 0.02);
      zeros_(bn->bias);
    }
  });
}

}  // namespace tg::nn::init
