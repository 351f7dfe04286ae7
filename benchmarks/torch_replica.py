"""A PyTorch replica of paddle_gan's MNIST recipe, trained on the same data, for a per-iteration comparison.

    python benchmarks/torch_replica.py --out DIR [--iters 5000] [--every 1000] [--seed 1] [--d_update sum|two]
                                       [--lr 1.6e-3] [--g_steps 2] [--batch_size 32] [--threads 1]

Benchmark-only: it needs PyTorch (`pip install torch`); the package and its tests never do. It writes, every
`--every` iterations, DIR/samples-iterNNNNNN.npy (10,000 samples of the averaged generator, in [-1, 1], shape
(N, 1, 28, 28)) and appends to DIR/replica.json the iteration and the seconds of training so far.
benchmarks/per_iteration.py scores those files with paddle_gan.evaluate, beside paddle_gan's own checkpoints.

What it copies from paddle_gan (conf/mnist.toml, nets.py, ema.py, readers.py):
- the v0 image DCGAN, weights N(0, 0.02), biases 0, batch-norm scales N(1, 0.02), moving statistics moved 10% a
  step (Paddle's momentum 0.9), epsilon 1e-5;
- MNIST's 60,000 training images scaled to [-1, 1], reshuffled every epoch; noise N(0, 1) of 100 dimensions;
- kstep 1:2: one iteration trains D, the next two train G, each with fresh noise; Adam (lr, beta1 0.5);
- G_ema: decay min(0.999, (1 + n) / (10 + n)) after every G step; before each set of samples its batch-norm
  statistics are computed afresh, for its own weights, on 2,000 noise rows.
`--d_update sum` (PyTorch's DCGAN example): a D iteration is one Adam step on the summed loss of the fake and the
real batch; `two`: d_fake's step, then d_real's, each an Adam step of its own (paddle_gan's tutorial programs).
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent


def read_mnist(data_dir):
    raw = (Path(data_dir) / "train-images-idx3-ubyte").read_bytes()
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return images.astype(np.float32) * (2.0 / 255.0) - 1.0


def bn_relu(features, dim):
    norm = nn.BatchNorm2d(features, momentum=0.1) if dim == 2 else nn.BatchNorm1d(features, momentum=0.1)
    return [norm, nn.ReLU()]


def networks():
    """nets.v0_dcgan_generator and v0_dcgan_discriminator at 28x28x1."""
    g = nn.Sequential(
        nn.Linear(100, 3 * 3 * 256), *bn_relu(3 * 3 * 256, 1), nn.Unflatten(1, (256, 3, 3)),
        nn.ConvTranspose2d(256, 128, 5, 2, 1), *bn_relu(128, 2),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), *bn_relu(64, 2),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.ReLU(),
        nn.Conv2d(64, 128, 4, 2, 1), *bn_relu(128, 2),
        nn.Conv2d(128, 256, 5, 2, 1), *bn_relu(256, 2),
        nn.Flatten(), nn.Linear(256 * 3 * 3, 1))
    for net in (g, d):
        for layer in net.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(layer.weight, 0.0, 0.02)
                nn.init.zeros_(layer.bias)
            elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
                nn.init.normal_(layer.weight, 1.0, 0.02)
                nn.init.zeros_(layer.bias)
    return g, d


@torch.no_grad()
def average_into(g_ema, g, updates, decay):
    rate = min(decay, (1 + updates) / (10 + updates))
    for averaged, current in zip(g_ema.parameters(), g.parameters()):
        averaged.mul_(rate).add_(current, alpha=1 - rate)


@torch.no_grad()
def samples_of(g_ema, noise, statistics_noise, batch_size):
    """G_ema's samples for `noise`, with batch-norm statistics recomputed for its weights on `statistics_noise`."""
    norms = [m for m in g_ema.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the batches that follow
    g_ema.train()
    for start in range(0, len(statistics_noise), batch_size):
        g_ema(statistics_noise[start:start + batch_size])
    g_ema.eval()
    out = torch.cat([g_ema(noise[start:start + 500]) for start in range(0, len(noise), 500)])
    for norm in norms:
        norm.momentum = 0.1
    return out.numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--iters", type=int, default=5000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--d_update", choices=("sum", "two"), default="sum")
    parser.add_argument("--lr", type=float, default=1.6e-3)
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--d_steps", type=int, default=1)
    parser.add_argument("--g_steps", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--ema_decay", type=float, default=0.999)
    parser.add_argument("-n", type=int, default=10000, help="samples per checkpoint")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data_dir", default=str(ROOT / "data" / "mnist_data"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = read_mnist(args.data_dir)
    g, d = networks()
    g_ema, _ = networks()
    g_ema.load_state_dict(g.state_dict())
    opt_g = torch.optim.Adam(g.parameters(), args.lr, betas=(args.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), args.lr, betas=(args.beta1, 0.999))
    bce = nn.BCEWithLogitsLoss()
    batch = args.batch_size
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    evaluation_noise = torch.from_numpy(np.random.default_rng(0).standard_normal((args.n, 100)).astype(np.float32))
    statistics_noise = torch.from_numpy(np.random.default_rng(1).standard_normal((2000, 100)).astype(np.float32))

    def real_batches():
        while True:
            order = rng.permutation(len(images))
            for start in range(0, len(order) - batch + 1, batch):
                yield torch.from_numpy(images[order[start:start + batch]])

    def step(optimizer, loss):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    reals, updates, trained, log = real_batches(), 0, 0.0, []
    records = []
    started = time.perf_counter()
    for iteration in range(1, args.iters + 1):
        real = next(reals)
        z = torch.randn(batch, 100)
        if (iteration - 1) % (args.d_steps + args.g_steps) < args.d_steps:
            fake = g(z).detach()
            if args.d_update == "sum":
                d_fake, d_real = bce(d(fake), zeros), bce(d(real), ones)
                step(opt_d, d_fake + d_real)
            else:
                d_fake = bce(d(fake), zeros)
                step(opt_d, d_fake)
                d_real = bce(d(real), ones)
                step(opt_d, d_real)
            log.append((iteration, "D", (d_fake.item() + d_real.item()) / 2))
        else:
            g_loss = bce(d(g(z)), ones)
            step(opt_g, g_loss)
            average_into(g_ema, g, updates, args.ema_decay)
            updates += 1
            log.append((iteration, "G", g_loss.item()))
        if iteration % args.every == 0:
            trained += time.perf_counter() - started
            samples = samples_of(g_ema, evaluation_noise, statistics_noise, batch)
            np.save(out / f"samples-iter{iteration:06d}.npy", samples)
            recent = log[-args.every:]
            d_mean = float(np.mean([v for _, who, v in recent if who == "D"]))
            g_mean = float(np.mean([v for _, who, v in recent if who == "G"]))
            records.append({"iteration": iteration, "seconds": round(trained, 1), "d_loss": round(d_mean, 4),
                            "g_loss": round(g_mean, 4)})
            (out / "replica.json").write_text(json.dumps({"args": vars(args), "torch": torch.__version__,
                                                           "points": records}, indent=1))
            print(json.dumps(records[-1]), flush=True)
            started = time.perf_counter()


if __name__ == "__main__":
    main()
