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

from . import checkpoint, device, plots, readers
from .config import check_dataset, check_seed
from .errors import UserError
from .programs import build_programs


def load_generator(model_dir, place=None):
    """Rebuild the checkpoint's programs and load G's parameters. Returns (exe, programs, scope, config)."""
    config = checkpoint.saved_config(model_dir)
    paddle.enable_static()
    place = place if place is not None else device.make_place()
    programs = build_programs(dict(config, amp="off"))  # only infer runs here, in float32 whatever G trained in
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(place)
    exe.run(programs.startup, scope=scope)
    drawing = [p.name for p in programs.infer.global_block().all_parameters()]  # G's, or G_ema's when it averaged
    checkpoint.load_params(model_dir, scope, place, drawing, prefix="G")
    return exe, programs, scope, config


def sample(exe, programs, scope, z, batch_size=None):
    """G's samples for noise `z`, from the infer program; `batch_size` rows at a time (None: all at once)."""
    step = batch_size or len(z)
    return np.concatenate([exe.run(programs.infer, feed={"z": z[start:start + step]},
                                   fetch_list=programs.fetch["infer"], scope=scope)[0]
                           for start in range(0, len(z), step)])


def write_picture(model_dir, dataset, output_dir=".", place=None, seed=0):
    """The v0 demo's `--model_dir` mode: write `generated_{d}_samples.png` from a saved generator."""
    check_dataset(checkpoint.saved_config(model_dir), dataset, f"{model_dir} is a checkpoint")
    exe, programs, scope, config = load_generator(model_dir, place)
    path = Path(output_dir) / f"generated_{config['dataset']}_samples.png"
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        plots.save_samples(sample(exe, programs, scope, readers.picture_noise(config, seed)), path, "generated")
    except OSError as e:
        raise UserError(f"cannot write {e.filename or path} ({e.strerror}); choose a writable --output_dir") from None
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m paddle_gan.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True, help="a checkpoint folder, e.g. mnist_params/pass-00009")
    parser.add_argument("-n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument("-o", "--out", default="samples.npy", help="numpy file to write (default samples.npy)")
    parser.add_argument("--png", help="also write the samples as a picture (a grid, or a scatter plot for uniform)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    device.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n {args.n}: must be at least 1")
    try:
        check_seed(args.seed)
        exe, programs, scope, config = load_generator(args.model_dir, device.place_from_args(args))
        samples = sample(exe, programs, scope, readers.noise(config, args.n, args.seed), config["batch_size"])
        out = args.out if args.out.endswith(".npy") else args.out + ".npy"  # what np.save writes
        np.save(out, samples)
        print(f"wrote {args.n} samples of shape {samples.shape[1:]} to {out}")
        if args.png:
            plots.save_samples(samples, args.png, f"{Path(args.model_dir).name}: {args.n} samples")
            print(f"wrote {args.png}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # an output path that cannot be written: a missing folder, no permission, a full disk
        print(f"error: cannot write {e.filename or args.out} ({e.strerror}); choose another path", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
