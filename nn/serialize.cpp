// tg::save / tg::load for modules and optimizers: their state dicts through save_npz / load_npz.
#include "nn/serialize.h"

namespace tg {

void save(const nn::Module& module, const std::string& path) { save_npz(module.state_dict(), path); }
void load(nn::Module& module, const std::string& path) { module.load_state_dict(load_npz(path)); }

void save(const optim::Optimizer& optimizer, const std::string& path) {
  save_npz(optimizer.state_dict(), path);
}
void load(optim::Optimizer& optimizer, const std::string& path) {
  optimizer.load_state_dict(load_npz(path));
}

}  // namespace tg
