// A training checkpoint in one .npz file: several modules and optimizers (each under its own
// key prefix, e.g. "generator.0.weight", "opt_g.state.0.exp_avg"), schedulers, the step
// count and the random generator's state. load() validates every part before changing any:
// it restores all of them or, on any problem, none.
#pragma once

#include <string>
#include <vector>

#include "nn/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace tg::nn {

class Checkpoint {
 public:
  // Prefixes are non-empty, without dots, unique, and not "step" or "rng". The objects are
  // held by reference and must outlive the Checkpoint.
  Checkpoint& add(const std::string& prefix, Module& module);
  template <typename M>
  Checkpoint& add(const std::string& prefix, const ModuleHolder<M>& module) { return add(prefix, *module); }
  Checkpoint& add(const std::string& prefix, optim::Optimizer& optimizer);
  Checkpoint& add(const std::string& prefix, optim::LRScheduler& scheduler);

  // Writes every part, `step` and tg::get_rng_state() atomically to `path`.
  void save(const std::string& path, int64_t step) const;
  // Restores every part and the generator state; returns the saved step.
  int64_t load(const std::string& path);
  // The same from a checkpoint's tensors already read (load_npz / npz_from_bytes); `what`
  // names it in errors.
  int64_t load(const TensorDict& dict, const std::string& what = "checkpoint");

 private:
  struct Part {
    std::string prefix;
    Module* module = nullptr;
    optim::Optimizer* optimizer = nullptr;
    optim::LRScheduler* scheduler = nullptr;
  };
  Part& new_part(const std::string& prefix);
  std::vector<Part> parts_;
};

}  // namespace tg::nn
