// Crash safety of checkpoints: a process killed with SIGKILL at a random moment while it saves
// nn::Checkpoint and tg::save files in a loop never leaves a file that fails to load or holds a
// mix: each file on disk is, bit for bit, either the state saved before or the one after.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::TempDir;

namespace {

constexpr int kKills = 50;

// A model with parameters and buffers and an optimizer with state: about 200 kB of checkpoint.
struct State {
  nn::Sequential model{nn::Linear(64, 128), nn::BatchNorm1d(128), nn::ReLU(), nn::Linear(128, 128)};
  optim::Adam opt{model->parameters(), optim::AdamOptions(1e-3)};

  nn::Checkpoint checkpoint() {
    nn::Checkpoint c;
    c.add("model", model).add("opt", opt);
    return c;
  }
  void train_step() {
    opt.zero_grad();
    mse_loss(model->forward(randn({8, 64})), randn({8, 128})).backward();
    opt.step();
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

}  // namespace

TEST_CASE("SIGKILL in the middle of saving checkpoints leaves the old or the new one, whole") {
  TempDir dir;
  const std::string ckpt = dir.file("checkpoint.npz"), weights = dir.file("model.npz");
  // Two states saved alternately; the checkpoint's step says which one a file should hold.
  manual_seed(1);
  State a, b;
  a.train_step();
  for (int i = 0; i < 3; ++i) b.train_step();
  const std::vector<std::string> a_model = bytes_of(a.model->state_dict()), b_model = bytes_of(b.model->state_dict());
  const std::vector<std::string> a_opt = bytes_of(a.opt.state_dict()), b_opt = bytes_of(b.opt.state_dict());
  REQUIRE(a_model != b_model);

  a.checkpoint().save(ckpt, 1);
  save(a.model, weights);
  // How long one round of saves takes sets the range of the random kill times.
  const auto t0 = std::chrono::steady_clock::now();
  b.checkpoint().save(dir.file("timing.npz"), 2);
  const auto round = std::chrono::steady_clock::now() - t0;
  std::filesystem::remove(dir.file("timing.npz"));

  std::mt19937 gen(7);
  const int64_t round_us = std::chrono::duration_cast<std::chrono::microseconds>(round).count();
  std::uniform_int_distribution<int64_t> delay_us(0, 2 * round_us + 1000);
  int interrupted = 0;  // kills that left a save's temporary file behind
  State loaded;
  for (int kill = 0; kill < kKills; ++kill) {
    CAPTURE(kill);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        for (int i = 0;; ++i) {
          State& s = i % 2 ? a : b;
          s.checkpoint().save(ckpt, i % 2 ? 1 : 2);
          save(s.model, weights);
        }
      } catch (...) {
      }
      ::_exit(1);  // a save failed: the parent sees an exit instead of its kill
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(gen)));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));

    const int64_t step = loaded.checkpoint().load(ckpt);
    REQUIRE((step == 1 || step == 2));
    CHECK(bytes_of(loaded.model->state_dict()) == (step == 1 ? a_model : b_model));
    CHECK(bytes_of(loaded.opt.state_dict()) == (step == 1 ? a_opt : b_opt));
    load(loaded.model, weights);
    const std::vector<std::string> w = bytes_of(loaded.model->state_dict());
    CHECK((w == a_model || w == b_model));

    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
      if (f.path() == ckpt || f.path() == weights) continue;
      ++interrupted;
      std::filesystem::remove(f.path());
    }
  }
  MESSAGE(interrupted << " of " << kKills << " kills landed while a temporary file was being written");
  CHECK(interrupted > 0);
}
