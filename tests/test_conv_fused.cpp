// Bias and activation fused into conv2d and conv_transpose2d (autograd/ops/conv.h: Activation;
// backends/cpu/conv_epilogue.h). The cpu kernels with an epilogue equal the plain kernel followed
// by the add and activation kernels bit for bit, at every instruction-set level, on every path
// of the kernels and for strided outputs and biases; the reference agrees; the op layer's values
// and gradients (first and second order, by finite differences) are those of the unfused ops on
// both backends; nn::Sequential fuses a convolution followed by an activation module.
#include <limits>
#include <string>
#include <vector>

#include "cpu_test_helpers.h"

using namespace tg;
using test::BackendGuard;
using test::bitwise_equal;
using test::CpuStateGuard;
using test::cpu_table;
using test::ref_table;

namespace {

// x [N, C, H, W], w [O, C/G, k, k], conv2d output [N, O, Ho, Wo]; conv_transpose2d maps that
// output's shape back to x's.
struct Case {
  std::string what;
  int64_t N, C, H, W, O, k, stride = 1, padding = 0, groups = 1;
  int64_t Ho() const { return (H + 2 * padding - k) / stride + 1; }
  int64_t Wo() const { return (W + 2 * padding - k) / stride + 1; }
  kernel::Conv2dParams params() const {
    kernel::Conv2dParams p;
    p.stride[0] = p.stride[1] = stride;
    p.padding[0] = p.padding[1] = padding;
    p.groups = groups;
    return p;
  }
};

// Every path of backends/cpu/conv.cpp and conv_transpose.cpp (their headers list them): the
// plain product, the columns route, the indirect product in units of images and in bands of
// rows, the transposed columns and indirect routes, and an empty sum.
const std::vector<Case> kCases = {
    {"DCGAN first layer (conv2d columns, transposed columns)", 5, 1, 16, 16, 16, 4, 2, 1},
    {"DCGAN middle layer (both indirect)", 4, 24, 8, 8, 40, 4, 2, 1},
    {"odd sizes, groups", 3, 6, 7, 5, 9, 3, 1, 1, 3},
    {"one output pixel over the image (plain products)", 7, 6, 4, 4, 5, 4},
    {"an image past the unit budget (bands of rows)", 1, 56, 40, 37, 72, 3, 1, 1},
    {"stride past the kernel (transposed phases without taps)", 2, 6, 5, 6, 4, 1, 2},
};

struct Epilogue {
  const char* what;
  kernel::ConvActivation act;
  double slope;
  bool bias;
};
const std::vector<Epilogue> kEpilogues = {
    {"bias", kernel::ConvActivation::none, 0, true},
    {"relu", kernel::ConvActivation::relu, 0, false},
    {"bias + leaky_relu 0.2", kernel::ConvActivation::leaky_relu, 0.2, true},
    {"bias + tanh", kernel::ConvActivation::tanh, 0, true},
    {"sigmoid", kernel::ConvActivation::sigmoid, 0, false},
};

// An output tensor of `shape`, NaN-filled so an element the kernel fails to write shows:
// contiguous, or with its last two dims transposed in memory (no run of pixels is contiguous).
Tensor output(const Shape& s, DType dt, bool transposed) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return transposed ? full({s[0], s[1], s[3], s[2]}, nan, dt).transpose(2, 3) : full(s, nan, dt);
}

// The epilogue as the separate kernels of `table`: out = act(out + bias) in place.
void unfused_epilogue(const kernel::KernelTable& table, const Tensor& out, const Tensor& bias,
                      const Epilogue& e) {
  if (e.bias) table.add.fn(out, out, bias.unsqueeze(0).unsqueeze(2).unsqueeze(3).expand(out.shape()));
  switch (e.act) {
    case kernel::ConvActivation::none: break;
    case kernel::ConvActivation::relu: table.relu.fn(out, out, 0, 0); break;
    case kernel::ConvActivation::leaky_relu: table.leaky_relu.fn(out, out, e.slope, 0); break;
    case kernel::ConvActivation::tanh: table.tanh.fn(out, out, 0, 0); break;
    case kernel::ConvActivation::sigmoid: table.sigmoid.fn(out, out, 0, 0); break;
  }
}

// conv2d (x -> y) or conv_transpose2d (y -> x) of the case, with and without the epilogue.
struct Direction {
  const char* name;
  kernel::Slot<kernel::conv_fn> kernel::KernelTable::*slot;
  bool transpose;
};
const Direction kDirections[] = {{"conv2d", &kernel::KernelTable::conv2d, false},
                                 {"conv_transpose2d", &kernel::KernelTable::conv_transpose2d, true}};

Activation activation_of(const Epilogue& e) {
  return {static_cast<Activation::Kind>(e.act), e.slope};
}

}  // namespace

