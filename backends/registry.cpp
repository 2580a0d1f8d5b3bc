// The backend registry: which kernel table serves each device type, chosen at run time.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "backends/kernels.h"
#ifdef TAPEGRAD_HAS_CPU_BACKEND
#include "backends/cpu/cpu.h"
#endif
#ifdef TAPEGRAD_HAS_CUDA_BACKEND
#include "backends/cuda/cuda.h"
#endif

namespace tg::kernel {
namespace {

constexpr const char* kOpNames[] = {
#define TG_OP(name, sig) #name,
#include "autograd/op_list.def"
#undef TG_OP
};
static_assert(std::size(kOpNames) == static_cast<size_t>(OpId::count),
              "op_list.def and the op name table disagree");

struct Registered {
  DeviceType device;
  KernelTable table;
};

struct Registry {
  std::map<std::string, Registered> backends;
  std::map<DeviceType, std::string> active;
};

// The cpu backend installs its caching allocator while it is the active CPU backend.
void cpu_backend_selected(const std::string& active) {
#ifdef TAPEGRAD_HAS_CPU_BACKEND
  cpu::on_backend_selected(active == "cpu");
#else
  (void)active;
#endif
}

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();  // never destroyed: kernels may run during static teardown
    reg->backends["reference"] = {DeviceType::CPU, reference::make_table()};
    reg->active[DeviceType::CPU] = "reference";
#ifdef TAPEGRAD_HAS_CPU_BACKEND
    reg->backends["cpu"] = {DeviceType::CPU, cpu::make_table()};
    reg->active[DeviceType::CPU] = "cpu";  // the fastest CPU backend built is the default
#endif
#ifdef TAPEGRAD_HAS_CUDA_BACKEND
    // Registered with or without a GPU: a tensor placed on cuda:0 is what needs one.
    reg->backends["cuda"] = {DeviceType::CUDA, cuda::make_table()};
    reg->active[DeviceType::CUDA] = "cuda";
#endif
    if (const char* env = std::getenv("TAPEGRAD_BACKEND")) {
      std::string want(env);
      TG_CHECK(reg->backends.count(want), "TAPEGRAD_BACKEND", "unknown backend '", want, "'");
      reg->active[reg->backends[want].device] = want;
    }
    cpu_backend_selected(reg->active[DeviceType::CPU]);
    return reg;
  }();
  return *r;
}

std::mutex g_mutex;

}  // namespace

const char* op_name(OpId id) {
  auto i = static_cast<size_t>(id);
  return i < std::size(kOpNames) ? kOpNames[i] : "unknown op";
}

bool KernelTable::has(OpId id) const {
  switch (id) {
#define TG_OP(name, sig) \
  case OpId::name: return name.fn != nullptr;
#include "autograd/op_list.def"
#undef TG_OP
    case OpId::count: break;
  }
  return false;
}

void register_backend(const std::string& name, DeviceType device, const KernelTable& table) {
  std::lock_guard<std::mutex> lock(g_mutex);
  registry().backends[name] = {device, table};
}

void set_backend(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto& reg = registry();
  auto it = reg.backends.find(name);
  if (it == reg.backends.end()) {
    std::string known;
    for (const auto& [n, b] : reg.backends) known += (known.empty() ? "" : ", ") + n;
    TG_ERROR("set_backend", "unknown backend '", name, "'; available: ", known);
  }
  reg.active[it->second.device] = name;
  if (it->second.device == DeviceType::CPU) cpu_backend_selected(name);
}

std::string current_backend(DeviceType device) {
  auto& reg = registry();
  auto it = reg.active.find(device);
  return it == reg.active.end() ? std::string("none") : it->second;
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const auto& [n, b] : registry().backends) names.push_back(n);
  return names;
}

const KernelTable& table_for(Device device) {
  auto& reg = registry();
  auto it = reg.active.find(device.type);
  TG_CHECK(it != reg.active.end(), "dispatch", "no backend serves device ", device.str());
  return reg.backends.at(it->second).table;
}

const KernelTable& table_named(const std::string& name) {
  auto& reg = registry();
  auto it = reg.backends.find(name);
  TG_CHECK(it != reg.backends.end(), "table_named", "unknown backend '", name, "'");
  return it->second.table;
}

}  // namespace tg::kernel
