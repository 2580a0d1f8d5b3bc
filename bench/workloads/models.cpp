// The benchmark networks and their FLOP model (models.h).
#include "models.h"

#include <numeric>

namespace workloads {

namespace nn = tg::nn;
using tg::Tensor;

namespace {

nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); }

nn::ConvTranspose2d up(int64_t cin, int64_t cout, int64_t stride, int64_t padding) {
  return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(cin, cout, 4).stride(stride).padding(padding).bias(false));
}
nn::Conv2d down(int64_t cin, int64_t cout, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(cin, cout, 4).stride(stride).padding(padding).bias(false));
}

}  // namespace

GanModels dcgan32_models(bool logits, int64_t nc) {
  GanModels m{nn::Sequential(up(kNoise, 256, 1, 0), nn::BatchNorm2d(256), nn::ReLU(),  // 4x4
                             up(256, 128, 2, 1), nn::BatchNorm2d(128), nn::ReLU(),     // 8x8
                             up(128, 64, 2, 1), nn::BatchNorm2d(64), nn::ReLU(),       // 16x16
                             up(64, nc, 2, 1), nn::Tanh()),                            // 32x32
              nn::Sequential(down(nc, 64, 2, 1), leaky(),                              // 16x16
                             down(64, 128, 2, 1), nn::BatchNorm2d(128), leaky(),       // 8x8
                             down(128, 256, 2, 1), nn::BatchNorm2d(256), leaky(),      // 4x4
                             down(256, 1, 1, 0))};                                     // 1x1
  if (!logits) m.d->push_back(nn::Sigmoid());
  nn::init::dcgan_(*m.g);
  nn::init::dcgan_(*m.d);
  return m;
}

GanModels dcgan64_models(int64_t nc, int64_t ngf, int64_t ndf) {
  GanModels m;
  // G: nz -> ngf*8 at 4x4, halving the channels while doubling the size, -> nc at 64x64
  m.g->push_back(up(kNoise, ngf * 8, 1, 0));
  m.g->push_back(nn::BatchNorm2d(ngf * 8));
  m.g->push_back(nn::ReLU());
  for (int64_t c = ngf * 8; c > ngf; c /= 2) {
    m.g->push_back(up(c, c / 2, 2, 1));
    m.g->push_back(nn::BatchNorm2d(c / 2));
    m.g->push_back(nn::ReLU());
  }
  m.g->push_back(up(ngf, nc, 2, 1));
  m.g->push_back(nn::Tanh());
  // D: the mirror image, nc at 64x64 -> ndf*8 at 4x4 -> one probability
  m.d->push_back(down(nc, ndf, 2, 1));
  m.d->push_back(leaky());
  for (int64_t c = ndf; c < ndf * 8; c *= 2) {
    m.d->push_back(down(c, c * 2, 2, 1));
    m.d->push_back(nn::BatchNorm2d(c * 2));
    m.d->push_back(leaky());
  }
  m.d->push_back(down(ndf * 8, 1, 1, 0));
  m.d->push_back(nn::Sigmoid());
  nn::init::dcgan_(*m.g);
  nn::init::dcgan_(*m.d);
  return m;
}

GanModels mlpgan_models() {
  return {nn::Sequential(nn::Linear(kNoise, 256), leaky(),
                         nn::Linear(256, 512), leaky(),
                         nn::Linear(512, 1024), leaky(),
                         nn::Linear(1024, 784), nn::Tanh()),
          nn::Sequential(nn::Linear(784, 1024), leaky(), nn::Dropout(0.3),
                         nn::Linear(1024, 512), leaky(), nn::Dropout(0.3),
                         nn::Linear(512, 256), leaky(), nn::Dropout(0.3),
                         nn::Linear(256, 1), nn::Sigmoid())};
}

VAEImpl::VAEImpl()
    : Module("VAE"),
      fc1(register_module("fc1", nn::Linear(784, 400))),
      fc21(register_module("fc21", nn::Linear(400, 20))),
      fc22(register_module("fc22", nn::Linear(400, 20))),
      fc3(register_module("fc3", nn::Linear(20, 400))),
      fc4(register_module("fc4", nn::Linear(400, 784))) {}

std::tuple<Tensor, Tensor, Tensor> VAEImpl::forward(const Tensor& x) {
  Tensor h = tg::relu(fc1->forward(x));
  Tensor mu = fc21->forward(h), logvar = fc22->forward(h);
  Tensor z = mu + tg::randn_like(mu) * tg::exp(0.5 * logvar);
  return {tg::sigmoid(fc4->forward(tg::relu(fc3->forward(z)))), mu, logvar};
}

Tensor vae_loss(const Tensor& recon, const Tensor& x, const Tensor& mu, const Tensor& logvar) {
  return tg::binary_cross_entropy(recon, x, {}, tg::Reduction::Sum) + tg::kl_normal(mu, logvar, tg::Reduction::Sum);
}

std::vector<int64_t> layer_flops(nn::Module& model, int64_t n, const tg::Shape& example_shape) {
  std::vector<int64_t> rows;
  // spatial size of the running activation (conv nets only)
  int64_t h = example_shape.size() == 3 ? example_shape[1] : 0;
  int64_t w = example_shape.size() == 3 ? example_shape[2] : 0;
  for (const auto& m : model.modules()) {
    if (auto* c = dynamic_cast<nn::Conv2dImpl*>(m.get())) {
      const auto& o = c->options;
      const tg::Size2 k = o.kernel_size(), s = o.stride(), p = o.padding(), d = o.dilation();
      h = (h + 2 * p.h - d.h * (k.h - 1) - 1) / s.h + 1;
      w = (w + 2 * p.w - d.w * (k.w - 1) - 1) / s.w + 1;
      // every output element is a dot product of length C_in / groups * kH * kW
      rows.push_back(2 * n * o.out_channels() * h * w * (o.in_channels() / o.groups()) * k.h * k.w);
    } else if (auto* t = dynamic_cast<nn::ConvTranspose2dImpl*>(m.get())) {
      const auto& o = t->options;
      const tg::Size2 k = o.kernel_size(), s = o.stride(), p = o.padding(), d = o.dilation(), op = o.output_padding();
      // every input element scatters a kH x kW patch into C_out / groups output channels
      rows.push_back(2 * n * o.in_channels() * h * w * (o.out_channels() / o.groups()) * k.h * k.w);
      h = (h - 1) * s.h - 2 * p.h + d.h * (k.h - 1) + op.h + 1;
      w = (w - 1) * s.w - 2 * p.w + d.w * (k.w - 1) + op.w + 1;
    } else if (auto* l = dynamic_cast<nn::LinearImpl*>(m.get())) {
      rows.push_back(2 * n * l->options.in_features() * l->options.out_features());
    }
  }
  return rows;
}

int64_t gan_step_flops(const std::vector<int64_t>& fg, const std::vector<int64_t>& fd) {
  const int64_t FD = std::accumulate(fd.begin(), fd.end(), int64_t{0});
  const int64_t FG = std::accumulate(fg.begin(), fg.end(), int64_t{0});
  return 9 * FD - 2 * fd[0] + 3 * FG - fg[0];
}

int64_t vae_step_flops(const std::vector<int64_t>& f) {
  return 3 * std::accumulate(f.begin(), f.end(), int64_t{0}) - f[0];
}

}  // namespace workloads