TEST_CASE("fused cpu convolutions equal the plain kernel, then add, then the activation, bit for bit") {
  CpuStateGuard guard;
  manual_seed(1);
  for (const std::string& isa : cpu::available_isas()) {
    cpu::set_isa(isa);
    for (DType dt : {kFloat32, kFloat64})
      for (const Case& c : kCases)
        for (const Direction& d : kDirections) {
          const Shape image{c.N, c.C, c.H, c.W}, conv_out{c.N, c.O, c.Ho(), c.Wo()};
          const Shape in_shape = d.transpose ? conv_out : image;
          const Shape out_shape = d.transpose ? image : conv_out;
          const Tensor in = randn(in_shape, kFloat64).to(dt);
          const Tensor w = randn({c.O, c.C / c.groups, c.k, c.k}, kFloat64).to(dt);
          for (const Epilogue& e : kEpilogues)
            for (bool strided : {false, true}) {
              const std::string what = isa + " " + dtype_name(dt) + " " + c.what + " " + d.name + " " +
                                       e.what + (strided ? " strided output and bias" : "");
              INFO(what);
              // A strided bias: every other element of a wider tensor.
              const int64_t channels = out_shape[1];
              const Tensor bias = strided ? randn({2 * channels}, kFloat64).to(dt).slice(0, 0, 2 * channels, 2)
                                          : randn({channels}, kFloat64).to(dt);
              kernel::Conv2dParams p = c.params();
              Tensor want = output(out_shape, dt, strided);
              (cpu_table().*d.slot).fn(want, in, w, p);
              unfused_epilogue(cpu_table(), want, bias, e);
              p.epilogue = {e.bias ? &bias : nullptr, e.act, e.slope};
              Tensor got = output(out_shape, dt, strided);
              (cpu_table().*d.slot).fn(got, in, w, p);
              CHECK(bitwise_equal(got, want));
            }
        }
  }
}

TEST_CASE("the fused cpu convolutions agree with the reference's in float32") {
  manual_seed(2);
  for (const Case& c : kCases)
    for (const Direction& d : kDirections)
      for (const Epilogue& e : kEpilogues) {
        const std::string what = c.what + " " + d.name + " " + e.what;
        INFO(what);
        const Shape image{c.N, c.C, c.H, c.W}, conv_out{c.N, c.O, c.Ho(), c.Wo()};
        const Tensor in = randn(d.transpose ? conv_out : image, kFloat32);
        const Tensor w = randn({c.O, c.C / c.groups, c.k, c.k}, kFloat32);
        const Shape out_shape = d.transpose ? image : conv_out;
        const Tensor bias = randn({out_shape[1]}, kFloat32);
        kernel::Conv2dParams p = c.params();
        p.epilogue = {e.bias ? &bias : nullptr, e.act, e.slope};
        Tensor want = empty(out_shape, kFloat32), got = empty(out_shape, kFloat32);
        (ref_table().*d.slot).fn(want, in, w, p);
        (cpu_table().*d.slot).fn(got, in, w, p);
        // Sums of at most a few hundred N(0, 1) products; the activations are 1-Lipschitz.
        CHECK(test::max_abs_diff(got, want) < 2e-4);
      }
}

TEST_CASE("fused convolutions' values and gradients are those of the unfused ops") {
  manual_seed(3);
  for (const char* backend : {"reference", "cpu"})
    for (bool transpose : {false, true})
      for (const Epilogue& e : kEpilogues) {
        const std::string what =
            std::string(backend) + (transpose ? " conv_transpose2d " : " conv2d ") + e.what;
        INFO(what);
        BackendGuard guard(backend);
        // 4 channels in, 3 out: w is [O, C, k, k] for conv2d, [C_in, C_out, k, k] transposed.
        const Tensor x = test::transposed_leaf({2, 4, 7, 6});
        const Tensor w = transpose ? test::leaf({4, 3, 3, 3}) : test::leaf({3, 4, 3, 3});
        const Tensor b = e.bias ? test::leaf({3}) : Tensor();
        const auto conv = [&](Activation a) {
          return transpose ? conv_transpose2d(x, w, b, 2, 1, 1, 1, 1, a)
                           : conv2d(x, w, b, 2, 1, 1, 1, a);
        };
        Tensor fused = conv(activation_of(e));
        Tensor plain = conv({});
        switch (e.act) {
          case kernel::ConvActivation::none: break;
          case kernel::ConvActivation::relu: plain = relu(plain); break;
          case kernel::ConvActivation::leaky_relu: plain = leaky_relu(plain, e.slope); break;
          case kernel::ConvActivation::tanh: plain = tanh(plain); break;
          case kernel::ConvActivation::sigmoid: plain = sigmoid(plain); break;
        }
        CHECK(bitwise_equal(fused, plain));
        const Tensor v = randn(fused.shape(), kFloat64);
        const TensorList inputs = b.defined() ? TensorList{x, w, b} : TensorList{x, w};
        const TensorList gf = autograd::grad({(fused * v).sum()}, inputs);
        const TensorList gp = autograd::grad({(plain * v).sum()}, inputs);
        for (size_t i = 0; i < inputs.size(); ++i) CHECK(test::max_abs_diff(gf[i], gp[i]) < 1e-12);
      }
}

