// The engine: runs the tape backwards from some outputs. Iterative (an explicit ready queue,
// never recursion), so a graph of 100,000 ops backpropagates without overflowing the stack.
#pragma once

#include "autograd/tensor.h"

namespace tg::autograd {

// Accumulates d(sum_i <outputs[i], grad_outputs[i]>)/d(leaf) into every leaf's .grad().
// grad_outputs[i] may be undefined for a one-element output (then it is 1).
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Returns d(sum_i <outputs[i], grad_outputs[i]>)/d(inputs[j]) without touching any .grad().
// With create_graph the results are differentiable (gradient penalties, gradgradcheck).
// retain_graph defaults to create_graph, as in PyTorch. allow_unused: an input the outputs do
// not depend on gets an undefined tensor instead of an error.
TensorList grad(const TensorList& outputs, const TensorList& inputs,
                const TensorList& grad_outputs = {}, std::optional<bool> retain_graph = {},
                bool create_graph = false, bool allow_unused = false);

}  // namespace tg::autograd
