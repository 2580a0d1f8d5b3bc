// The CUDA emulator's runtime (emulator.h says what it models): device memory with guard pages,
// the fault handler, the error state, and the scheduler that runs a block's threads as fibers.
#include "backends/cuda/emulator/emulator.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define TG_EMU_ASAN 1
#endif
// TAPEGRAD_EMULATOR_TSAN: this file is compiled without TSan's instrumentation in a TSan build
// (CMakeLists.txt), but still tells TSan about its fibers and barriers.
#if defined(__SANITIZE_THREAD__) || defined(TAPEGRAD_EMULATOR_TSAN)
#define TG_EMU_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TG_EMU_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define TG_EMU_TSAN 1
#endif
#endif
#if defined(TG_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(TG_EMU_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace tg::cuda::emu {
namespace {

// ---- limits of the emulated device (an sm_90 GPU's) ----
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {0x7fffffffu, 65535, 65535};
constexpr size_t kMaxDynamicShared = 48 * 1024;
constexpr size_t kDeviceMemory = size_t{16} << 30;
constexpr size_t kAllocationAlignment = 256;  // cudaMalloc's guarantee
#if defined(TG_EMU_ASAN) || defined(TG_EMU_TSAN)
constexpr size_t kFiberStack = 1 << 20;  // sanitizer frames are several times larger
#else
constexpr size_t kFiberStack = 256 << 10;
#endif

size_t page_size() {
  static const size_t p = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return p;
}
size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

// ---- the error state ----
// cudaGetLastError's error is per host thread; a fault inside a kernel is sticky for the whole
// device, as on a GPU, until cudaDeviceReset. The detailed message of the latest error of each
// code is what cudaGetErrorString returns for it.
std::mutex g_state_mutex;
cudaError_t g_sticky = cudaSuccess;
std::string g_sticky_message;
thread_local cudaError_t tl_pending = cudaSuccess;
thread_local cudaError_t tl_detail_code = cudaSuccess;
thread_local std::string tl_detail;

const char* generic_message(cudaError_t e);

// The detailed message reads as CUDA's own string for the code, then what the emulator saw.
cudaError_t record(cudaError_t e, const std::string& detail) {
  tl_pending = e;
  tl_detail_code = e;
  tl_detail = std::string(generic_message(e)) + ": " + detail;
  return e;
}

cudaError_t record_sticky(cudaError_t e, const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(g_state_mutex);
    if (g_sticky == cudaSuccess) {
      g_sticky = e;
      g_sticky_message = message;
    }
  }
  return record(e, message);
}

cudaError_t sticky() {
  std::lock_guard<std::mutex> lock(g_state_mutex);
  return g_sticky;
}

// The sticky error, recorded again as this call's error; cudaSuccess when there is none.
cudaError_t report_sticky() {
  cudaError_t e;
  std::string message;
  {
    std::lock_guard<std::mutex> lock(g_state_mutex);
    e = g_sticky;
    message = g_sticky_message;
  }
  return e == cudaSuccess ? e : record(e, message);
}

// ---- device memory ----
// Each allocation is its own mapping: an inaccessible page, the data pages, an inaccessible
// page, with the data placed against the upper guard (at cudaMalloc's 256-byte alignment), so a
// read or write just past the end faults. A freed allocation becomes inaccessible and stays
// mapped (quarantined) until kQuarantine bytes of newer frees push it out.
struct Allocation {
  uintptr_t map = 0;
  size_t map_size = 0;
  uintptr_t base = 0;
  size_t size = 0;  // as asked for
  bool freed = false;
};

constexpr size_t kQuarantine = size_t{1} << 30;

std::mutex g_memory_mutex;
std::map<uintptr_t, Allocation> g_allocations;  // by map start
std::deque<uintptr_t> g_quarantine;             // map starts of freed allocations, oldest first
size_t g_quarantine_bytes = 0;
size_t g_in_use = 0;

// The allocation whose mapping (guard pages included) holds p; callers hold g_memory_mutex.
const Allocation* find_allocation(uintptr_t p) {
  auto it = g_allocations.upper_bound(p);
  if (it == g_allocations.begin()) return nullptr;
  --it;
  return p < it->second.map + it->second.map_size ? &it->second : nullptr;
}

std::string describe_address(uintptr_t p) {
  std::lock_guard<std::mutex> lock(g_memory_mutex);
  const Allocation* a = find_allocation(p);
  if (!a) return format("0x%" PRIxPTR " is not device memory (a host pointer, or no allocation there)", p);
  const char* state = a->freed ? "freed " : "";
  if (p < a->base)
    return format("0x%" PRIxPTR " is %zu bytes before the %sdevice allocation of %zu bytes at 0x%" PRIxPTR, p,
                  static_cast<size_t>(a->base - p), state, a->size, a->base);
  if (p >= a->base + a->size)
    return format("0x%" PRIxPTR " is %zu bytes past the end of the %sdevice allocation of %zu bytes at 0x%" PRIxPTR,
                  p, static_cast<size_t>(p - a->base - a->size), state, a->size, a->base);
  return format("0x%" PRIxPTR " is byte %zu of the %sdevice allocation of %zu bytes at 0x%" PRIxPTR "%s", p,
                static_cast<size_t>(p - a->base), state, a->size, a->base, a->freed ? " (use after free)" : "");
}