TEST_CASE("fused convolutions pass gradcheck and gradgradcheck on both backends") {
  manual_seed(4);
  for (const char* backend : {"reference", "cpu"}) {
    BackendGuard guard(backend);
    for (const Epilogue& e : kEpilogues) {
      const std::string what = std::string(backend) + " " + e.what;
      INFO(what);
      const Activation a = activation_of(e);
      const auto conv = [a](const TensorList& in) {
        return TensorList{conv2d(in[0], in[1], in[2], 2, 1, 1, 2, a)};
      };
      const auto convt = [a](const TensorList& in) {
        return TensorList{conv_transpose2d(in[0], in[1], in[2], 2, 1, 1, 1, 1, a)};
      };
      const Tensor b3 = e.bias ? test::leaf({4}) : Tensor(), b2 = e.bias ? test::leaf({3}) : Tensor();
      CHECK_GRADCHECK(conv,
                      (TensorList{test::transposed_leaf({2, 2, 5, 6}), test::leaf({4, 1, 3, 3}), b3}));
      CHECK_GRADCHECK(convt, (TensorList{test::leaf({1, 2, 3, 4}), test::leaf({2, 3, 4, 4}), b2}));
      CHECK_GRADGRADCHECK(conv, (TensorList{test::leaf({1, 2, 4, 4}), test::leaf({4, 1, 3, 3}), b3}));
      CHECK_GRADGRADCHECK(convt, (TensorList{test::leaf({1, 2, 2, 3}), test::leaf({2, 3, 4, 4}), b2}));
    }
  }
}

TEST_CASE("the tape records one fused node; a negative slope runs unfused") {
  Tensor x = randn({1, 2, 6, 6}).requires_grad_(), w = randn({3, 2, 3, 3}).requires_grad_();
  Tensor b = randn({3}).requires_grad_();
  CHECK(conv2d(x, w, {}, 1, 1, 1, 1, {Activation::leaky_relu, 0.2}).grad_fn_name() ==
        "Conv2dLeakyReluBackward");
  CHECK(conv2d(x, w, b).grad_fn_name() == "Conv2dBiasBackward");
  CHECK(conv2d(x, w).grad_fn_name() == "Conv2dBackward");
  Tensor wt = randn({2, 3, 4, 4}).requires_grad_();
  CHECK(conv_transpose2d(x, wt, {}, 2, 1, 0, 1, 1, {Activation::tanh}).grad_fn_name() ==
        "ConvTranspose2dTanhBackward");
  // leaky_relu with slope -0.5 maps z < 0 to y > 0, so y alone cannot give its derivative.
  Tensor y = conv2d(x, w, b, 1, 1, 1, 1, {Activation::leaky_relu, -0.5});
  CHECK(y.grad_fn_name() == "LeakyReluBackward");
  NoGradGuard no_grad;
  CHECK(bitwise_equal(y, leaky_relu(conv2d(x, w, b, 1, 1), -0.5)));
}

TEST_CASE("Sequential fuses a convolution followed by an activation module") {
  manual_seed(5);
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(3, 8, 4).stride(2).padding(1)),
                     nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)),
                     nn::ConvTranspose2d(
                         nn::ConvTranspose2dOptions(8, 2, 4).stride(2).padding(1).bias(false)),
                     nn::Tanh());
  const Tensor x = randn({2, 3, 8, 8});
  const Tensor y = net->forward(x);
  CHECK(y.grad_fn_name() == "ConvTranspose2dTanhBackward");
  // Module by module, unfused.
  Tensor h = net->at<nn::Conv2dImpl>(0).forward(x);
  CHECK(h.grad_fn_name() == "Conv2dBiasBackward");
  h = net->at<nn::LeakyReLUImpl>(1).forward(h);
  const Tensor want = net->at<nn::TanhImpl>(3).forward(net->at<nn::ConvTranspose2dImpl>(2).forward(h));
  CHECK(bitwise_equal(y, want));
  const TensorList params = net->parameters();
  const TensorList gy = autograd::grad({y.sum()}, params), gw = autograd::grad({want.sum()}, params);
  for (size_t i = 0; i < params.size(); ++i) CHECK(test::max_abs_diff(gy[i], gw[i]) < 1e-5);
}

TEST_CASE("a bad fused activation is an error naming the op") {
  const Tensor x = randn({1, 2, 5, 5}), w = randn({3, 2, 3, 3});
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, 1, 0, 1, 1, {Activation::leaky_relu, std::nan("")}),
                        "conv2d", "negative_slope must be finite");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(x, randn({2, 3, 3, 3}), {}, 1, 0, 0, 1, 1,
                                         {static_cast<Activation::Kind>(9)}),
                        "conv_transpose2d", "activation kind");
}
