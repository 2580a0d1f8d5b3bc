// Training progress: a one-line bar redrawn in place on a terminal (epoch, step, steps/s,
// ETA, the latest metrics), plain log lines when stdout is not a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace examples {

class Progress {
 public:
  // total_steps: steps of the whole run (for the ETA); 0 if unknown.
  explicit Progress(int64_t total_steps);
  // Call after each step; metrics are (name, value) pairs such as ("loss_D", 0.7).
  void update(int epoch, int64_t step, const std::vector<std::pair<std::string, double>>& metrics);
  void finish();  // ends the bar's line

 private:
  int64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
  int64_t first_step_ = -1;
};

}  // namespace examples
