"""The four tapegrad example programs (examples/dcgan, mlp_gan, vae, wgan_gp) in PyTorch, with the
same architectures, initialisation, optimizers, losses, batch sizes, learning rates and data
scaling, reading the same IDX files, and writing the same kinds of outputs into --out:
samples_epochNNN.png (same grid layout and rounding), metrics.csv (epoch means; the VAE's test
ELBO), samples.npy (--save-samples N: same layout and range as the tapegrad program writes).

    /usr/bin/python3 examples/pytorch/train.py dcgan --epochs 1 --limit 6400 --out out/torch_dcgan

Only the random streams differ from tapegrad's (weights, noise and shuffling are drawn by
PyTorch and NumPy from --seed). wgan_gp takes the program's --loss gan and --pack N too. CPU
only, --threads 2 by default (the machine's cores)."""
import argparse
import csv
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
SAMPLE_GRID = 64  # fixed-noise samples per grid (8 x 8)


# ---------------------------------------------------------------- data (examples/common/data.cpp)

def read_idx(path):
    """An IDX file (raw or .gz): big-endian magic (0, 0, type 0x08 = uint8, ndim), then the sizes."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def idx_file(root, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(root, name)):
            return os.path.join(root, name)
    raise FileNotFoundError(f"no {stem}[.gz] in {root}")


def mnist_images(root, split, zero_one, pad_to_32, limit):
    """float32 [N, 1, H, W]: v / 255 ([0, 1], ToTensor) or (v / 255 - 0.5) / 0.5 ([-1, 1]);
    pad_to_32 zero-pads the 28 x 28 bytes (value 0 before scaling) to 32 x 32, centred."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(idx_file(root, f"{prefix}-images-idx3-ubyte"))
    if limit > 0:
        images = images[:limit]
    if pad_to_32:
        h, w = images.shape[1:]
        top, left = (32 - h) // 2, (32 - w) // 2
        padded = np.zeros((images.shape[0], 32, 32), dtype=np.uint8)
        padded[:, top:top + h, left:left + w] = images
        images = padded
    x = images.astype(np.float32) / 255.0
    if not zero_one:
        x = (x - 0.5) / 0.5
    return torch.from_numpy(x[:, None])


def ring8(size, seed, radius=2.0, stddev=0.02):
    """nn/data Ring8's distribution: mode k uniform in 0..7, centre radius (cos 2pi k/8,
    sin 2pi k/8) plus stddev N(0, I_2) (the same distribution, not the same draws)."""
    rng = np.random.default_rng(seed)
    theta = 2 * math.pi * rng.integers(0, 8, size) / 8
    centres = radius * np.stack([np.cos(theta), np.sin(theta)], 1)
    return torch.from_numpy((centres + stddev * rng.standard_normal((size, 2))).astype(np.float32))


def make_dataset(args, split="train", zero_one=False, pad_to_32=False, procedural_size=10000):
    if args.data == "ring8":
        n = args.limit if args.limit > 0 else procedural_size
        return ring8(n, args.seed if split == "train" else args.seed + 1000003)
    root = FASHION_MNIST if args.data == "fashion-mnist" else args.data[len("mnist:"):]
    if args.data != "fashion-mnist" and not args.data.startswith("mnist:"):
        raise SystemExit(f"--data {args.data}: this script reads fashion-mnist, mnist:DIR or ring8")
    return mnist_images(root, split, zero_one, pad_to_32, args.limit)


def batches(data, batch, epoch, seed, shuffle=True, drop_last=True):
    """The DataLoader: a permutation per epoch (from seed and epoch), full batches only for GANs."""
    n = data.shape[0]
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    end = n - n % batch if drop_last else n
    for start in range(0, end, batch):
        yield data[torch.from_numpy(order[start:start + batch])]


