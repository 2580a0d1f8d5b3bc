// Exact resume and determinism of a whole training run: an MLP with dropout and batch norm,
// trained by Adam under a StepLR schedule on a shuffled DataLoader. Stopping after N steps,
// saving an nn::Checkpoint (model, optimizer, scheduler, random generator, step) and resuming
// in a fresh process state for M steps gives the same bits as N + M steps in one go; so do a
// second identical run and a run on another thread count (also across the save), on the
// reference and cpu backends.
#include <cstring>
#include <filesystem>
#include <functional>

#include "backends/cpu/cpu.h"
#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::TempDir;

namespace {

constexpr int64_t kStepsBefore = 8;  // stops in the middle of epoch 1 ...
constexpr int64_t kStepsAfter = 9;   // ... and the resumed run ends in epoch 2

// Sizes per backend: 6 batches per epoch, the last one smaller, either way. On the cpu backend
// the layers are wide enough for its kernels to split work among threads: dropout's random
// fill (64 x 256 masks), the optimizer's update of the 256 x 256 weight, the GEMMs' tiles.
struct Sizes {
  int64_t examples, batch, hidden;
};
Sizes sizes_for(const std::string& backend) { return backend == "cpu" ? Sizes{360, 64, 256} : Sizes{90, 16, 32}; }

// Everything a training run owns. The data loader's position is a function of the step count
// (epoch = step / batches per epoch, the rest are batches already trained on in that epoch),
// which the checkpoint keeps, as the example programs resume.
struct Run {
  explicit Run(Sizes s)
      : model(nn::Linear(2, s.hidden), nn::BatchNorm1d(s.hidden), nn::ReLU(), nn::Dropout(0.3),
              nn::Linear(s.hidden, s.hidden), nn::Tanh(), nn::Dropout(0.2), nn::Linear(s.hidden, 8)),
        loader(std::make_shared<data::Ring8>(s.examples, /*seed=*/7),
               data::DataLoaderOptions(s.batch).shuffle(true).seed(3)) {
    REQUIRE(loader.size() == 6);
  }
  nn::Sequential model;
  optim::Adam opt{model->parameters(), optim::AdamOptions(1e-2).betas({0.5, 0.999}).weight_decay(1e-4)};
  optim::StepLR sched{opt, 5, 0.5};
  data::DataLoader loader;
  int64_t step = 0;

  nn::Checkpoint checkpoint() {
    nn::Checkpoint c;
    c.add("model", model).add("opt", opt).add("sched", sched);
    return c;
  }

  // Trains until `last` steps are done in all, from wherever `step` is.
  void train_until(int64_t last) {
    while (step < last) {
      const int64_t epoch = step / loader.size();
      int64_t skip = step - epoch * loader.size();
      loader.set_epoch(epoch);
      for (data::Batch& batch : loader) {
        if (skip-- > 0) continue;
        opt.zero_grad();
        cross_entropy(model->forward(batch.data), batch.target).backward();
        opt.step();
        sched.step();
        if (++step == last) break;
      }
    }
  }
};

// The raw bytes of every tensor of `dict`, in order.
std::vector<std::string> bytes_of(const TensorDict& dict) {
  std::vector<std::string> out;
  for (const auto& [key, t] : dict) {
    const Tensor c = t.contiguous();
    out.emplace_back(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype()));
  }
  return out;
}

// Model and optimizer state after a run, as bytes (bitwise comparisons).
struct Final {
  std::vector<std::string> model, opt;
  uint64_t rng_offset = 0;
  bool operator==(const Final&) const = default;
};

Final final_of(const Run& run) {
  return {bytes_of(run.model->state_dict()), bytes_of(run.opt.state_dict()), get_rng_state().offset};
}

Final uninterrupted(uint64_t seed) {
  manual_seed(seed);
  Run run(sizes_for(kernel::current_backend()));
  run.train_until(kStepsBefore + kStepsAfter);
  return final_of(run);
}

// `between` runs after the save, before the fresh run that loads it (another thread count).
Final resumed(uint64_t seed, const std::string& path, const std::function<void()>& between = [] {}) {
  manual_seed(seed);
  {
    Run first(sizes_for(kernel::current_backend()));
    first.train_until(kStepsBefore);
    first.checkpoint().save(path, first.step);
  }
  between();
  manual_seed(seed + 1000);  // other initial weights and another random stream until the load
  Run second(sizes_for(kernel::current_backend()));
  second.train_until(2);
  second.step = second.checkpoint().load(path);
  REQUIRE(second.step == kStepsBefore);
  second.train_until(kStepsBefore + kStepsAfter);
  return final_of(second);
}

// Restores the default backend and thread count when a test case ends.
struct BackendScope {
  std::string backend = kernel::current_backend();
  int threads = cpu::num_threads();
  ~BackendScope() {
    kernel::set_backend(backend);
    cpu::set_num_threads(threads);
  }
};

}  // namespace

TEST_CASE("a run resumed from a checkpoint ends with the same bits as an uninterrupted one") {
  BackendScope scope;
  TempDir dir;
  for (const char* backend : {"reference", "cpu"}) {
    CAPTURE(backend);
    kernel::set_backend(backend);
    const Final straight = uninterrupted(11);
    const Final again = resumed(11, dir.file(std::string(backend) + ".npz"));
    CHECK(again.model == straight.model);
    CHECK(again.opt == straight.opt);
    CHECK(again.rng_offset == straight.rng_offset);
  }
}

TEST_CASE("the same seeded run twice, and on 1 and 2 threads, gives the same bits") {
  BackendScope scope;
  for (const char* backend : {"reference", "cpu"}) {
    CAPTURE(backend);
    kernel::set_backend(backend);
    cpu::set_num_threads(1);
    const Final one = uninterrupted(12);
    CHECK(uninterrupted(12) == one);
    cpu::set_num_threads(2);
    CHECK(uninterrupted(12) == one);
    CHECK_FALSE(uninterrupted(13) == one);  // the comparison can tell runs apart
  }
}

TEST_CASE("a run saved on 2 threads and resumed on 1, or the reverse, gives the same bits") {
  BackendScope scope;
  TempDir dir;
  kernel::set_backend("cpu");
  cpu::set_num_threads(1);
  const Final straight = uninterrupted(14);
  for (const auto& [before, after] : {std::pair{2, 1}, std::pair{1, 2}}) {
    CAPTURE(before);
    CAPTURE(after);
    cpu::set_num_threads(before);
    CHECK(resumed(14, dir.file("threads.npz"), [after = after] { cpu::set_num_threads(after); }) == straight);
  }
}
