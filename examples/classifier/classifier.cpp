// A judge of generated images: an MLP classifier trained with tapegrad on the real training set
// (its test accuracy is printed and logged), saved as <out>/classifier.npz; with --score FILE.npy
// it loads that model (or trains it first when <out> has none), classifies a generator's samples
// and prints their class histogram, the histogram's entropy in bits (log2 10 = 3.32 when the
// samples spread evenly over the 10 classes, lower when the generator drops classes: mode
// collapse) and the mean max-softmax confidence (how clearly each sample looks like one class).
// --save-samples N writes N real test images as samples.npy: the reference to score.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
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

constexpr int64_t kClasses = 10;
constexpr int64_t kHidden1 = 512, kHidden2 = 256;
constexpr double kLearningRate = 1e-3;
constexpr const char* kModelFile = "classifier.npz";

// pixels in [0, 1] -> 512 -> 256 -> 10 logits.
nn::Sequential make_classifier(int64_t dim) {
  return nn::Sequential(nn::Linear(dim, kHidden1), nn::ReLU(), nn::Linear(kHidden1, kHidden2), nn::ReLU(),
                        nn::Linear(kHidden2, kClasses));
}

std::string class_name(const std::string& data, int64_t k) {
  if (data == "fashion-mnist") return tg::data::FashionMNIST::kClasses[k];
  if (data == "shapes" && k < 4) return tg::data::Shapes::kClasses[k];
  return "class " + std::to_string(k);
}

// Fraction of the test set classified correctly.
double test_accuracy(nn::Sequential& model, tg::data::DataLoader& test, int64_t dim, tg::Device device) {
  tg::NoGradGuard no_grad;
  model->eval();
  double correct = 0;
  for (tg::data::Batch& batch : test) {
    Tensor predicted = std::get<1>(tg::max(model->forward(batch.data.to(device).reshape({-1, dim})), 1));
    correct += tg::sum(tg::eq(predicted, batch.target.to(device)).to(tg::kFloat64)).item<double>();
  }
  model->train();
  return correct / static_cast<double>(test.dataset().size());
}

// Samples as the classifier's input [N, dim] in [0, 1]. Accepts any layout with C x S x S values
// per sample (flat [N, 784] from mlp_gan / vae / wgan_gp, [N, 1, 32, 32] from dcgan): a side S
// larger than the classifier's is centre-cropped (dcgan pads 28 to 32). Values with a negative
// minimum are taken as a tanh generator's [-1, 1] and mapped by (v + 1) / 2.
Tensor load_samples(const std::string& path, const tg::Shape& example) {
  Tensor s = tg::load_npy(path).to(tg::kFloat32);
  TG_CHECK(s.dim() >= 2 && s.size(0) > 0, "classifier", path, ": expected samples [N, ...], got ", s.str());
  const std::vector<float> values = s.to_vector<float>();
  const auto non_finite = std::count_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  TG_CHECK(non_finite == 0, "classifier", path, ": ", non_finite, " of the ", values.size(),
           " sample values are NaN or Inf (the generator diverged?); such samples cannot be scored");
  const int64_t n = s.size(0), c = example[0], h = example[1], w = example[2];
  const int64_t per_sample = s.numel() / n;
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(per_sample) / c)));
  TG_CHECK(side * side * c == per_sample && side >= h && (side - h) % 2 == 0 && h == w, "classifier", path,
           ": samples ", s.str(), " do not hold ", c, " x S x S images with S >= ", h);
  s = s.reshape({n, c, side, side});
  if (side > h) s = s.narrow(2, (side - h) / 2, h).narrow(3, (side - w) / 2, w);
  const double low = tg::min(s).item<double>(), high = tg::max(s).item<double>();
  const bool tanh_range = low < 0;
  std::cout << "scoring " << n << " samples of " << side << "x" << side << (side > h ? " (centre-cropped)" : "")
            << " from " << path << ", values in [" << low << ", " << high << "] read as "
            << (tanh_range ? "[-1, 1]" : "[0, 1]") << "\n";
  if (tanh_range) s = (s + 1.0) * 0.5;
  return s.reshape({n, -1}).contiguous();
}