class Run:
    """metrics.csv rows and the per-epoch sample pictures in --out."""

    def __init__(self, args):
        self.args, self.rows, self.start = args, [], time.time()
        os.makedirs(args.out, exist_ok=True)

    def epoch_row(self, row):
        row["time_s"] = time.time() - self.start
        self.rows.append(row)
        with open(os.path.join(self.args.out, "metrics.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            w.writeheader()
            w.writerows(self.rows)
        print(" ".join(f"{k}={v:.6g}" for k, v in row.items()), flush=True)

    def sample_path(self, epoch):
        return os.path.join(self.args.out, f"samples_epoch{epoch:03d}.png")

    def save_samples(self, samples):
        np.save(os.path.join(self.args.out, "samples.npy"), samples.detach().numpy().astype(np.float32))


def total_steps(args, per_epoch):
    total = args.epochs * per_epoch
    return min(args.steps, total) if args.steps > 0 else total


def leaky():
    return nn.LeakyReLU(0.2)


# ---------------------------------------------------------------- dcgan (examples/dcgan/dcgan.cpp)

def dcgan_weights_init(m):
    """init::dcgan_: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def train_dcgan(args):
    nz, base = 100, 64
    ups = 4 if args.size == 64 else 3
    data = make_dataset(args, pad_to_32=True)
    channels = data.shape[1]
    width = base << (ups - 1)
    g_layers = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    while width > base:
        g_layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU()]
        width //= 2
    g_layers += [nn.ConvTranspose2d(base, channels, 4, 2, 1, bias=False), nn.Tanh()]
    d_layers, width = [nn.Conv2d(channels, base, 4, 2, 1, bias=False), leaky()], base
    for _ in range(1, ups):
        d_layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2), leaky()]
        width *= 2
    d_layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=False)]
    generator, discriminator = nn.Sequential(*g_layers), nn.Sequential(*d_layers)
    generator.apply(dcgan_weights_init)
    discriminator.apply(dcgan_weights_init)
    lr = args.lr or 2e-4
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    fixed_noise = torch.randn(SAMPLE_GRID, nz, 1, 1)

    def upsample2(x):  # --size 64: every pixel repeated in a 2 x 2 block
        return x.repeat_interleave(2, 2).repeat_interleave(2, 3) if args.size == 64 else x

    run, step = Run(args), 0
    per_epoch = data.shape[0] // args.batch
    total = total_steps(args, per_epoch)
    for epoch in range(args.epochs):
        if step >= total:
            break
        sums, count = np.zeros(4), 0
        for real in batches(data, args.batch, epoch, args.seed):
            real = upsample2(real)
            n = real.shape[0]
            ones, zeros = torch.ones(n), torch.zeros(n)
            fake = generator(torch.randn(n, nz, 1, 1))
            d_real = discriminator(real).reshape(n)
            d_fake = discriminator(fake.detach()).reshape(n)
            loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(discriminator(fake).reshape(n), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            step += 1
            sums += [loss_d.item(), loss_g.item(), torch.sigmoid(d_real).mean().item(), torch.sigmoid(d_fake).mean().item()]
            count += 1
            if step >= total:
                break
        generator.eval()  # samples from the running BatchNorm statistics
        with torch.no_grad():
            png.save_grid(generator(fixed_noise), run.sample_path(epoch + 1), value_range=(-1, 1))
        generator.train()
        m = sums / count
        run.epoch_row({"epoch": epoch + 1, "step": step, "loss_D": m[0], "loss_G": m[1], "D(x)": m[2], "D(G(z))": m[3]})
    if args.save_samples > 0:
        generator.eval()
        with torch.no_grad():
            run.save_samples(generator(torch.randn(args.save_samples, nz, 1, 1)))


# ---------------------------------------------------------------- mlp_gan (examples/mlp_gan/mlp_gan.cpp)

def train_mlp_gan(args):
    nz = 100
    data = make_dataset(args)
    if data.dim() != 4:
        raise SystemExit(f"mlp_gan: --data {args.data} is not an image set")
    example = data.shape[1:]
    dim = int(np.prod(example))
    generator = nn.Sequential(nn.Linear(nz, 256), leaky(), nn.Linear(256, 512), leaky(), nn.Linear(512, 1024), leaky(),
                              nn.Linear(1024, dim), nn.Tanh())
    discriminator = nn.Sequential(nn.Linear(dim, 1024), leaky(), nn.Dropout(0.3), nn.Linear(1024, 512), leaky(),
                                  nn.Dropout(0.3), nn.Linear(512, 256), leaky(), nn.Dropout(0.3), nn.Linear(256, 1))
    lr = args.lr or 2e-4
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    fixed_noise = torch.randn(SAMPLE_GRID, nz)

    run, step = Run(args), 0
    per_epoch = data.shape[0] // args.batch
    total = total_steps(args, per_epoch)
    for epoch in range(args.epochs):
        if step >= total:
            break
        sums, count = np.zeros(4), 0
        for real in batches(data, args.batch, epoch, args.seed):
            real = real.reshape(-1, dim)
            n = real.shape[0]
            ones, zeros = torch.ones(n), torch.zeros(n)
            fake = generator(torch.randn(n, nz))
            d_real = discriminator(real).reshape(n)
            d_fake = discriminator(fake.detach()).reshape(n)
            loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(discriminator(fake).reshape(n), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            step += 1
            sums += [loss_d.item(), loss_g.item(), torch.sigmoid(d_real).mean().item(), torch.sigmoid(d_fake).mean().item()]
            count += 1
            if step >= total:
                break
        with torch.no_grad():
            png.save_grid(generator(fixed_noise).reshape(-1, *example), run.sample_path(epoch + 1), value_range=(-1, 1))
        m = sums / count
        run.epoch_row({"epoch": epoch + 1, "step": step, "loss_D": m[0], "loss_G": m[1], "D(x)": m[2], "D(G(z))": m[3]})
    if args.save_samples > 0:
        with torch.no_grad():
            run.save_samples(generator(torch.randn(args.save_samples, nz)))


# ---------------------------------------------------------------- vae (examples/vae/vae.cpp)

class VAE(nn.Module):
    def __init__(self, dim, latent, hidden=400):
        super().__init__()
        self.fc1, self.fc_mu, self.fc_logvar = nn.Linear(dim, hidden), nn.Linear(hidden, latent), nn.Linear(hidden, latent)
        self.fc3, self.fc4 = nn.Linear(latent, hidden), nn.Linear(hidden, dim)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode_logits(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def loss(self, x):
        """(BCE summed, KL(q(z|x) || N(0, I)) summed), z = mu + exp(logvar / 2) eps."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return recon, kl


def train_vae(args):
    train = make_dataset(args, zero_one=True)
    test = make_dataset(args, split="test", zero_one=True)  # --limit cuts the test set too, as in vae.cpp
    example = train.shape[1:]
    dim = int(np.prod(example))
    model = VAE(dim, args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr or 1e-3)
    fixed_z = torch.randn(SAMPLE_GRID, args.latent)
    eval_generator = torch.Generator()

    def test_elbo():
        """nats per test example, one z per example from a stream of its own (re-seeded each epoch)."""
        eval_generator.manual_seed(args.seed + 7919)
        total = 0.0
        with torch.no_grad():
            for x in batches(test, max(args.batch, 256), 0, args.seed, shuffle=False, drop_last=False):
                x = x.reshape(-1, dim)
                mu, logvar = model.encode(x)
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=eval_generator)
                total += F.binary_cross_entropy_with_logits(model.decode_logits(z), x, reduction="sum").item()
                total += (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())).item()
        return -total / test.shape[0]

    run, step = Run(args), 0
    per_epoch = math.ceil(train.shape[0] / args.batch)
    total = total_steps(args, per_epoch)
    for epoch in range(args.epochs):
        if step >= total:
            break
        sums, seen = np.zeros(3), 0
        for x in batches(train, args.batch, epoch, args.seed, drop_last=False):
            x = x.reshape(-1, dim)
            recon, kl = model.loss(x)
            loss = recon + kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            sums += [loss.item(), recon.item(), kl.item()]
            seen += x.shape[0]
            if step >= total:
                break
        elbo = test_elbo()
        with torch.no_grad():
            png.save_grid(torch.sigmoid(model.decode_logits(fixed_z)).reshape(-1, *example), run.sample_path(epoch + 1))
        m = sums / seen
        run.epoch_row({"epoch": epoch + 1, "step": step, "loss": m[0], "recon": m[1], "KL": m[2], "test_ELBO": elbo})
    if args.save_samples > 0:
        with torch.no_grad():
            run.save_samples(torch.sigmoid(model.decode_logits(torch.randn(args.save_samples, args.latent))))


