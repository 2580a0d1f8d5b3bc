#!/usr/bin/env python3
"""Writes tests/data/norm/<case>/*.npy: PyTorch's batch_norm, instance_norm and layer_norm
outputs, input / weight / bias gradients and running statistics after several training steps,
in float64 and float32, for tests/test_norm.cpp to compare tapegrad against.

Inputs are float64 (<name>.npy; the float32 runs cast them), results are <name>_f64.npy and
<name>_f32.npy; params.npy holds [momentum, eps, steps] (layer_norm: [eps]).
Run with PyTorch installed: /usr/bin/python3 tests/data/make_norm_reference.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "norm")
DTYPES = {"f64": torch.float64, "f32": torch.float32}


def saver(case):
    folder = os.path.join(OUT, case)
    os.makedirs(folder, exist_ok=True)

    def save(name, value):
        if isinstance(value, torch.Tensor):
            value = value.detach().numpy()
        np.save(os.path.join(folder, name + ".npy"), value)

    return save


def make_inputs(rng, shape, steps, extra_eval=True):
    channels = shape[1]
    inputs = {f"x{k}": rng.randn(*shape) * 2.0 + 1.5 for k in range(steps)}  # non-zero mean
    inputs["w"] = rng.rand(channels) + 0.5
    inputs["b"] = rng.randn(channels)
    inputs["gy"] = rng.randn(*shape)
    if extra_eval:
        inputs["x_eval"] = rng.randn(*shape) * 2.0 + 1.5
    return inputs


def stat_norm_case(case, rng, shape, steps, momentum, eps, norm):
    """batch_norm / instance_norm: `steps` training steps from running stats (0, 1), the last
    step's output and gradients of sum(y * gy), the running stats, then one eval step."""
    save = saver(case)
    inputs = make_inputs(rng, shape, steps)
    for name, value in inputs.items():
        save(name, value)
    save("params", np.array([momentum, eps, steps], dtype=np.float64))
    channels = shape[1]
    for tag, dtype in DTYPES.items():
        t = {k: torch.tensor(v, dtype=dtype) for k, v in inputs.items()}
        rm, rv = torch.zeros(channels, dtype=dtype), torch.ones(channels, dtype=dtype)
        w, b = t["w"].requires_grad_(), t["b"].requires_grad_()
        for k in range(steps):
            x = t[f"x{k}"].clone().requires_grad_()
            y = norm(x, rm, rv, w, b, True, momentum, eps)
        gx, gw, gb = torch.autograd.grad(y, (x, w, b), t["gy"])
        for name, value in [("y", y), ("gx", gx), ("gw", gw), ("gb", gb), ("rm", rm), ("rv", rv)]:
            save(f"{name}_{tag}", value)
        x = t["x_eval"].clone().requires_grad_()
        y = norm(x, rm, rv, w, b, False, momentum, eps)
        gx, gw, gb = torch.autograd.grad(y, (x, w, b), t["gy"])
        for name, value in [("y_eval", y), ("gx_eval", gx), ("gw_eval", gw), ("gb_eval", gb)]:
            save(f"{name}_{tag}", value)


def batch_norm(x, rm, rv, w, b, training, momentum, eps):
    return F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)


def instance_norm(x, rm, rv, w, b, training, momentum, eps):
    return F.instance_norm(x, rm, rv, w, b, use_input_stats=training, momentum=momentum, eps=eps)


def layer_norm_case(case, rng, shape, normalized_ndim, eps):
    save = saver(case)
    normalized = shape[len(shape) - normalized_ndim:]
    inputs = {"x": rng.randn(*shape) * 2.0 + 1.5, "w": rng.rand(*normalized) + 0.5,
              "b": rng.randn(*normalized), "gy": rng.randn(*shape)}
    for name, value in inputs.items():
        save(name, value)
    save("params", np.array([eps], dtype=np.float64))
    for tag, dtype in DTYPES.items():
        x, w, b = (torch.tensor(inputs[k], dtype=dtype).requires_grad_() for k in ("x", "w", "b"))
        y = F.layer_norm(x, normalized, w, b, eps)
        gx, gw, gb = torch.autograd.grad(y, (x, w, b), torch.tensor(inputs["gy"], dtype=dtype))
        for name, value in [("y", y), ("gx", gx), ("gw", gw), ("gb", gb)]:
            save(f"{name}_{tag}", value)


def main():
    rng = np.random.RandomState(0)
    stat_norm_case("batch_norm_2d", rng, (6, 4), steps=3, momentum=0.1, eps=1e-5, norm=batch_norm)
    stat_norm_case("batch_norm_4d", rng, (3, 2, 3, 5), steps=3, momentum=0.3, eps=1e-3, norm=batch_norm)
    stat_norm_case("instance_norm", rng, (2, 3, 4, 5), steps=2, momentum=0.2, eps=1e-5, norm=instance_norm)
    layer_norm_case("layer_norm", rng, (4, 3, 5), normalized_ndim=2, eps=1e-5)


if __name__ == "__main__":
    main()