// Whether [p, p + n) lies inside one live allocation; else why not.
bool device_range(const void* ptr, size_t n, std::string* why) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  std::lock_guard<std::mutex> lock(g_memory_mutex);
  const Allocation* a = find_allocation(p);
  if (a && !a->freed && p >= a->base && p + n <= a->base + a->size && p + n >= p) return true;
  if (why) {
    if (!a) *why = format("0x%" PRIxPTR " is not device memory", p);
    else if (a->freed) *why = format("0x%" PRIxPTR " lies in a freed device allocation (use after free)", p);
    else *why = format("[0x%" PRIxPTR ", +%zu) is not inside the device allocation of %zu bytes at 0x%" PRIxPTR, p,
                       n, a->size, a->base);
  }
  return false;
}

bool is_device_pointer(const void* ptr) {
  std::lock_guard<std::mutex> lock(g_memory_mutex);
  return find_allocation(reinterpret_cast<uintptr_t>(ptr)) != nullptr;
}

void release_mapping(const Allocation& a) { munmap(reinterpret_cast<void*>(a.map), a.map_size); }

// ---- fibers ----
// A fiber's context is its saved stack pointer; tg_emu_switch pushes the callee-saved
// registers (and the SSE / x87 control words) on the current stack, saves the stack pointer,
// loads the other one and pops. A new fiber's stack is laid out as if it had been switched
// away from just before tg_emu_fiber_start, which calls entry(arg) from r13 / r12.
#if defined(__x86_64__)
extern "C" void tg_emu_switch(void** save_sp, void* next_sp);
extern "C" void tg_emu_fiber_start();
asm(R"(
  .text
  .globl tg_emu_switch
  .type tg_emu_switch,@function
tg_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size tg_emu_switch, .-tg_emu_switch

  .globl tg_emu_fiber_start
  .type tg_emu_fiber_start,@function
tg_emu_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size tg_emu_fiber_start, .-tg_emu_fiber_start
)");

struct Context {
  void* sp = nullptr;
};

void prepare_context(Context& c, char* stack, size_t size, void (*entry)(void*), void* arg) {
  auto* top = reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t{15});
  uint64_t* sp = top - 10;  // 80 bytes: 64 popped by tg_emu_switch, 16 of slack; sp stays 16-aligned
  sp[0] = 0x1f80 | (uint64_t{0x037f} << 32);  // default MXCSR and x87 control word
  sp[1] = 0;                                  // r15
  sp[2] = 0;                                  // r14
  sp[3] = reinterpret_cast<uint64_t>(entry);  // r13
  sp[4] = reinterpret_cast<uint64_t>(arg);    // r12
  sp[5] = 0;                                  // rbx
  sp[6] = 0;                                  // rbp
  sp[7] = reinterpret_cast<uint64_t>(&tg_emu_fiber_start);
  c.sp = sp;
}

void switch_context(Context& from, Context& to) { tg_emu_switch(&from.sp, to.sp); }
#else
struct Context {
  ucontext_t uc;
};

void prepare_context(Context& c, char* stack, size_t size, void (*entry)(void*), void* arg) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  // makecontext passes int arguments: the pointer goes in two halves.
  const auto bits = reinterpret_cast<uintptr_t>(arg);
  makecontext(&c.uc, reinterpret_cast<void (*)()>(+[](unsigned lo, unsigned hi, unsigned elo, unsigned ehi) {
                auto fn = reinterpret_cast<void (*)(void*)>((uintptr_t{ehi} << 32) | elo);
                fn(reinterpret_cast<void*>((uintptr_t{hi} << 32) | lo));
              }),
              4, static_cast<unsigned>(bits), static_cast<unsigned>(bits >> 32),
              static_cast<unsigned>(reinterpret_cast<uintptr_t>(entry)),
              static_cast<unsigned>(reinterpret_cast<uintptr_t>(entry) >> 32));
}

void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

struct Worker;

// One emulated CUDA thread: its stack (an inaccessible page below it catches an overflow),
// where it is suspended, and what it is doing.
struct Fiber {
  Worker* worker = nullptr;
  char* mapping = nullptr;  // guard page + stack
  char* stack = nullptr;
  Context context;
  uint3 index{0, 0, 0};
  int linear = 0;
  bool done = false;
  bool at_barrier = false;
  bool at_shuffle = false;
  sigjmp_buf fault_jump;
#if defined(TG_EMU_ASAN)
  void* fake_stack = nullptr;
#endif
#if defined(TG_EMU_TSAN)
  void* tsan_fiber = nullptr;
  std::string tsan_name;  // "kernel K, block (..), thread (..)": what a race report calls it
#endif
};

// A warp's shuffle in progress: the lanes named in `mask` deposit their values, and once all
// have, each reads its source; the round closes when every lane has read.
struct WarpExchange {
  unsigned mask = 0, arrived = 0, departed = 0;
  bool complete = false;
  uint64_t values[32] = {};
};

