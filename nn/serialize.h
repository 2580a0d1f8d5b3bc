// Saving and loading state dicts as .npz files (numpy.load opens them):
//   tg::save(model, "model.npz");  tg::load(model, "model.npz");
// A load validates everything first (keys, shapes, dtypes): a failed one changes nothing.
#pragma once

#include <string>

#include "nn/module.h"
#include "optim/optimizer.h"

namespace tg {

void save(const nn::Module& module, const std::string& path);
void load(nn::Module& module, const std::string& path);
template <typename M>
void save(const nn::ModuleHolder<M>& module, const std::string& path) { save(*module, path); }
template <typename M>
void load(const nn::ModuleHolder<M>& module, const std::string& path) { load(*module, path); }

void save(const optim::Optimizer& optimizer, const std::string& path);
void load(optim::Optimizer& optimizer, const std::string& path);

}  // namespace tg
