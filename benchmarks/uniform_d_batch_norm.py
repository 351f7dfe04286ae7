"""Which settings let the uniform toy's G find the square? Trains the v0 toy (conf/uniform.toml) under each variant
(a comma-separated list of config overrides) for several seeds, and prints the energy distance between 1,000
generated points and U[0,1)^2 after every pass.

    python benchmarks/uniform_d_batch_norm.py [--seeds 1 2 3 7] [--passes 8] [--iters 500] \
        [--variants d_batch_norm=true d_batch_norm=false,schedule=alternate]

A benchmark reports; it asserts nothing. Results: benchmarks/RESULTS.md.
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from paddle_gan import checkpoint  # noqa: E402
from paddle_gan.config import conf_path, load_config, parse_override  # noqa: E402
from paddle_gan.generate import load_generator, sample  # noqa: E402
from paddle_gan.readers import picture_noise  # noqa: E402
from paddle_gan.train import train  # noqa: E402


def energy_distance(x, y):
    def mean_dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).mean()
    return 2 * mean_dist(x, y) - mean_dist(x, x) - mean_dist(y, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 7])
    parser.add_argument("--passes", type=int, default=8)
    parser.add_argument("--iters", type=int, default=500)
    parser.add_argument("--variants", nargs="+", default=["d_batch_norm=true", "d_batch_norm=false"])
    args = parser.parse_args()
    square = np.random.default_rng(0).random((1000, 2))
    for variant in args.variants:
        overrides = dict(parse_override(text) for text in variant.split(","))
        for seed in args.seeds:
            config = load_config(conf_path("uniform"), {
                **overrides, "seed": seed, "num_passes": args.passes, "iters_per_pass": args.iters,
                "num_samples": 100_000, "log_every": 10 ** 9})
            with tempfile.TemporaryDirectory() as out:
                train(config, out)
                distances = []
                for pass_id in range(args.passes):
                    exe, programs, scope, _ = load_generator(checkpoint.pass_dir(Path(out) / "uniform_params", pass_id))
                    distances.append(round(float(energy_distance(sample(exe, programs, scope, picture_noise(config)),
                                                                  square)), 3))
            print(json.dumps({"variant": variant, "seed": seed, "iters_per_pass": args.iters,
                              "energy_distance_per_pass": distances}), flush=True)


if __name__ == "__main__":
    main()
