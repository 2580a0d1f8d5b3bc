// DCGAN (Radford, Metz, Chintala 2016) as libtorch's cpp/dcgan example: a transposed-conv
// generator against a conv discriminator, trained with BCE-with-logits and Adam; the
// discriminator learns on fake.detach() so its step leaves the generator's graph alone.
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

constexpr int64_t kNoiseSize = 100;  // nz
constexpr int64_t kBaseWidth = 64;   // ngf = ndf: channels of the widest-resolution layer
constexpr double kLearningRate = 2e-4;
constexpr double kBeta1 = 0.5, kBeta2 = 0.999;
constexpr double kLeakySlope = 0.2;
constexpr int64_t kSampleCount = 64;  // fixed-noise samples per grid (8 x 8)

// Number of stride-2 layers between 4 x 4 and the image: 3 for 32 x 32, 4 for 64 x 64.
int upsamplings(int size) { return size == 64 ? 4 : 3; }

// nz x 1 x 1 -> (width) x 4 x 4 -> ... -> 64 x size/2 x size/2 -> channels x size x size, in [-1, 1].
nn::Sequential make_generator(int64_t channels, int size) {
  nn::Sequential g;
  int64_t width = kBaseWidth << (upsamplings(size) - 1);
  g->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(kNoiseSize, width, 4).bias(false)));
  g->push_back(nn::BatchNorm2d(width));
  g->push_back(nn::ReLU());
  for (; width > kBaseWidth; width /= 2) {
    g->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(width, width / 2, 4).stride(2).padding(1).bias(false)));
    g->push_back(nn::BatchNorm2d(width / 2));
    g->push_back(nn::ReLU());
  }
  g->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(kBaseWidth, channels, 4).stride(2).padding(1).bias(false)));
  g->push_back(nn::Tanh());
  return g;
}

// channels x size x size -> 64 x size/2 x size/2 -> ... -> (width) x 4 x 4 -> one logit.
nn::Sequential make_discriminator(int64_t channels, int size) {
  nn::Sequential d;
  d->push_back(nn::Conv2d(nn::Conv2dOptions(channels, kBaseWidth, 4).stride(2).padding(1).bias(false)));
  d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeakySlope)));
  int64_t width = kBaseWidth;
  for (int i = 1; i < upsamplings(size); ++i, width *= 2) {
    d->push_back(nn::Conv2d(nn::Conv2dOptions(width, width * 2, 4).stride(2).padding(1).bias(false)));
    d->push_back(nn::BatchNorm2d(width * 2));
    d->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeakySlope)));
  }
  d->push_back(nn::Conv2d(nn::Conv2dOptions(width, 1, 4).bias(false)));
  return d;
}

// --size 64: each 32 x 32 image (28 x 28 MNIST-format images are zero-padded to 32 first)
// becomes 64 x 64 by nearest-neighbour upsampling, every pixel repeated in a 2 x 2 block.
Tensor upsample2(const Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.reshape({n, c, h, 1, w, 1}).expand({n, c, h, 2, w, 2}).reshape({n, c, 2 * h, 2 * w});
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags defaults;
  defaults.lr = kLearningRate;
  const examples::Flags flags =
      examples::parse_flags(argc, argv, "dcgan", "DCGAN on 32x32 (or --size 64) images", defaults);
  if (flags.size != 32 && flags.size != 64) throw std::runtime_error("--size must be 32 or 64");
  const examples::Device device = examples::apply_flags(flags);

  auto dataset = examples::make_dataset(flags.data, flags.limit, flags.seed, {.pad_to_32 = true});
  TG_CHECK(dataset->example_shape().size() == 3, "dcgan", "--data ", flags.data, " is not an image set");
  const int64_t channels = dataset->example_shape()[0];
  tg::data::DataLoader loader(dataset, tg::data::DataLoaderOptions(flags.batch).shuffle(true).seed(flags.seed).drop_last(true));
  TG_CHECK(loader.size() > 0, "dcgan", "fewer examples (", dataset->size(), ") than --batch ", flags.batch);

  nn::Sequential generator = make_generator(channels, flags.size);
  nn::Sequential discriminator = make_discriminator(channels, flags.size);
  nn::init::dcgan_(*generator);
  nn::init::dcgan_(*discriminator);
  generator->to(device);
  discriminator->to(device);
  tg::optim::Adam opt_g(generator->parameters(), tg::optim::AdamOptions(flags.lr).betas({kBeta1, kBeta2}));
  tg::optim::Adam opt_d(discriminator->parameters(), tg::optim::AdamOptions(flags.lr).betas({kBeta1, kBeta2}));
  const Tensor fixed_noise = tg::randn({kSampleCount, kNoiseSize, 1, 1}, tg::device(device));

  nn::Checkpoint checkpoint;
  checkpoint.add("generator", generator).add("discriminator", discriminator).add("opt_g", opt_g).add("opt_d", opt_d);
  int64_t step = flags.resume.empty() ? 0 : checkpoint.load(flags.resume);
  const int64_t per_epoch = loader.size();
  const int64_t total = flags.steps > 0 ? std::min<int64_t>(flags.steps, flags.epochs * per_epoch) : flags.epochs * per_epoch;
  std::cout << "dcgan: " << dataset->size() << " examples of " << tg::shape_str(dataset->example_shape())
            << (flags.size == 64 ? " upsampled to 64x64" : "") << ", " << per_epoch << " batches of " << flags.batch
            << " per epoch, backend " << device.backend << (step ? ", resumed at step " + std::to_string(step) : "") << "\n";

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

      const Tensor data = batch.data.to(device);
      Tensor real = flags.size == 64 ? upsample2(data) : data;
      const int64_t n = real.size(0);
      const Tensor ones = tg::ones({n}, tg::device(device)), zeros = tg::zeros({n}, tg::device(device));
      Tensor fake = generator->forward(tg::randn({n, kNoiseSize, 1, 1}, tg::device(device)));

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

    generator->eval();  // samples from the running BatchNorm statistics, changing no state
    {
      tg::NoGradGuard no_grad;
      tg::save_image(generator->forward(fixed_noise), flags.out + "/" + examples::sample_file(epoch + 1), 8, 2, true,
                     tg::ValueRange{-1.0, 1.0});
    }
    generator->train();
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
    generator->eval();
    tg::NoGradGuard no_grad;
    tg::save_npy(generator->forward(tg::randn({flags.save_samples, kNoiseSize, 1, 1}, tg::device(device))),
                 flags.out + "/samples.npy");
  }
  examples::write_run_report(flags, device, "DCGAN", metrics, {"loss_D", "loss_G"}, flags.epochs,
                             {"Generator and discriminator as Radford et al. (2016); the loss curves are epoch means."},
                             {{"size", std::to_string(flags.size)}, {"optimizer", "Adam, betas (0.5, 0.999)"}});
  std::cout << "wrote " << flags.out << "/report.html\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "dcgan: " << e.what() << "\n";
  return 1;
}
