"""Train a GAN with Paddle's static graph: `python -m paddle_gan.train -d {uniform,mnist,cifar}`.

The loop of the tutorials: each iteration reads a real batch and a noise batch, asks the schedule which programs
to run (d_fake, d_real, g), and runs them with the Executor. After each pass it draws samples from a fixed noise
batch, writes the loss log, and saves a checkpoint.
"""
import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import paddle

from . import checkpoint, fetch, plots, readers
from .config import DATASETS, ConfigError, conf_path, load_config, parse_override
from .device import DeviceError, make_place
from .generate import load_generator
from .programs import build_programs
from .schedules import make_schedule

LOSS_NAMES = ("d_pos_loss", "d_neg_loss", "d_loss", "g_loss")  # the v0 demo's words
LOSS_COLUMNS = ("pass", "iteration", *LOSS_NAMES, "trained")
LOSS_OF_STEP = {"d_real": "d_pos_loss", "d_fake": "d_neg_loss", "g": "g_loss"}
FIXED_NOISE_SEED_OFFSET = 1000  # the fixed sample noise has its own stream, apart from the training noise


def fixed_noise(config):
    """The noise behind every pass's sample picture: fixed, so pictures from pass to pass are comparable."""
    return picture_noise(config, config["seed"] + FIXED_NOISE_SEED_OFFSET)


def picture_noise(config, seed):
    """Noise for one sample picture: 1,000 points for a scatter plot, 64 for an 8x8 grid."""
    n = 1000 if config["dataset"] == "uniform" else 64
    return next(readers.noise_reader(config["noise"], n, config["noise_dim"], seed)())


def generate(exe, programs, scope, z):
    """Run the infer program on noise `z`; returns the samples as a numpy array."""
    return exe.run(programs.infer, feed={"z": z}, fetch_list=programs.fetch["infer"], scope=scope)[0]


def write_samples(samples, path, pass_id):
    """A scatter plot for 2-D points (with the mean and std in the log), an 8x8 grid for images."""
    if samples.ndim == 2:
        mean, std = samples.mean(axis=0), samples.std(axis=0)
        print(f"Pass {pass_id}: samples mean {np.round(mean.astype(float), 3).tolist()}, std {np.round(std.astype(float), 3).tolist()} "
              f"(U[0,1)^2: mean [0.5, 0.5], std [0.289, 0.289])", flush=True)
        plots.save_scatter(samples, path, f"pass {pass_id}")
    else:
        plots.save_image_grid(samples, path)


def train(config, output_dir=".", place=None):
    """Train per `config`, writing samples, losses and checkpoints under `output_dir`. Returns (exe, programs, scope)."""
    paddle.enable_static()
    place = place if place is not None else make_place()
    output_dir = Path(output_dir)
    samples_dir, params_dir = output_dir / config["samples_dir"], output_dir / config["params_dir"]
    samples_dir.mkdir(parents=True, exist_ok=True)
    params_dir.mkdir(parents=True, exist_ok=True)

    real_batches = readers.forever(readers.real_reader(config))  # reads the data first: a missing file fails now
    noise_batches = readers.noise_reader(config["noise"], config["batch_size"], config["noise_dim"],
                                         config["seed"] + 2)()
    test_z = fixed_noise(config)

    paddle.seed(config["seed"])
    programs = build_programs(config)
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(place)
    exe.run(programs.startup, scope=scope)
    schedule = make_schedule(config)

    def run(name, feed):
        return [float(v) for v in exe.run(getattr(programs, name), feed=feed, fetch_list=programs.fetch[name],
                                          scope=scope)]

    history = {"iteration": [], "d_loss": [], "g_loss": []}
    started = time.perf_counter()
    with open(samples_dir / "losses.csv", "w", newline="") as log:
        writer = csv.writer(log)
        writer.writerow(LOSS_COLUMNS)
        for pass_id in range(config["num_passes"]):
            for batch_id in range(config["iters_per_pass"]):
                img, z = next(real_batches), next(noise_batches)
                loss = dict.fromkeys(("d_pos_loss", "d_neg_loss", "g_loss"), float("nan"))
                if schedule.needs_losses:  # strike: forward passes on this batch decide who trains
                    loss["d_pos_loss"], loss["d_neg_loss"], loss["g_loss"] = run("losses", {"img": img, "z": z})
                steps = schedule.steps((loss["d_pos_loss"] + loss["d_neg_loss"]) / 2, loss["g_loss"])
                for step in steps:
                    step_loss = run(step, {"img": img} if step == "d_real" else {"z": z})[0]
                    if not schedule.needs_losses:  # strike logs the losses it decided on
                        loss[LOSS_OF_STEP[step]] = step_loss
                loss["d_loss"] = (loss["d_pos_loss"] + loss["d_neg_loss"]) / 2
                trained = "".join(sorted({"D" if step.startswith("d_") else "G" for step in steps}))

                iteration = pass_id * config["iters_per_pass"] + batch_id
                writer.writerow([pass_id, batch_id, *(_fmt(loss[k]) for k in LOSS_NAMES), trained])
                history["iteration"].append(iteration)
                history["d_loss"].append(loss["d_loss"])
                history["g_loss"].append(loss["g_loss"])
                if batch_id % config["log_every"] == 0:
                    seconds = (time.perf_counter() - started) / (iteration + 1)
                    print(f"Pass {pass_id}, Batch {batch_id}: " + ", ".join(f"{k} {loss[k]:.4f}" for k in LOSS_NAMES)
                          + f", trained {trained} ({seconds:.3f} s/iter)", flush=True)

            log.flush()
            write_samples(generate(exe, programs, scope, test_z), samples_dir / f"train_pass{pass_id}.png", pass_id)
            plots.save_loss_curve(history["iteration"], history["d_loss"], history["g_loss"],
                                  samples_dir / "loss.png")
            checkpoint.save(checkpoint.pass_dir(params_dir, pass_id), scope, programs, config)
    return exe, programs, scope


