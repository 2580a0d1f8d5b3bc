// The tape as a Graphviz DOT graph: one box per backward node (named for its forward op, with
// its output shapes), one ellipse per leaf that receives a gradient, edges in the direction
// gradients flow. `dot -Tsvg step.dot > step.svg` draws it.
#pragma once

#include <string>

#include "autograd/tensor.h"

namespace tg::autograd {

std::string to_dot(const TensorList& roots, const std::string& graph_name = "tape");
void save_dot(const TensorList& roots, const std::string& path);

}  // namespace tg::autograd
