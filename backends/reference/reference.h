// The reference backend's kernels: plain loops templated on the element type. They are the
// executable specification every other backend is tested against: clear before fast.
#pragma once

#include "backends/kernels.h"

namespace tg::reference {

void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
void uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high);
void normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std);

template <kernel::OpId Op> void unary(const Tensor& out, const Tensor& in, double alpha, double beta);
template <kernel::OpId Op> void binary(const Tensor& out, const Tensor& a, const Tensor& b);
void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b);
void leaky_relu_backward(const Tensor& gx, const Tensor& gy, const Tensor& x, double slope);

void sum(const Tensor& out, const Tensor& in);
void max(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim);
void min(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim);

void matmul(const Tensor& out, const Tensor& a, const Tensor& b);

// conv.cpp
void conv2d(const Tensor& out, const Tensor& x, const Tensor& w, const kernel::Conv2dParams& p);
void conv_transpose2d(const Tensor& out, const Tensor& x, const Tensor& w, const kernel::Conv2dParams& p);
void conv2d_weight(const Tensor& gw, const Tensor& x, const Tensor& gy, const kernel::Conv2dParams& p);

// pool.cpp
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& x, const kernel::Pool2dParams& p);
void max_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor& indices, const kernel::Pool2dParams& p);
void max_pool2d_gather(const Tensor& out, const Tensor& in, const Tensor& indices, const kernel::Pool2dParams& p);
void avg_pool2d(const Tensor& out, const Tensor& indices, const Tensor& x, const kernel::Pool2dParams& p);
void avg_pool2d_backward(const Tensor& gx, const Tensor& gy, const Tensor& indices, const kernel::Pool2dParams& p);

// norm.cpp
void batch_norm(const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                const Tensor& running_var, bool training, double momentum, double eps);
void batch_norm_backward(const Tensor& gx, const Tensor& gw, const Tensor& gb, const Tensor& gy,
                         const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                         const Tensor& save_invstd);

// softmax.cpp
void softmax(const Tensor& out, const Tensor& in, int64_t dim);
void log_softmax(const Tensor& out, const Tensor& in, int64_t dim);
void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out, int64_t dim);
void log_softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out, int64_t dim);

// loss.cpp
void binary_cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target,
                          const Tensor& weight, const Tensor& pos_weight, int reduction);
void binary_cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                                   const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                                   int reduction);
void bce_with_logits(const Tensor& out, const Tensor& input, const Tensor& target,
                     const Tensor& weight, const Tensor& pos_weight, int reduction);
void bce_with_logits_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                              const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                              int reduction);
void cross_entropy(const Tensor& out, const Tensor& input, const Tensor& target,
                   const Tensor& weight, const Tensor& pos_weight, int reduction);
void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad_out, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                            int reduction);

// optim.cpp
void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                const kernel::SgdUpdate& h);
void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const kernel::AdamUpdate& h);
void rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                    const Tensor& momentum_buffer, const Tensor& grad_avg, const kernel::RmspropUpdate& h);

}  // namespace tg::reference