// The block being run: barrier state, warp exchanges, and the first error.
struct Block {
  int threads = 0;
  int exited = 0;
  int at_barrier = 0;
  uint64_t barrier_generation = 0;
  uint64_t progress = 0;  // bumped by every step a thread takes past a synchronisation point
  std::vector<WarpExchange> warps;
  bool failed = false;
  cudaError_t error = cudaSuccess;
  std::string message;
};

// A fault or misuse found inside a fiber: unwinds it to its entry.
struct Fault {};

// A host thread that runs kernels: its fibers (reused by every block), and the running block.
struct Worker {
  Context scheduler;
  std::vector<std::unique_ptr<Fiber>> fibers;
  Fiber* current = nullptr;
  ThreadView view{};
  Block block;
  const KernelBody* body = nullptr;
  // Written by the fault handler, read once the fiber has jumped back to its entry.
  volatile uintptr_t fault_address = 0;
  volatile int fault_signal = 0;
  volatile int fault_is_write = -1;  // -1: unknown
  std::vector<char> alt_stack;
#if defined(TG_EMU_ASAN)
  const void* scheduler_stack_bottom = nullptr;
  size_t scheduler_stack_size = 0;
  void* scheduler_fake_stack = nullptr;
#endif
#if defined(TG_EMU_TSAN)
  void* tsan_scheduler = nullptr;
  // Sync objects: the barrier, warp syncs, and the end of a block (each thread releases it as it
  // ends; the scheduler acquires it before the next block and after the last).
  char barrier_sync = 0;
  char warp_sync[32] = {};
  char block_end_sync = 0;
#endif
};

thread_local Worker* tl_worker = nullptr;

[[maybe_unused]] void tsan_release([[maybe_unused]] void* addr) {
#if defined(TG_EMU_TSAN)
  __tsan_release(addr);
#endif
}
[[maybe_unused]] void tsan_acquire([[maybe_unused]] void* addr) {
#if defined(TG_EMU_TSAN)
  __tsan_acquire(addr);
#endif
}

std::string where(const Worker& w, const Fiber* f) {
  std::string s = format("kernel %s, block (%u,%u,%u)", w.body->name, w.view.block.x, w.view.block.y, w.view.block.z);
  if (f) s += format(", thread (%u,%u,%u)", f->index.x, f->index.y, f->index.z);
  return s;
}

// Records the block's first error and unwinds the calling fiber.
[[noreturn]] void fail(Worker& w, cudaError_t code, const std::string& what) {
  if (!w.block.failed) {
    w.block.failed = true;
    w.block.error = code;
    w.block.message = where(w, w.current) + ": " + what;
  }
  throw Fault{};
}

// ---- switching between the scheduler and a fiber ----
void resume(Worker& w, Fiber& f) {
  w.current = &f;
  w.view.thread = f.index;
#if defined(TG_EMU_ASAN)
  __sanitizer_start_switch_fiber(&w.scheduler_fake_stack, f.stack, kFiberStack);
#endif
#if defined(TG_EMU_TSAN)
  __tsan_switch_to_fiber(f.tsan_fiber, 0);  // the fiber sees what the scheduler set up
#endif
  switch_context(w.scheduler, f.context);
#if defined(TG_EMU_ASAN)
  __sanitizer_finish_switch_fiber(w.scheduler_fake_stack, nullptr, nullptr);
#endif
  w.current = nullptr;
}

void after_switch_in([[maybe_unused]] Worker& w, [[maybe_unused]] Fiber& f) {
#if defined(TG_EMU_ASAN)
  __sanitizer_finish_switch_fiber(f.fake_stack, &w.scheduler_stack_bottom, &w.scheduler_stack_size);
#endif
}

// From fiber f to the scheduler. Fibers are ordered only by barriers, never by the switch, so
// ThreadSanitizer sees a missing barrier as a race. The fiber's fake stack (ASan's
// detect_stack_use_after_return) stays with it, also when it has finished: making one per
// CUDA thread costs two large mappings each time.
void switch_to_scheduler(Worker& w, Fiber& f) {
#if defined(TG_EMU_ASAN)
  __sanitizer_start_switch_fiber(&f.fake_stack, w.scheduler_stack_bottom, w.scheduler_stack_size);
#endif
#if defined(TG_EMU_TSAN)
  __tsan_switch_to_fiber(w.tsan_scheduler, __tsan_switch_to_fiber_no_sync);
#endif
  switch_context(f.context, w.scheduler);
}

// Back to the scheduler; returns when the scheduler resumes this fiber.
void yield(Worker& w) {
  Fiber& f = *w.current;
  switch_to_scheduler(w, f);
  after_switch_in(w, f);
}

