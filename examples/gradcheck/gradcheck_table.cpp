// tapegrad_gradcheck: runs the library's gradcheck (and gradgradcheck where an op promises
// double backward) over every op on every available CPU backend and prints a table:
//   op | backend | order | max abs error | max rel error | result
// Exit status 1 when any check fails. Usage: tapegrad_gradcheck [--backend NAME] [--op NAME]
#include <cstdio>
#include <cstring>
#include <string>

#include "op_cases.h"

int main(int argc, char** argv) {
  std::string only_backend, only_op;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) only_backend = argv[++i];
    else if (!std::strcmp(argv[i], "--op") && i + 1 < argc) only_op = argv[++i];
    else {
      std::printf("usage: %s [--backend NAME] [--op NAME]\n", argv[0]);
      return std::strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  int failures = 0, checks = 0;
  std::printf("%-20s %-10s %-6s %14s %14s  %s\n", "op", "backend", "order", "max abs err",
              "max rel err", "result");
  for (const std::string& backend : tg::kernel::available_backends()) {
    if (!only_backend.empty() && backend != only_backend) continue;
    tg::kernel::set_backend(backend);
    for (const OpCase& c : op_cases()) {
      if (!only_op.empty() && c.op != only_op) continue;
      for (int order = 1; order <= (c.second_order ? 2 : 1); ++order) {
        tg::manual_seed(42);
        tg::TensorList inputs = c.make_inputs();
        std::string result;
        tg::GradcheckResult r;
        try {
          r = order == 1 ? tg::gradcheck(c.fn, inputs) : tg::gradgradcheck(c.fn, inputs);
          result = r.ok ? "pass" : "FAIL";
        } catch (const tg::Error& e) {
          r.ok = false;
          result = std::string("ERROR: ") + e.what();
        }
        ++checks;
        failures += !r.ok;
        std::printf("%-20s %-10s %-6d %14.3e %14.3e  %s\n", c.op.c_str(), backend.c_str(), order,
                    r.max_abs_error, r.max_rel_error, result.c_str());
        if (!r.ok && !r.message.empty()) std::printf("%s", r.message.c_str());
      }
    }
  }
  std::printf("%d checks, %d passed, %d failed\n", checks, checks - failures, failures);
  return failures ? 1 : 0;
}
