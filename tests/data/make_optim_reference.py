#!/usr/bin/python3
"""Makes the PyTorch reference files under tests/data/optim/ that test_optim, test_scheduler
and test_module compare against. Run from anywhere: /usr/bin/python3 tests/data/make_optim_reference.py

optim_reference.npz
  model.<name>      the initial parameters of a Linear(3, 4) -> Tanh -> Linear(4, 2) MLP (float64)
  x, y              its fixed inputs [8, 3] and targets [8, 2]; the loss is mean((mlp(x) - y)^2)
  traj.<config>     [20, P]: every parameter, flattened in named_parameters order, after each
                    of 20 optimizer steps (zero_grad, loss.backward, [clip], step, [scheduler])
  norm.<config>     [20]: clip_grad_norm_'s returned total norm, for the configs that clip
  lr.<scheduler>    [26, 2]: get_last_lr() of both groups at construction and after 25 steps
dcgan_repr.txt, zoo_repr.txt        print(module) of a DCGAN-like generator and a layer zoo
dcgan_state_dict.txt                 "<key> <shape>" per line: named_parameters, then state_dict
"""
import math
import os

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim")
STEPS = 20


def mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()


# Each config: (name, make optimizer from the model, clip function or None, scheduler or None).
def optimizers():
    def groups(model, first, second):
        return [dict(params=model[0].parameters(), **first), dict(params=model[2].parameters(), **second)]

    S, A, W, R = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop
    return [
        ("sgd", lambda m: S(m.parameters(), lr=0.1), None, None),
        ("sgd_momentum", lambda m: S(m.parameters(), lr=0.1, momentum=0.9), None, None),
        ("sgd_dampening_wd", lambda m: S(m.parameters(), lr=0.05, momentum=0.9, dampening=0.3,
                                         weight_decay=0.01), None, None),
        ("sgd_nesterov", lambda m: S(m.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                     weight_decay=1e-3), None, None),
        ("adam", lambda m: A(m.parameters(), lr=1e-2), None, None),
        ("adam_betas_wd", lambda m: A(m.parameters(), lr=2e-2, betas=(0.5, 0.999), eps=1e-6,
                                      weight_decay=0.1), None, None),
        ("adam_amsgrad", lambda m: A(m.parameters(), lr=1e-2, weight_decay=0.01, amsgrad=True), None, None),
        ("adamw", lambda m: W(m.parameters(), lr=1e-2), None, None),
        ("adamw_amsgrad", lambda m: W(m.parameters(), lr=1e-2, weight_decay=0.1, amsgrad=True), None, None),
        ("rmsprop", lambda m: R(m.parameters(), lr=1e-2), None, None),
        ("rmsprop_momentum", lambda m: R(m.parameters(), lr=1e-3, momentum=0.9), None, None),
        ("rmsprop_centered_momentum", lambda m: R(m.parameters(), lr=1e-2, alpha=0.9, momentum=0.5,
                                                  centered=True, weight_decay=0.01), None, None),
        ("sgd_groups", lambda m: S(groups(m, dict(lr=0.2, momentum=0.5), {}), lr=0.05), None, None),
        ("adam_groups", lambda m: A(groups(m, dict(lr=1e-2), dict(betas=(0.8, 0.99))), lr=1e-3), None, None),
        ("adam_clip_norm", lambda m: A(m.parameters(), lr=1e-2),
         lambda m: nn.utils.clip_grad_norm_(m.parameters(), max_norm=0.05), None),
        ("sgd_clip_value", lambda m: S(m.parameters(), lr=0.1, momentum=0.9),
         lambda m: nn.utils.clip_grad_value_(m.parameters(), clip_value=0.02), None),
        ("sgd_steplr", lambda m: S(m.parameters(), lr=0.1, momentum=0.9), None,
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5)),
    ]


def schedulers():
    sched = torch.optim.lr_scheduler
    return [
        ("step", lambda o: sched.StepLR(o, step_size=3, gamma=0.5)),
        ("exponential", lambda o: sched.ExponentialLR(o, gamma=0.9)),
        ("cosine", lambda o: sched.CosineAnnealingLR(o, T_max=10, eta_min=0.01)),
        ("linear", lambda o: sched.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5)),
        ("linear_default", lambda o: sched.LinearLR(o)),
        ("lambda", lambda o: sched.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.5 * e))),
        ("lambda_per_group", lambda o: sched.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1.0 / (1.0 + e)])),
    ]


def optimizer_reference(out):
    torch.manual_seed(0)
    model = mlp()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for k, v in init.items():
        out["model." + k] = v.numpy()
    x = torch.randn(8, 3, dtype=torch.float64)
    y = torch.randn(8, 2, dtype=torch.float64)
    out["x"], out["y"] = x.numpy(), y.numpy()
    for name, make, clip, make_sched in optimizers():
        model.load_state_dict(init)
        opt = make(model)
        sched = make_sched(opt) if make_sched else None
        traj, norms = [], []
        for _ in range(STEPS):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            if clip:
                n = clip(model)
                if n is not None:
                    norms.append(float(n))
            opt.step()
            if sched:
                sched.step()
            traj.append(flat(model))
        out["traj." + name] = np.stack(traj)
        if norms:
            out["norm." + name] = np.array(norms)


def scheduler_reference(out):
    for name, make in schedulers():
        a = torch.zeros(1, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([dict(params=[a], lr=0.1), dict(params=[b], lr=0.3)], lr=0.1)
        sched = make(opt)
        lrs = [sched.get_last_lr()]
        for _ in range(25):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        out["lr." + name] = np.array(lrs, dtype=np.float64)


class Generator(nn.Module):
    """The DCGAN generator of PyTorch's example, small."""

    def __init__(self, nz=8, ngf=4, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False), nn.Tanh())


def zoo():
    """Every layer type with non-default options, only printed (never run)."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 4, 2, 1, bias=False), nn.LeakyReLU(0.2), nn.Conv2d(4, 6, (3, 5), stride=(2, 1), padding=(0, 2), dilation=(1, 2), groups=2),
        nn.InstanceNorm2d(6), nn.MaxPool2d(2), nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(6, 8),
        nn.BatchNorm1d(8, momentum=None, affine=False), nn.LayerNorm(8), nn.Sigmoid(), nn.Unflatten(1, (2, 4)),
        nn.Embedding(10, 3, padding_idx=0), nn.LayerNorm([4, 3], eps=1e-3, elementwise_affine=False),
        nn.Linear(3, 1, bias=False), nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1))


def module_reference():
    g = Generator()
    with open(os.path.join(OUT, "dcgan_repr.txt"), "w") as f:
        f.write(repr(g) + "\n")
    with open(os.path.join(OUT, "zoo_repr.txt"), "w") as f:
        f.write(repr(zoo()) + "\n")
    with open(os.path.join(OUT, "dcgan_state_dict.txt"), "w") as f:
        for k, v in g.named_parameters():
            f.write("param %s %s\n" % (k, list(v.shape)))
        for k, v in g.state_dict().items():
            f.write("state %s %s\n" % (k, list(v.shape)))


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {}
    optimizer_reference(out)
    scheduler_reference(out)
    np.savez_compressed(os.path.join(OUT, "optim_reference.npz"), **out)
    module_reference()


if __name__ == "__main__":
    main()
