// tapegrad's side of the side-by-side benchmark with PyTorch: the workloads of
// bench/torch_workloads.py (same networks, batches, optimizers, losses, FLOP model), printed
// as the same JSON lines so bench/compare.py lines the rows up by name.
//
//   tapegrad_workloads dcgan32 mlpgan vae --threads 2
//   tapegrad_workloads ops --repeats 3 --backend cpu
//   tapegrad_workloads dcgan32 --iters 3 --repeats 1 --profile    (per-op table on stderr)
//
// Run one workload per process for a clean peak-memory figure (ru_maxrss only grows).
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "workloads/workloads.h"

namespace {

const std::vector<std::string> kTrainSteps = {"dcgan32", "dcgan32_logits", "dcgan64", "mlpgan", "vae"};
const std::vector<std::string> kOpGroups = {"conv", "convT", "bn", "gemm"};

const char* kUsage = R"(usage: tapegrad_workloads [WORKLOAD...] [options]

Workloads (default: dcgan32 mlpgan vae):
  dcgan32         full DCGAN training step, 1x32x32, BCELoss after Sigmoid, batch 128
  dcgan32_logits  the same step with D's Sigmoid dropped and BCEWithLogits (fused loss)
  dcgan64         PyTorch DCGAN-tutorial step, 3x64x64, ngf=ndf=64, batch 64
  mlpgan          MLP GAN on 28x28 (784), dropout 0.3 in D, batch 128
  vae             MLP VAE 784-400-(20,20)-400-784, BCE(sum)+KL, batch 128
  conv convT bn   per-op rows at every layer shape of dcgan32 (batch 128) and dcgan64
                  (batch 64), forward and forward+backward
  gemm            tg::matmul at --gemm-sizes square
  ops             conv convT bn gemm;   all: everything above

Options:
  --threads N       cpu backend threads (0: its default)
  --batch N         batch of the training steps (0: 128; dcgan64: 64)
  --iters N         timed iterations per repeat (0: auto, enough for --min-time, 10..1000)
  --min-time S      seconds per repeat when --iters 0 (default 0.5)
  --repeats N       timed blocks; stats pool all of them (default 3)
  --warmup N        untimed calls first (default 3)
  --gemm-sizes L    comma-separated (default 256,512,1024,2048)
  --seed N          tg::manual_seed before each workload (default 0)
  --backend NAME    reference | cpu | cuda (default: the library's default)
  --profile         time the timed blocks under tg::profiler and print its table to stderr
Output: one JSON object per line; the first is {"meta": {...}}.
)";

struct Args {
  std::vector<std::string> workloads;
  int threads = 0;
  int64_t batch = 0;
  std::vector<int64_t> gemm_sizes = {256, 512, 1024, 2048};
  uint64_t seed = 0;
  std::string backend;
  workloads::RunOptions run;
};

std::vector<std::string> expand(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& w) {
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  };
  auto known = [](const std::vector<std::string>& list, const std::string& w) {
    return std::find(list.begin(), list.end(), w) != list.end();
  };
  for (const std::string& w : names) {
    if (w == "all" || w == "ops") {
      if (w == "all")
        for (const auto& t : kTrainSteps) add(t);
      for (const auto& g : kOpGroups) add(g);
    } else if (known(kTrainSteps, w) || known(kOpGroups, w)) {
      add(w);
    } else {
      throw std::runtime_error("unknown workload '" + w +
                               "'; choose from dcgan32 dcgan32_logits dcgan64 mlpgan vae conv convT bn gemm ops all");
    }
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(flag + " needs a value");
      return argv[++i];
    };
    auto number = [&](auto parse_fn) {
      const std::string v = value();
      try {
        size_t used = 0;
        auto x = parse_fn(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return x;
      } catch (const std::logic_error&) {
        throw std::runtime_error(flag + ": not a number: '" + v + "'");
      }
    };
    auto to_int = [](const std::string& s, size_t* used) { return std::stoll(s, used); };
    auto to_double = [](const std::string& s, size_t* used) { return std::stod(s, used); };
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (flag == "--threads") {
      a.threads = static_cast<int>(number(to_int));
    } else if (flag == "--batch") {
      a.batch = number(to_int);
    } else if (flag == "--iters") {
      a.run.iters = static_cast<int>(number(to_int));
    } else if (flag == "--min-time") {
      a.run.min_time = number(to_double);
    } else if (flag == "--repeats") {
      a.run.repeats = static_cast<int>(number(to_int));
    } else if (flag == "--warmup") {
      a.run.warmup = static_cast<int>(number(to_int));
    } else if (flag == "--gemm-sizes") {
      a.gemm_sizes.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) {
        size_t used = 0;
        int64_t n = 0;
        try {
          n = std::stoll(item, &used);
        } catch (const std::logic_error&) {
        }
        if (n <= 0 || used != item.size()) throw std::runtime_error("--gemm-sizes: bad size '" + item + "'");
        a.gemm_sizes.push_back(n);
      }
    } else if (flag == "--seed") {
      a.seed = static_cast<uint64_t>(number(to_int));
    } else if (flag == "--backend") {
      a.backend = value();
    } else if (flag == "--profile") {
      a.run.profile = true;
    } else if (!flag.empty() && flag[0] == '-') {
      throw std::runtime_error("unknown option " + flag + " (see --help)");
    } else {
      names.push_back(flag);
    }
  }
  if (a.run.repeats < 1) throw std::runtime_error("--repeats must be at least 1");
  if (a.run.warmup < 0) throw std::runtime_error("--warmup must not be negative");
  if (a.threads < 0 || a.batch < 0) throw std::runtime_error("--threads and --batch must not be negative");
  a.workloads = expand(names.empty() ? std::vector<std::string>{"dcgan32", "mlpgan", "vae"} : names);
  return a;
}

