"""Train a GAN with Paddle's static graph: `python -m paddle_gan.train -d {uniform,mnist,cifar}`.

The loop of the tutorials: each iteration reads a real batch and a noise batch, asks the schedule which programs
to run (d_fake, d_real, g), and runs them with the Executor. After each pass it draws samples from a fixed noise
batch, writes the loss log, and saves a checkpoint; with `--eval_every_pass` it also scores samples with
paddle_gan.evaluate (FID, IS, modes... in metrics.csv and metrics.png). Progress shows as a bar on a terminal or in a notebook, as a
line every `log_every` iterations otherwise (progress.py); `--visualdl DIR` also logs for VisualDL.

Nothing is lost: `--resume` continues from a checkpoint exactly as if the run had never stopped; Ctrl-C or SIGTERM
finish the iteration, write a checkpoint and exit (130, 143); a loss that is NaN or inf stops the run (exit 3)
before it can overwrite a good checkpoint.

On a GPU the loop takes the GPU path (device.gpu_path): with the alternate and kstep schedules the noise is drawn
inside the programs and the losses come back to the host every 10 iterations; `--amp fp16` or `bf16` trains in
mixed precision (amp.py).

Several processes train as one under `python -m paddle.distributed.launch --nproc_per_node N python -m
paddle_gan.train ...`, each on its share of every batch (parallel.py); rank 0 writes the outputs.
"""
import argparse
import contextlib
import csv
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import paddle

from . import checkpoint, evaluate, fetch, parallel, plots, readers
from .config import DATASETS, ConfigError, conf_path, load_config, parse_override, updated
from .device import DeviceError, gpu_path, make_place
from .generate import load_generator, sample
from .progress import LOSS_NAMES, PassProgress
from .programs import build_programs
from .schedules import make_schedule
from .visualdl_log import VisualDLLog

LOSS_COLUMNS = ("pass", "iteration", *LOSS_NAMES, "trained")
LOSS_OF_STEP = {"d_real": "d_pos_loss", "d_fake": "d_neg_loss", "g": "g_loss"}
FIXED_NOISE_SEED_OFFSET = 1000  # the fixed sample noise has its own stream, apart from the training noise
EVAL_NOISE_SEED_OFFSET = 2000   # so has the noise of the per-pass evaluation: every pass is scored on the same z


def fixed_noise(config):
    """The noise behind every pass's sample picture: fixed, so pictures from pass to pass are comparable."""
    return picture_noise(config, config["seed"] + FIXED_NOISE_SEED_OFFSET)


def picture_noise(config, seed):
    """Noise for one sample picture: 1,000 points for a scatter plot, 64 for an 8x8 grid."""
    n = 1000 if config["dataset"] == "uniform" else 64
    return next(readers.NoiseBatches(config["noise"], n, config["noise_dim"], seed))


def generate(exe, programs, scope, z):
    """Run the infer program on noise `z`; returns the samples as a numpy array."""
    return exe.run(programs.infer, feed={"z": z}, fetch_list=programs.fetch["infer"], scope=scope)[0]


