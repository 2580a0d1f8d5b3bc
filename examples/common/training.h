// Pieces of a training run every example shares: applying the global flags, per-layer gradient
// norms for metrics.csv, the parseable final line the resume tests compare, and the closing
// losses.svg + report.html.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "device.h"
#include "flags.h"
#include "report.h"
#include "tapegrad.h"

namespace examples {

using Metrics = std::vector<std::pair<std::string, double>>;
using Settings = std::vector<std::pair<std::string, std::string>>;  // (name, value) rows of the report

// Seeds the generator (--seed), selects the backend (--backend, else TAPEGRAD_BACKEND; see
// select_device_from), creates --out and prints "device: <name>, backend <backend>". Returns
// the device the program puts its model, optimizer state, batches and noise on; throws
// std::runtime_error when that backend or device does not exist.
[[nodiscard]] Device apply_flags(const Flags& flags);

// ("grad_norm/<tag>.<parameter>", ||grad||_2) for every weight of `module` (0 when it has no
// gradient): one column per layer in metrics.csv.
Metrics weight_grad_norms(const std::string& tag, const tg::nn::Module& module);

// "final step=N name=value ..." with every value at full precision (%.17g), so a run resumed
// from a checkpoint can be compared exactly with an uninterrupted one.
void print_final(int64_t step, const Metrics& metrics);

// v as printf's %g: 0.0002 as "0.0002", 10.0 as "10".
std::string number(double v);

// The flags every program shares and the backend and device that ran, as rows for the report.
Settings flag_settings(const Flags& flags, const Device& device);

// "samples_epochNNN.png" for epoch (1-based) `epoch`.
std::string sample_file(int epoch);

// Writes <out>/losses.svg (the `curves` columns of `log` against epoch) and <out>/report.html
// (the shared flags, the device and the program's own `settings`, the chart, the sample grids
// of epochs 1 .. epochs, `notes`).
void write_run_report(const Flags& flags, const Device& device, const std::string& title, const MetricsLog& log,
                      const std::vector<std::string>& curves, int epochs, const std::vector<std::string>& notes,
                      const Settings& settings = {});

}  // namespace examples
