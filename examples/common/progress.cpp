// Progress bar / log lines. On a terminal the bar is redrawn at most 10 times a second; in a
// log, one line every 5 seconds (and at the end of each epoch, by the caller's finish()).
#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace examples {

Progress::Progress(int64_t total_steps)
    : total_(total_steps), tty_(isatty(STDOUT_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_print_(start_ - std::chrono::hours(1)) {}

void Progress::update(int epoch, int64_t step, const std::vector<std::pair<std::string, double>>& metrics) {
  const auto now = std::chrono::steady_clock::now();
  if (first_step_ < 0) first_step_ = step;
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  const bool last = total_ > 0 && step >= total_;
  if (!last && since_print < (tty_ ? 0.1 : 5.0)) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step - first_step_ + 1) / elapsed : 0.0;
  std::string line;
  char buf[128];
  std::snprintf(buf, sizeof buf, "epoch %d  step %lld", epoch, static_cast<long long>(step));
  line += buf;
  if (total_ > 0) {
    const int width = 20;
    const int filled = static_cast<int>(width * std::min<double>(1.0, double(step) / double(total_)));
    line += "  [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
    const double eta = rate > 0 ? double(total_ - step) / rate : 0.0;
    std::snprintf(buf, sizeof buf, " %lld/%lld  ETA %.0fs", static_cast<long long>(step),
                  static_cast<long long>(total_), eta);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, "  %.2f steps/s", rate);
  line += buf;
  for (const auto& [name, value] : metrics) {
    std::snprintf(buf, sizeof buf, "  %s %.4f", name.c_str(), value);
    line += buf;
  }
  if (tty_) std::printf("\r\033[K%s", line.c_str());
  else std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void Progress::finish() {
  if (tty_) std::printf("\n");
  std::fflush(stdout);
}

}  // namespace examples
