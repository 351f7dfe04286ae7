"""Draw samples from a saved generator:
`python -m paddle_gan.generate --model_dir mnist_params/pass-00009 -n 1000 -o samples.npy [--png grid.png]`.

Writes a numpy array: shape (N, 2) in data coordinates for uniform, (N, C, H, W) in [-1, 1] for images. The same
`--seed` gives the same samples: the infer program uses batch norm's moving statistics, so a sample depends only
on its noise vector.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import paddle

from . import checkpoint, plots, readers
from .config import ConfigError
from .device import DeviceError, make_place
from .programs import build_programs


def load_generator(model_dir, place=None):
    """Rebuild the checkpoint's programs and load G's parameters. Returns (exe, programs, scope, config)."""
    config = checkpoint.load_config(model_dir)
    paddle.enable_static()
    place = place if place is not None else make_place()
    programs = build_programs(dict(config, amp="off"))  # only infer runs here, in float32 whatever G trained in
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(place)
    exe.run(programs.startup, scope=scope)
    checkpoint.load_params(model_dir, scope, place, prefix="G.")
    return exe, programs, scope, config


def sample(exe, programs, scope, config, n, seed):
    """`n` samples from noise seeded with `seed`, drawn in batches of the config's batch size."""
    noise = readers.NoiseBatches(config["noise"], config["batch_size"], config["noise_dim"], seed)
    chunks, drawn = [], 0
    while drawn < n:
        z = next(noise)[: n - drawn]
        chunks.append(exe.run(programs.infer, feed={"z": z}, fetch_list=programs.fetch["infer"], scope=scope)[0])
        drawn += len(z)
    return np.concatenate(chunks)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m paddle_gan.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True, help="a checkpoint folder, e.g. mnist_params/pass-00009")
    parser.add_argument("-n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument("-o", "--out", default="samples.npy", help="numpy file to write (default samples.npy)")
    parser.add_argument("--png", help="also write the samples as a picture (a grid, or a scatter plot for uniform)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--use_gpu", "--useGpu", type=int, choices=(0, 1), default=None)
    parser.add_argument("--gpu_id", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n {args.n}: must be at least 1")
    try:
        place = make_place(None if args.use_gpu is None else bool(args.use_gpu), args.gpu_id)
        exe, programs, scope, config = load_generator(args.model_dir, place)
        samples = sample(exe, programs, scope, config, args.n, args.seed)
    except (ConfigError, DeviceError, checkpoint.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    np.save(args.out, samples)
    print(f"wrote {args.n} samples of shape {samples.shape[1:]} to {args.out}")
    if args.png:
        if samples.ndim == 2:
            plots.save_scatter(samples, args.png, f"{Path(args.model_dir).name}: {args.n} samples")
        else:
            plots.save_image_grid(samples, args.png)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
