// Checkpoint: prefixed state dicts of every part plus "step", "rng.seed" and "rng.offset".
#include "nn/checkpoint.h"

#include <map>
#include <optional>
#include <sstream>

#include "autograd/random.h"

namespace tg::nn {
namespace {

// int64 scalars are read from memory, not through double (a uint64 seed may need 64 bits).
std::optional<int64_t> int64_scalar(const TensorDict& dict, const std::string& key) {
  for (const auto& [k, t] : dict)
    if (k == key && t.defined() && t.dtype() == kInt64 && t.numel() == 1)
      return *t.contiguous().data_ptr<int64_t>();
  return std::nullopt;
}

Tensor int64_tensor(int64_t v) { return tensor<int64_t>({v}, {}); }

}  // namespace

Checkpoint::Part& Checkpoint::new_part(const std::string& prefix) {
  TG_CHECK(!prefix.empty() && prefix.find('.') == std::string::npos && prefix != "step" && prefix != "rng",
           "Checkpoint", "invalid prefix '", prefix, "': it must be non-empty, without dots, and not "
           "'step' or 'rng'");
  for (const Part& p : parts_)
    TG_CHECK(p.prefix != prefix, "Checkpoint", "prefix '", prefix, "' is already used");
  parts_.push_back({prefix});
  return parts_.back();
}

Checkpoint& Checkpoint::add(const std::string& prefix, Module& module) {
  new_part(prefix).module = &module;
  return *this;
}

Checkpoint& Checkpoint::add(const std::string& prefix, optim::Optimizer& optimizer) {
  new_part(prefix).optimizer = &optimizer;
  return *this;
}

Checkpoint& Checkpoint::add(const std::string& prefix, optim::LRScheduler& scheduler) {
  new_part(prefix).scheduler = &scheduler;
  return *this;
}

void Checkpoint::save(const std::string& path, int64_t step) const {
  const GeneratorState rng = get_rng_state();
  TensorDict dict{{"step", int64_tensor(step)},
                  {"rng.seed", int64_tensor(static_cast<int64_t>(rng.seed))},
                  {"rng.offset", int64_tensor(static_cast<int64_t>(rng.offset))}};
  for (const Part& p : parts_) {
    const TensorDict part = p.module      ? p.module->state_dict()
                            : p.optimizer ? p.optimizer->state_dict()
                                          : p.scheduler->state_dict();
    for (const auto& [key, t] : part) dict.emplace_back(p.prefix + "." + key, t);
  }
  save_npz(dict, path);
}

int64_t Checkpoint::load(const std::string& path) { return load(load_npz(path), path); }

int64_t Checkpoint::load(const TensorDict& dict, const std::string& what) {
  std::map<std::string, TensorDict> by_prefix;
  std::vector<std::string> problems;
  for (const auto& [key, t] : dict) {
    if (key == "step" || key == "rng.seed" || key == "rng.offset") continue;
    const size_t dot = key.find('.');
    const std::string prefix = key.substr(0, dot);
    bool known = false;
    for (const Part& p : parts_) known = known || p.prefix == prefix;
    if (!known || dot == std::string::npos) problems.push_back("unexpected key " + key);
    else by_prefix[prefix].emplace_back(key.substr(dot + 1), t);
  }
  const auto step = int64_scalar(dict, "step"), seed = int64_scalar(dict, "rng.seed"),
             offset = int64_scalar(dict, "rng.offset");
  if (!step) problems.push_back("missing int64 scalar 'step'");
  if (!seed || !offset) problems.push_back("missing int64 scalars 'rng.seed' / 'rng.offset'");
  // Validate every part before loading any.
  for (const Part& p : parts_) {
    const TensorDict& part = by_prefix[p.prefix];
    try {
      if (p.module) p.module->check_state_dict(part);
      else if (p.optimizer) p.optimizer->check_state_dict(part);
      else p.scheduler->check_state_dict(part);
    } catch (const Error& e) {
      problems.push_back("'" + p.prefix + "': " + e.what());
    }
  }
  if (!problems.empty()) {
    std::ostringstream os;
    for (size_t i = 0; i < problems.size(); ++i) os << (i ? "; " : "") << problems[i];
    TG_ERROR("Checkpoint", "cannot load ", what, " (nothing was changed): ", os.str());
  }
  for (const Part& p : parts_) {
    const TensorDict& part = by_prefix[p.prefix];
    if (p.module) p.module->load_state_dict(part);
    else if (p.optimizer) p.optimizer->load_state_dict(part);
    else p.scheduler->load_state_dict(part);
  }
  set_rng_state({static_cast<uint64_t>(*seed), static_cast<uint64_t>(*offset)});
  return *step;
}

}  // namespace tg::nn