// Prints the class histogram, its entropy H = -sum_k p_k log2 p_k and the mean max softmax.
void score(nn::Sequential& model, const Tensor& samples, const std::string& data) {
  tg::NoGradGuard no_grad;
  model->eval();
  auto [confidence, predicted] = tg::max(tg::softmax(model->forward(samples), 1), 1);
  const std::vector<int64_t> labels = predicted.to_vector<int64_t>();
  std::vector<int64_t> counts(kClasses, 0);
  for (int64_t k : labels) ++counts[k];
  const double n = static_cast<double>(labels.size());
  double entropy = 0;
  for (int64_t k = 0; k < kClasses; ++k) {
    const double p = counts[k] / n;
    if (p > 0) entropy -= p * std::log2(p);
    std::printf("  %-12s %6lld %5.1f%%  %s\n", class_name(data, k).c_str(), static_cast<long long>(counts[k]),
                100 * p, std::string(static_cast<size_t>(std::lround(50 * p)), '#').c_str());
  }
  const double mean_confidence = tg::mean(confidence).item<double>();
  std::printf("class entropy %.3f bits (uniform over %lld classes: %.3f); mean max-softmax confidence %.3f\n",
              entropy, static_cast<long long>(kClasses), std::log2(static_cast<double>(kClasses)), mean_confidence);
  std::printf("score samples=%lld entropy_bits=%.4f confidence=%.4f\n", static_cast<long long>(labels.size()), entropy,
              mean_confidence);
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags defaults;
  defaults.lr = kLearningRate;
  const examples::Flags flags = examples::parse_flags(
      argc, argv, "classifier", "trains an image classifier; --score FILE.npy judges a generator's samples with it", defaults);
  const examples::Device device = examples::apply_flags(flags);

  const examples::DataOptions train_options{.range = tg::data::Range::ZeroOne};
  examples::DataOptions test_options = train_options;
  test_options.split = tg::data::Split::Test;
  auto train_set = examples::make_dataset(flags.data, flags.limit, flags.seed, train_options);
  auto test_set = examples::make_dataset(flags.data, flags.limit, flags.seed, test_options);
  const tg::Shape example = train_set->example_shape();
  TG_CHECK(example.size() == 3, "classifier", "--data ", flags.data, " is not an image set");
  const int64_t dim = tg::numel_of(example);
  nn::Sequential model = make_classifier(dim);
  model->to(device);
  const std::string model_path = flags.out + "/" + kModelFile;

  if (!flags.score.empty() && std::filesystem::exists(model_path)) {
    tg::load(model, model_path);
    std::cout << "classifier: loaded " << model_path << "\n";
    score(model, load_samples(flags.score, example).to(device), flags.data);
    return 0;
  }

  tg::data::DataLoader loader(train_set, tg::data::DataLoaderOptions(flags.batch).shuffle(true).seed(flags.seed));
  tg::data::DataLoader test_loader(test_set, tg::data::DataLoaderOptions(std::max<int64_t>(flags.batch, 256)));
  TG_CHECK(loader.size() > 0 && test_set->size() > 0, "classifier", "--data ", flags.data, " has ", train_set->size(),
           " training and ", test_set->size(), " test examples; training and the test accuracy need at least one of each");
  tg::optim::Adam optimizer(model->parameters(), tg::optim::AdamOptions(flags.lr));
  nn::Checkpoint checkpoint;
  checkpoint.add("classifier", model).add("optimizer", optimizer);
  int64_t step = flags.resume.empty() ? 0 : checkpoint.load(flags.resume);
  const int64_t per_epoch = loader.size();
  const int64_t total = flags.steps > 0 ? std::min<int64_t>(flags.steps, flags.epochs * per_epoch) : flags.epochs * per_epoch;
  std::cout << "classifier: " << train_set->size() << " training and " << test_set->size() << " test examples of "
            << tg::shape_str(example) << ", backend " << device.backend
            << (step ? ", resumed at step " + std::to_string(step) : "") << "\n";

  examples::MetricsLog metrics(flags.out + "/metrics.csv", step);
  examples::Progress progress(total);
  tg::autograd::DetectAnomalyGuard anomaly(flags.detect_anomaly);
  examples::Metrics last;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = static_cast<int>(step / per_epoch); epoch < flags.epochs && step < total; ++epoch) {
    loader.set_epoch(epoch);
    int64_t skip = step - epoch * per_epoch;  // batches this epoch already trained on before --resume
    double sum_loss = 0;
    int64_t count = 0;
    examples::Metrics grad_norms;
    for (tg::data::Batch& batch : loader) {
      if (skip-- > 0) continue;
      Tensor loss = tg::cross_entropy(model->forward(batch.data.to(device).reshape({-1, dim})), batch.target.to(device));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      grad_norms = examples::weight_grad_norms("classifier", *model);
      ++step, ++count;
      last = {{"loss", loss.item<double>()}};
      sum_loss += last[0].second;
      progress.update(epoch + 1, step, last);
      if (step >= total) break;
    }
    if (count == 0) continue;

    const double accuracy = test_accuracy(model, test_loader, dim, device);
    progress.finish();
    std::cout << "epoch " << epoch + 1 << ": train loss " << sum_loss / count << ", test accuracy " << accuracy << "\n";
    checkpoint.save(flags.out + "/checkpoint.npz", step);
    examples::Metrics row = {{"epoch", epoch + 1.0}, {"step", double(step)}, {"loss", sum_loss / count},
                             {"test_accuracy", accuracy},
                             {"time_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
    row.insert(row.end(), grad_norms.begin(), grad_norms.end());
    metrics.append(row);
  }
  progress.finish();
  examples::print_final(step, last);
  tg::save(model, model_path);
  std::cout << "wrote " << model_path << "\n";

  if (flags.save_samples > 0) {
    // Real test images in the layout a generator's samples.npy has: the reference to compare with.
    std::vector<int64_t> first(static_cast<size_t>(std::min(flags.save_samples, test_set->size())));
    for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
    tg::save_npy(test_set->get_batch(first).data, flags.out + "/samples.npy");
    std::cout << "wrote " << first.size() << " real test images to " << flags.out << "/samples.npy\n";
  }
  if (!flags.score.empty()) score(model, load_samples(flags.score, example).to(device), flags.data);
  examples::write_run_report(flags, device, "Classifier", metrics, {"loss", "test_accuracy"}, 0,
                             {"An MLP pixels-512-256-10 on pixels in [0, 1]; test_accuracy on the test split."},
                             {{"optimizer", "Adam, betas (0.9, 0.999)"}});
  std::cout << "wrote " << flags.out << "/report.html\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "classifier: " << e.what() << "\n";
  return 1;
}