def train_step(exe, programs, scope, schedule, img, z, fetch_losses=True):
    """One iteration: ask `schedule` who trains on this real batch `img` and noise batch `z` (None: the programs
    draw it), run those programs. `fetch_losses`: bring the losses back to the host (False: leave them on the
    device).
    Returns (losses: LOSS_NAMES -> float, nan where not computed or not fetched; "D", "G" or "DG": who was trained)."""
    def run(name, feed):
        if not fetch_losses:  # an empty fetch list spares the host the wait for a GPU (no schedule needs them)
            exe.run(getattr(programs, name), feed=feed, fetch_list=[], scope=scope)
            return [float("nan")] * len(programs.fetch[name])
        values = [float(v) for v in exe.run(getattr(programs, name), feed=feed, fetch_list=programs.fetch[name],
                                            scope=scope)]
        # Over all processes: the strike rule then decides alike everywhere, and a NaN on one rank stops all.
        values = parallel.agree(exe, programs, scope, "mean", values)
        if not all(np.isfinite(values)):
            raise Diverged(f"{name} returned loss {values}")
        return values

    loss = dict.fromkeys(("d_pos_loss", "d_neg_loss", "g_loss"), float("nan"))
    if schedule.needs_losses:  # strike: forward passes on this batch decide who trains
        loss["d_pos_loss"], loss["d_neg_loss"], loss["g_loss"] = run("losses", {"img": img, "z": z})
    steps = schedule.steps((loss["d_pos_loss"] + loss["d_neg_loss"]) / 2, loss["g_loss"])
    for step in steps:
        step_loss = run(step, {"img": img} if step == "d_real" else {} if z is None else {"z": z})[0]
        if not schedule.needs_losses:  # strike logs the losses it decided on
            loss[LOSS_OF_STEP[step]] = step_loss
    loss["d_loss"] = (loss["d_pos_loss"] + loss["d_neg_loss"]) / 2
    return loss, "".join(sorted({"D" if step.startswith("d_") else "G" for step in steps}))


def d_outputs(exe, programs, scope, img, z):
    """D's mean probabilities (D(x), D(G(z))) on a real batch and a noise batch, batch norm in eval mode."""
    return [float(v) for v in exe.run(programs.losses, feed={"img": img, "z": z},
                                      fetch_list=programs.fetch["d_outputs"], scope=scope)]


def learning_rates(scope):
    """{"G": rate, "D": rate}: what each Adam will use now (read from its state, so a --lr set on resume shows)."""
    # programs._adam builds each network's optimizers under the unique_name prefix "G.opt." or "D.opt."
    return {net: float(np.array(scope.find_var(f"{net}.opt.learning_rate_0").get_tensor()).item()) for net in "GD"}


def write_samples(samples, path, pass_id):
    """A scatter plot for 2-D points (with the mean and std in the log), an 8x8 grid for images."""
    if samples.ndim == 2:
        mean, std = samples.mean(axis=0), samples.std(axis=0)
        print(f"Pass {pass_id}: samples mean {np.round(mean.astype(float), 3).tolist()}, std {np.round(std.astype(float), 3).tolist()} "
              f"(U[0,1)^2: mean [0.5, 0.5], std [0.289, 0.289])", flush=True)
        plots.save_scatter(samples, path, f"pass {pass_id}")
    else:
        plots.save_image_grid(samples, path)


class OutputError(RuntimeError):
    """The output folders cannot be written, or hold an earlier run that a fresh start would overwrite."""