// Selects the backend; "cuda" also moves every workload's tensors to the GPU.
void select_backend(Args& a) {
  if (a.backend.empty()) return;
  const std::vector<std::string> have = tg::kernel::available_backends();
  if (std::find(have.begin(), have.end(), a.backend) == have.end()) {
    std::string list;
    for (const auto& b : have) list += (list.empty() ? "" : ", ") + b;
    std::string hint = a.backend == "cuda" ? " (configure with -DTAPEGRAD_CUDA=ON on a machine with nvcc)" : "";
    throw std::runtime_error("--backend " + a.backend + ": this build has no such backend; available: " + list + hint);
  }
  tg::kernel::set_backend(a.backend);
  if (a.backend == "cuda") a.run.device = tg::kCUDA;
}

std::string cpu_model() {
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "";
}

workloads::JsonRow meta(const Args& a, int argc, char** argv) {
  using workloads::JsonRow;
  JsonRow env;
  for (const char* key : {"TAPEGRAD_BACKEND", "TAPEGRAD_CPU_ISA", "OMP_NUM_THREADS"})
    if (const char* v = std::getenv(key)) env.set(key, v);
  std::string args;
  for (int i = 1; i < argc; ++i) {
    if (i > 1) args += ' ';
    args += argv[i];
  }
  const std::string backend = tg::kernel::current_backend(a.run.device.type);
  JsonRow m;
  m.set("tapegrad", TAPEGRAD_VERSION).set("compiler", __VERSION__).set("device", a.run.device.is_cuda() ? "cuda" : "cpu");
  m.set("backend", backend).set("threads", backend == "cpu" ? tg::cpu::num_threads() : 1);
  m.set("isa", tg::cpu::isa_name()).set("available_isas", [] {
    std::string s;
    for (const auto& isa : tg::cpu::available_isas()) s += (s.empty() ? "" : ",") + isa;
    return s;
  }());
  m.set("cpu_model", cpu_model()).set("argv", args).set("env", env);
  return JsonRow().set("meta", m);
}

}  // namespace

int main(int argc, char** argv) try {
  Args a = parse(argc, argv);
  select_backend(a);
  if (a.threads > 0) tg::cpu::set_num_threads(a.threads);
  workloads::emit(meta(a, argc, argv));
  for (const std::string& w : a.workloads) {
    tg::manual_seed(a.seed);
    if (w == "gemm") {
      workloads::run_gemm(a.gemm_sizes, a.run);
    } else if (w == "conv" || w == "convT" || w == "bn") {
      workloads::run_op_group(w, a.run);
    } else {
      workloads::run_train_step(w, a.batch, a.run);
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "tapegrad_workloads: " << e.what() << "\n";
  return 1;
}
