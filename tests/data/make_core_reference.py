#!/usr/bin/python3
"""Makes the reference files under tests/data/core/ for the core op and .npy tests.

    /usr/bin/python3 tests/data/make_core_reference.py     (Debian's python3-torch, python3-numpy)

npy/         files written by numpy itself (every supported dtype, Fortran order, a version 2.0
             header) and files tapegrad must reject (big-endian, complex, object, ...).
agreement/   one folder per op case: inputs in0.npy, in1.npy, ... (seeded random values, kept
             away from kinks), PyTorch's outputs out0.npy, ..., a random cotangent cot<k>.npy
             for each floating output, and PyTorch's gradients grad<i>.npy of
             sum_k <out_k, cot_k> with respect to each floating input.
tests/test_torch_agreement_core.cpp runs the same cases (by folder name) and compares.
The output is deterministic; rerunning it rewrites the same files.
"""
import os
import shutil

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core")
rng = np.random.default_rng(20240611)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def away(x, points, gap=0.15):
    """Moves values closer than `gap` to any kink in `points` by 2 * gap (kinks: relu at 0,
    clamp bounds), so finite differences and PyTorch's one-sided choices cannot disagree."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] += 2 * gap
    return x


def positive(*shape, dtype=np.float64):
    return (np.abs(randn(*shape)) + 0.2).astype(dtype)


# ---- npy fixtures -------------------------------------------------------------------------
def write_npy_fixtures(folder):
    os.makedirs(folder)
    save = lambda name, a, **kw: np.save(os.path.join(folder, name), a, **kw)
    save("f4_2x3.npy", (np.arange(6, dtype="<f4").reshape(2, 3) / 4 - 0.5))
    save("f8_4.npy", np.array([0.1, -2.5, 1e-300, 3e300], dtype="<f8"))
    save("i8_3.npy", np.array([-3, 0, 2**40], dtype="<i8"))
    save("u1_2x2.npy", np.array([[0, 255], [7, 128]], dtype="|u1"))
    save("b1_4.npy", np.array([True, False, False, True]))
    save("f8_scalar.npy", np.array(2.5))
    save("f4_empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    save("f8_fortran_3x4.npy", np.asfortranarray(np.arange(12.0).reshape(3, 4)))
    save("i8_fortran_2x3x4.npy", np.asfortranarray(np.arange(24).reshape(2, 3, 4)))
    with open(os.path.join(folder, "f4_v2_2x2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype="<f4"), version=(2, 0))
    # Files tapegrad refuses, each with a clear error.
    save("bad_big_endian.npy", np.arange(3, dtype=">f4"))
    save("bad_complex.npy", np.arange(3, dtype="<c8"))
    save("bad_int32.npy", np.arange(3, dtype="<i4"))
    save("bad_object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    save("bad_structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i8")]))


# ---- PyTorch agreement cases ----------------------------------------------------------------
# name -> (inputs, fn); fn maps torch tensors to a tuple of outputs. The C++ test has a case of
# the same name computing the same function with tapegrad.
def agreement_cases():
    c = {}
    f64, f32 = np.float64, np.float32
    for dt, sfx in ((f64, ""), (f32, "_f32")):
        c["add_broadcast" + sfx] = ([randn(3, 1, 4, dtype=dt), randn(2, 4, dtype=dt)], lambda a, b: (a + b,))
        c["mul_broadcast" + sfx] = ([randn(2, 1, 3, dtype=dt), randn(4, 1, dtype=dt)], lambda a, b: (a * b,))
        c["div_broadcast" + sfx] = ([randn(3, 4, dtype=dt), away(randn(1, 4), [0], 0.5).astype(dt)],
                                    lambda a, b: (a / b,))
        c["exp" + sfx] = ([randn(3, 4, dtype=dt)], lambda x: (torch.exp(x),))
        c["log" + sfx] = ([positive(5, dtype=dt)], lambda x: (torch.log(x),))
        c["sigmoid" + sfx] = ([(randn(9) * 6).astype(dt)], lambda x: (torch.sigmoid(x),))
        c["tanh" + sfx] = ([(randn(2, 5) * 2).astype(dt)], lambda x: (torch.tanh(x),))
        c["softplus" + sfx] = ([(randn(7) * 8).astype(dt)], lambda x: (torch.nn.functional.softplus(x),))
        c["pow_2_5" + sfx] = ([positive(2, 3, dtype=dt)], lambda x: (torch.pow(x, 2.5),))
        c["sum_dims" + sfx] = ([randn(3, 4, 5, dtype=dt)], lambda x: (torch.sum(x, dim=(0, 2)),))
        c["var_dim" + sfx] = ([randn(4, 6, dtype=dt)], lambda x: (torch.var(x, dim=1),))
        c["logsumexp" + sfx] = ([(randn(3, 5) * 30).astype(dt)], lambda x: (torch.logsumexp(x, dim=1),))
        c["matmul_batched" + sfx] = ([randn(2, 1, 3, 4, dtype=dt), randn(3, 4, 2, dtype=dt)],
                                     lambda a, b: (torch.matmul(a, b),))
        c["linear" + sfx] = ([randn(2, 3, 4, dtype=dt), randn(5, 4, dtype=dt), randn(5, dtype=dt)],
                             lambda x, w, b: (torch.nn.functional.linear(x, w, b),))

    # float64 only: the remaining ops and forms.
    c["add_alpha"] = ([randn(2, 3), randn(3)], lambda a, b: (torch.add(a, b, alpha=-0.5),))
    c["sub_broadcast"] = ([randn(4), randn(2, 3, 1)], lambda a, b: (a - b,))
    c["sub_alpha"] = ([randn(2, 3), randn(2, 1)], lambda a, b: (torch.sub(a, b, alpha=2.0),))
    c["scalar_forms"] = ([away(randn(2, 3), [0], 0.3)],
                         lambda x: ((2.0 - x) * 3.0 + x / 4.0 + 1.5 / x - (x - 0.5) + 2.0 * x,))
    c["neg"] = ([randn(4, 2)], lambda x: (-x,))
    c["sqrt"] = ([positive(3, 2)], lambda x: (torch.sqrt(x),))
    c["rsqrt"] = ([positive(6)], lambda x: (torch.rsqrt(x),))
    c["abs"] = ([away(randn(2, 4), [0])], lambda x: (torch.abs(x),))
    c["pow_neg_1_5"] = ([positive(5)], lambda x: (torch.pow(x, -1.5),))
    c["pow_3"] = ([randn(2, 3)], lambda x: (torch.pow(x, 3.0),))
    c["clamp"] = ([away(randn(3, 4), [-0.5, 0.7])], lambda x: (torch.clamp(x, -0.5, 0.7),))
    c["clamp_min"] = ([away(randn(8), [0.1])], lambda x: (torch.clamp(x, min=0.1),))
    c["relu"] = ([away(randn(3, 3), [0])], lambda x: (torch.relu(x),))
    c["leaky_relu"] = ([away(randn(10), [0])], lambda x: (torch.nn.functional.leaky_relu(x),))
    c["leaky_relu_0_2"] = ([away(randn(2, 5), [0])], lambda x: (torch.nn.functional.leaky_relu(x, 0.2),))
    # beta 2, threshold 3: beta * x crosses the threshold away from it (x = 1.5 is the switch).
    c["softplus_beta"] = ([away(randn(9) * 3, [1.5])],
                          lambda x: (torch.nn.functional.softplus(x, beta=2.0, threshold=3.0),))
    c["where"] = ([randn(3, 1) > 0, randn(3, 4), randn(4)], lambda m, a, b: (torch.where(m, a, b),))
    c["sum_all"] = ([randn(3, 4)], lambda x: (torch.sum(x),))
    c["sum_keepdim"] = ([randn(2, 3, 4)], lambda x: (torch.sum(x, dim=-1, keepdim=True),))
    c["mean_all"] = ([randn(5, 3)], lambda x: (torch.mean(x),))
    c["mean_dims"] = ([randn(2, 3, 4)], lambda x: (torch.mean(x, dim=(0, 2), keepdim=True),))
    c["var_all_biased"] = ([randn(3, 4)], lambda x: (torch.var(x, unbiased=False),))
    c["var_keepdim"] = ([randn(3, 4, 2)], lambda x: (torch.var(x, dim=(0, 2), keepdim=True),))
    c["max_dim"] = ([randn(3, 5)], lambda x: tuple(torch.max(x, dim=1)))
    c["min_dim_keepdim"] = ([randn(4, 3)], lambda x: tuple(torch.min(x, dim=0, keepdim=True)))
    c["max_all"] = ([randn(3, 4)], lambda x: (torch.max(x),))
    c["min_all"] = ([randn(2, 5)], lambda x: (torch.min(x),))
    c["logsumexp_keepdim"] = ([randn(2, 3, 4) * 10], lambda x: (torch.logsumexp(x, dim=(0, 2), keepdim=True),))
    c["matmul_2d"] = ([randn(3, 4), randn(4, 5)], lambda a, b: (torch.matmul(a, b),))
    c["matmul_dot"] = ([randn(4), randn(4)], lambda a, b: (torch.matmul(a, b),))
    c["matmul_matvec"] = ([randn(3, 4), randn(4)], lambda a, b: (torch.matmul(a, b),))
    c["matmul_vecmat"] = ([randn(4), randn(2, 4, 3)], lambda a, b: (torch.matmul(a, b),))
    c["linear_no_bias"] = ([randn(3, 4), randn(2, 4)], lambda x, w: (torch.nn.functional.linear(x, w),))
    c["cat"] = ([randn(2, 3), randn(2, 1), randn(2, 4)], lambda a, b, d: (torch.cat([a, b, d], dim=1),))
    c["stack"] = ([randn(2, 3), randn(2, 3), randn(2, 3)], lambda a, b, d: (torch.stack([a, b, d], dim=-1),))
    c["views"] = ([randn(2, 3, 4)], lambda x: (
        x.transpose(0, 2).flatten(1).narrow(1, 1, 3).unsqueeze(0).squeeze(0),
        x.select(1, -1),
        x[:, :, 1::2],
        x.unsqueeze(1).expand(2, 5, 3, 4),
        x.permute(1, 2, 0).reshape(12, 2),
        x.view(6, 4)))
    c["two_layer_net"] = ([randn(5, 3), randn(4, 3), randn(4), randn(2, 4), randn(2)],
                          lambda x, w1, b1, w2, b2: (torch.sigmoid(torch.nn.functional.linear(
                              torch.tanh(torch.nn.functional.linear(x, w1, b1)), w2, b2)).mean(),))
    return c


def write_agreement(folder):
    for name, (inputs, fn) in agreement_cases().items():
        d = os.path.join(folder, name)
        os.makedirs(d)
        xs = [torch.from_numpy(a).requires_grad_(a.dtype.kind == "f") for a in inputs]
        outs = fn(*xs)
        total = 0
        for k, y in enumerate(outs):
            np.save(os.path.join(d, f"out{k}.npy"), y.detach().numpy())
            if y.is_floating_point():
                cot = randn(*y.shape, dtype=y.detach().numpy().dtype)
                np.save(os.path.join(d, f"cot{k}.npy"), cot)
                total = total + (y * torch.from_numpy(cot)).sum()
        diff = [x for x in xs if x.requires_grad]
        grads = torch.autograd.grad(total, diff)
        gi = iter(grads)
        for i, (a, x) in enumerate(zip(inputs, xs)):
            np.save(os.path.join(d, f"in{i}.npy"), a)
            if x.requires_grad:
                np.save(os.path.join(d, f"grad{i}.npy"), next(gi).numpy())


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    write_npy_fixtures(os.path.join(ROOT, "npy"))
    write_agreement(os.path.join(ROOT, "agreement"))


if __name__ == "__main__":
    main()
