// The backend registry: which kernel table serves each device type, chosen at run time.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

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

// A registered backend. Published once and then never changed or freed, so a kernel table a
// thread got from table_for stays valid while another thread switches or re-registers
// backends (a re-registration publishes a new Backend; the old one stays alive).
struct Backend {
  std::string name;
  DeviceType device;
  KernelTable table;
};

constexpr size_t kDeviceTypes = 2;  // DeviceType::CPU, DeviceType::CUDA

// Writers (register_backend, set_backend) hold `mutex`; readers of the active backend (every
// op's dispatch) only load its atomic pointer, so dispatch takes no lock.
struct Registry {
  std::mutex mutex;
  std::map<std::string, const Backend*> by_name;
  std::vector<std::unique_ptr<const Backend>> all;  // every Backend ever published
  std::atomic<const Backend*> active[kDeviceTypes] = {};

  const Backend* publish(const std::string& name, DeviceType device, const KernelTable& table) {
    all.push_back(std::make_unique<const Backend>(Backend{name, device, table}));
    return by_name[name] = all.back().get();
  }
  std::atomic<const Backend*>& active_for(DeviceType device) {
    return active[static_cast<size_t>(device)];
  }
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
    // Never destroyed once made (kernels may run during static teardown); freed if the
    // environment names an unknown backend, so the next call tries again.
    auto made = std::make_unique<Registry>();
    Registry* reg = made.get();
    reg->active_for(DeviceType::CPU) = reg->publish("reference", DeviceType::CPU, reference::make_table());
#ifdef TAPEGRAD_HAS_CPU_BACKEND
    // The fastest CPU backend built is the default.
    reg->active_for(DeviceType::CPU) = reg->publish("cpu", DeviceType::CPU, cpu::make_table());
#endif
#ifdef TAPEGRAD_HAS_CUDA_BACKEND
    // Registered with or without a GPU: a tensor placed on cuda:0 is what needs one.
    reg->active_for(DeviceType::CUDA) = reg->publish("cuda", DeviceType::CUDA, cuda::make_table());
#endif
    if (const char* env = std::getenv("TAPEGRAD_BACKEND")) {
      auto it = reg->by_name.find(env);
      if (it == reg->by_name.end()) {
        std::string built;
        for (const auto& [name, backend] : reg->by_name) built += (built.empty() ? "" : ", ") + name;
        TG_ERROR("TAPEGRAD_BACKEND", "unknown backend '", env, "' (backends built: ", built, ")");
      }
      reg->active_for(it->second->device) = it->second;
    }
    cpu_backend_selected(reg->active_for(DeviceType::CPU).load()->name);
    return made.release();
  }();
  return *r;
}

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
  auto& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  const Backend* b = reg.publish(name, device, table);
  // Re-registering the active backend's name replaces what ops dispatch to.
  const Backend* active = reg.active_for(device).load();
  if (active != nullptr && active->name == name) reg.active_for(device).store(b);
}

void set_backend(const std::string& name) {
  auto& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  auto it = reg.by_name.find(name);
  if (it == reg.by_name.end()) {
    std::string known;
    for (const auto& [n, b] : reg.by_name) known += (known.empty() ? "" : ", ") + n;
    TG_ERROR("set_backend", "unknown backend '", name, "'; available: ", known);
  }
  const Backend* b = it->second;
  reg.active_for(b->device).store(b);
  if (b->device == DeviceType::CPU) cpu_backend_selected(name);
}

std::string current_backend(DeviceType device) {
  const Backend* b = registry().active_for(device).load();
  return b == nullptr ? std::string("none") : b->name;
}

std::vector<std::string> available_backends() {
  auto& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  std::vector<std::string> names;
  for (const auto& [n, b] : reg.by_name) names.push_back(n);
  return names;
}

const KernelTable& table_for(Device device) {
  const Backend* b = registry().active_for(device.type).load();
  TG_CHECK(b != nullptr, "dispatch", "no backend serves device ", device.str());
  return b->table;
}

const KernelTable& table_named(const std::string& name) {
  auto& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  auto it = reg.by_name.find(name);
  TG_CHECK(it != reg.by_name.end(), "table_named", "unknown backend '", name, "'");
  return it->second->table;
}

}  // namespace tg::kernel
