// Variational autoencoder (Kingma & Welling 2014) as PyTorch's examples/vae: an MLP encoder
// gives q(z|x) = N(mu, diag exp(logvar)), an MLP decoder gives Bernoulli pixel probabilities,
// trained on the negative ELBO  BCE_sum(x, decoder(z)) + KL(q(z|x) || N(0, I)).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <tuple>

#include "data.h"
#include "flags.h"
#include "progress.h"
#include "report.h"
#include "training.h"

namespace nn = tg::nn;
using tg::Tensor;

namespace {

constexpr int64_t kHidden = 400;
constexpr double kLearningRate = 1e-3;
constexpr int64_t kSampleCount = 64;       // prior samples per grid (8 x 8)
constexpr int64_t kMapSide = 16;           // --latent 2: a 16 x 16 grid of decoded latent points
constexpr double kMapExtent = 3.0;         // over [-3, 3]^2
constexpr uint64_t kEvalSeedOffset = 7919;  // the test ELBO draws its z from its own stream

// x -> 400 -> (mu, logvar) of `latent`; z -> 400 -> x logits.
class VAEImpl : public nn::Module {
 public:
  VAEImpl(int64_t dim, int64_t latent)
      : Module("VAE"),
        fc1(register_module("fc1", nn::Linear(dim, kHidden))),
        fc_mu(register_module("fc_mu", nn::Linear(kHidden, latent))),
        fc_logvar(register_module("fc_logvar", nn::Linear(kHidden, latent))),
        fc3(register_module("fc3", nn::Linear(latent, kHidden))),
        fc4(register_module("fc4", nn::Linear(kHidden, dim))) {}

  std::tuple<Tensor, Tensor> encode(const Tensor& x) {
    Tensor h = tg::relu(fc1->forward(x));
    return {fc_mu->forward(h), fc_logvar->forward(h)};
  }
  Tensor decode_logits(const Tensor& z) { return fc4->forward(tg::relu(fc3->forward(z))); }
  Tensor decode(const Tensor& z) { return tg::sigmoid(decode_logits(z)); }  // pixel probabilities