# ---------------------------------------------------------------- wgan_gp (examples/wgan_gp/wgan_gp.cpp)

def train_wgan_gp(args):
    nz, hidden, critic_steps, penalty_weight = 8, 256, 5, 10.0
    data = make_dataset(args, procedural_size=256000)
    example = data.shape[1:]
    images = len(example) == 3
    dim = int(np.prod(example))
    g_layers = [nn.Linear(nz, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, dim)]
    generator = nn.Sequential(*(g_layers + [nn.Tanh()] if images else g_layers))
    gan, packed = args.loss == "gan", dim * args.pack  # --loss gan: the standard GAN loss; --pack: PacGAN
    critic_steps = 1 if gan else critic_steps
    critic = nn.Sequential(nn.Linear(packed, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                           nn.ReLU(), nn.Linear(hidden, 1))
    lr = args.lr or 1e-4
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.0, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.0, 0.9))
    fixed_noise = torch.randn(SAMPLE_GRID if images else 512, nz)

    def gradient_penalty(real, fake):
        """lambda mean_i (||grad critic(x_hat_i)|| - 1)^2, x_hat = eps real + (1 - eps) fake."""
        eps = torch.rand(real.shape[0], 1)
        x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
        grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        norm = torch.sqrt(grad.pow(2).sum(1) + 1e-12)
        return penalty_weight * (norm - 1).pow(2).mean()

    run, step = Run(args), 0
    per_epoch = (data.shape[0] // args.batch) // critic_steps  # generator steps per epoch
    total = total_steps(args, per_epoch)
    for epoch in range(args.epochs):
        if step >= total:
            break
        sums, count, critic_step = np.zeros(4), 0, 0
        for real in batches(data, args.batch, epoch, args.seed):
            if count == per_epoch:
                break
            b = real.shape[0]
            real = real.reshape(-1, packed)
            n = real.shape[0]
            fake = generator(torch.randn(b, nz)).detach().reshape(n, packed)
            real_logits, fake_logits = critic(real).reshape(n), critic(fake).reshape(n)
            real_score, fake_score = real_logits.mean(), fake_logits.mean()
            if gan:
                penalty = torch.zeros(())
                loss_c = F.binary_cross_entropy_with_logits(real_logits, torch.ones(n)) + \
                    F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(n))
            else:
                penalty = gradient_penalty(real, fake)
                loss_c = fake_score - real_score + penalty
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
            critic_step += 1
            if critic_step < critic_steps:
                continue
            critic_step = 0
            g_scores = critic(generator(torch.randn(b, nz)).reshape(n, packed)).reshape(n)
            loss_g = F.binary_cross_entropy_with_logits(g_scores, torch.ones(n)) if gan else -g_scores.mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            step += 1
            count += 1
            sums += [loss_c.item(), loss_g.item(), (real_score - fake_score).item(), penalty.item()]
            if step >= total:
                break
        with torch.no_grad():
            samples = generator(fixed_noise)
        if images:
            png.save_grid(samples.reshape(-1, *example), run.sample_path(epoch + 1), value_range=(-1, 1))
        else:
            png.write_png(run.sample_path(epoch + 1), png.to_bytes(png.scatter_image(samples.numpy())))
        m = sums / count
        run.epoch_row({"epoch": epoch + 1, "step": step, "loss_C": m[0], "loss_G": m[1], "W": m[2], "GP": m[3]})
    if args.save_samples > 0:
        with torch.no_grad():
            run.save_samples(generator(torch.randn(args.save_samples, nz)))


