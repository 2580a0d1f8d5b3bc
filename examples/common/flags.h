// Command-line flags shared by the example programs (--data, --epochs, --steps, ...).
#pragma once

#include <cstdint>
#include <string>

namespace examples {

struct Flags {
  std::string data = "fashion-mnist";  // fashion-mnist | mnist:DIR | shapes | shapes-rgb | ring8
  int epochs = 5;
  int64_t steps = 0;                   // >0: stop after this many steps in total
  int64_t batch = 128;
  double lr = 1e-3;                    // each program passes its own default to parse_flags
  uint64_t seed = 1;
  std::string backend;                 // reference | cpu | cuda; empty: TAPEGRAD_BACKEND, else the default
  std::string out = "out";
  std::string resume;                  // checkpoint to continue from
  int64_t save_samples = 0;            // write this many samples as .npy at the end
  int size = 32;                       // dcgan: 32 or 64
  int latent = 20;                     // vae: latent dimension (2 gives a latent map)
  int64_t limit = 0;                   // >0: use only this many training examples
  std::string score;                   // classifier: a samples .npy to classify
  std::string loss = "wgan-gp";        // wgan_gp: wgan-gp | gan (the baseline that collapses)
  int64_t pack = 1;                    // wgan_gp: examples the critic judges together (PacGAN)
  bool detect_anomaly = false;
  bool profile = false;                // print the per-op profile of one step
  std::string dump_graph;              // write one step's tape as Graphviz DOT
};

// Parses argv over `defaults` (the program's own: its data set, learning rate, ...). Prints
// usage, with those defaults, and exits(0) on --help; throws std::runtime_error on a bad flag.
// `program` and `summary` head the usage text.
Flags parse_flags(int argc, char** argv, const std::string& program, const std::string& summary,
                  const Flags& defaults = {});

}  // namespace examples
