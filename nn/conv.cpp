// Conv2d and ConvTranspose2d layers: option checks, default initialisation, forward, repr.
#include "nn/conv.h"

#include <cmath>
#include <sstream>

#include "nn/init.h"

namespace tg::nn {
namespace {

std::string pair_str(Size2 s) {
  std::ostringstream os;
  os << "(" << s.h << ", " << s.w << ")";
  return os.str();
}

void check_channels(int64_t in, int64_t out, Size2 kernel, Size2 stride, Size2 dilation,
                    int64_t groups, const char* op) {
  TG_CHECK(in > 0 && out > 0, op, "channel counts must be positive, got in_channels=", in,
           ", out_channels=", out);
  TG_CHECK(groups > 0, op, "groups must be positive, got ", groups);
  TG_CHECK(in % groups == 0, op, "in_channels (", in, ") must be divisible by groups (", groups, ")");
  TG_CHECK(out % groups == 0, op, "out_channels (", out, ") must be divisible by groups (", groups, ")");
  TG_CHECK(kernel.h > 0 && kernel.w > 0, op, "kernel_size must be positive, got ", pair_str(kernel));
  TG_CHECK(stride.h > 0 && stride.w > 0, op, "stride must be positive, got ", pair_str(stride));
  TG_CHECK(dilation.h > 0 && dilation.w > 0, op, "dilation must be positive, got ", pair_str(dilation));
}

void check_input(const Tensor& x, int64_t channels, const char* op) {
  TG_CHECK(x.defined() && x.dim() == 4 && x.size(1) == channels, op, "expected input of shape [N, ",
           channels, ", H, W], got ", x.str());
}

// PyTorch's _ConvNd.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias uses the same bound.
void reset_conv(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

// PyTorch's _ConvNd.extra_repr: stride always, the rest only where not the default.
std::string conv_repr(int64_t in, int64_t out, Size2 kernel, Size2 stride, Size2 padding,
                      Size2 dilation, Size2 output_padding, int64_t groups, bool bias) {
  std::string s = std::to_string(in) + ", " + std::to_string(out) + ", kernel_size=" +
                  pair_str(kernel) + ", stride=" + pair_str(stride);
  if (padding.h != 0 || padding.w != 0) s += ", padding=" + pair_str(padding);
  if (dilation.h != 1 || dilation.w != 1) s += ", dilation=" + pair_str(dilation);
  if (output_padding.h != 0 || output_padding.w != 0) s += ", output_padding=" + pair_str(output_padding);
  if (groups != 1) s += ", groups=" + std::to_string(groups);
  if (!bias) s += ", bias=False";
  return s;
}

}  // namespace

Conv2dImpl::Conv2dImpl(const Conv2dOptions& opts) : Module("Conv2d"), options(opts) {
  const auto& o = options;
  check_channels(o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.dilation(),
                 o.groups(), "Conv2d");
  TG_CHECK(o.padding().h >= 0 && o.padding().w >= 0, "Conv2d", "padding must be non-negative, got ",
           pair_str(o.padding()));
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(),
                                               o.kernel_size().h, o.kernel_size().w}));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_channels()}));
  reset_parameters();
}

void Conv2dImpl::reset_parameters() { reset_conv(weight, bias); }

Tensor Conv2dImpl::forward(const Tensor& x) { return forward(x, Activation{}); }

Tensor Conv2dImpl::forward(const Tensor& x, Activation activation) {
  check_input(x, options.in_channels(), "Conv2d");
  return conv2d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups(),
                activation);
}

std::string Conv2dImpl::extra_repr() const {
  const auto& o = options;
  return conv_repr(o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.padding(),
                   o.dilation(), 0, o.groups(), o.bias());
}

ConvTranspose2dImpl::ConvTranspose2dImpl(const ConvTranspose2dOptions& opts)
    : Module("ConvTranspose2d"), options(opts) {
  const auto& o = options;
  check_channels(o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.dilation(),
                 o.groups(), "ConvTranspose2d");
  TG_CHECK(o.padding().h >= 0 && o.padding().w >= 0, "ConvTranspose2d",
           "padding must be non-negative, got ", pair_str(o.padding()));
  // PyTorch: output_padding must be smaller than either stride or dilation.
  const Size2 op = o.output_padding();
  TG_CHECK(op.h >= 0 && op.w >= 0 && (op.h < o.stride().h || op.h < o.dilation().h) &&
               (op.w < o.stride().w || op.w < o.dilation().w),
           "ConvTranspose2d", "output_padding ", pair_str(op),
           " must be non-negative and smaller than either stride ", pair_str(o.stride()),
           " or dilation ", pair_str(o.dilation()));
  weight = register_parameter("weight", empty({o.in_channels(), o.out_channels() / o.groups(),
                                               o.kernel_size().h, o.kernel_size().w}));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_channels()}));
  reset_parameters();
}

void ConvTranspose2dImpl::reset_parameters() { reset_conv(weight, bias); }

Tensor ConvTranspose2dImpl::forward(const Tensor& x) { return forward(x, Activation{}); }

Tensor ConvTranspose2dImpl::forward(const Tensor& x, Activation activation) {
  check_input(x, options.in_channels(), "ConvTranspose2d");
  const auto& o = options;
  return conv_transpose2d(x, weight, bias, o.stride(), o.padding(), o.output_padding(), o.groups(),
                          o.dilation(), activation);
}

std::string ConvTranspose2dImpl::extra_repr() const {
  const auto& o = options;
  return conv_repr(o.in_channels(), o.out_channels(), o.kernel_size(), o.stride(), o.padding(),
                   o.dilation(), o.output_padding(), o.groups(), o.bias());
}

}  // namespace tg::nn
