"""Can the uniform toy's G (v0_mlp: 10 -> 10 ReLU -> 10 BN ReLU -> 2) draw U[0,1)^2 at all? Trains that G alone,
without D, in dygraph, on a direct loss: the energy distance between a batch of G's points and a batch of the
square's, plus `--outside` times the mean distance of G's points from the square. If G reaches the issue's targets
this way, what stops a GAN run short is the game with D, not G's size.

    python benchmarks/uniform_capacity.py [--seeds 1 2] [--iters 10000] [--outside 0 10]

Prints the toy's metrics (paddle_gan.metrics.uniform_metrics, 5,000 points, G in eval mode) every fifth of the run.
A benchmark reports; it asserts nothing. Results: benchmarks/RESULTS.md.
"""
import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import paddle.nn.functional as F  # noqa: E402
from paddle.nn.initializer import Constant, Normal  # noqa: E402

from paddle_gan.metrics import uniform_metrics  # noqa: E402

HIDDEN = 10


class ToyGenerator(paddle.nn.Layer):
    """nets.v0_mlp_generator's layers and initialisation, as a dygraph Layer."""

    def __init__(self, noise_dim):
        super().__init__()

        def linear(fan_in, size):
            return paddle.nn.Linear(fan_in, size, paddle.ParamAttr(initializer=Normal(0, 1 / math.sqrt(fan_in))),
                                    paddle.ParamAttr(initializer=Constant(1.0)))
        self.hidden, self.hidden2, self.out = linear(noise_dim, HIDDEN), linear(HIDDEN, HIDDEN), linear(HIDDEN, 2)
        self.bn = paddle.nn.BatchNorm1D(HIDDEN, momentum=0.9, weight_attr=paddle.ParamAttr(initializer=Normal(1, 0.02)),
                                        bias_attr=paddle.ParamAttr(initializer=Constant(1.0)))

    def forward(self, z):
        return self.out(F.relu(self.bn(self.hidden2(F.relu(self.hidden(z))))))


def energy_distance(x, y):
    def mean_distance(a, b):
        return paddle.sqrt(((a[:, None] - b[None]) ** 2).sum(-1) + 1e-12).mean()
    return 2 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)


def fit(seed, iters, outside, batch=256, lr=1e-3, noise_dim=10):
    paddle.seed(seed)
    rng = np.random.default_rng(seed)
    g = ToyGenerator(noise_dim)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(lr, iters)
    adam = paddle.optimizer.Adam(schedule, beta1=0.5, parameters=g.parameters())
    test_z = paddle.to_tensor(np.random.default_rng(99).standard_normal((5000, noise_dim)).astype("float32"))
    for step in range(1, iters + 1):
        points = g(paddle.to_tensor(rng.standard_normal((batch, noise_dim)).astype("float32")))
        square = paddle.to_tensor(rng.random((batch, 2)).astype("float32"))
        distance_out = (F.relu(-points) + F.relu(points - 1)).sum(-1).mean()
        loss = energy_distance(points, square) + outside * distance_out
        loss.backward()
        adam.step()
        adam.clear_grad()
        schedule.step()
        if step % (iters // 5) == 0:
            g.eval()
            with paddle.no_grad():
                m = uniform_metrics(g(test_z).numpy())
            g.train()
            print(f"seed {seed}, outside {outside:g}, step {step}: inside {m['inside']:.4f}, coverage "
                  f"{m['grid_coverage']:.2f}, energy distance {m['energy_distance']:.5f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--iters", type=int, default=10000)
    parser.add_argument("--outside", type=float, nargs="+", default=[0.0, 10.0])
    args = parser.parse_args()
    for outside in args.outside:
        for seed in args.seeds:
            fit(seed, args.iters, outside)


if __name__ == "__main__":
    main()
