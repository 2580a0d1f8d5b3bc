// A host program that trains a small MLP inside itself with tapegrad: the eight-mode Ring8
// data set (procedural, no files), Adam, cross-entropy; prints the final accuracy.
#include <cstdio>
#include <numeric>

#include "tapegrad.h"

namespace nn = tg::nn;

int main() {
  tg::manual_seed(7);
  tg::cpu::set_num_threads(1);  // the host decides how many threads tapegrad may use
  auto data = std::make_shared<tg::data::Ring8>(1024, /*seed=*/3);
  tg::data::DataLoader loader(data, tg::data::DataLoaderOptions(64).shuffle(true).seed(3));

  nn::Sequential model(nn::Linear(2, 32), nn::Tanh(), nn::Linear(32, 32), nn::Tanh(), nn::Linear(32, 8));
  tg::optim::Adam optimizer(model->parameters(), tg::optim::AdamOptions(1e-2));

  for (int epoch = 0; epoch < 4; ++epoch) {
    double total = 0;
    int batches = 0;
    for (tg::data::Batch& batch : loader) {
      tg::Tensor loss = tg::cross_entropy(model->forward(batch.data), batch.target);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      total += loss.item<double>();
      ++batches;
    }
    std::printf("epoch %d  loss %.4f\n", epoch, total / batches);
  }

  std::vector<int64_t> all(data->size());
  std::iota(all.begin(), all.end(), 0);
  tg::data::Batch everything = data->get_batch(all);
  tg::NoGradGuard no_grad;
  tg::Tensor predicted = std::get<1>(tg::max(model->forward(everything.data), 1));
  double accuracy = tg::eq(predicted, everything.target).to(tg::kFloat64).mean().item<double>();
  std::printf("accuracy %.3f (backend %s)\n", accuracy, tg::kernel::current_backend().c_str());
  return accuracy > 0.95 ? 0 : 1;
}
