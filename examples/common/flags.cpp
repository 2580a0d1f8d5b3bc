// Flag parsing for the examples: --name value or --name=value, every flag documented in usage().
#include "flags.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <vector>

namespace examples {
namespace {

// The options, each with its default as this program sets it ("" when there is none to show).
std::string usage(const Flags& d) {
  char lr[32];
  std::snprintf(lr, sizeof lr, "%g", d.lr);
  const std::vector<std::array<std::string, 3>> rows = {
      {"--data NAME", "fashion-mnist | mnist:DIR | shapes | shapes-rgb | ring8", d.data},
      {"--epochs N", "passes over the training set", std::to_string(d.epochs)},
      {"--steps N", "stop after N training steps in total", "no limit"},
      {"--batch N", "batch size", std::to_string(d.batch)},
      {"--lr X", "learning rate", lr},
      {"--seed N", "seed of every random choice", std::to_string(d.seed)},
      {"--backend NAME", "reference | cpu (on the CPU) | cuda (on the GPU)", "$TAPEGRAD_BACKEND, else cpu"},
      {"--out DIR", "where samples, metrics, checkpoints and report go", d.out},
      {"--resume FILE", "continue from a checkpoint written by this program", ""},
      {"--save-samples N", "write N samples as samples.npy at the end", ""},
      {"--size N", "dcgan image size: 32 or 64", std::to_string(d.size)},
      {"--latent N", "vae latent dimension (2: also a latent map)", std::to_string(d.latent)},
      {"--limit N", "use only the first N training examples", ""},
      {"--loss NAME", "wgan_gp: wgan-gp, or gan for the standard GAN loss", d.loss},
      {"--pack N", "wgan_gp: the critic judges N examples at once (PacGAN)", std::to_string(d.pack)},
      {"--score FILE", "classifier: the class histogram of the images in FILE (.npy)", ""},
      {"--detect-anomaly", "raise on the first NaN/Inf in a forward or backward op", ""},
      {"--profile", "print the per-op time profile of one training step", ""},
      {"--dump-graph FILE", "write one training step's tape as Graphviz DOT", ""},
      {"--help", "this text", ""},
  };
  std::string text = "options:\n";
  for (const auto& [flag, help, def] : rows) {
    char line[256];
    if (def.empty()) std::snprintf(line, sizeof line, "  %-18s %s\n", flag.c_str(), help.c_str());
    else std::snprintf(line, sizeof line, "  %-18s %-56s (default %s)\n", flag.c_str(), help.c_str(), def.c_str());
    text += line;
  }
  return text;
}

int64_t to_int(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < 0) throw std::runtime_error(flag + " expects a non-negative integer, got '" + v + "'");
  return x;
}

double to_double(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x > 0)) throw std::runtime_error(flag + " expects a positive number, got '" + v + "'");
  return x;
}

}  // namespace

Flags parse_flags(int argc, char** argv, const std::string& program, const std::string& summary,
                  const Flags& defaults) {
  Flags f = defaults;
  std::map<std::string, std::function<void(const std::string&)>> with_value = {
      {"--data", [&](const std::string& v) { f.data = v; }},
      {"--epochs", [&](const std::string& v) { f.epochs = static_cast<int>(to_int("--epochs", v)); }},
      {"--steps", [&](const std::string& v) { f.steps = to_int("--steps", v); }},
      {"--batch", [&](const std::string& v) { f.batch = to_int("--batch", v); }},
      {"--lr", [&](const std::string& v) { f.lr = to_double("--lr", v); }},
      {"--seed", [&](const std::string& v) { f.seed = static_cast<uint64_t>(to_int("--seed", v)); }},
      {"--backend", [&](const std::string& v) { f.backend = v; }},
      {"--out", [&](const std::string& v) { f.out = v; }},
      {"--resume", [&](const std::string& v) { f.resume = v; }},
      {"--save-samples", [&](const std::string& v) { f.save_samples = to_int("--save-samples", v); }},
      {"--size", [&](const std::string& v) { f.size = static_cast<int>(to_int("--size", v)); }},
      {"--latent", [&](const std::string& v) { f.latent = static_cast<int>(to_int("--latent", v)); }},
      {"--limit", [&](const std::string& v) { f.limit = to_int("--limit", v); }},
      {"--dump-graph", [&](const std::string& v) { f.dump_graph = v; }},
      {"--score", [&](const std::string& v) { f.score = v; }},
      {"--loss", [&](const std::string& v) { f.loss = v; }},
      {"--pack", [&](const std::string& v) { f.pack = to_int("--pack", v); }},
  };
  std::map<std::string, bool*> switches = {{"--detect-anomaly", &f.detect_anomaly}, {"--profile", &f.profile}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "--help" || arg == "-h") {
      std::printf("%s: %s\n\nusage: %s [options]\n%s", program.c_str(), summary.c_str(), program.c_str(),
                  usage(defaults).c_str());
      std::exit(0);
    }
    if (auto s = switches.find(arg); s != switches.end()) {
      *s->second = true;
      continue;
    }
    auto it = with_value.find(arg);
    if (it == with_value.end()) throw std::runtime_error("unknown flag '" + arg + "' (see --help)");
    if (!has_value) {
      if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
      value = argv[++i];
    }
    it->second(value);
  }
  if (f.batch == 0) throw std::runtime_error("--batch must be at least 1");
  if (f.size != 32 && f.size != 64) throw std::runtime_error("--size must be 32 or 64");
  if (f.latent == 0) throw std::runtime_error("--latent must be at least 1");
  if (f.pack == 0) throw std::runtime_error("--pack must be at least 1");
  if (f.loss != "wgan-gp" && f.loss != "gan") throw std::runtime_error("--loss must be wgan-gp or gan, got '" + f.loss + "'");
  return f;
}

}  // namespace examples
