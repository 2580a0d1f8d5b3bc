// Where an example program runs: the backend named by --backend (or TAPEGRAD_BACKEND) and the
// device its model, optimizer state, batches and noise live on.
//
//   const examples::Device device = examples::apply_flags(flags);  // (training.h)
//   model->to(device);                                  // parameters and buffers
//   Tensor x = batch.data.to(device);                   // each batch (loaded on the CPU)
//   Tensor z = tg::randn({n, 100}, tg::device(device));  // noise made there
//
// reference and cpu run on tg::kCPU, cuda on tg::kCUDA. Files written from device tensors
// (images, .npy, checkpoints) are copied to the CPU by the writers.
#pragma once

#include <string>
#include <vector>

#include "tapegrad.h"

namespace examples {

struct Device {
  std::string backend;        // the backend whose kernels run the ops: reference | cpu | cuda
  tg::Device device = tg::kCPU;
  std::string name;           // "cpu", or "cuda:0 (<the GPU's name>)"
  operator tg::Device() const { return device; }  // NOLINT: used wherever a tg::Device is
};

// The backends this build has, as tg::kernel::available_backends() lists them.
std::vector<std::string> built_backends();

// Selects `backend` for its device type and returns where it runs. `source` names where the
// name came from in messages ("--backend", "TAPEGRAD_BACKEND"). Throws std::runtime_error
// naming the backend, the backends built and why when the backend is not built, or when it is
// cuda and no CUDA device is usable.
Device select_device(const std::string& backend, const std::string& source = "--backend");

// The device of `backend` as --backend names it, or of TAPEGRAD_BACKEND when `backend` is
// empty; with neither, the fastest CPU backend built (the library's default).
Device select_device_from(const std::string& backend);

}  // namespace examples