  nn::Linear fc1, fc_mu, fc_logvar, fc3, fc4;
};
TG_MODULE(VAE);

struct Loss {
  Tensor reconstruction, kl;  // summed over the batch
};

// Reparameterisation z = mu + exp(logvar / 2) * eps, eps ~ N(0, I), so the sample is
// differentiable in (mu, logvar). The BCE is taken on the logits (the fused, stable form of
// BCE(sigmoid(logits), x)).
Loss vae_loss(VAE& model, const Tensor& x) {
  auto [mu, logvar] = model->encode(x);
  Tensor z = mu + tg::exp(0.5 * logvar) * tg::randn_like(mu);
  Tensor logits = model->decode_logits(z);
  return {tg::binary_cross_entropy_with_logits(logits, x, {}, {}, tg::Reduction::Sum),
          tg::kl_normal(mu, logvar, tg::Reduction::Sum)};
}

// The test-set ELBO in nats per example, one z sample per example from a fixed stream, so
// epochs are compared on the same noise and training's random stream is left untouched.
double test_elbo(VAE& model, tg::data::DataLoader& test, int64_t dim, uint64_t seed, tg::Device device) {
  const tg::GeneratorState saved = tg::get_rng_state();
  tg::manual_seed(seed + kEvalSeedOffset);
  tg::NoGradGuard no_grad;
  model->eval();
  double total = 0;
  for (tg::data::Batch& batch : test) {
    Loss loss = vae_loss(model, batch.data.to(device).reshape({-1, dim}));
    total += (loss.reconstruction + loss.kl).item<double>();
  }
  model->train();
  tg::set_rng_state(saved);
  return -total / static_cast<double>(test.dataset().size());
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags defaults;
  defaults.lr = kLearningRate;
  const examples::Flags flags =
      examples::parse_flags(argc, argv, "vae", "MLP variational autoencoder (--latent 2 maps the latent plane)", defaults);
  TG_CHECK(flags.latent > 0, "vae", "--latent must be positive");
  const examples::Device device = examples::apply_flags(flags);

  const examples::DataOptions train_options{.range = tg::data::Range::ZeroOne};
  examples::DataOptions test_options = train_options;
  test_options.split = tg::data::Split::Test;
  auto train_set = examples::make_dataset(flags.data, flags.limit, flags.seed, train_options);
  auto test_set = examples::make_dataset(flags.data, flags.limit, flags.seed, test_options);
  const tg::Shape example = train_set->example_shape();
  TG_CHECK(example.size() == 3, "vae", "--data ", flags.data, " is not an image set");
  const int64_t dim = tg::numel_of(example);
  tg::data::DataLoader loader(train_set, tg::data::DataLoaderOptions(flags.batch).shuffle(true).seed(flags.seed));
  tg::data::DataLoader test_loader(test_set, tg::data::DataLoaderOptions(std::max<int64_t>(flags.batch, 256)));
  TG_CHECK(loader.size() > 0 && test_set->size() > 0, "vae", "--data ", flags.data, " has ", train_set->size(),
           " training and ", test_set->size(), " test examples; training and the test ELBO need at least one of each");

  VAE model(dim, flags.latent);
  model->to(device);
  tg::optim::Adam optimizer(model->parameters(), tg::optim::AdamOptions(flags.lr));
  const Tensor fixed_z = tg::randn({kSampleCount, flags.latent}, tg::device(device));

  nn::Checkpoint checkpoint;
  checkpoint.add("vae", model).add("optimizer", optimizer);
  int64_t step = flags.resume.empty() ? 0 : checkpoint.load(flags.resume);
  const int64_t per_epoch = loader.size();
  const int64_t total = flags.steps > 0 ? std::min<int64_t>(flags.steps, flags.epochs * per_epoch) : flags.epochs * per_epoch;
  std::cout << "vae: " << train_set->size() << " training and " << test_set->size() << " test examples of "
            << tg::shape_str(example) << ", latent " << flags.latent << ", backend " << device.backend
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
    double sum_loss = 0, sum_recon = 0, sum_kl = 0;
    int64_t seen = 0;
    examples::Metrics grad_norms;
    for (tg::data::Batch& batch : loader) {
      if (skip-- > 0) continue;
      std::unique_ptr<tg::profiler::Profiler> profiler;
      if (flags.profile && first_step) profiler = std::make_unique<tg::profiler::Profiler>();
      const bool dump = !flags.dump_graph.empty() && first_step;
      first_step = false;

      Tensor x = batch.data.to(device).reshape({-1, dim});
      const int64_t n = x.size(0);
      Loss loss = vae_loss(model, x);
      Tensor negative_elbo = loss.reconstruction + loss.kl;
      if (dump) {
        tg::autograd::save_dot({negative_elbo}, flags.dump_graph);
        std::cout << "wrote the tape of step " << step + 1 << " to " << flags.dump_graph << "\n";
      }
      optimizer.zero_grad();
      negative_elbo.backward();
      optimizer.step();
      grad_norms = examples::weight_grad_norms("VAE", *model);
      ++step;
      if (profiler) std::cout << "\nprofile of step " << step << ":\n" << profiler->table() << "\n";

      last = {{"loss", negative_elbo.item<double>() / n}, {"recon", loss.reconstruction.item<double>() / n},
              {"KL", loss.kl.item<double>() / n}};
      sum_loss += last[0].second * n, sum_recon += last[1].second * n, sum_kl += last[2].second * n, seen += n;
      progress.update(epoch + 1, step, last);
      if (step >= total) break;
    }
    if (seen == 0) continue;

    const double elbo = test_elbo(model, test_loader, dim, flags.seed, device);
    progress.finish();
    std::cout << "epoch " << epoch + 1 << ": train loss " << sum_loss / seen << ", test ELBO " << elbo << " nats\n";
    {
      tg::NoGradGuard no_grad;
      model->eval();
      tg::save_image(model->decode(fixed_z).reshape({-1, example[0], example[1], example[2]}),
                     flags.out + "/" + examples::sample_file(epoch + 1));
      model->train();
    }
    checkpoint.save(flags.out + "/checkpoint.npz", step);
    examples::Metrics row = {{"epoch", epoch + 1.0}, {"step", double(step)}, {"loss", sum_loss / seen},
                             {"recon", sum_recon / seen}, {"KL", sum_kl / seen}, {"test_ELBO", elbo},
                             {"time_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
    row.insert(row.end(), grad_norms.begin(), grad_norms.end());
    metrics.append(row);
  }
  progress.finish();
  examples::print_final(step, last);

  std::vector<std::string> notes = {"loss = BCE + KL per training example (the negative ELBO); test_ELBO in nats per test example."};
  if (flags.latent == 2) {
    // Decode a kMapSide x kMapSide grid of z over [-3, 3]^2 (row i: z2 from +3 down to -3).
    tg::NoGradGuard no_grad;
    std::vector<float> grid;
    for (int64_t i = 0; i < kMapSide; ++i)
      for (int64_t j = 0; j < kMapSide; ++j) {
        grid.push_back(static_cast<float>(-kMapExtent + 2 * kMapExtent * j / (kMapSide - 1)));
        grid.push_back(static_cast<float>(kMapExtent - 2 * kMapExtent * i / (kMapSide - 1)));
      }
    Tensor z = tg::zeros({kMapSide * kMapSide, 2});
    std::copy(grid.begin(), grid.end(), z.data_ptr<float>());
    model->eval();
    tg::save_image(model->decode(z.to(device)).reshape({-1, example[0], example[1], example[2]}), flags.out + "/latent_map.png",
                   kMapSide);
    notes.push_back("latent_map.png: the decoder over a 16 x 16 grid of the latent plane [-3, 3]^2.");
  }
  if (flags.save_samples > 0) {
    tg::NoGradGuard no_grad;
    model->eval();
    tg::save_npy(model->decode(tg::randn({flags.save_samples, flags.latent}, tg::device(device))), flags.out + "/samples.npy");
  }
  examples::write_run_report(flags, device, "VAE", metrics, {"loss", "recon", "KL"}, flags.epochs, notes,
                             {{"latent", std::to_string(flags.latent)}, {"optimizer", "Adam, betas (0.9, 0.999)"}});
  std::cout << "wrote " << flags.out << "/report.html\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "vae: " << e.what() << "\n";
  return 1;
}
