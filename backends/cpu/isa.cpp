// Which instruction-set level the cpu backend runs: detected, TAPEGRAD_CPU_ISA, set_isa.
#include <atomic>
#include <cstdlib>

#include "backends/cpu/cpu.h"
#include "backends/cpu/isa.h"

namespace tg::cpu {

namespace {

// The levels this CPU and this build support, fastest first. (__builtin_cpu_supports also
// checks that the OS saves the wide registers.)
std::vector<const IsaKernels*> detect() {
  std::vector<const IsaKernels*> levels;
#ifdef TAPEGRAD_CPU_AVX512
  if (__builtin_cpu_supports("avx512f")) levels.push_back(&avx512_kernels());
#endif
#ifdef TAPEGRAD_CPU_AVX2
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    levels.push_back(&avx2_kernels());
#endif
  levels.push_back(&generic_kernels());
  return levels;
}

const std::vector<const IsaKernels*>& levels() {
  static const std::vector<const IsaKernels*> l = detect();
  return l;
}

const IsaKernels* find(const std::string& name, const char* where) {
  for (const IsaKernels* l : levels())
    if (name == l->name) return l;
  std::string available;
  for (const IsaKernels* l : levels())
    available += (available.empty() ? "" : ", ") + std::string(l->name);
  const bool known = name == "avx512" || name == "avx2" || name == "generic";
  TG_ERROR(where, known ? "this CPU or build does not support level '" : "unknown level '", name,
           "'; available here: ", available, " (the levels are avx512, avx2, generic)");
}

std::atomic<const IsaKernels*>& active() {
  static std::atomic<const IsaKernels*> a{[] {
    const char* env = std::getenv("TAPEGRAD_CPU_ISA");
    return env && *env ? find(env, "TAPEGRAD_CPU_ISA") : levels().front();
  }()};
  return a;
}

}  // namespace

const IsaKernels& active_isa() { return *active().load(std::memory_order_relaxed); }

void set_isa(const std::string& name) { active().store(find(name, "cpu::set_isa")); }

std::string isa_name() { return active_isa().name; }

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const IsaKernels* l : levels()) names.emplace_back(l->name);
  return names;
}

}  // namespace tg::cpu