// The fiber's entry: runs one CUDA thread of the current block, then hands control back for
// good. A fault (signal) jumps back here; an emulator error unwinds here as Fault.
void fiber_main(void* arg) {
  Fiber& f = *static_cast<Fiber*>(arg);
  Worker& w = *f.worker;
  after_switch_in(w, f);
  if (sigsetjmp(f.fault_jump, 0) == 0) {
    try {
      w.body->run_thread(w.body->params);
    } catch (const Fault&) {
    }
  } else {
    const uintptr_t addr = w.fault_address;
    std::string what;
    if (w.fault_signal == SIGFPE) {
      what = "integer division by zero (SIGFPE)";
    } else if (addr >= reinterpret_cast<uintptr_t>(f.mapping) && addr < reinterpret_cast<uintptr_t>(f.stack)) {
      what = format("stack overflow: the thread used more than its %zu KiB stack", kFiberStack >> 10);
    } else {
      const char* access = w.fault_is_write == 1 ? "write" : w.fault_is_write == 0 ? "read" : "access";
      what = format("illegal %s: ", access) + describe_address(addr);
    }
    if (!w.block.failed) {
      w.block.failed = true;
      w.block.error = cudaErrorIllegalAddress;
      w.block.message = where(w, &f) + ": " + what;
    }
  }
  f.done = true;
  ++w.block.exited;
  ++w.block.progress;
#if defined(TG_EMU_TSAN)
  tsan_release(&w.block_end_sync);
#endif
  switch_to_scheduler(w, f);
  std::abort();  // a finished fiber is never resumed
}

// ---- the fault handler ----
struct sigaction g_previous[3];  // SIGSEGV, SIGBUS, SIGFPE
int slot_of(int sig) { return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : 2; }

void on_fault(int sig, siginfo_t* info, void* ucontext) {
  Worker* w = tl_worker;
  if (w && w->current) {
    w->fault_signal = sig;
    w->fault_address = reinterpret_cast<uintptr_t>(info->si_addr);
#if defined(__x86_64__)
    // The page-fault error code: bit 1 is set for a write.
    const auto* uc = static_cast<const ucontext_t*>(ucontext);
    w->fault_is_write = sig == SIGSEGV ? ((uc->uc_mcontext.gregs[REG_ERR] & 2) ? 1 : 0) : -1;
#else
    (void)ucontext;
    w->fault_is_write = -1;
#endif
    siglongjmp(w->current->fault_jump, 1);
  }
  // Not a kernel's: whoever handled it before, or the default action (the access repeats).
  const struct sigaction& prev = g_previous[slot_of(sig)];
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
    prev.sa_sigaction(sig, info, ucontext);
  } else if (prev.sa_handler == SIG_DFL || prev.sa_handler == SIG_IGN) {
    signal(sig, SIG_DFL);
  } else {
    prev.sa_handler(sig);
  }
}

// Called at every launch (under the launch lock): a test runner or a crash reporter may have
// put its own handler in since the last one; the emulator's goes back in front and passes on
// what is not a kernel's fault to it.
void install_fault_handler() {
  const int signals[3] = {SIGSEGV, SIGBUS, SIGFPE};
  for (int sig : signals) {
    struct sigaction current {};
    sigaction(sig, nullptr, &current);
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_fault) continue;
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sigemptyset(&sa.sa_mask);
    // SA_NODEFER: the handler leaves by siglongjmp without restoring the mask, so the signal
    // must not be blocked while it runs. SA_ONSTACK: a stack overflow still gets a handler.
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigaction(sig, &sa, &g_previous[slot_of(sig)]);
  }
}

Worker& this_worker() {
  if (!tl_worker) {
    tl_worker = new Worker();  // lives as long as its thread may launch; never freed
    stack_t current{};
    sigaltstack(nullptr, &current);
    if (current.ss_flags & SS_DISABLE) {
      tl_worker->alt_stack.resize(size_t{64} << 10);
      stack_t ss{};
      ss.ss_sp = tl_worker->alt_stack.data();
      ss.ss_size = tl_worker->alt_stack.size();
      sigaltstack(&ss, nullptr);
    }
#if defined(TG_EMU_TSAN)
    tl_worker->tsan_scheduler = __tsan_get_current_fiber();
#endif
  }
  return *tl_worker;
}