# ---------------------------------------------------------------- command line (examples/common/flags.cpp)

def main():
    programs = {"dcgan": train_dcgan, "mlp_gan": train_mlp_gan, "vae": train_vae, "wgan_gp": train_wgan_gp}
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", choices=programs)
    p.add_argument("--data", default=None, help="fashion-mnist | mnist:DIR | ring8 (default fashion-mnist; wgan_gp: ring8)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--steps", type=int, default=0, help="stop after N training steps in total")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.0, help="0: the program's default")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="out")
    p.add_argument("--save-samples", type=int, default=0)
    p.add_argument("--size", type=int, default=32, choices=(32, 64))
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--limit", type=int, default=0, help="use only the first N examples")
    p.add_argument("--loss", default="wgan-gp", choices=("wgan-gp", "gan"), help="wgan_gp: the standard GAN loss instead")
    p.add_argument("--pack", type=int, default=1, help="wgan_gp: examples the critic judges together (PacGAN)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    if args.data is None:
        args.data = "ring8" if args.program == "wgan_gp" else "fashion-mnist"
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"pytorch {torch.__version__} {args.program}: data {args.data}, limit {args.limit or 'none'}, "
          f"{args.epochs} epochs, batch {args.batch}, {torch.get_num_threads()} threads", flush=True)
    programs[args.program](args)
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
