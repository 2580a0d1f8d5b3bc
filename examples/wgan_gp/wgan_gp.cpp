// WGAN-GP (Gulrajani et al. 2017): an MLP critic without normalisation estimates the Wasserstein-1
// distance, kept 1-Lipschitz by penalising (||grad_x critic(x_hat)|| - 1)^2 at random points
// between real and fake examples; that gradient is itself differentiated (create_graph).
// Default data: the 8-Gaussian ring (2-D points); image sets are learnt on flattened pixels.
// --loss gan trains the same networks as a standard GAN instead (the non-saturating BCE loss of
// Goodfellow et al., one critic step per generator step, no penalty): the baseline that
// collapses onto a few ring8 modes, which the Wasserstein loss with its penalty avoids.
// --pack M lets the critic judge M examples at once, concatenated (PacGAN, Lin et al. 2018): a
// generator that puts its samples on few modes makes packs real ones rarely form, and is caught.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>

#include "critic.h"
#include "data.h"
#include "flags.h"
#include "progress.h"
#include "report.h"
#include "scatter.h"
#include "training.h"

namespace nn = tg::nn;
using tg::Tensor;

namespace {

constexpr int64_t kNoiseSize = 8;
constexpr int kCriticSteps = 5;        // critic updates per generator update
constexpr double kPenaltyWeight = 10;  // lambda
constexpr double kLearningRate = 1e-4;
constexpr double kBeta1 = 0.0, kBeta2 = 0.9;
constexpr int64_t kRingExamples = 256000;  // ring8 / shapes without --limit: 400 steps per epoch at batch 128
constexpr int64_t kSampleCount = 512;  // fixed-noise samples per picture

// noise -> hidden -> hidden -> hidden -> example (tanh for images in [-1, 1], linear for points).
nn::Sequential make_generator(int64_t out, bool images) {
  const int64_t h = wgan::kHidden;
  nn::Sequential g(nn::Linear(kNoiseSize, h), nn::ReLU(), nn::Linear(h, h), nn::ReLU(), nn::Linear(h, h), nn::ReLU(),
                   nn::Linear(h, out));
  if (images) g->push_back(nn::Tanh());
  return g;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags defaults;
  defaults.data = "ring8";
  defaults.lr = kLearningRate;
  const examples::Flags flags = examples::parse_flags(argc, argv, "wgan_gp", "WGAN with gradient penalty", defaults);
  const examples::Device device = examples::apply_flags(flags);

  auto dataset = examples::make_dataset(flags.data, flags.limit, flags.seed, {.procedural_size = kRingExamples});
  const tg::Shape example = dataset->example_shape();
  const bool images = example.size() == 3;
  const int64_t dim = tg::numel_of(example);
  tg::data::DataLoader loader(dataset, tg::data::DataLoaderOptions(flags.batch).shuffle(true).seed(flags.seed).drop_last(true));
  const bool gan = flags.loss == "gan";
  const int critic_steps = gan ? 1 : kCriticSteps;  // critic updates per generator update
  const int64_t per_epoch = loader.size() / critic_steps;  // generator steps per epoch
  TG_CHECK(per_epoch > 0, "wgan_gp", "an epoch needs ", critic_steps, " batches of ", flags.batch, ", the data has ",
           dataset->size(), " examples");

  nn::Sequential generator = make_generator(dim, images);
  TG_CHECK(flags.batch % flags.pack == 0, "wgan_gp", "--batch ", flags.batch, " is not a multiple of --pack ", flags.pack);
  const int64_t packed = dim * flags.pack;  // one critic input: --pack examples side by side
  nn::Sequential critic = wgan::make_critic(packed);
  generator->to(device);
  critic->to(device);
  tg::optim::Adam opt_g(generator->parameters(), tg::optim::AdamOptions(flags.lr).betas({kBeta1, kBeta2}));
  tg::optim::Adam opt_c(critic->parameters(), tg::optim::AdamOptions(flags.lr).betas({kBeta1, kBeta2}));
  const Tensor fixed_noise = tg::randn({images ? 64 : kSampleCount, kNoiseSize}, tg::device(device));

  nn::Checkpoint checkpoint;
  checkpoint.add("generator", generator).add("critic", critic).add("opt_g", opt_g).add("opt_c", opt_c);
  int64_t step = flags.resume.empty() ? 0 : checkpoint.load(flags.resume);
  const int64_t total = flags.steps > 0 ? std::min<int64_t>(flags.steps, flags.epochs * per_epoch) : flags.epochs * per_epoch;
  std::cout << "wgan_gp: " << dataset->size() << " examples of " << tg::shape_str(example) << ", " << per_epoch
            << " generator steps (" << critic_steps << " critic batches of " << flags.batch << " each) per epoch, loss "
            << flags.loss << ", backend " << device.backend << (step ? ", resumed at step " + std::to_string(step) : "") << "\n";

  examples::MetricsLog metrics(flags.out + "/metrics.csv", step);
  examples::Progress progress(total);
  tg::autograd::DetectAnomalyGuard anomaly(flags.detect_anomaly);
  examples::Metrics last;
  bool first_step = true;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = static_cast<int>(step / per_epoch); epoch < flags.epochs && step < total; ++epoch) {
    loader.set_epoch(epoch);
    int64_t skip = (step - epoch * per_epoch) * critic_steps;  // batches used before --resume
    double sum_c = 0, sum_g = 0, sum_w = 0, sum_gp = 0;
    int64_t count = 0, critic_step = 0;
    examples::Metrics grad_norms;
    Tensor loss_c, penalty, real_score, fake_score;
    std::unique_ptr<tg::profiler::Profiler> profiler;
    for (tg::data::Batch& batch : loader) {
      if (skip-- > 0) continue;
      if (count == per_epoch) break;
      const bool inspect = first_step;  // the step --profile and --dump-graph look at
      if (flags.profile && inspect && !profiler) profiler = std::make_unique<tg::profiler::Profiler>();
      const bool dump = !flags.dump_graph.empty() && inspect && critic_step == critic_steps - 1;

      // Critic: minimise E[critic(fake)] - E[critic(real)] + penalty (--loss gan: BCE of the
      // logits against 1 on real, 0 on fake).
      const int64_t b = batch.data.size(0);  // examples; n critic inputs of --pack examples each
      Tensor real = batch.data.to(device).reshape({-1, packed});
      const int64_t n = real.size(0);
      Tensor fake = generator->forward(tg::randn({b, kNoiseSize}, tg::device(device))).detach().reshape({n, packed});
      Tensor real_logits = critic->forward(real).reshape({n}), fake_logits = critic->forward(fake).reshape({n});
      real_score = real_logits.mean();
      fake_score = fake_logits.mean();
      if (gan) {
        penalty = tg::zeros({}, tg::device(device));
        loss_c = tg::binary_cross_entropy_with_logits(real_logits, tg::ones({n}, tg::device(device))) +
                 tg::binary_cross_entropy_with_logits(fake_logits, tg::zeros({n}, tg::device(device)));
      } else {
        penalty = wgan::gradient_penalty(critic, real, fake, kPenaltyWeight);
        loss_c = fake_score - real_score + penalty;
      }
      opt_c.zero_grad();
      loss_c.backward({}, /*retain_graph=*/dump);
      opt_c.step();
      if (++critic_step < critic_steps) continue;
      critic_step = 0;
      grad_norms = examples::weight_grad_norms("C", *critic);

      // Generator: minimise -E[critic(G(z))] (--loss gan: -log D(G(z)), BCE against 1).
      Tensor g_scores =
          critic->forward(generator->forward(tg::randn({b, kNoiseSize}, tg::device(device))).reshape({n, packed})).reshape({n});
      Tensor loss_g = gan ? tg::binary_cross_entropy_with_logits(g_scores, tg::ones({n}, tg::device(device))) : -g_scores.mean();
      opt_g.zero_grad();
      loss_g.backward({}, /*retain_graph=*/dump);
      opt_g.step();
      for (auto& g : examples::weight_grad_norms("G", *generator)) grad_norms.push_back(g);
      ++step, ++count;
      first_step = false;

      if (dump) {
        tg::autograd::save_dot({loss_c, loss_g}, flags.dump_graph);
        std::cout << "wrote the tape of step " << step << " to " << flags.dump_graph << "\n";
      }
      if (profiler) {
        std::cout << "\nprofile of step " << step << " (" << critic_steps << " critic updates, 1 generator update):\n"
                  << profiler->table() << "\n";
        profiler.reset();
      }
      const double w = (real_score - fake_score).item<double>();
      last = {{"loss_C", loss_c.item<double>()}, {"loss_G", loss_g.item<double>()}, {"W", w},
              {"GP", penalty.item<double>()}, {"critic(x)", real_score.item<double>()},
              {"critic(G(z))", fake_score.item<double>()}};
      sum_c += last[0].second, sum_g += last[1].second, sum_w += w, sum_gp += last[3].second;
      progress.update(epoch + 1, step, last);
      if (step >= total) break;
    }
    if (count == 0) continue;

    {
      tg::NoGradGuard no_grad;
      Tensor samples = generator->forward(fixed_noise);
      const std::string path = flags.out + "/" + examples::sample_file(epoch + 1);
      if (images) {
        tg::save_image(samples.reshape({-1, example[0], example[1], example[2]}), path, 8, 2, true, tg::ValueRange{-1.0, 1.0});
      } else {
        tg::save_image(examples::scatter_image(samples), path);
      }
    }
    checkpoint.save(flags.out + "/checkpoint.npz", step);
    examples::Metrics row = {{"epoch", epoch + 1.0}, {"step", double(step)}, {"loss_C", sum_c / count},
                             {"loss_G", sum_g / count}, {"W", sum_w / count}, {"GP", sum_gp / count},
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
  examples::write_run_report(flags, device, gan ? "WGAN-GP networks, standard GAN loss" : "WGAN-GP", metrics,
                             {"loss_C", "loss_G", "W", "GP"}, flags.epochs,
                             {gan ? "--loss gan: BCE losses, one critic step per generator step; W is the gap of mean logits "
                                    "E[critic(x)] - E[critic(G(z))] and GP is 0. For ring8 each picture plots 512 samples of [-3, 3]^2."
                                  : "W is the critic's estimate of the Wasserstein-1 distance, E[critic(x)] - E[critic(G(z))]; "
                                    "GP the gradient penalty (lambda = 10). For ring8 each picture plots 512 samples of [-3, 3]^2."},
                             {{"loss", flags.loss},
                              {"pack", std::to_string(flags.pack)},
                              {"critic steps per generator step", std::to_string(critic_steps)},
                              {"penalty weight (lambda)", gan ? "none" : examples::number(kPenaltyWeight)},
                              {"optimizer", "Adam, betas (0, 0.9)"}});
  std::cout << "wrote " << flags.out << "/report.html\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "wgan_gp: " << e.what() << "\n";
  return 1;
}
