#!/usr/bin/python3
"""Makes the PyTorch reference files under tests/data/loss/ for tests/test_loss.cpp and
tests/test_softmax.cpp.

    /usr/bin/python3 tests/data/make_loss_reference.py     (Debian's python3-torch, python3-numpy)

One .npz per case. Inputs: in0, in1, ... (float64; in<i>_f32 the same values rounded to
float32; int64 class targets stored once). For each variant v (a reduction none / mean / sum,
or a softmax dim) and dtype suffix s in ("", "_f32"), PyTorch's output out_<v><s>, the
cotangent cot_<v><s> (a seeded random one for non-scalar outputs; scalars use 1 and store
none) and grad<i>_<v><s>, the gradient of <out, cot> with respect to input i, for the inputs
PyTorch differentiates. The float32 entries are computed by PyTorch in float32.
The output is deterministic; rerunning it rewrites the same files.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss")
rng = np.random.default_rng(20240612)
REDUCTIONS = ("none", "mean", "sum")


def uniform(lo, hi, *shape):
    return rng.uniform(lo, hi, shape)


def write_case(name, inputs, differentiable, variants, fn):
    """inputs: numpy arrays; differentiable: indices of the inputs whose gradients PyTorch
    gives; variants: names passed to fn(tensors, variant) -> output."""
    entries = {}
    for i, a in enumerate(inputs):
        entries[f"in{i}"] = a
        if a.dtype == np.float64:
            entries[f"in{i}_f32"] = a.astype(np.float32)
    for suffix, dtype in (("", torch.float64), ("_f32", torch.float32)):
        for v in variants:
            ts = []
            for i, a in enumerate(inputs):
                t = torch.from_numpy(a)
                if t.is_floating_point():
                    t = t.to(dtype).requires_grad_(i in differentiable)
                ts.append(t)
            out = fn(ts, v)
            cot = torch.ones_like(out)
            if out.dim() > 0:
                cot = torch.from_numpy(rng.standard_normal(tuple(out.shape))).to(dtype)
                entries[f"cot_{v}{suffix}"] = cot.numpy()
            grads = torch.autograd.grad(out, [ts[i] for i in differentiable], cot)
            entries[f"out_{v}{suffix}"] = out.detach().numpy()
            for i, g in zip(differentiable, grads):
                entries[f"grad{i}_{v}{suffix}"] = g.numpy()
    np.savez_compressed(os.path.join(ROOT, name + ".npz"), **entries)


def kl_normal(mu, logvar, reduction):
    per_element = -0.5 * (1 + logvar - mu * mu - logvar.exp())
    return {"none": per_element, "mean": per_element.mean(), "sum": per_element.sum()}[reduction]


def main():
    os.makedirs(ROOT, exist_ok=True)
    x = rng.standard_normal((4, 5)) * 3
    write_case("softmax", [x], [0], [f"{f}_dim{d}" for f in ("softmax", "log_softmax") for d in (0, 1)],
               lambda t, v: getattr(F, v.split("_dim")[0])(t[0], dim=int(v[-1])))

    # Probabilities away from 0 and 1 (smooth), soft targets, class weights broadcast over rows.
    write_case("bce", [uniform(0.02, 0.98, 4, 3), uniform(0, 1, 4, 3), uniform(0.5, 1.5, 3)], [0, 1],
               REDUCTIONS, lambda t, r: F.binary_cross_entropy(t[0], t[1], t[2], reduction=r))
    # Probabilities exactly 0 and 1 (log clamped at -100); input gradient only, as PyTorch's
    # target gradient is infinite there.
    write_case("bce_edges", [np.array([[0.0, 1.0, 0.5], [0.0, 1.0, 1e-3]]),
                             np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 1.0]])], [0],
               REDUCTIONS, lambda t, r: F.binary_cross_entropy(t[0], t[1], reduction=r))
    write_case("bce_logits", [rng.standard_normal((5, 3)) * 4, uniform(0, 1, 5, 3), uniform(0.5, 1.5, 5, 1),
                              uniform(0.5, 3, 3)], [0, 1], REDUCTIONS,
               lambda t, r: F.binary_cross_entropy_with_logits(t[0], t[1], t[2], pos_weight=t[3], reduction=r))
    write_case("bce_logits_large", [np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]),
                                    np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([2.0, 0.5])], [0, 1],
               REDUCTIONS, lambda t, r: F.binary_cross_entropy_with_logits(t[0], t[1], pos_weight=t[2], reduction=r))
    write_case("mse", [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))], [0, 1], REDUCTIONS,
               lambda t, r: F.mse_loss(t[0], t[1], reduction=r))
    write_case("l1", [rng.standard_normal(7), rng.standard_normal(7)], [0, 1], REDUCTIONS,
               lambda t, r: F.l1_loss(t[0], t[1], reduction=r))
    write_case("kl_normal", [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))], [0, 1], REDUCTIONS,
               lambda t, r: kl_normal(t[0], t[1], r))
    logp = torch.log_softmax(torch.from_numpy(rng.standard_normal((5, 4))), 1).numpy()
    write_case("nll", [logp, rng.integers(0, 4, 5), uniform(0.5, 2, 4)], [0], REDUCTIONS,
               lambda t, r: F.nll_loss(t[0], t[1], t[2], reduction=r))
    write_case("cross_entropy", [rng.standard_normal((6, 5)) * 3, rng.integers(0, 5, 6), uniform(0.5, 2, 5)], [0],
               REDUCTIONS, lambda t, r: F.cross_entropy(t[0], t[1], t[2], reduction=r))
    write_case("cross_entropy_unweighted", [rng.standard_normal((3, 7)) * 3, rng.integers(0, 7, 3)], [0],
               REDUCTIONS, lambda t, r: F.cross_entropy(t[0], t[1], reduction=r))


if __name__ == "__main__":
    main()
