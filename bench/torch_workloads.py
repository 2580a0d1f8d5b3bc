#!/usr/bin/env python3
"""PyTorch's side of bench/compare.py: the workloads of bench/tapegrad_workloads, one JSON line each.

The same networks, initialisation, batches, optimizers, losses and FLOP model as the C++ side
(bench/workloads/), and the same rows key for key, so compare.py lines the two up by name and
checks that both count the same FLOPs. Rows carry `aten_backend` (ATen's CPU capability, or
cuDNN on a GPU) where tapegrad's carry `backend` and `isa`.

  torch_workloads.py dcgan32 mlpgan vae --threads 2
  torch_workloads.py conv convT bn gemm --iters 5 --repeats 1
  torch_workloads.py dcgan64 --device cuda --tf32 off --cudnn-benchmark on

PyTorch runs at its best on CPU with the environment compare.py sets (see its docstring) and
--threads given: Debian's 1.13 otherwise starts with one thread. Run one workload per process
for a clean peak-memory figure (ru_maxrss only grows).
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TRAIN_STEPS = ("dcgan32", "dcgan32_logits", "dcgan64", "mlpgan", "vae")
OP_GROUPS = ("conv", "convT", "bn", "gemm")
NZ = 100  # length of G's input noise
GAN_LR, GAN_BETAS, VAE_LR = 2e-4, (0.5, 0.999), 1e-3


# ---- rows and timing (bench/workloads/measure.cpp) ----

def round_to(x, digits):
    """C++ std::round(x * 10^digits) / 10^digits (halves away from zero), as the C++ side rounds."""
    scale = 10.0 ** digits
    v = x * scale
    return math.copysign(math.floor(abs(v) + 0.5), v) / scale


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_once_ms(step, device):
    start = time.perf_counter()
    step()
    sync(device)
    return (time.perf_counter() - start) * 1e3


def measure(step, opts, row):
    """--warmup untimed calls, then --repeats blocks of --iters timed calls (0: enough for
    --min-time seconds a block, 10 to 1000); sets the timing fields; returns (median, min) ms."""
    for _ in range(opts.warmup):
        step()
    sync(opts.device)
    iters = opts.iters
    if iters <= 0:
        probe = time_once_ms(step, opts.device)
        iters = int(min(1000, max(10, math.ceil(opts.min_time * 1e3 / max(probe, 1e-3)))))
    all_ms, repeat_medians = [], []
    for _ in range(opts.repeats):
        block = [time_once_ms(step, opts.device) for _ in range(iters)]
        repeat_medians.append(round_to(statistics.median(block), 4))
        all_ms += block
    ms_median, ms_min = statistics.median(all_ms), min(all_ms)
    row.update(iters=iters, repeats=opts.repeats, warmup=opts.warmup, ms_median=round_to(ms_median, 4),
               ms_min=round_to(ms_min, 4), ms_max=round_to(max(all_ms), 4), ms_repeat_medians=repeat_medians,
               steps_per_s=round_to(1e3 / ms_median, 3))
    return ms_median, ms_min


def add_flops(row, flop, timing):
    """Rates from the rounded times, as the C++ side computes them; nothing for flop 0."""
    if flop == 0:
        return
    ms_median, ms_min = timing
    row.update(gflop_per_step=round_to(flop / 1e9, 4),
               gflops_median=round_to(flop / round_to(ms_median, 4) / 1e6, 2),
               gflops_best=round_to(flop / round_to(ms_min, 4) / 1e6, 2))


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def start_memory(device):
    """The figure add_memory reports against: RSS so far; on a GPU, the allocator's peak reset."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    return peak_rss_mib()


def add_memory(row, device, rss_at_start):
    if device.type == "cuda":
        # compare.py reads peak_rss_mib first: on a GPU the figure to compare is the device's
        row["cuda_max_allocated_mib"] = round_to(torch.cuda.max_memory_allocated(device) / 2 ** 20, 1)
        row["host_peak_rss_mib"] = round_to(peak_rss_mib(), 1)
    else:
        row["peak_rss_mib"] = round_to(peak_rss_mib(), 1)
    row["peak_rss_mib_at_start"] = round_to(rss_at_start, 1)


def aten_backend(device):
    if device.type == "cuda":
        return f"cudnn {torch.backends.cudnn.version()}" if torch.backends.cudnn.is_available() else "cuda"
    get = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)  # PyTorch 2.x
    if get:
        return get()
    for line in torch.__config__.show().splitlines():  # 1.13: only in the build summary
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "cpu"


