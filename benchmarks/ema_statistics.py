"""G_ema's batch-norm statistics: its own (kept during training) against statistics recomputed for its weights.

    python benchmarks/ema_statistics.py CHECKPOINT [CHECKPOINT ...] [-n 10000] [--rows 2000]

During training G_ema keeps its own moving statistics, from 8 rows of every g step's noise moved 1% a step
(paddle_gan/ema.py). The PyTorch replica instead recomputes them before each score: G_ema forward in training mode
on 2,000 fresh noise rows. This scores each checkpoint of an averaging MNIST run both ways with paddle_gan.evaluate
(the same evaluation noise), so the two ways of keeping the statistics can be told apart without training again.
A benchmark reports; it asserts nothing.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paddle_gan  # noqa: E402,F401  first: it sets Paddle's environment before Paddle loads
import paddle  # noqa: E402

from paddle_gan import checkpoint, ema, evaluate, nets, readers  # noqa: E402
from paddle_gan.generate import load_generator, sample  # noqa: E402


def recompute_statistics(exe, scope, config, rows, seed=0):
    """Set G_ema's moving statistics in `scope` to those of one forward pass in training mode on `rows` noise rows
    (batch norm with momentum 0 keeps exactly the batch's)."""
    program, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(program, startup):  # startup is never run: the weights are the checkpoint's
        z = paddle.static.data("z", [None, config["noise_dim"]], "float32")
        nets.generator(config, z, training=True, net=ema.NET, bn_momentum=0.0)
    noise = np.random.default_rng(seed).standard_normal((rows, config["noise_dim"])).astype(np.float32)
    exe.run(program, feed={"z": noise}, fetch_list=[], scope=scope)


def score(exe, programs, scope, config, n):
    samples = sample(exe, programs, scope, readers.evaluation_noise(config, n), config["batch_size"])
    return evaluate.evaluate_samples(config["dataset"], samples, config["data_dir"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint folders of an MNIST run with ema_decay > 0")
    parser.add_argument("-n", type=int, default=10000, help="samples per score (default 10000)")
    parser.add_argument("--rows", type=int, default=2000, help="noise rows for the recomputed statistics")
    args = parser.parse_args(argv)
    for folder in map(Path, args.checkpoints):
        saved = checkpoint.saved_config(folder)
        if saved["ema_decay"] == 0 or saved["conditional"]:  # refused before a generator is built
            raise SystemExit(f"{folder}: not an averaging, unconditional run")
        exe, programs, scope, config = load_generator(folder)
        own = score(exe, programs, scope, config, args.n)
        recompute_statistics(exe, scope, config, args.rows)
        recomputed = score(exe, programs, scope, config, args.n)
        iteration = checkpoint.read_meta(folder)["iteration"]
        print(f"{folder} (iteration {iteration}):\n  own statistics:        {evaluate.summary_line(own)}\n"
              f"  recomputed ({args.rows} rows): {evaluate.summary_line(recomputed)}", flush=True)


if __name__ == "__main__":
    main()