Fiber& fiber_at(Worker& w, int i) {
  while (static_cast<int>(w.fibers.size()) <= i) {
    auto f = std::make_unique<Fiber>();
    f->worker = &w;
    f->done = true;  // a fresh stack is clean
    const size_t guard = page_size();
    void* m = mmap(nullptr, guard + kFiberStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    mprotect(m, guard, PROT_NONE);
    f->mapping = static_cast<char*>(m);
    f->stack = f->mapping + guard;
#if defined(TG_EMU_TSAN)
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
    w.fibers.push_back(std::move(f));
  }
  return *w.fibers[i];
}

// Makes fiber i start thread `index` of the block from the top.
void restart(Worker& w, Fiber& f, uint3 index, int linear) {
  [[maybe_unused]] const bool was_done = f.done;
  f.index = index;
  f.linear = linear;
  f.done = f.at_barrier = f.at_shuffle = false;
#if defined(TG_EMU_ASAN)
  // A thread that ran to its end left its stack unpoisoned except fiber_main's own frame at
  // the top (it never returns); one an aborted block left suspended mid-kernel left its
  // frames' redzones poisoned all the way down.
  constexpr size_t kTop = 16 << 10;
  if (was_done) __asan_unpoison_memory_region(f.stack + kFiberStack - kTop, kTop);
  else __asan_unpoison_memory_region(f.stack, kFiberStack);
#endif
  prepare_context(f.context, f.stack, kFiberStack, fiber_main, &f);
#if defined(TG_EMU_TSAN)
  f.tsan_name = where(w, &f);
  __tsan_set_fiber_name(f.tsan_fiber, f.tsan_name.c_str());
#endif
  (void)w;
}

std::string list_threads(const Worker& w, bool (*pick)(const Fiber&)) {
  std::string s;
  int shown = 0, total = 0;
  for (int i = 0; i < w.block.threads; ++i) {
    const Fiber& f = *w.fibers[i];
    if (!pick(f)) continue;
    if (shown < 8) {
      s += format("%s(%u,%u,%u)", shown ? " " : "", f.index.x, f.index.y, f.index.z);
      ++shown;
    }
    ++total;
  }
  if (total > shown) s += format(" and %d more", total - shown);
  return s;
}

// Why no thread can move: which wait at the barrier, which at a shuffle, which exited.
std::string describe_deadlock(const Worker& w) {
  std::string s = "deadlock: no thread can continue;";
  const std::string barrier = list_threads(w, [](const Fiber& f) { return f.at_barrier; });
  const std::string shuffle = list_threads(w, [](const Fiber& f) { return f.at_shuffle; });
  if (!barrier.empty()) s += " waiting at __syncthreads: " + barrier + ";";
  if (!shuffle.empty()) s += " waiting at a warp shuffle or __syncwarp: " + shuffle + ";";
  return s;
}

// Runs every thread of the current block to its end; false when the block failed.
bool run_block(Worker& w, int threads) {
  Block& b = w.block;
  b.threads = threads;
  b.exited = 0;
  b.at_barrier = 0;
  b.failed = false;
  b.error = cudaSuccess;
  b.message.clear();
  b.warps.assign(static_cast<size_t>((threads + 31) / 32), WarpExchange{});
#if defined(TG_EMU_TSAN)
  // The previous block's threads happen before this block's (its shared memory is reused):
  // the scheduler takes their releases, and passes them on to each fiber it switches to.
  tsan_acquire(&w.block_end_sync);
#endif
  const dim3 d = w.view.block_dim;
  for (int i = 0; i < threads; ++i) {
    const uint3 index{static_cast<unsigned>(i) % d.x, static_cast<unsigned>(i) / d.x % d.y,
                      static_cast<unsigned>(i) / (d.x * d.y)};
    restart(w, fiber_at(w, i), index, i);
  }
  while (b.exited < threads && !b.failed) {
    const uint64_t before = b.progress;
    for (int i = 0; i < threads && !b.failed; ++i) {
      Fiber& f = *w.fibers[i];
      if (!f.done) resume(w, f);
    }
    if (!b.failed && b.exited < threads && b.progress == before) {
      b.failed = true;
      b.error = cudaErrorLaunchFailure;
      b.message = where(w, nullptr) + ": " + describe_deadlock(w);
    }
  }
#if defined(TG_EMU_TSAN)
  if (b.failed) {
    // Threads left suspended by the abort end here: each releases what it did (in its TSan
    // context, without running), then gets fresh TSan state (its shadow call stack).
    for (int i = 0; i < threads; ++i) {
      Fiber& f = *w.fibers[i];
      if (f.done) continue;
      __tsan_switch_to_fiber(f.tsan_fiber, __tsan_switch_to_fiber_no_sync);
      __tsan_release(&w.block_end_sync);
      __tsan_switch_to_fiber(w.tsan_scheduler, __tsan_switch_to_fiber_no_sync);
      __tsan_destroy_fiber(f.tsan_fiber);
      f.tsan_fiber = __tsan_create_fiber(0);
    }
  }
  tsan_acquire(&w.block_end_sync);  // the host sees what the block wrote
#endif
  return !b.failed;
}

std::string dims(dim3 d) { return format("(%u,%u,%u)", d.x, d.y, d.z); }

// Why a launch configuration is invalid, or "".
std::string check_configuration(dim3 grid, dim3 block, size_t shared_bytes, cudaError_t* code) {
  const unsigned bd[3] = {block.x, block.y, block.z}, gd[3] = {grid.x, grid.y, grid.z};
  *code = cudaErrorInvalidConfiguration;
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads > kMaxThreadsPerBlock)
    return format("blockDim %s has %" PRIu64 " threads; a block holds at most %u", dims(block).c_str(), threads,
                  kMaxThreadsPerBlock);
  for (int i = 0; i < 3; ++i) {
    if (bd[i] == 0 || gd[i] == 0) return "a zero grid or block dimension: grid " + dims(grid) + ", block " + dims(block);
    if (bd[i] > kMaxBlockDim[i])
      return format("blockDim %s exceeds the limit of (%u,%u,%u) per dimension", dims(block).c_str(),
                    kMaxBlockDim[0], kMaxBlockDim[1], kMaxBlockDim[2]);
    if (gd[i] > kMaxGridDim[i])
      return format("gridDim %s exceeds the limit of (%u,%u,%u)", dims(grid).c_str(), kMaxGridDim[0],
                    kMaxGridDim[1], kMaxGridDim[2]);
  }
  if (shared_bytes > kMaxDynamicShared) {
    *code = cudaErrorInvalidValue;
    return format("%zu bytes of dynamic shared memory requested; at most %zu", shared_bytes, kMaxDynamicShared);
  }
  return "";
}

