// Weight initialisation (torch.nn.init): in-place fills drawn from the default generator,
// PyTorch's gains and fan rules, and the DCGAN scheme as one call.
#pragma once

#include <utility>

#include "autograd/tensor.h"

namespace tg::nn {
class Module;
}

namespace tg::nn::init {

enum class Nonlinearity {
  Linear, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
  Sigmoid, Tanh, ReLU, LeakyReLU, SELU
};
enum class FanMode { FanIn, FanOut };

// The recommended gain for a nonlinearity: 1 (linear, conv, sigmoid), 5/3 (tanh), sqrt(2)
// (relu), sqrt(2 / (1 + slope^2)) (leaky relu, slope = param), 3/4 (selu).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (2 or more dims).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

// Each fills t in place (no gradient recorded) and returns it.
Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0);
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
// Glorot & Bengio (2010): U(-b, b) with b = gain sqrt(6 / (fan_in + fan_out)), or
// N(0, gain^2 2 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor t, double gain = 1.0);
Tensor xavier_normal_(Tensor t, double gain = 1.0);
// He et al. (2015): std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a);
// uniform bound sqrt(3) std.
Tensor kaiming_uniform_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
Tensor kaiming_normal_(Tensor t, double a = 0.0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
// Saxe et al. (2013): t viewed as [size(0), rest] gets orthonormal rows (or columns, when
// taller than wide) times gain: the Q of a Gaussian matrix's QR with R's diagonal positive.
Tensor orthogonal_(Tensor t, double gain = 1.0);

// The DCGAN paper's scheme (Radford et al. 2016, PyTorch's weights_init): every Conv2d and
// ConvTranspose2d weight ~ N(0, 0.02) (bias, if any, 0); every BatchNorm weight ~ N(1, 0.02),
// bias 0. Applied to the module and all its descendants.
void dcgan_(Module& module);

}  // namespace tg::nn::init