def _fmt(value):
    return "" if np.isnan(value) else f"{value:.6f}"


def generate_only(model_dir, output_dir=".", place=None, seed=0):
    """The v0 book's `--model_dir` mode: write `generated_{d}_samples.png` from a saved generator."""
    exe, programs, scope, config = load_generator(model_dir, place)
    z = picture_noise(config, seed)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    path = Path(output_dir) / f"generated_{config['dataset']}_samples.png"
    write_samples(generate(exe, programs, scope, z), path, pass_id="generated")
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m paddle_gan.train", description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--dataset", required=True, choices=DATASETS, help="which data set to train on")
    parser.add_argument("--conf", help="config file (default: conf/{dataset}.toml)")
    parser.add_argument("--use_gpu", "--useGpu", type=int, choices=(0, 1), default=None,
                        help="1: CUDAPlace, 0: CPUPlace (default: GPU when Paddle has CUDA and sees a device)")
    parser.add_argument("--gpu_id", type=int, default=0, help="which GPU, with --use_gpu 1")
    for flag, kind in (("num_passes", int), ("iters_per_pass", int), ("batch_size", int), ("lr", float),
                       ("beta1", float), ("noise_dim", int), ("seed", int)):
        parser.add_argument(f"--{flag}", type=kind, help="override the config's " + flag)
    parser.add_argument("--schedule", choices=("strike", "alternate", "kstep"), help="who trains next")
    parser.add_argument("--output_dir", default=".", help="where {d}_samples/ and {d}_params/ go (default: .)")
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set any config key, e.g. -o d_batch_norm=false (repeatable)")
    parser.add_argument("--model_dir", help="generate only: write generated_{d}_samples.png from this checkpoint")
    parser.add_argument("--no_download", action="store_true", help="fail instead of fetching a missing data set")
    return parser.parse_args(argv)


def config_from_args(args):
    """The config file for args.dataset (or --conf) with the command line's values on top."""
    overrides = dict(parse_override(text) for text in args.overrides)
    for key in ("num_passes", "iters_per_pass", "batch_size", "lr", "beta1", "noise_dim", "seed", "schedule"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    config = load_config(args.conf or conf_path(args.dataset), overrides)
    if config["dataset"] != args.dataset:
        raise ConfigError(f"{args.conf} is a config for dataset={config['dataset']}, but -d {args.dataset} was given")
    return config


def main(argv=None):
    args = parse_args(argv)
    try:
        place = make_place(None if args.use_gpu is None else bool(args.use_gpu), args.gpu_id)
        if args.model_dir:
            print(f"wrote {generate_only(args.model_dir, args.output_dir, place)}")
            return 0
        config = config_from_args(args)
        if not args.no_download:
            fetch.fetch_missing(config)  # what data/get_{d}_data.sh does, when the reader's files are absent
        train(config, args.output_dir, place)
    except (ConfigError, DeviceError, readers.DataError, checkpoint.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