std::mutex g_launch_mutex;  // one kernel at a time on the device
std::mutex g_stream_mutex;
std::vector<cudaStream_t> g_streams;

bool valid_stream(cudaStream_t s) {
  if (s == nullptr) return true;
  std::lock_guard<std::mutex> lock(g_stream_mutex);
  return std::find(g_streams.begin(), g_streams.end(), s) != g_streams.end();
}

}  // namespace

const ThreadView& view() { return tl_worker->view; }

void syncthreads() {
  Worker& w = *tl_worker;
  Fiber& f = *w.current;
  Block& b = w.block;
  const uint64_t generation = b.barrier_generation;
#if defined(TG_EMU_TSAN)
  tsan_release(&w.barrier_sync);
#endif
  ++b.at_barrier;
  ++b.progress;
  f.at_barrier = true;
  if (b.at_barrier + b.exited == b.threads) {
    if (b.exited > 0)
      fail(w, cudaErrorLaunchFailure,
           format("__syncthreads reached by %d of the block's %d threads; %d exited before it (a barrier in "
                  "divergent code): exited threads ",
                  b.at_barrier, b.threads, b.exited) +
               list_threads(w, [](const Fiber& x) { return x.done; }));
    b.at_barrier = 0;
    ++b.barrier_generation;
  } else {
    while (b.barrier_generation == generation) {
      yield(w);
      if (b.failed) throw Fault{};
    }
  }
  f.at_barrier = false;
  ++b.progress;
#if defined(TG_EMU_TSAN)
  tsan_acquire(&w.barrier_sync);
#endif
}

uint64_t shuffle(unsigned mask, uint64_t value, ShuffleKind kind, int arg, int width) {
  Worker& w = *tl_worker;
  Fiber& f = *w.current;
  Block& b = w.block;
  const int lane = f.linear % 32, warp = f.linear / 32;
  const int warp_threads = std::min(32, b.threads - warp * 32);
  const unsigned existing = warp_threads == 32 ? 0xffffffffu : (1u << warp_threads) - 1;
  const char* name = kind == ShuffleKind::kXor ? "__shfl_xor_sync" : kind == ShuffleKind::kDown ? "__shfl_down_sync"
                     : kind == ShuffleKind::kUp ? "__shfl_up_sync" : "__shfl_sync";
  if (!(mask & (1u << lane))) fail(w, cudaErrorLaunchFailure, format("%s with mask 0x%08x, which does not name the calling lane %d", name, mask, lane));
  if (mask & ~existing)
    fail(w, cudaErrorLaunchFailure,
         format("%s with mask 0x%08x names lanes that do not exist (warp %d has %d threads)", name, mask, warp,
                warp_threads));
  if (width <= 0 || width > 32 || (width & (width - 1)))
    fail(w, cudaErrorLaunchFailure, format("%s with width %d; it must be a power of two up to 32", name, width));
  WarpExchange& x = b.warps[static_cast<size_t>(warp)];
  f.at_shuffle = true;
  while (x.complete) {  // the previous exchange is still being read
    yield(w);
    if (b.failed) throw Fault{};
  }
  if (x.arrived == 0) x.mask = mask;
  else if (x.mask != mask)
    fail(w, cudaErrorLaunchFailure,
         format("%s: lane %d passes mask 0x%08x while lanes 0x%08x of the warp passed 0x%08x", name, lane, mask,
                x.arrived, x.mask));
  x.values[lane] = value;
  x.arrived |= 1u << lane;
  ++b.progress;
  if (x.arrived == mask) x.complete = true;
  while (!x.complete) {
    for (int l = 0; l < 32; ++l) {
      if (!(mask & (1u << l)) || (x.arrived & (1u << l))) continue;
      const Fiber& other = *w.fibers[static_cast<size_t>(warp * 32 + l)];
      if (other.done)
        fail(w, cudaErrorLaunchFailure,
             format("%s with mask 0x%08x: lane %d named in the mask exited without taking part", name, mask, l));
    }
    yield(w);
    if (b.failed) throw Fault{};
  }
  const int segment = lane & ~(width - 1), in_segment = lane - segment;
  int source = lane;
  switch (kind) {
    case ShuffleKind::kIndex: source = segment + (arg & (width - 1)); break;
    case ShuffleKind::kUp: source = in_segment - arg >= 0 ? lane - arg : lane; break;
    case ShuffleKind::kDown: source = in_segment + arg < width ? lane + arg : lane; break;
    case ShuffleKind::kXor: source = segment + ((in_segment ^ arg) & (width - 1)); break;
  }
  // A source lane outside the mask gives the caller its own value (CUDA leaves it undefined).
  const uint64_t result = (mask & (1u << source)) ? x.values[source] : value;
  x.departed |= 1u << lane;
  ++b.progress;
  if (x.departed == x.mask) x = WarpExchange{};
  f.at_shuffle = false;
  return result;
}

