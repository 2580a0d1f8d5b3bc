// apply_flags, weight_grad_norms, print_final and write_run_report for the example programs.
#include "training.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

namespace examples {

Device apply_flags(const Flags& flags) {
  tg::manual_seed(flags.seed);
  Device device = select_device_from(flags.backend);
  std::filesystem::create_directories(flags.out);
  std::printf("device: %s, backend %s\n", device.name.c_str(), device.backend.c_str());
  std::fflush(stdout);
  return device;
}

Metrics weight_grad_norms(const std::string& tag, const tg::nn::Module& module) {
  Metrics norms;
  for (const auto& [name, param] : module.named_parameters()) {
    if (name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) continue;
    tg::Tensor g = param.grad();
    double norm = g.defined() ? std::sqrt(tg::sum(tg::square(g.detach())).item<double>()) : 0.0;
    norms.emplace_back("grad_norm/" + tag + "." + name, norm);
  }
  return norms;
}

void print_final(int64_t step, const Metrics& metrics) {
  std::printf("final step=%lld", static_cast<long long>(step));
  for (const auto& [name, value] : metrics) std::printf(" %s=%.17g", name.c_str(), value);
  std::printf("\n");
  std::fflush(stdout);
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

Settings flag_settings(const Flags& f, const Device& device) {
  return {{"data", f.data},
          {"epochs", std::to_string(f.epochs)},
          {"steps", f.steps > 0 ? std::to_string(f.steps) : "no limit"},
          {"batch", std::to_string(f.batch)},
          {"lr", number(f.lr)},
          {"seed", std::to_string(f.seed)},
          {"backend", device.backend},
          {"device", device.name},
          {"limit", f.limit > 0 ? std::to_string(f.limit) : "none"},
          {"resume", f.resume.empty() ? "no" : f.resume}};
}

std::string sample_file(int epoch) {
  char name[64];
  std::snprintf(name, sizeof(name), "samples_epoch%03d.png", epoch);
  return name;
}

void write_run_report(const Flags& flags, const Device& device, const std::string& title, const MetricsLog& log,
                      const std::vector<std::string>& curves, int epochs, const std::vector<std::string>& notes,
                      const Settings& settings) {
  std::vector<std::pair<std::string, std::vector<double>>> series;
  for (const auto& name : curves) series.emplace_back(name, log.column(name));
  write_line_chart_svg(flags.out + "/losses.svg", title + ": losses", "epoch", log.column("epoch"), series);
  Report report{title, flag_settings(flags, device), {"losses.svg"}, {}, notes};
  report.settings.insert(report.settings.end(), settings.begin(), settings.end());
  for (int e = 1; e <= epochs; ++e) {
    if (std::filesystem::exists(flags.out + "/" + sample_file(e)))
      report.images.emplace_back("epoch " + std::to_string(e), sample_file(e));
  }
  write_report_html(flags.out + "/report.html", report);
}

}  // namespace examples
