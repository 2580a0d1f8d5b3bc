// The training state fuzz_checkpoint loads into and make_seeds saves from: a model with a
// BatchNorm (float and int64 buffers), Adam with AMSGrad (three state buffers per parameter) and
// a StepLR scheduler, registered in one Checkpoint as "model", "opt" and "sched".
#pragma once

#include "tapegrad.h"

namespace fuzz {

struct CheckpointParts {
  tg::nn::Sequential model{tg::nn::Linear(2, 3), tg::nn::BatchNorm1d(3)};
  tg::optim::Adam opt{model->parameters(), tg::optim::AdamOptions(1e-3).amsgrad(true)};
  tg::optim::StepLR sched{opt, 2};
  tg::nn::Checkpoint checkpoint;

  CheckpointParts() { checkpoint.add("model", model).add("opt", opt).add("sched", sched); }
  CheckpointParts(const CheckpointParts&) = delete;
  CheckpointParts& operator=(const CheckpointParts&) = delete;

  // One training step, so that everything a load restored is used as a resumed run would.
  void train_step() {
    const tg::Tensor x = tg::tensor<float>({0.5f, -1.f, 2.f, 0.25f, -0.75f, 1.5f}, {3, 2});
    opt.zero_grad();
    tg::square(model->forward(x)).mean().backward();
    opt.step();
    sched.step();
  }
};

}  // namespace fuzz