void syncwarp(unsigned mask) {
  Worker& w = *tl_worker;
  const int warp = w.current->linear / 32;
#if defined(TG_EMU_TSAN)
  tsan_release(&w.warp_sync[warp % 32]);
#endif
  shuffle(mask, 0, ShuffleKind::kIndex, 0, 32);  // a rendezvous of the lanes in mask
#if defined(TG_EMU_TSAN)
  tsan_acquire(&w.warp_sync[warp % 32]);
#endif
  (void)warp;
}

void launch(const KernelBody& body, dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
            const void* const* pointers, int pointer_count) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  if (const cudaError_t e = sticky(); e != cudaSuccess) {
    tl_pending = e;
    return;
  }
  cudaError_t code = cudaSuccess;
  if (const std::string why = check_configuration(grid, block, shared_bytes, &code); !why.empty()) {
    record(code, std::string("kernel ") + body.name + ": " + why);
    return;
  }
  if (!valid_stream(stream)) {
    record(cudaErrorInvalidResourceHandle, std::string("kernel ") + body.name + ": launched on an unknown stream");
    return;
  }
  if (const uint64_t threads = uint64_t{block.x} * block.y * block.z; threads > body.max_threads) {
    record(cudaErrorLaunchOutOfResources,
           format("kernel %s: blockDim %s has %" PRIu64 " threads; its __launch_bounds__ allow %u", body.name,
                  dims(block).c_str(), threads, body.max_threads));
    return;
  }
  for (int i = 0; i < pointer_count; ++i) {
    const void* p = pointers[i];
    if (p == nullptr) continue;
    std::string why;
    if (!device_range(p, 0, &why)) {
      record_sticky(cudaErrorIllegalAddress,
                    format("kernel %s: pointer argument %d: ", body.name, i + 1) + describe_address(reinterpret_cast<uintptr_t>(p)));
      return;
    }
  }
  install_fault_handler();
  Worker& w = this_worker();
  w.body = &body;
  w.view.grid_dim = grid;
  w.view.block_dim = block;
  const int threads = static_cast<int>(block.x * block.y * block.z);
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        w.view.block = uint3{x, y, z};
        if (!run_block(w, threads)) {
          record_sticky(w.block.error, w.block.message);
          w.body = nullptr;
          return;
        }
      }
  w.body = nullptr;
}

}  // namespace tg::cuda::emu

// ---- the runtime API ----
using namespace tg::cuda::emu;

// TAPEGRAD_CUDA_EMULATOR_DEVICES=0 makes the emulator a machine without a GPU, so the
// programs' and tests' no-device paths run in an emulator build too.
cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record(cudaErrorInvalidValue, "cudaGetDeviceCount: count is null");
  const char* devices = std::getenv("TAPEGRAD_CUDA_EMULATOR_DEVICES");
  if (devices && std::strcmp(devices, "0") == 0) {
    *count = 0;
    return record(cudaErrorNoDevice, "the emulator was told there is none (TAPEGRAD_CUDA_EMULATOR_DEVICES=0)");
  }
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return record(cudaErrorInvalidValue, "cudaGetDeviceProperties: prop is null");
  if (device != 0) return record(cudaErrorInvalidDevice, format("device %d: the emulator has device 0 only", device));
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "tapegrad CUDA emulator (CPU)");
  prop->totalGlobalMem = kDeviceMemory;
  prop->sharedMemPerBlock = kMaxDynamicShared;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = static_cast<int>(kMaxThreadsPerBlock);
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = static_cast<int>(kMaxBlockDim[i]);
    prop->maxGridSize[i] = static_cast<int>(kMaxGridDim[i]);
  }
  prop->multiProcessorCount = 1;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess
                     : record(cudaErrorInvalidDevice, format("device %d: the emulator has device 0 only", device));
}

cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (!ptr) return record(cudaErrorInvalidValue, "cudaMalloc: ptr is null");
  if (const cudaError_t e = report_sticky(); e != cudaSuccess) return e;
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  const size_t page = page_size();
  if (size > kDeviceMemory)
    return record(cudaErrorMemoryAllocation, format("cudaMalloc of %zu bytes: the emulated device has %zu", size, kDeviceMemory));
  const size_t usable = round_up(size, kAllocationAlignment);
  const size_t data = round_up(usable, page);
  std::lock_guard<std::mutex> lock(g_memory_mutex);
  if (g_in_use + usable > kDeviceMemory)
    return record(cudaErrorMemoryAllocation, format("cudaMalloc of %zu bytes: %zu of the emulated device's %zu in use",
                                                    size, g_in_use, kDeviceMemory));
  void* m = mmap(nullptr, data + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return record(cudaErrorMemoryAllocation, format("cudaMalloc of %zu bytes: mmap failed", size));
  char* first = static_cast<char*>(m) + page;
  if (mprotect(first, data, PROT_READ | PROT_WRITE) != 0) {
    munmap(m, data + 2 * page);
    return record(cudaErrorMemoryAllocation, format("cudaMalloc of %zu bytes: mprotect failed", size));
  }
  Allocation a;
  a.map = reinterpret_cast<uintptr_t>(m);
  a.map_size = data + 2 * page;
  a.base = reinterpret_cast<uintptr_t>(first + data - usable);
  a.size = size;
  // Fresh device memory holds garbage on a GPU; all-ones bytes make an unwritten float a NaN.
  std::memset(first, 0xff, data);
  g_allocations[a.map] = a;
  g_in_use += usable;
  *ptr = reinterpret_cast<void*>(a.base);
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(g_memory_mutex);
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  auto it = g_allocations.upper_bound(p);
  Allocation* a = nullptr;
  if (it != g_allocations.begin()) {
    --it;
    if (p < it->second.map + it->second.map_size) a = &it->second;
  }
  if (!a || a->base != p)
    return record(cudaErrorInvalidValue, format("cudaFree(0x%" PRIxPTR "): not the start of a device allocation", p));
  if (a->freed) return record(cudaErrorInvalidValue, format("cudaFree(0x%" PRIxPTR "): freed twice", p));
  a->freed = true;
  g_in_use -= round_up(a->size, kAllocationAlignment);
  mprotect(reinterpret_cast<void*>(a->map), a->map_size, PROT_NONE);
  madvise(reinterpret_cast<void*>(a->map), a->map_size, MADV_DONTNEED);
  g_quarantine.push_back(a->map);
  g_quarantine_bytes += a->map_size;
  while (g_quarantine_bytes > kQuarantine) {
    auto old = g_allocations.find(g_quarantine.front());
    g_quarantine.pop_front();
    g_quarantine_bytes -= old->second.map_size;
    release_mapping(old->second);
    g_allocations.erase(old);
  }
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  if (const cudaError_t e = report_sticky(); e != cudaSuccess) return e;
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle, "cudaMemcpyAsync: unknown stream");
  if (count == 0) return cudaSuccess;
  if (kind == cudaMemcpyDefault)
    kind = is_device_pointer(dst) ? (is_device_pointer(src) ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                  : (is_device_pointer(src) ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  std::string why;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return record(cudaErrorInvalidMemcpyDirection, format("cudaMemcpyAsync: kind %d", static_cast<int>(kind)));
  if (dst_device && !device_range(dst, count, &why))
    return record(cudaErrorInvalidValue, "cudaMemcpyAsync: the destination " + why);
  if (src_device && !device_range(src, count, &why))
    return record(cudaErrorInvalidValue, "cudaMemcpyAsync: the source " + why);
  if (!dst_device && is_device_pointer(dst))
    return record(cudaErrorInvalidValue, "cudaMemcpyAsync: the destination is device memory, but the kind says host");
  if (!src_device && is_device_pointer(src))
    return record(cudaErrorInvalidValue, "cudaMemcpyAsync: the source is device memory, but the kind says host");
  std::lock_guard<std::mutex> lock(g_launch_mutex);  // in stream order with the kernels
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, count, kind, nullptr);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (!stream) return record(cudaErrorInvalidValue, "cudaStreamCreateWithFlags: stream is null");
  if (flags > cudaStreamNonBlocking) return record(cudaErrorInvalidValue, format("cudaStreamCreateWithFlags: flags %u", flags));
  auto* s = reinterpret_cast<cudaStream_t>(new char[1]);
  std::lock_guard<std::mutex> lock(g_stream_mutex);
  g_streams.push_back(s);
  *stream = s;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(g_stream_mutex);
  auto it = std::find(g_streams.begin(), g_streams.end(), stream);
  if (it == g_streams.end()) return record(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: unknown stream");
  g_streams.erase(it);
  delete[] reinterpret_cast<char*>(stream);
  return cudaSuccess;
}

// Kernels and copies ran when they were queued: waiting is only reporting a kernel's fault.
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: unknown stream");
  if (const cudaError_t e = report_sticky(); e != cudaSuccess) return e;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return cudaStreamSynchronize(nullptr); }

cudaError_t cudaDeviceReset() {
  {
    std::lock_guard<std::mutex> lock(g_state_mutex);
    g_sticky = cudaSuccess;
    g_sticky_message.clear();
  }
  tl_pending = cudaSuccess;
  std::lock_guard<std::mutex> lock(g_memory_mutex);
  for (auto& [start, a] : g_allocations) release_mapping(a);
  g_allocations.clear();
  g_quarantine.clear();
  g_quarantine_bytes = 0;
  g_in_use = 0;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t s = sticky();
  const cudaError_t e = s != cudaSuccess ? s : tl_pending;
  tl_pending = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  const cudaError_t s = sticky();
  return s != cudaSuccess ? s : tl_pending;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  if (error != cudaSuccess && error == tl_detail_code && !tl_detail.empty()) return tl_detail.c_str();
  return generic_message(error);
}

namespace tg::cuda::emu {
namespace {

const char* generic_message(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

}  // namespace
}  // namespace tg::cuda::emu
