// The per-op profiler. While a tg::profiler::Profiler is alive, every kernel call (time,
// FLOPs, bytes of its tensor operands) and every backward node (time, including the kernels
// its formula runs) is recorded; table() prints them sorted by total time. The examples'
// --profile flag uses it. When no profiler is alive the cost is one flag test per kernel call.
//
//   tg::profiler::Profiler prof;
//   train_step();
//   std::cout << prof.table();
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg::profiler {

struct Row {
  std::string name;   // kernel op name ("matmul") or backward node name ("MatmulBackward")
  bool is_backward_node = false;
  int64_t calls = 0;
  double seconds = 0;
  double flops = 0;   // kernels only: 2 per multiply-add in products, 1 per element otherwise
  double bytes = 0;   // kernels only: sum of operand sizes (each read or written once)
};

class Profiler {
 public:
  Profiler();
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  std::vector<Row> rows() const;  // sorted by total time, largest first
  std::string table() const;      // rows() as an aligned text table with GFLOP/s and GB/s
  void reset();
};

bool enabled();
void record(const std::string& name, bool is_backward_node, double seconds, double flops, double bytes);

}  // namespace tg::profiler
