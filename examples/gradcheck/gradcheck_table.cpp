// tapegrad_gradcheck: runs the library's gradcheck (and gradgradcheck where an op promises
// double backward) over every op on every backend built and prints a table:
//   op | backend | device | order | max abs error | max rel error | result
// Each backend's cases run on its device: the inputs are made on the CPU (the same values for
// every backend) and moved there, so the cuda rows are computed by CUDA kernels; a row whose
// outputs are not on that device fails. Without a usable CUDA device the cuda rows are skipped
// (unless --backend cuda asks for them: then it stops).
// Usage: tapegrad_gradcheck [--backend NAME] [--op NAME[,NAME...]]. Exit status 1 when any
// check fails, 2 on a bad argument (a backend not built, an op without a case).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "device.h"
#include "op_cases.h"

namespace {

// The case's inputs on `device`, leaves that require grad as before.
tg::TensorList inputs_on(const tg::TensorList& inputs, tg::Device device) {
  tg::TensorList moved;
  for (const tg::Tensor& t : inputs) {
    tg::Tensor m = t.detach().to(device);
    if (t.requires_grad()) m.requires_grad_();
    moved.push_back(m);
  }
  return moved;
}

// "" when every output of fn(inputs) is on `device`, else which one is not.
std::string misplaced_output(const OpCase& c, const tg::TensorList& inputs, tg::Device device) {
  const tg::TensorList outputs = c.fn(inputs);
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].device() != device)
      return "output " + std::to_string(i) + " is on " + outputs[i].device().str() + ", not " + device.str();
  }
  return "";
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

int usage(const char* program, int status) {
  std::printf("usage: %s [--backend NAME] [--op NAME[,NAME...]]\n", program);
  return status;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string only_backend;
  std::vector<std::string> only_ops;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) {
      only_backend = argv[++i];
    } else if (!std::strcmp(argv[i], "--op") && i + 1 < argc) {
      const std::string list = argv[++i];
      for (size_t start = 0; start <= list.size();) {
        const size_t comma = std::min(list.find(',', start), list.size());
        only_ops.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      return usage(argv[0], std::strcmp(argv[i], "--help") ? 2 : 0);
    }
  }
  const std::vector<OpCase> cases = op_cases();
  for (const std::string& op : only_ops) {
    if (std::none_of(cases.begin(), cases.end(), [&](const OpCase& c) { return c.op == op; })) {
      std::vector<std::string> names;
      for (const OpCase& c : cases) names.push_back(c.op);
      std::fprintf(stderr, "tapegrad_gradcheck: --op %s: no such op; the ops are: %s\n", op.c_str(),
                   joined(names).c_str());
      return 2;
    }
  }
  std::vector<examples::Device> devices;
  if (!only_backend.empty()) {
    try {
      devices.push_back(examples::select_device(only_backend, "--backend"));
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "tapegrad_gradcheck: %s\n", e.what());
      return 2;
    }
  } else {
    for (const std::string& backend : examples::built_backends()) {
      try {
        devices.push_back(examples::select_device(backend, "backend"));
      } catch (const std::runtime_error& e) {
        std::printf("skipped: %s\n", e.what());
      }
    }
  }

  int failures = 0, checks = 0;
  std::printf("%-20s %-10s %-7s %-6s %14s %14s  %s\n", "op", "backend", "device", "order", "max abs err",
              "max rel err", "result");
  for (const examples::Device& device : devices) {
    tg::kernel::set_backend(device.backend);
    std::printf("-- backend %s on %s\n", device.backend.c_str(), device.name.c_str());
    for (const OpCase& c : cases) {
      if (!only_ops.empty() && std::find(only_ops.begin(), only_ops.end(), c.op) == only_ops.end()) continue;
      for (int order = 1; order <= (c.second_order ? 2 : 1); ++order) {
        tg::manual_seed(42);
        const tg::TensorList inputs = inputs_on(c.make_inputs(), device);
        std::string result;
        tg::GradcheckResult r;
        try {
          const std::string misplaced = misplaced_output(c, inputs, device);
          if (!misplaced.empty()) {
            r.ok = false;
            result = "FAIL: " + misplaced;
          } else {
            r = order == 1 ? tg::gradcheck(c.fn, inputs) : tg::gradgradcheck(c.fn, inputs);
            result = r.ok ? "pass" : "FAIL";
          }
        } catch (const tg::Error& e) {
          r.ok = false;
          result = std::string("ERROR: ") + e.what();
        }
        ++checks;
        failures += !r.ok;
        std::printf("%-20s %-10s %-7s %-6d %14.3e %14.3e  %s\n", c.op.c_str(), device.backend.c_str(),
                    device.device.str().c_str(), order, r.max_abs_error, r.max_rel_error, result.c_str());
        if (!r.ok && !r.message.empty()) std::printf("%s", r.message.c_str());
      }
    }
  }
  std::printf("%d checks, %d passed, %d failed\n", checks, checks - failures, failures);
  return failures ? 1 : 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tapegrad_gradcheck: %s\n", e.what());
  return 1;
}
