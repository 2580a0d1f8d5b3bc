#!/usr/bin/python3
"""Makes the PyTorch reference files under tests/data/conv/ for tests/test_conv.cpp and
tests/test_pool.cpp.

    /usr/bin/python3 tests/data/make_conv_reference.py     (Debian's python3-torch, python3-numpy)

One folder per case (the C++ tests name the folders):
  params.npy   int64 parameters, read by the test so they live only here:
               conv:  stride, padding, dilation, output_padding (h, w each), groups
               pool:  kernel_size, stride, padding (h, w each), ceil_mode, count_include_pad
               adaptive pool: output_size (h, w)
  x.npy, w.npy, b.npy   float64 inputs (w and b where the op has them)
  g.npy        a random cotangent for the output
  y.npy        PyTorch's output (idx.npy: max pooling's indices)
  gx.npy, gw.npy, gb.npy   PyTorch's gradients of <y, g> (float64)
The output is deterministic; rerunning it rewrites the same files.
"""
import os
import shutil

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv")
rng = np.random.default_rng(20240614)


def randn(*shape):
    return rng.standard_normal(shape)


def conv_case(x_shape, w_shape, bias, stride=1, padding=0, dilation=1, output_padding=0, groups=1,
              transposed=False):
    pair = lambda v: (v, v) if isinstance(v, int) else v
    stride, padding, dilation, output_padding = map(pair, (stride, padding, dilation, output_padding))
    params = [*stride, *padding, *dilation, *output_padding, groups]
    inputs = {"x": randn(*x_shape), "w": randn(*w_shape)}
    if bias:
        inputs["b"] = randn(w_shape[1] * groups if transposed else w_shape[0])

    def fn(x, w, b=None):
        if transposed:
            return F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    return params, inputs, fn


def pool_case(op, x_shape, kernel, stride, padding, ceil_mode, count_include_pad=True):
    params = [*kernel, *stride, *padding, int(ceil_mode), int(count_include_pad)]

    def fn(x):
        if op == "max":
            return F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True)
        return F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)

    return params, {"x": randn(*x_shape)}, fn


def adaptive_case(x_shape, output_size):
    return list(output_size), {"x": randn(*x_shape)}, lambda x: F.adaptive_avg_pool2d(x, output_size)


def cases():
    return {
        "conv2d_basic": conv_case((2, 3, 6, 5), (4, 3, 3, 3), True, padding=1),
        "conv2d_strided_dilated_groups": conv_case((2, 4, 9, 8), (6, 2, 3, 2), True, stride=(2, 1),
                                                   padding=(2, 1), dilation=2, groups=2),
        "conv2d_depthwise": conv_case((1, 3, 7, 7), (3, 1, 3, 3), False, stride=2, padding=1, groups=3),
        "conv_transpose2d_dcgan": conv_case((2, 4, 3, 3), (4, 3, 4, 4), True, stride=2, padding=1,
                                            transposed=True),
        "conv_transpose2d_dilated_groups": conv_case((2, 4, 3, 4), (4, 2, 3, 2), True, stride=(2, 3),
                                                     padding=(1, 0), dilation=(2, 1),
                                                     output_padding=(1, 2), groups=2, transposed=True),
        # output_padding 1 >= stride 1, allowed because dilation is 2.
        "conv_transpose2d_output_padding_from_dilation": conv_case((1, 2, 4, 3), (2, 3, 3, 3), False,
                                                                   padding=1, dilation=2,
                                                                   output_padding=1, transposed=True),
        "max_pool2d_k3s2p1_ceil": pool_case("max", (2, 3, 7, 6), (3, 3), (2, 2), (1, 1), True),
        "max_pool2d_k2": pool_case("max", (1, 2, 6, 5), (2, 2), (2, 2), (0, 0), False),
        "max_pool2d_nonsquare": pool_case("max", (2, 2, 7, 8), (3, 2), (1, 2), (1, 1), False),
        "avg_pool2d_ceil_include_pad": pool_case("avg", (2, 3, 7, 6), (3, 3), (2, 2), (1, 1), True, True),
        "avg_pool2d_ceil_exclude_pad": pool_case("avg", (2, 3, 7, 6), (3, 3), (2, 2), (1, 1), True, False),
        "avg_pool2d_nonsquare": pool_case("avg", (1, 2, 5, 7), (2, 3), (2, 1), (1, 1), False, True),
        "adaptive_avg_pool2d_general": adaptive_case((2, 3, 7, 5), (3, 4)),
        "adaptive_avg_pool2d_even": adaptive_case((1, 2, 6, 8), (3, 2)),
    }


def write_case(folder, params, inputs, fn):
    os.makedirs(folder)
    save = lambda name, a: np.save(os.path.join(folder, name + ".npy"), a)
    save("params", np.array(params, dtype=np.int64))
    xs = {k: torch.from_numpy(v).requires_grad_() for k, v in inputs.items()}
    out = fn(*xs.values())
    y, idx = out if isinstance(out, tuple) else (out, None)
    g = randn(*y.shape)
    grads = torch.autograd.grad((y * torch.from_numpy(g)).sum(), list(xs.values()))
    for k, v in inputs.items():
        save(k, v)
    save("g", g)
    save("y", y.detach().numpy())
    if idx is not None:
        save("idx", idx.numpy())
    for k, grad in zip(inputs, grads):
        save("g" + k, grad.numpy())


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    for name, (params, inputs, fn) in cases().items():
        write_case(os.path.join(ROOT, name), params, inputs, fn)


if __name__ == "__main__":
    main()