def common_fields(opts):
    return {"device": opts.device.type,
            "threads": torch.get_num_threads() if opts.device.type == "cpu" else 1,
            "aten_backend": aten_backend(opts.device)}


def emit(row):
    print(json.dumps(row), flush=True)


# ---- networks and FLOP model (bench/workloads/models.cpp) ----

def up(cin, cout, stride, padding):
    return nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False)


def down(cin, cout, stride, padding):
    return nn.Conv2d(cin, cout, 4, stride, padding, bias=False)


def leaky():
    # in place, as PyTorch's DCGAN example writes it: saves a buffer, same values
    return nn.LeakyReLU(0.2, inplace=True)


def dcgan_init(module):
    """N(0, 0.02) conv weights, N(1, 0.02) batch-norm scale, zero biases (tg::nn::init::dcgan_)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def dcgan32_models(logits, nc=1):
    """G: 100 -> 256 (4x4) -> 128 (8x8) -> 64 (16x16) -> nc (32x32); D the mirror image."""
    g = nn.Sequential(up(NZ, 256, 1, 0), nn.BatchNorm2d(256), nn.ReLU(True),
                      up(256, 128, 2, 1), nn.BatchNorm2d(128), nn.ReLU(True),
                      up(128, 64, 2, 1), nn.BatchNorm2d(64), nn.ReLU(True),
                      up(64, nc, 2, 1), nn.Tanh())
    d = nn.Sequential(down(nc, 64, 2, 1), leaky(),
                      down(64, 128, 2, 1), nn.BatchNorm2d(128), leaky(),
                      down(128, 256, 2, 1), nn.BatchNorm2d(256), leaky(),
                      down(256, 1, 1, 0))
    if not logits:
        d.append(nn.Sigmoid())
    dcgan_init(g)
    dcgan_init(d)
    return g, d


def dcgan64_models(nc=3, ngf=64, ndf=64):
    """PyTorch's DCGAN tutorial: nz -> ngf*8 at 4x4, halving channels as the size doubles, -> nc
    at 64x64; D the mirror image down to one probability."""
    g = [up(NZ, ngf * 8, 1, 0), nn.BatchNorm2d(ngf * 8), nn.ReLU(True)]
    c = ngf * 8
    while c > ngf:
        g += [up(c, c // 2, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
        c //= 2
    g += [up(ngf, nc, 2, 1), nn.Tanh()]
    d = [down(nc, ndf, 2, 1), leaky()]
    c = ndf
    while c < ndf * 8:
        d += [down(c, c * 2, 2, 1), nn.BatchNorm2d(c * 2), leaky()]
        c *= 2
    d += [down(ndf * 8, 1, 1, 0), nn.Sigmoid()]
    g, d = nn.Sequential(*g), nn.Sequential(*d)
    dcgan_init(g)
    dcgan_init(d)
    return g, d


def mlpgan_models():
    """Flattened 28x28 images; PyTorch's default initialisation."""
    g = nn.Sequential(nn.Linear(NZ, 256), leaky(), nn.Linear(256, 512), leaky(),
                      nn.Linear(512, 1024), leaky(), nn.Linear(1024, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 1024), leaky(), nn.Dropout(0.3),
                      nn.Linear(1024, 512), leaky(), nn.Dropout(0.3),
                      nn.Linear(512, 256), leaky(), nn.Dropout(0.3),
                      nn.Linear(256, 1), nn.Sigmoid())
    return g, d