class Diverged(RuntimeError):
    """A loss came back NaN or inf: training cannot go on from here."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run after a checkpoint was written."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum


def prepare_output(config, output_dir, resuming):
    """Check before any work that the output folders can be written and that a fresh run overwrites nothing."""
    folders = Path(output_dir) / config["samples_dir"], Path(output_dir) / config["params_dir"]
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as e:
            raise OutputError(f"cannot write to {folder} ({e.strerror}); choose a writable --output_dir") from None
    params_dir = folders[1]
    for name in checkpoint.remove_unfinished(params_dir):
        print(f"removed {params_dir / name}, a checkpoint whose writing was cut off", flush=True)
    newest = checkpoint.latest(params_dir)
    if newest and not resuming:
        raise OutputError(f"{params_dir} holds checkpoints of an earlier run (newest {newest.name}); continue it "
                          f"with --resume, or move {params_dir} away to start afresh")
    return folders


@contextlib.contextmanager
def stop_after_this_iteration():
    """While training, Ctrl-C and SIGTERM ask the loop to stop after the iteration it is in (a second Ctrl-C stops at
    once). Yields the list of signals received."""
    received = []

    def note(signum, frame):
        if received and signum == signal.SIGINT:  # not SIGTERM: paddle.distributed.launch sends it up to 3 times
            raise KeyboardInterrupt
        received.append(signum)  # no printing here: the handler may interrupt a print in progress

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return
    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def restart_loss_log(path, rows_kept):
    """The loss log of a resumed run: its first `rows_kept` rows, rewritten so later rows of the lost run go."""
    rows = []
    if path.is_file():
        with open(path, newline="") as f:
            rows = list(csv.reader(f))[1:rows_kept + 1]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([LOSS_COLUMNS, *rows])
    os.replace(tmp, path)
    return {"iteration": list(range(len(rows))),
            "d_loss": [float(r[4] or "nan") for r in rows], "g_loss": [float(r[5] or "nan") for r in rows]}


def restart_metrics_log(path, iterations_done):
    """The per-pass metrics of a resumed run: the rows of passes it finished before `iterations_done`."""
    rows = []
    if path.is_file():
        with open(path, newline="") as f:
            rows = [row for row in csv.DictReader(f) if int(row["iteration"]) <= iterations_done]
    if rows:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    elif path.exists():
        path.unlink()
    return [{k: float(v) for k, v in row.items()} for row in rows]


def evaluate_pass(exe, programs, scope, config, n, pass_id, iteration, metrics_rows, samples_dir):
    """Score `n` samples of the generator as it is now (always the same noise), append the scores to
    metrics.csv and redraw metrics.png."""
    samples = sample(exe, programs, scope, config, n, config["seed"] + EVAL_NOISE_SEED_OFFSET)
    metrics = evaluate.evaluate_samples(config["dataset"], samples, config["data_dir"])
    row = {"pass": pass_id, "iteration": iteration, **{k: metrics[k] for k in evaluate.SUMMARY[config["dataset"]]}}
    path = samples_dir / "metrics.csv"
    new_file = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new_file:
            writer.writeheader()
        writer.writerow(row)
    metrics_rows.append(row)
    plots.save_metrics_plot([r["iteration"] for r in metrics_rows], metrics_rows, "iteration",
                            samples_dir / "metrics.png")
    print(f"Pass {pass_id}: {evaluate.summary_line(metrics)} ({n} samples)", flush=True)
    return row


def train(config, output_dir=".", place=None, resume=None, visualdl=None, eval_samples=0):
    """Train per `config`, writing samples, losses and checkpoints under `output_dir`; `resume`: a checkpoint
    folder to continue from; `visualdl`: a folder for VisualDL's logs; `eval_samples`: if not 0, score that many
    samples after every pass (paddle_gan.evaluate). Returns (exe, programs, scope)."""
    place = place if place is not None else make_place()
    noise_in_graph, fetch_every = gpu_path(config, place)
    parallel.connect(config, place)  # with several processes: before static mode (parallel.py)
    paddle.enable_static()
    writes = parallel.rank() == 0  # with several processes, rank 0 alone writes samples, logs and checkpoints
    dashboard = VisualDLLog(visualdl) if visualdl and writes else None  # first: a missing VisualDL fails now
    if eval_samples and config["dataset"] not in evaluate.DATASETS:
        raise ConfigError(f"--eval_every_pass: paddle_gan.evaluate has no metrics for {config['dataset']} "
                          f"(it knows {', '.join(evaluate.DATASETS)}); train without it")
    samples_dir, params_dir = Path(output_dir) / config["samples_dir"], Path(output_dir) / config["params_dir"]
    if writes:
        prepare_output(config, output_dir, resume is not None)
    meta = checkpoint.read_meta(resume) if resume is not None else None
    if meta:
        checkpoint.check_network(resume, meta["config"], config)

    real_batches = parallel.share(readers.real_batches(config))  # reads the data first: a missing file fails now
    if eval_samples and writes and config["dataset"] in evaluate.IMAGE_DATASETS:
        # The classifier and the test set's statistics now, not after the first pass: training a missing
        # classifier takes minutes, and a missing test set should stop the run before it starts.
        evaluate.reference(config["dataset"], config["data_dir"], log=lambda m: print(m, flush=True))
    noise_batches = parallel.share(readers.NoiseBatches(config["noise"], config["batch_size"], config["noise_dim"],
                                                        config["seed"] + 2))
    test_z = fixed_noise(config)

    paddle.seed(config["seed"])
    programs = build_programs(config, noise_in_graph)
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(place)
    exe.run(programs.startup, scope=scope)
    schedule = make_schedule(config)
    ipp = config["iters_per_pass"]

    iteration, start_pass, start_batch = 0, 0, 0
    log_path = samples_dir / "losses.csv"
    history, metrics_rows = {"iteration": [], "d_loss": [], "g_loss": []}, []
    if meta:
        iteration, start_pass, start_batch = resume_from(resume, meta, config, scope, place,
                                                         (real_batches, noise_batches, schedule))
    if noise_in_graph:  # Paddle's generator draws the training noise: seeded apart for each process and each start
        paddle.seed(readers.graph_noise_seed(config["seed"], parallel.rank(), iteration))
    if writes:  # a fresh run: iteration 0, empty logs
        history = restart_loss_log(log_path, iteration)
        metrics_rows = restart_metrics_log(samples_dir / "metrics.csv", iteration)
    last_checkpoint = resume

    def save(pass_id, batches_done):
        path = checkpoint.pass_dir(params_dir, pass_id, None if batches_done == ipp else batches_done)
        state = {"real_batches": real_batches.state(), "noise_batches": noise_batches.state(),
                 "schedule": schedule.state()}
        try:
            if writes:
                log.flush()
                os.fsync(log.fileno())
                checkpoint.save(path, scope, programs,
                                checkpoint.make_meta(config, pass_id, batches_done, iteration, state))
                checkpoint.prune(params_dir, config["keep_checkpoints"])
            else:  # the other ranks hold the same parameters as rank 0: they check them too, to stop with it
                checkpoint.check_finite(path, scope, programs)
        except checkpoint.NotFiniteError as e:  # finite losses do not prove finite weights (NaN data, for one)
            raise Diverged(f"{e}: training diverged; the last good checkpoint is {last_checkpoint or 'none yet'}; "
                           "check the data, or try a lower --lr") from None
        return path

    # The dashboard is closed (its records flushed) however the run ends: a stopped run's curves are worth most.
    with (open(log_path, "a", newline="") if writes else open(os.devnull, "w")) as log, \
            stop_after_this_iteration() as signals, (dashboard or contextlib.nullcontext()):
        writer = csv.writer(log)

        def stop_signal():
            # The launcher signals every process, but they may get it at different iterations: agree on one.
            return int(parallel.agree(exe, programs, scope, "max", [signals[0] if signals else 0])[0])

        for pass_id in range(start_pass, config["num_passes"]):
            first = start_batch if pass_id == start_pass else 0
            with PassProgress(pass_id, ipp, first, config["log_every"]) as progress:
                for batch_id in range(first, ipp):
                    img = next(real_batches)
                    z = None if noise_in_graph else next(noise_batches)
                    # Losses reach the host every fetch_every iterations, when progress prints, and at a pass's end,
                    # so the NaN guard has looked before the pass's checkpoint (which also checks the parameters).
                    fetch_losses = batch_id % fetch_every == 0 or batch_id % config["log_every"] == 0 \
                        or batch_id + 1 == ipp
                    try:
                        loss, trained = train_step(exe, programs, scope, schedule, img, z, fetch_losses)
                    except Diverged as e:
                        since = " (or since the last fetch of losses)" if fetch_every > 1 else ""
                        raise Diverged(f"{e} at pass {pass_id}, batch {batch_id}{since}: training diverged; "
                                       f"the last good checkpoint is {last_checkpoint or 'none yet'}; "
                                       "try a lower --lr") from None

                    writer.writerow([pass_id, batch_id, *(_fmt(loss[k]) for k in LOSS_NAMES), trained])
                    history["iteration"].append(iteration)
                    history["d_loss"].append(loss["d_loss"])
                    history["g_loss"].append(loss["g_loss"])
                    if dashboard and batch_id % config["log_every"] == 0:
                        dashboard.iteration(iteration, loss, *d_outputs(exe, programs, scope, img,
                                                                        next(noise_batches) if z is None else z))
                    iteration += 1
                    progress.update(batch_id, loss, trained)
                    stop = stop_signal()
                    if stop and batch_id + 1 < ipp:  # at a pass's end the pass checkpoint below does it
                        progress.write(f"{signal.Signals(stop).name}: writing a checkpoint "
                                       "(Ctrl-C again to stop at once)")
                        last_checkpoint = save(pass_id, batch_id + 1)
                        raise Interrupted(stop, f"stopped in pass {pass_id} after {batch_id + 1} batches; "
                                          f"checkpoint {last_checkpoint}; continue with: "
                                          f"{resume_command(config, output_dir)}")

            if writes:
                samples = generate(exe, programs, scope, test_z)
                write_samples(samples, samples_dir / f"train_pass{pass_id}.png", pass_id)
                plots.save_loss_curve(history["iteration"], history["d_loss"], history["g_loss"],
                                      samples_dir / "loss.png")
                if dashboard:
                    dashboard.pass_end(pass_id, learning_rates(scope), samples)
                if eval_samples:
                    evaluate_pass(exe, programs, scope, config, eval_samples, pass_id, iteration, metrics_rows,
                                  samples_dir)
            last_checkpoint = save(pass_id, ipp)
            stop = stop_signal()
            if stop:
                raise Interrupted(stop, f"stopped after pass {pass_id}; checkpoint {last_checkpoint}; "
                                  f"continue with: {resume_command(config, output_dir)}")
    return exe, programs, scope


def resume_from(path, meta, config, scope, place, streams):
    """Load checkpoint `path` into `scope` and `streams` (real batches, noise batches, schedule); apply a changed
    learning rate. Returns (iterations done, pass to start, batch to start)."""
    checkpoint.load_params(path, scope, place)
    for name, value in checkpoint.load_optimizer(path, scope, place).items():
        # Adam's learning rate is part of its saved state: set the one asked for now, or a new --lr is lost.
        if "learning_rate" in name:
            scope.find_var(name).get_tensor().set(np.full_like(value, config["lr"]), place)
    state = meta["train_state"]
    for stream, key in zip(streams, ("real_batches", "noise_batches", "schedule")):
        stream.restore(state[key])
    pass_id, batch = meta["pass"], meta["batch"]
    if batch == meta["config"]["iters_per_pass"]:  # the checkpoint closed its pass
        pass_id, batch = pass_id + 1, 0
    changed = [f"{k} {meta['config'][k]!r} -> {v!r}" for k, v in config.items() if meta["config"][k] != v]
    print(f"resuming from {path} at pass {pass_id}, batch {batch} (iteration {meta['iteration']})"
          + (f"; changed: {', '.join(changed)}" if changed else ""), flush=True)
    if pass_id >= config["num_passes"]:
        print(f"the checkpoint has all {config['num_passes']} passes; raise --num_passes to train on", flush=True)
    return meta["iteration"], pass_id, batch


def resume_command(config, output_dir):
    where = "" if Path(output_dir) == Path(".") else f" --output_dir {output_dir}"
    launch = "" if parallel.world_size() == 1 else \
        f"python -m paddle.distributed.launch --nproc_per_node {parallel.world_size()} "
    return f"{launch}python -m paddle_gan.train -d {config['dataset']}{where} --resume"


def _fmt(value):
    return "" if np.isnan(value) else f"{value:.6f}"


def generate_only(model_dir, dataset, output_dir=".", place=None, seed=0):
    """The v0 book's `--model_dir` mode: write `generated_{d}_samples.png` from a saved generator."""
    saved = checkpoint.load_config(model_dir)["dataset"]
    if saved != dataset:
        raise checkpoint.CheckpointError(f"{model_dir} is a checkpoint for dataset={saved}, but -d {dataset} was given")
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
    parser.add_argument("--amp", choices=("off", "fp16", "bf16"),
                        help="mixed precision on a GPU: fp16 (with loss scaling) or bf16 (default: off)")
    parser.add_argument("--output_dir", default=".", help="where {d}_samples/ and {d}_params/ go (default: .)")
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set any config key, e.g. -o d_batch_norm=false (repeatable)")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="DIR",
                        help="continue from the newest checkpoint in {d}_params/, or from checkpoint folder DIR; "
                             "the checkpoint's config, with the command line's changes on top")
    parser.add_argument("--keep_checkpoints", type=int, metavar="K", help="keep only the newest K checkpoints")
    parser.add_argument("--model_dir", help="generate only: write generated_{d}_samples.png from this checkpoint")
    parser.add_argument("--no_download", action="store_true", help="fail instead of fetching a missing data set")
    parser.add_argument("--eval_every_pass", nargs="?", type=int, const=10000, default=0, metavar="N",
                        help="after every pass, score N samples (default 10000) with paddle_gan.evaluate into "
                             "{d}_samples/metrics.csv and metrics.png (mnist, fashion_mnist, uniform)")
    parser.add_argument("--visualdl", metavar="DIR", help="also log losses, D's outputs, learning rates and samples "
                        "for VisualDL in DIR (pip install visualdl)")
    return parser.parse_args(argv)


