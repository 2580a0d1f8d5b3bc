// The training-step workloads: one GAN or VAE step with Adam, timed (workloads.h). The step is
// the one torch_workloads.py times: D learns on real and on fake.detach(), then G through D.
#include <numeric>

#include "models.h"
#include "workloads.h"

namespace workloads {

namespace nn = tg::nn;
using tg::Tensor;

namespace {

constexpr double kGanLearningRate = 2e-4, kGanBeta1 = 0.5, kGanBeta2 = 0.999;
constexpr double kVaeLearningRate = 1e-3;

int64_t parameter_count(const nn::Module& module) {
  int64_t n = 0;
  for (const Tensor& p : module.parameters()) n += p.numel();
  return n;
}

double gflop(const std::vector<int64_t>& flops) {
  return round_to(static_cast<double>(std::accumulate(flops.begin(), flops.end(), int64_t{0})) / 1e9, 4);
}

// Mean BCE of D's output (a probability, or a logit with `logits`) against a constant target.
Tensor criterion(const Tensor& out, const Tensor& target, bool logits) {
  return logits ? tg::binary_cross_entropy_with_logits(out, target) : tg::binary_cross_entropy(out, target);
}

void run_gan_step(const std::string& name, int64_t batch, const RunOptions& options, JsonRow& row) {
  const bool logits = name == "dcgan32_logits";
  GanModels m = name == "dcgan64" ? dcgan64_models() : name == "mlpgan" ? mlpgan_models() : dcgan32_models(logits);
  const tg::Shape example = name == "dcgan64" ? tg::Shape{3, 64, 64} : name == "mlpgan" ? tg::Shape{784} : tg::Shape{1, 32, 32};
  const tg::Shape noise = name == "mlpgan" ? tg::Shape{kNoise} : tg::Shape{kNoise, 1, 1};
  auto with_batch = [batch](tg::Shape s) {
    s.insert(s.begin(), batch);
    return s;
  };
  const tg::TensorOptions on(options.device);
  if (!options.device.is_cpu()) {
    m.g->to(options.device);
    m.d->to(options.device);
  }
  const auto adam = tg::optim::AdamOptions(kGanLearningRate).betas({kGanBeta1, kGanBeta2});
  tg::optim::Adam opt_g(m.g->parameters(), adam), opt_d(m.d->parameters(), adam);
  const Tensor real = tg::rand(with_batch(example), on) * 2 - 1;  // stand-in real batch in [-1, 1]
  const Tensor ones = tg::ones({batch}, on), zeros = tg::zeros({batch}, on);
  const std::vector<int64_t> fg = layer_flops(*m.g, batch, noise), fd = layer_flops(*m.d, batch, example);

  auto step = [&] {
    // (1) D: maximise log D(x) + log(1 - D(G(z)))
    opt_d.zero_grad();
    criterion(m.d->forward(real).view({-1}), ones, logits).backward();
    const Tensor fake = m.g->forward(tg::randn(with_batch(noise), on));
    criterion(m.d->forward(fake.detach()).view({-1}), zeros, logits).backward();
    opt_d.step();
    // (2) G: maximise log D(G(z)) (non-saturating); the gradient flows through D into G
    opt_g.zero_grad();
    criterion(m.d->forward(fake).view({-1}), ones, logits).backward();
    opt_g.step();
  };
  const Timing t = measure(step, options, name, row);
  add_flops(row, static_cast<double>(gan_step_flops(fg, fd)), t);
  row.set("loss", logits ? "BCEWithLogits" : "Sigmoid+BCELoss")
      .set("params_g", parameter_count(*m.g))
      .set("params_d", parameter_count(*m.d))
      .set("fwd_gflop_g", gflop(fg))
      .set("fwd_gflop_d", gflop(fd));
}

void run_vae_step(int64_t batch, const RunOptions& options, JsonRow& row) {
  VAE model;
  if (!options.device.is_cpu()) model->to(options.device);
  tg::optim::Adam opt(model->parameters(), tg::optim::AdamOptions(kVaeLearningRate));
  const Tensor x = tg::rand({batch, 784}, tg::TensorOptions(options.device));  // stand-in batch in [0, 1]
  const std::vector<int64_t> f = layer_flops(*model, batch, {784});  // fc1, fc21, fc22, fc3, fc4

  auto step = [&] {
    opt.zero_grad();
    auto [recon, mu, logvar] = model->forward(x);
    vae_loss(recon, x, mu, logvar).backward();
    opt.step();
  };
  const Timing t = measure(step, options, "vae", row);
  add_flops(row, static_cast<double>(vae_step_flops(f)), t);
  row.set("loss", "BCE(sum)+KL").set("params", parameter_count(*model)).set("fwd_gflop", gflop(f));
}

}  // namespace

void run_train_step(const std::string& name, int64_t batch, const RunOptions& options) {
  batch = batch > 0 ? batch : name == "dcgan64" ? 64 : 128;
  const double rss0 = peak_rss_mib();
  JsonRow row;
  row.set("workload", name).set("kind", "train_step").set("batch", batch).update(common_fields(options));
  if (name == "vae") {
    run_vae_step(batch, options, row);
  } else {
    run_gan_step(name, batch, options, row);
  }
  add_memory(row, rss0);
  emit(row);
}

}  // namespace workloads