class VAE(nn.Module):
    """784 -> 400 -> (mu, logvar) of 20; z = mu + eps * exp(logvar / 2); 20 -> 400 -> 784 -> sigmoid."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def vae_loss(recon, x, mu, logvar):
    """BCE(sum) of the reconstruction plus KL(N(mu, exp(logvar)) || N(0, I)), summed."""
    kl = -0.5 * torch.sum(1 + logvar - mu * mu - torch.exp(logvar))
    return F.binary_cross_entropy(recon, x, reduction="sum") + kl


def layer_flops(model, n, example_shape):
    """Forward FLOPs (2 * MACs) of each Conv2d, ConvTranspose2d and Linear in execution order, for
    n examples of example_shape ([C, H, W] or [features]), the spatial size propagated layer by
    layer (every Linear here sees a 2-D input: 2 n in out)."""
    rows = []
    h, w = (example_shape[1], example_shape[2]) if len(example_shape) == 3 else (0, 0)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = m.kernel_size, m.stride, m.padding, m.dilation
            h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
            w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
            # every output element is a dot product of length C_in / groups * kH * kW
            rows.append(2 * n * m.out_channels * h * w * (m.in_channels // m.groups) * kh * kw)
        elif isinstance(m, nn.ConvTranspose2d):
            (kh, kw), (sh, sw), (ph, pw), (dh, dw) = m.kernel_size, m.stride, m.padding, m.dilation
            oph, opw = m.output_padding
            # every input element scatters a kH x kW patch into C_out / groups output channels
            rows.append(2 * n * m.in_channels * h * w * (m.out_channels // m.groups) * kh * kw)
            h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
            w = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
        elif isinstance(m, nn.Linear):
            rows.append(2 * n * m.in_features * m.out_features)
    return rows


def gan_step_flops(fg, fd):
    """3 D forwards + 3 D backwards (a backward is 2 forwards; two skip D's first-layer input
    gradient) + 1 G forward + 1 G backward (without G's first-layer input gradient)."""
    return 9 * sum(fd) - 2 * fd[0] + 3 * sum(fg) - fg[0]


def vae_step_flops(f):
    """Forward + backward of every layer, without fc1's input gradient."""
    return 3 * sum(f) - f[0]


# ---- training steps (bench/workloads/train_steps.cpp) ----

def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


def gflop(flops):
    return round_to(sum(flops) / 1e9, 4)


def run_gan_step(name, batch, opts, row):
    """D learns on real and on fake.detach(), then G through D (the non-saturating loss)."""
    logits = name == "dcgan32_logits"
    g, d = (dcgan64_models() if name == "dcgan64" else mlpgan_models() if name == "mlpgan"
            else dcgan32_models(logits))
    example = (3, 64, 64) if name == "dcgan64" else (784,) if name == "mlpgan" else (1, 32, 32)
    noise = (NZ,) if name == "mlpgan" else (NZ, 1, 1)
    dev = opts.device
    g, d = g.to(dev), d.to(dev)
    opt_g = torch.optim.Adam(g.parameters(), lr=GAN_LR, betas=GAN_BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=GAN_LR, betas=GAN_BETAS)
    criterion = nn.BCEWithLogitsLoss() if logits else nn.BCELoss()
    real = torch.rand((batch, *example), device=dev) * 2 - 1  # stand-in real batch in [-1, 1]
    ones, zeros = torch.ones(batch, device=dev), torch.zeros(batch, device=dev)
    fg, fd = layer_flops(g, batch, noise), layer_flops(d, batch, example)

    def step():
        opt_d.zero_grad(set_to_none=True)  # as tapegrad's zero_grad (and PyTorch 2.x's default)
        criterion(d(real).view(-1), ones).backward()
        fake = g(torch.randn((batch, *noise), device=dev))
        criterion(d(fake.detach()).view(-1), zeros).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        criterion(d(fake).view(-1), ones).backward()
        opt_g.step()

    timing = measure(step, opts, row)
    add_flops(row, gan_step_flops(fg, fd), timing)
    row.update(loss="BCEWithLogits" if logits else "Sigmoid+BCELoss", params_g=parameter_count(g),
               params_d=parameter_count(d), fwd_gflop_g=gflop(fg), fwd_gflop_d=gflop(fd))


def run_vae_step(batch, opts, row):
    model = VAE().to(opts.device)
    opt = torch.optim.Adam(model.parameters(), lr=VAE_LR)
    x = torch.rand((batch, 784), device=opts.device)  # stand-in batch in [0, 1]
    f = layer_flops(model, batch, (784,))  # fc1, fc21, fc22, fc3, fc4

    def step():
        opt.zero_grad(set_to_none=True)
        recon, mu, logvar = model(x)
        vae_loss(recon, x, mu, logvar).backward()
        opt.step()

    timing = measure(step, opts, row)
    add_flops(row, vae_step_flops(f), timing)
    row.update(loss="BCE(sum)+KL", params=parameter_count(model), fwd_gflop=gflop(f))


def run_train_step(name, batch, opts):
    batch = batch if batch > 0 else 64 if name == "dcgan64" else 128
    rss0 = start_memory(opts.device)
    row = {"workload": name, "kind": "train_step", "batch": batch, **common_fields(opts)}
    if name == "vae":
        run_vae_step(batch, opts, row)
    else:
        run_gan_step(name, batch, opts, row)
    add_memory(row, opts.device, rss0)
    emit(row)


# ---- per-op rows (bench/workloads/op_rows.cpp) ----

def op_shapes():
    """(op, net, layer, n, params) at every layer shape of dcgan32 (batch 128) and dcgan64 (batch
    64): D convs, G convTs, then each distinct batch-norm (channels, size), widest first."""
    out = []
    for net, n, nc, size, chans in (("d32", 128, 1, 32, [64, 128, 256]), ("d64", 64, 3, 64, [64, 128, 256, 512])):
        layers = len(chans)
        cin, h = nc, size
        for i, cout in enumerate(chans):
            out.append(("conv2d", net, f"D{i + 1}", n, dict(cin=cin, cout=cout, k=4, s=2, p=1, h=h)))
            cin, h = cout, h // 2
        out.append(("conv2d", net, f"D{layers + 1}", n, dict(cin=cin, cout=1, k=4, s=1, p=0, h=h)))
        g = chans[::-1]
        out.append(("conv_transpose2d", net, "G1", n, dict(cin=NZ, cout=g[0], k=4, s=1, p=0, h=1)))
        h = 4
        for i in range(layers):
            cout = g[i + 1] if i + 1 < layers else nc
            out.append(("conv_transpose2d", net, f"G{i + 2}", n, dict(cin=g[i], cout=cout, k=4, s=2, p=1, h=h)))
            h *= 2
        # after each G convT but the last, and after each D conv but the first and the last
        seen = {(-c, 4 * 2 ** i) for i, c in enumerate(g)}
        seen |= {(-chans[i], size // 4 // 2 ** (i - 1)) for i in range(1, layers)}
        for minus_c, s in sorted(seen):
            out.append(("batch_norm2d", net, f"{-minus_c}x{s}x{s}", n, dict(c=-minus_c, h=s)))
    return out


def run_op(op, net, layer, n, sh, opts, rss0):
    """One shape's two rows: forward under no_grad, and forward + backward through
    autograd.grad with a fixed output gradient (fresh gradients, nothing accumulated)."""
    dev = opts.device
    flop, bytes_fwd, bytes_fwdbwd = 0, 0, 0
    if op == "batch_norm2d":
        c, h = sh["c"], sh["h"]
        x = torch.randn((n, c, h, h), device=dev, requires_grad=True)
        w = torch.ones(c, device=dev, requires_grad=True)
        b = torch.zeros(c, device=dev, requires_grad=True)
        rm, rv = torch.zeros(c, device=dev), torch.ones(c, device=dev)

        def run():
            return F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5)

        grads_of = [x, w, b]
        # least traffic: forward reads x and writes y; backward reads x and dy and writes dx
        nbytes = x.numel() * 4
        bytes_fwd, bytes_fwdbwd = 2 * nbytes, 5 * nbytes
        shape = dict(n=n, c=c, h=h, w=h)
    else:
        cin, cout, k, s, p, h = sh["cin"], sh["cout"], sh["k"], sh["s"], sh["p"], sh["h"]
        x = torch.randn((n, cin, h, h), device=dev, requires_grad=True)
        if op == "conv2d":
            w = (torch.randn((cout, cin, k, k), device=dev) * 0.02).requires_grad_()

            def run():
                return F.conv2d(x, w, None, s, p)

            ho = (h + 2 * p - k) // s + 1
            flop = 2 * n * cout * ho * ho * cin * k * k
        else:
            w = (torch.randn((cin, cout, k, k), device=dev) * 0.02).requires_grad_()

            def run():
                return F.conv_transpose2d(x, w, None, s, p)

            ho = (h - 1) * s - 2 * p + k
            flop = 2 * n * cin * h * h * cout * k * k
        grads_of = [x, w]
        shape = dict(n=n, cin=cin, cout=cout, k=k, stride=s, pad=p, h_in=h, h_out=ho)
    gy = torch.randn_like(run().detach())

    def fwd():
        with torch.no_grad():
            run()

    def fwdbwd():
        torch.autograd.grad([run()], grads_of, [gy])

    name = f"{op}_{net}_{layer}"
    # a backward is two forwards' worth of products: the input and the weight gradients
    for mode, fn, mode_flop, nbytes in (("fwd", fwd, flop, bytes_fwd), ("fwdbwd", fwdbwd, 3 * flop, bytes_fwdbwd)):
        row = {"workload": f"{name}_{mode}", "kind": "op", "op": op, "mode": mode, "net": net, "layer": layer,
               **shape, **common_fields(opts)}
        timing = measure(fn, opts, row)
        add_flops(row, mode_flop, timing)
        if nbytes > 0:
            row["gbytes_per_s_min_traffic"] = round_to(nbytes / round_to(timing[0], 4) / 1e6, 2)
        add_memory(row, dev, rss0)
        emit(row)


def run_op_group(group, opts):
    want = {"conv": "conv2d", "convT": "conv_transpose2d", "bn": "batch_norm2d"}[group]
    rss0 = start_memory(opts.device)
    for op, net, layer, n, sh in op_shapes():
        if op == want:
            run_op(op, net, layer, n, sh, opts, rss0)


def run_gemm(sizes, opts):
    """torch.mm of two n x n float32 matrices for each n."""
    rss0 = start_memory(opts.device)
    for n in sizes:
        a = torch.randn((n, n), device=opts.device)
        b = torch.randn((n, n), device=opts.device)
        row = {"workload": f"sgemm_{n}", "kind": "op", "op": "mm", "mode": "fwd", "n": n, **common_fields(opts)}
        timing = measure(lambda: torch.mm(a, b), opts, row)
        add_flops(row, 2 * n * n * n, timing)
        add_memory(row, opts.device, rss0)
        emit(row)


# ---- command line ----

def expand(names):
    out = []
    for w in names:
        if w == "all":
            out += list(TRAIN_STEPS) + list(OP_GROUPS)
        elif w == "ops":
            out += list(OP_GROUPS)
        elif w in TRAIN_STEPS or w in OP_GROUPS:
            out.append(w)
        else:
            raise SystemExit(f"torch_workloads.py: unknown workload {w!r}; choose from "
                             f"{' '.join(TRAIN_STEPS + OP_GROUPS)} ops all")
    return list(dict.fromkeys(out))


def parse_sizes(text):
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) <= 0:
        raise SystemExit(f"torch_workloads.py: --gemm-sizes: bad list {text!r}")
    return sizes


def on_off(text):
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError("on or off")
    return text == "on"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def meta(args, opts):
    env_keys = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                "OMP_NUM_THREADS")
    m = {"torch": torch.__version__, "python": sys.version.split()[0], "device": opts.device.type,
         "threads": torch.get_num_threads(), "aten_backend": aten_backend(opts.device),
         "mkldnn": torch.backends.mkldnn.is_available(), "cpu_model": cpu_model(), "argv": " ".join(sys.argv[1:]),
         "env": {k: os.environ[k] for k in env_keys if k in os.environ}}
    if opts.device.type == "cuda":
        m.update(gpu=torch.cuda.get_device_name(opts.device), cuda=torch.version.cuda, tf32=args.tf32,
                 cudnn_benchmark=args.cudnn_benchmark)
    return {"meta": m}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", default=["dcgan32", "mlpgan", "vae"],
                    help="dcgan32 dcgan32_logits dcgan64 mlpgan vae conv convT bn gemm ops all "
                         "(default: dcgan32 mlpgan vae)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: every core this process may use)")
    ap.add_argument("--batch", type=int, default=0, help="training-step batch (0: 128; dcgan64: 64)")
    ap.add_argument("--iters", type=int, default=0, help="timed calls per repeat (0: enough for --min-time, 10..1000)")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per repeat when --iters is 0")
    ap.add_argument("--repeats", type=int, default=3, help="timed blocks; the statistics pool all of them")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    ap.add_argument("--gemm-sizes", default="256,512,1024,2048")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed before each workload")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--tf32", type=on_off, default=False, metavar="on|off",
                    help="cuda: TF32 in matmuls and cuDNN convolutions (default off)")
    ap.add_argument("--cudnn-benchmark", type=on_off, default=True, metavar="on|off",
                    help="cuda: let cuDNN time its algorithms per shape (default on)")
    args = ap.parse_args()
    if args.repeats < 1 or args.warmup < 0 or args.threads < 0 or args.batch < 0:
        raise SystemExit("torch_workloads.py: --repeats must be at least 1; --warmup, --threads, --batch not negative")
    workloads = expand(args.workloads)
    sizes = parse_sizes(args.gemm_sizes)

    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("torch_workloads.py: --device cuda, but this PyTorch sees no GPU")
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    opts = argparse.Namespace(device=torch.device(args.device), iters=args.iters, min_time=args.min_time,
                              repeats=args.repeats, warmup=args.warmup)

    emit(meta(args, opts))
    for w in workloads:
        torch.manual_seed(args.seed)
        if w == "gemm":
            run_gemm(sizes, opts)
        elif w in ("conv", "convT", "bn"):
            run_op_group(w, opts)
        else:
            run_train_step(w, args.batch, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