def config_from_args(args):
    """(config, checkpoint to resume or None): the config file for args.dataset (or --conf), or with --resume the
    checkpoint's config, with the command line's values on top."""
    overrides = dict(parse_override(text) for text in args.overrides)
    for key in ("num_passes", "iters_per_pass", "batch_size", "lr", "beta1", "noise_dim", "seed", "schedule",
                "amp", "keep_checkpoints"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    config = load_config(args.conf or conf_path(args.dataset), overrides)
    resume = None
    if args.resume == "latest":
        params_dir = Path(args.output_dir) / config["params_dir"]
        resume = checkpoint.latest(params_dir)
        if resume is None:
            raise checkpoint.CheckpointError(f"--resume: no checkpoint in {params_dir}; start without --resume")
    elif args.resume:
        resume = Path(args.resume)
    if resume:
        config = updated(checkpoint.load_config(resume), overrides)
    if config["dataset"] != args.dataset:
        source = f"{resume} is a checkpoint" if resume else f"{args.conf} is a config"
        raise ConfigError(f"{source} for dataset={config['dataset']}, but -d {args.dataset} was given")
    return config, resume


def main(argv=None):
    args = parse_args(argv)
    try:
        place = make_place(None if args.use_gpu is None else bool(args.use_gpu), args.gpu_id)
        if args.model_dir:
            print(f"wrote {generate_only(args.model_dir, args.dataset, args.output_dir, place)}")
            return 0
        config, resume = config_from_args(args)
        if not args.no_download and parallel.world_size() == 1:  # several processes would all fetch at once
            fetch.fetch_missing(config)  # what data/get_{d}_data.sh does, when the reader's files are absent
        train(config, args.output_dir, place, resume, args.visualdl, args.eval_every_pass)
    except (ConfigError, DeviceError, OutputError, readers.DataError, checkpoint.CheckpointError,
            evaluate.EvaluateError, parallel.ParallelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except Interrupted as e:
        print(e, file=sys.stderr)
        return 128 + e.signum  # the shell's convention: 130 after Ctrl-C, 143 after SIGTERM
    return 0


if __name__ == "__main__":
    sys.exit(main())
