// The original fully connected GAN (Goodfellow et al. 2014) in its common modern form: MLP
// generator and discriminator with LeakyReLU(0.2), dropout in the discriminator, trained with
// BCE-with-logits and Adam; the discriminator learns on fake.detach().
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "data.h"
#include "flags.h"
#include "progress.h"
#include "report.h"
#include "training.h"

namespace nn = tg::nn;
using tg::Tensor;

namespace {

constexpr int64_t kNoiseSize = 100;
constexpr double kLearningRate = 2e-4;
constexpr double kBeta1 = 0.5, kBeta2 = 0.999;
constexpr double kLeakySlope = 0.2;
constexpr double kDropout = 0.3;
constexpr int64_t kSampleCount = 64;  // fixed-noise samples per grid (8 x 8)

nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeakySlope)); }

// 100 -> 256 -> 512 -> 1024 -> pixels in [-1, 1].
nn::Sequential make_generator(int64_t dim) {
  return nn::Sequential(nn::Linear(kNoiseSize, 256), leaky(), nn::Linear(256, 512), leaky(), nn::Linear(512, 1024),
                        leaky(), nn::Linear(1024, dim), nn::Tanh());
}

// pixels -> 1024 -> 512 -> 256 -> one logit.
nn::Sequential make_discriminator(int64_t dim) {
  return nn::Sequential(nn::Linear(dim, 1024), leaky(), nn::Dropout(kDropout), nn::Linear(1024, 512), leaky(),
                        nn::Dropout(kDropout), nn::Linear(512, 256), leaky(), nn::Dropout(kDropout), nn::Linear(256, 1));
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags defaults;
  defaults.lr = kLearningRate;
  const examples::Flags flags = examples::parse_flags(argc, argv, "mlp_gan", "fully connected GAN on images", defaults);
  const examples::Device device = examples::apply_flags(flags);

  auto dataset = examples::make_dataset(flags.data, flags.limit, flags.seed, {});
  const tg::Shape example = dataset->example_shape();
  TG_CHECK(example.size() == 3, "mlp_gan", "--data ", flags.data, " is not an image set");
  const int64_t dim = tg::numel_of(example);
  tg::data::DataLoader loader(dataset, tg::data::DataLoaderOptions(flags.batch).shuffle(true).seed(flags.seed).drop_last(true));
  TG_CHECK(loader.size() > 0, "mlp_gan", "fewer examples (", dataset->size(), ") than --batch ", flags.batch);

  nn::Sequential generator = make_generator(dim);
  nn::Sequential discriminator = make_discriminator(dim);
  generator->to(device);
  discriminator->to(device);
  tg::optim::Adam opt_g(generator->parameters(), tg::optim::AdamOptions(flags.lr).betas({kBeta1, kBeta2}));
  tg::optim::Adam opt_d(discriminator->parameters(), tg::optim::AdamOptions(flags.lr).betas({kBeta1, kBeta2}));
  const Tensor fixed_noise = tg::randn({kSampleCount, kNoiseSize}, tg::device(device));

  nn::Checkpoint checkpoint;
  checkpoint.add("generator", generator).add("discriminator", discriminator).add("opt_g", opt_g).add("opt_d", opt_d);
  int64_t step = flags.resume.empty() ? 0 : checkpoint.load(flags.resume);
  const int64_t per_epoch = loader.size();
  const int64_t total = flags.steps > 0 ? std::min<int64_t>(flags.steps, flags.epochs * per_epoch) : flags.epochs * per_epoch;
  std::cout << "mlp_gan: " << dataset->size() << " examples of " << tg::shape_str(example) << ", " << per_epoch
            << " batches of " << flags.batch << " per epoch, backend " << device.backend
            << (step ? ", resumed at step " + std::to_string(step) : "") << "\n";

  examples::MetricsLog metrics(flags.out + "/metrics.csv", step);
  examples::Progress progress(total);
  tg::autograd::DetectAnomalyGuard anomaly(flags.detect_anomaly);
  examples::Metrics last;
  bool first_step = true;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = static_cast<int>(step / per_epoch); epoch < flags.epochs && step < total; ++epoch) {
    loader.set_epoch(epoch);
    int64_t skip = step - epoch * per_epoch;  // batches this epoch already trained on before --resume
    double sum_d = 0, sum_g = 0, sum_dx = 0, sum_dgz = 0;
    int64_t count = 0;
    examples::Metrics grad_norms;
    for (tg::data::Batch& batch : loader) {
      if (skip-- > 0) continue;
      const bool inspect = first_step;  // the step --profile and --dump-graph look at
      first_step = false;
      std::unique_ptr<tg::profiler::Profiler> profiler;
      if (flags.profile && inspect) profiler = std::make_unique<tg::profiler::Profiler>();
      const bool dump = !flags.dump_graph.empty() && inspect;

      Tensor real = batch.data.to(device).reshape({-1, dim});
      const int64_t n = real.size(0);
      const Tensor ones = tg::ones({n}, tg::device(device)), zeros = tg::zeros({n}, tg::device(device));
      Tensor fake = generator->forward(tg::randn({n, kNoiseSize}, tg::device(device)));

      // Discriminator: maximise log D(x) + log(1 - D(G(z))), i.e. BCE against 1 on real, 0 on fake.
      Tensor d_real = discriminator->forward(real).reshape({n});
      Tensor d_fake = discriminator->forward(fake.detach()).reshape({n});
      Tensor loss_d = tg::binary_cross_entropy_with_logits(d_real, ones) +
                      tg::binary_cross_entropy_with_logits(d_fake, zeros);
      opt_d.zero_grad();
      loss_d.backward({}, /*retain_graph=*/dump);
      opt_d.step();
      grad_norms = examples::weight_grad_norms("D", *discriminator);

      // Generator: the non-saturating loss -log D(G(z)), BCE of the new D(G(z)) against 1.
      Tensor loss_g = tg::binary_cross_entropy_with_logits(discriminator->forward(fake).reshape({n}), ones);
      opt_g.zero_grad();
      loss_g.backward({}, /*retain_graph=*/dump);
      opt_g.step();
      for (auto& g : examples::weight_grad_norms("G", *generator)) grad_norms.push_back(g);
      ++step;

      if (dump) {
        tg::autograd::save_dot({loss_d, loss_g}, flags.dump_graph);
        std::cout << "wrote the tape of step " << step << " to " << flags.dump_graph << "\n";
      }
      if (profiler) std::cout << "\nprofile of step " << step << ":\n" << profiler->table() << "\n";
      const double dx = tg::sigmoid(d_real.detach()).mean().item<double>();
      const double dgz = tg::sigmoid(d_fake.detach()).mean().item<double>();
      last = {{"loss_D", loss_d.item<double>()}, {"loss_G", loss_g.item<double>()}, {"D(x)", dx}, {"D(G(z))", dgz}};
      sum_d += last[0].second, sum_g += last[1].second, sum_dx += dx, sum_dgz += dgz, ++count;
      progress.update(epoch + 1, step, last);
      if (step >= total) break;
    }
    if (count == 0) continue;

    {
      tg::NoGradGuard no_grad;
      tg::save_image(generator->forward(fixed_noise).reshape({-1, example[0], example[1], example[2]}), flags.out + "/" + examples::sample_file(epoch + 1), 8, 2, true,
                     tg::ValueRange{-1.0, 1.0});
    }
    checkpoint.save(flags.out + "/checkpoint.npz", step);
    examples::Metrics row = {{"epoch", epoch + 1.0}, {"step", double(step)}, {"loss_D", sum_d / count},
                             {"loss_G", sum_g / count}, {"D(x)", sum_dx / count}, {"D(G(z))", sum_dgz / count},
                             {"time_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
    row.insert(row.end(), grad_norms.begin(), grad_norms.end());
    metrics.append(row);
  }
  progress.finish();
  examples::print_final(step, last);

  if (flags.save_samples > 0) {
    tg::NoGradGuard no_grad;
    tg::save_npy(generator->forward(tg::randn({flags.save_samples, kNoiseSize}, tg::device(device))),
                 flags.out + "/samples.npy");
  }
  examples::write_run_report(flags, device, "MLP GAN", metrics, {"loss_D", "loss_G"}, flags.epochs,
                             {"Generator 100-256-512-1024-pixels, discriminator pixels-1024-512-256-1 with dropout 0.3; the loss curves are epoch means."},
                             {{"optimizer", "Adam, betas (0.5, 0.999)"}});
  std::cout << "wrote " << flags.out << "/report.html\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "mlp_gan: " << e.what() << "\n";
  return 1;
}
