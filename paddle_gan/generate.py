"""Draw samples from a saved generator:
`python -m paddle_gan.generate --model_dir mnist_params/pass-00009 -n 1000 -o samples.npy [--png grid.png]`.

Writes a numpy array: shape (N, 2) in data coordinates for uniform, (N, 1) for gaussian, (N, C, H, W) in [-1, 1]
for images. The same `--seed` gives the same samples: the infer program uses batch norm's moving statistics, so a
sample depends only on its noise vector (and its class).

A conditional generator draws the classes `--label` names (`--label 7`, `--label 3 --label 7` or `--label 3,7`: the
N samples shared out in that order), or every class in turn without it; it also writes the samples' classes
beside them, as `{out}_labels.npy`.
"""
import sys
from pathlib import Path

import numpy as np
import paddle

from . import checkpoint, cli, device, plots, readers
from .config import NUM_CLASSES, check_dataset, check_seed, gaussian_target
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


def sample(exe, programs, scope, z, batch_size=None, labels=None):
    """G's samples for noise `z` (and class ids `labels`, one per row, for a conditional generator), from the infer
    program; `batch_size` rows at a time (None: all at once)."""
    step = batch_size or len(z)
    feed = {"z": z} if labels is None else {"z": z, "label": np.asarray(labels, np.int64)}
    return np.concatenate([exe.run(programs.infer, feed={name: value[start:start + step] for name, value in feed.items()},
                                   fetch_list=programs.fetch["infer"], scope=scope)[0]
                           for start in range(0, len(z), step)])


def labels_to_draw(config, chosen, n):
    """The class of each of `n` samples: the `chosen` classes (a list of ints, or None for all of them) in that
    order, in equal blocks; None for a generator without classes (then `chosen` must be None)."""
    if not config["conditional"]:
        if chosen:
            raise UserError("--label: this generator was trained without labels (not conditional); drop --label")
        return None
    chosen = chosen or list(range(NUM_CLASSES))
    wrong = [k for k in chosen if not 0 <= k < NUM_CLASSES]
    if wrong:
        raise UserError(f"--label {wrong[0]}: a class is a whole number from 0 to {NUM_CLASSES - 1}")
    return np.asarray(chosen, np.int64)[np.arange(n) * len(chosen) // n]


def parse_labels(values):
    """--label's values ("7", "3,7", repeated) -> a list of ints, or None when not given."""
    if not values:
        return None
    try:
        return [int(part) for value in values for part in value.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--label {' '.join(values)}: expected class numbers such as 7 or 3,7") from None


def write_picture(model_dir, dataset, output_dir=".", place=None, seed=0):
    """The v0 demo's `--model_dir` mode: write `generated_{d}_samples.png` from a saved generator."""
    check_dataset(checkpoint.saved_config(model_dir), dataset, f"{model_dir} is a checkpoint")
    exe, programs, scope, config = load_generator(model_dir, place)
    path = Path(output_dir) / f"generated_{config['dataset']}_samples.png"
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        samples = sample(exe, programs, scope, readers.picture_noise(config, seed), labels=readers.picture_labels(config))
        plots.save_samples(samples, path, "generated", normal=gaussian_target(config))
    except OSError as e:
        raise UserError(f"cannot write {e.filename or path} ({e.strerror}); choose a writable --output_dir") from None
    return path


PICTURE_TYPES = (".png", ".jpg", ".jpeg", ".pdf", ".svg")  # what plots.save_samples (matplotlib) can write


def check_output_names(out, png):
    """Refuse an empty output name, or a picture name whose extension names no picture type."""
    if not out.strip() or Path(out).name in ("", ".npy"):
        raise UserError(f"-o {out!r}: name the numpy file to write, e.g. -o samples.npy")
    if Path(out).is_dir():
        raise UserError(f"-o {out}: is a folder; name a file in it, e.g. -o {Path(out) / 'samples.npy'}")
    if png is not None and Path(png).is_dir():
        raise UserError(f"--png {png}: is a folder; name a file in it, e.g. --png {Path(png) / 'samples.png'}")
    if png is not None and Path(png).suffix.lower() not in PICTURE_TYPES:
        raise UserError(f"--png {png!r}: end the name with one of {', '.join(PICTURE_TYPES)}, e.g. samples.png")


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m paddle_gan.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True, help="a checkpoint folder, e.g. mnist_params/pass-00009")
    parser.add_argument("-n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument("-o", "--out", default="samples.npy", help="numpy file to write (default samples.npy)")
    parser.add_argument("--png", help="also write the samples as a picture (a grid; for a toy, its plot)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--label", action="append", metavar="K", help="conditional generators: draw class K "
                        "(repeatable, or a list such as 3,7; default: every class in turn)")
    device.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"-n {args.n}: must be at least 1")

    def job():
        check_seed(args.seed)
        check_output_names(args.out, args.png)  # before anything is written
        chosen = parse_labels(args.label)
        exe, programs, scope, config = load_generator(args.model_dir, device.place_from_args(args))
        labels = labels_to_draw(config, chosen, args.n)
        samples = sample(exe, programs, scope, readers.noise(config, args.n, args.seed), config["batch_size"], labels)
        out = args.out if args.out.endswith(".npy") else args.out + ".npy"  # what np.save writes
        np.save(out, samples)
        print(f"wrote {args.n} samples of shape {samples.shape[1:]} to {out}")
        if labels is not None:
            labels_out = out[:-len(".npy")] + "_labels.npy"
            np.save(labels_out, labels)
            print(f"wrote their classes to {labels_out}")
        if args.png:
            plots.save_samples(samples, args.png, f"{Path(args.model_dir).name}: {args.n} samples",
                               normal=gaussian_target(config))
            print(f"wrote {args.png}")
    return cli.run(job, smaller="ask for fewer samples (-n)")


if __name__ == "__main__":
    sys.exit(main())
