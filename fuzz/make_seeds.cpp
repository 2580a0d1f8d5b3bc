// Writes the seed files tapegrad itself makes into a corpus folder (fuzz/make_corpus.sh runs
// it; fuzz/make_corpus.py adds the files NumPy and Python's gzip make):
//   npy/         save_npy of each dtype, a scalar, an empty tensor
//   npz/         save_npz compressed and stored
//   checkpoint/  Checkpoint::save of fuzz::CheckpointParts after a training step, and the
//                same state as fuzz_checkpoint's entry lists (checkpoint, model, optimizer)
#include <cstdio>
#include <filesystem>
#include <string>

#include "fuzz/checkpoint_parts.h"

namespace {

namespace fs = std::filesystem;

// fuzz_checkpoint's entry list: [name length: 1 byte][name][.npy length: 2 bytes LE][.npy].
std::string entry_list(const tg::TensorDict& dict) {
  std::string out;
  for (const auto& [name, t] : dict) {
    const std::vector<char> npy = tg::npy_bytes(t);
    TG_CHECK(name.size() < 256 && npy.size() < 65536, "make_seeds", "entry ", name, " is too long");
    out.push_back(static_cast<char>(name.size()));
    out += name;
    out.push_back(static_cast<char>(npy.size() & 0xFF));
    out.push_back(static_cast<char>(npy.size() >> 8));
    out.append(npy.begin(), npy.end());
  }
  return out;
}

// The checkpoint's entries, as Checkpoint::save writes them.
tg::TensorDict checkpoint_dict(const fs::path& dir, fuzz::CheckpointParts& parts) {
  const fs::path file = dir / "trained.npz";
  parts.checkpoint.save(file.string(), 7);
  return tg::load_npz(file.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* sub : {"npy", "npz", "checkpoint"}) fs::create_directories(root / sub);
  tg::manual_seed(0);

  const tg::Tensor f32 = tg::tensor<float>({1.5f, -2.f, 0.f, 3.25f, -0.5f, 7.f}, {2, 3});
  tg::save_npy(f32, (root / "npy" / "float32_2x3.npy").string());
  tg::save_npy(tg::tensor<double>({3.14159}, {}), (root / "npy" / "float64_scalar.npy").string());
  const tg::Tensor mask = tg::tensor<uint8_t>({1, 0, 1}, {3}).to(tg::kBool);
  tg::save_npy(tg::tensor<int64_t>({-1, 0, 1, int64_t{1} << 40}, {4}), (root / "npy" / "int64_4.npy").string());
  tg::save_npy(tg::tensor<uint8_t>({0, 127, 255, 1}, {2, 1, 2}), (root / "npy" / "uint8_2x1x2.npy").string());
  tg::save_npy(mask, (root / "npy" / "bool_3.npy").string());
  tg::save_npy(tg::zeros({0, 3}), (root / "npy" / "float32_0x3.npy").string());

  const tg::TensorDict dict{{"weight", f32}, {"step", tg::tensor<int64_t>({5}, {})}, {"mask", mask}};
  tg::save_npz(dict, (root / "npz" / "tapegrad_deflated.npz").string(), true);
  tg::save_npz(dict, (root / "npz" / "tapegrad_stored.npz").string(), false);
  tg::save_npz({}, (root / "npz" / "tapegrad_empty.npz").string());

  fuzz::CheckpointParts parts;
  const tg::TensorDict fresh_model = parts.model->state_dict();
  const tg::TensorDict fresh_opt = parts.opt.state_dict();
  parts.train_step();
  const tg::TensorDict trained = checkpoint_dict(root / "checkpoint", parts);
  const auto write = [&](const char* name, const std::string& bytes) {
    tg::write_file_atomically((root / "checkpoint" / name).string(), bytes);
  };
  write("trained.entries", entry_list(trained));
  write("model.entries", entry_list(fresh_model));
  write("opt_fresh.entries", entry_list(fresh_opt));
  write("opt_trained.entries", entry_list(parts.opt.state_dict()));
  return 0;
}
