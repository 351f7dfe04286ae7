"""Train a GAN with Paddle's static graph: `python -m paddle_gan.train -d mnist` (or a toy, e.g. -d gaussian).

The tutorials' loop. Each iteration reads a real batch and a noise batch, asks the schedule which programs to run
(d_fake, d_real, g: schedules.py), and runs them with the Executor (train_step). After each pass the run draws
samples from a fixed noise batch (pass_pictures.py) and saves a checkpoint (saving.py); every iteration adds a row to
the loss log (loss_log.py). The programs and why they share parameters: programs.py.

Nothing is lost: `--resume` continues from a checkpoint exactly as if the run had never stopped (checkpoint.py);
Ctrl-C or SIGTERM finish the iteration, write a checkpoint and exit (signals.py); a loss that is NaN or inf stops
the run (exit 3) before it can overwrite a good checkpoint.

Two switches decided once, outside the loop: on a GPU the loop takes the GPU path (device.plan: noise drawn in the
programs, losses fetched every few iterations); with several processes each trains on its share of every batch and
rank 0 alone writes (parallel.py).
"""
import signal
import sys
from pathlib import Path

import numpy as np
import paddle

from . import checkpoint, cli, device, download, generate, parallel, pass_pictures, pass_scores, readers, run_folder
from .config import (AMPS, DATASETS, DEFAULTS, SCHEDULES, ConfigError, check_dataset, checked, conf_path,
                     load_config, parse_override, updated)
from .metrics import IS_SPLITS
from .d_view import d_outputs
from .errors import Diverged, Interrupted
from .loss_log import LossLog
from .pass_scores import PassScores
from .programs import build_programs
from .progress import PassProgress
from .saving import Saver, how_to_go_on
from .schedules import LOSS_OF_PROGRAM, make_schedule
from .signals import StopSignals
from .visualdl_log import VisualDLLog, learning_rates


def train_step(exe, programs, scope, schedule, real, noise, fetch_losses=True):
    """One iteration: ask `schedule` who trains on this real batch and noise batch (the feeds {"img": ...} and
    {"z": ...}, readers.py; noise {} when the programs draw it), run those programs. `fetch_losses`: bring the
    losses back to the host (False: leave them on the device).
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
        loss["d_pos_loss"], loss["d_neg_loss"], loss["g_loss"] = run("losses", {**real, **noise})
    steps = schedule.steps((loss["d_pos_loss"] + loss["d_neg_loss"]) / 2, loss["g_loss"])
    for step in steps:  # D: maximise log D(x) + log(1 - D(G(z))), as d_fake then d_real; G: maximise log D(G(z))
        step_loss = run(step, real if step == "d_real" else noise)[0]
        if not schedule.needs_losses:  # strike logs the losses it decided on
            loss[LOSS_OF_PROGRAM[step]] = step_loss
    loss["d_loss"] = (loss["d_pos_loss"] + loss["d_neg_loss"]) / 2
    return loss, "".join(sorted({"D" if step.startswith("d_") else "G" for step in steps}))


def train(config, output_dir=".", place=None, resume=None, visualdl=None, eval_samples=0):
    """Train per `config`, writing samples, losses and checkpoints under `output_dir`; `resume`: a checkpoint
    folder to continue from; `visualdl`: a folder for VisualDL's logs; `eval_samples`: if not 0, score that many
    samples after every pass (paddle_gan.evaluate). Returns (exe, programs, scope)."""
    config = checked(config)  # from Python (a notebook) as from the command line: a bad value stops here
    check_run_options(visualdl, eval_samples, config)
    place = place if place is not None else device.make_place()
    plan = device.plan(config, place)  # the tutorials' loop on CPU; on a GPU, noise in the programs, fewer fetches
    parallel.connect(config, place)  # several processes: join the others, before static mode
    paddle.enable_static()
    if resume:
        checkpoint.check_data(resume)  # a planted file stops the run before it writes anything
    writes = parallel.rank() == 0  # with several processes, rank 0 writes and the others only train
    dashboard = VisualDLLog(visualdl) if writes and visualdl else None  # first: a missing VisualDL stops it now
    folder = run_folder.prepare(config, output_dir, resume) if writes else run_folder.folder_of(config, output_dir)

    real_batches = parallel.share(readers.real_batches(config))  # reads the data first: a missing file fails now
    noise_batches = parallel.share(readers.training_noise(config))
    paddle.seed(config["seed"])
    programs = build_programs(config, plan.noise_in_graph)
    scope, exe = paddle.static.Scope(), paddle.static.Executor(place)
    exe.run(programs.startup, scope=scope)
    schedule = make_schedule(config)
    streams = {"real_batches": real_batches, "noise_batches": noise_batches, "schedule": schedule}
    start = checkpoint.resume(resume, config, scope, place, programs, streams) if resume else checkpoint.Start()
    plan.seed_graph_noise(config, start.iteration)
    ipp, iteration = config["iters_per_pass"], start.iteration

    if writes and resume:  # the run is back where the checkpoint left it: safe to set a newer branch aside
        run_folder.branch_off(folder, resume)
    loss_log = LossLog(folder.samples_dir, iteration) if writes else None
    scores = PassScores(config, folder.samples_dir, eval_samples, iteration) if writes and eval_samples else None
    saver = Saver(config, folder, writes, programs, scope, streams, loss_log, resume)
    try:
        with StopSignals() as signals:
            for pass_id in range(start.pass_id, config["num_passes"]):
                first = start.batch if pass_id == start.pass_id else 0
                with PassProgress(pass_id, ipp, first, config["log_every"]) as progress:
                    for batch_id in range(first, ipp):
                        real, noise = next(real_batches), plan.noise(noise_batches)
                        try:
                            loss, trained = train_step(exe, programs, scope, schedule, real, noise,
                                                       plan.fetch_losses(batch_id))
                        except Diverged as e:  # a NaN or inf loss: stop before it reaches a checkpoint
                            raise saver.diverged(e, pass_id, batch_id, plan.fetch_every) from None
                        iteration += 1
                        if loss_log:
                            loss_log.write(pass_id, batch_id, loss, trained)
                        if dashboard and batch_id % config["log_every"] == 0:  # D(x), D(G(z)) on this batch
                            noise = noise or next(noise_batches)  # (the GPU path draws its noise in the programs)
                            dashboard.iteration(iteration - 1, loss, *d_outputs(exe, programs, scope, real, noise))
                        progress.update(batch_id, loss, trained)
                        stop = signals.requested(exe, programs, scope)
                        if stop and batch_id + 1 < ipp:  # at a pass's end, the pass's checkpoint serves
                            progress.write(f"{signal.Signals(stop).name}: writing a checkpoint "
                                           "(Ctrl-C again to stop at once)")
                            raise saver.interrupted(stop, pass_id, batch_id + 1, iteration)
                if writes:  # the pass's pictures and loss curve, the dashboard's pass records, the scores
                    picture = pass_pictures.draw(exe, programs, scope, config, folder.samples_dir, pass_id,
                                                 loss_log.history)
                    if dashboard:
                        dashboard.pass_end(pass_id, learning_rates(programs, scope), picture)
                    if scores:
                        scores.score(exe, programs, scope, pass_id, iteration)
                saver.save(pass_id, ipp, iteration)
                stop = signals.requested(exe, programs, scope)
                if stop:
                    raise saver.interrupted(stop, pass_id, ipp, iteration)
    except OSError as e:  # an output that cannot be written (a full disk, a folder replaced by a file)
        raise saver.write_failed(e) from None
    finally:  # however the run ends, its logs are closed (a stopped run's curves are worth most)
        for log in (loss_log, dashboard):
            if log:
                log.close()
        if writes:
            run_folder.release_folders(config, output_dir)
    return exe, programs, scope


# Config keys with a flag of their own (any key: -o KEY=VALUE): (metavar, help)
KEY_FLAGS = {
    "num_passes": ("N", "passes to train (a checkpoint and a picture after each)"),
    "iters_per_pass": ("N", "iterations in a pass"),
    "batch_size": ("N", "rows of every batch (split over the processes)"),
    "lr": ("RATE", "Adam's learning rate"),
    "beta1": ("B", "Adam's beta1"),
    "noise_dim": ("N", "length of a noise vector"),
    "seed": ("S", "seed of the initial weights, the data order and the noise"),
    "schedule": (None, "who trains next"),
    "nproc": ("N", "processes training together on a CPU, each on its share of every batch (default: the config's; "
                   "0: one per core, each with 16 rows at least)"),
    "amp": (None, "mixed precision on a GPU: fp16 (with loss scaling) or bf16 (default: off)"),
    "keep_checkpoints": ("K", "keep only the newest K checkpoints"),
}
CHOICES = {"schedule": SCHEDULES, "amp": AMPS}


def check_run_options(visualdl, eval_samples, config=None):
    """Refuse, before any work, a --visualdl that is not a folder and an evaluation that cannot be scored."""
    if visualdl is not None and Path(visualdl).exists() and not Path(visualdl).is_dir():
        raise ConfigError(f"--visualdl {visualdl} is a file; give a folder for VisualDL's logs")
    if not isinstance(eval_samples, int) or isinstance(eval_samples, bool) or \
            not (eval_samples == 0 or eval_samples >= IS_SPLITS):
        raise ConfigError(f"--eval_every_pass {eval_samples}: score at least {IS_SPLITS} samples (the Inception "
                          "Score's splits), e.g. 10000, or leave it out")
    if eval_samples and config is not None:
        pass_scores.check_dataset(config)


def parse_args(argv=None):
    parser = cli.ArgumentParser(prog="python -m paddle_gan.train", description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--dataset", required=True, choices=DATASETS, help="which data set to train on")
    parser.add_argument("--conf", help="config file (default: conf/{dataset}.toml)")
    device.add_arguments(parser)
    for key in KEY_FLAGS:  # their types and choices are config.DEFAULTS' and config's choice tuples
        parser.add_argument(f"--{key}", type=type(DEFAULTS[key]), choices=CHOICES.get(key),
                            metavar=None if key in CHOICES else KEY_FLAGS[key][0], help=KEY_FLAGS[key][1])
    parser.add_argument("--output_dir", default=".", help="where {d}_samples/ and {d}_params/ go (default: .)")
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="set any config key, e.g. -o d_batch_norm=false (repeatable)")
    parser.add_argument("--resume", nargs="?", const="latest", metavar="DIR",
                        help="continue from the newest checkpoint in {d}_params/, or from checkpoint folder DIR; "
                             "the checkpoint's config, with the command line's changes on top")
    parser.add_argument("--model_dir", help="generate only: write generated_{d}_samples.png from this checkpoint")
    parser.add_argument("--no_download", action="store_true", help="fail instead of fetching a missing data set")
    parser.add_argument("--eval_every_pass", nargs="?", type=int, const=10000, default=0, metavar="N",
                        help="after every pass, score N samples (default 10000) with paddle_gan.evaluate into "
                             "{d}_samples/metrics.csv and metrics.png (mnist, fashion_mnist, the toys)")
    parser.add_argument("--visualdl", metavar="DIR", help="also log losses, D's outputs, learning rates and samples "
                        "for VisualDL in DIR (pip install visualdl)")
    return parser.parse_args(argv)


def config_from_args(args):
    """(config, checkpoint to resume or None): the config file for args.dataset (or --conf), or with --resume the
    checkpoint's config, with the command line's values on top."""
    overrides = dict(parse_override(text) for text in args.overrides)
    for key in KEY_FLAGS:
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    config = load_config(args.conf or conf_path(args.dataset), overrides)
    source = f"{args.conf} is a config"
    resume = None
    if args.resume == "latest":
        params_dir = Path(args.output_dir) / config["params_dir"]
        checkpoint.put_back_moved_aside(params_dir)  # the newest checkpoint may be there under its aside name
        resume = checkpoint.latest(params_dir)
        if resume is None:
            samples_dir = Path(args.output_dir) / config["samples_dir"]
            fix = (f"move {samples_dir} away (what an earlier run left there) and start without --resume"
                   if run_folder.left_behind(samples_dir) else "start without --resume")
            raise checkpoint.CheckpointError(f"--resume: no checkpoint in {params_dir}; {fix}")
    elif args.resume:
        resume = Path(args.resume)
    if resume:
        config, source = updated(checkpoint.saved_config(resume), overrides), f"{resume} is a checkpoint"
        checkpoint.check_data(resume)  # before any output folder is made
    check_dataset(config, args.dataset, source)
    return config, resume


SMALLER = "choose a smaller --batch_size, noise_dim or network (-o KEY=VALUE)"  # when memory runs out


def main(argv=None):
    args = parse_args(argv)
    run = {}  # the run's config once it is read: what stopping at once reports

    def job():
        place = device.place_from_args(args)
        if args.model_dir:
            return draw_from_checkpoint(args, place)
        config, resume = config_from_args(args)
        run.update(config=config, resume=resume)
        check_run_options(args.visualdl, args.eval_every_pass, config)
        device.plan(config, place)  # refuses what cannot run here (--amp on a CPU) before any process starts
        nproc = parallel.processes(config, place)
        if parallel.world_size() == 1:  # (under a launcher, rank 0's train() checks the folders; it said how many)
            # an output folder that cannot take the run is refused before minutes of download, or any process starts
            run_folder.claim_folders(config, args.output_dir)
            run_folder.check(config, args.output_dir, resume)
            if not args.no_download:  # (under a launcher all processes would fetch at once)
                download.fetch_missing(config)  # what data/get_{d}_data.sh does, when the reader's files are absent
            print(f"training in {nproc} process{'es' if nproc > 1 else ''} (--nproc N to choose)", flush=True)
        if nproc > 1:
            return train_in_processes(config, args, resume, nproc)
        train(config, args.output_dir, place, resume, args.visualdl, args.eval_every_pass)
    try:
        return cli.run(job, lambda: stopped_at_once(run.get("config"), args.output_dir, resume=run.get("resume")),
                       SMALLER)
    finally:  # main() called from Python (a notebook) lets go of the folders however the run ended
        if run.get("config"):
            run_folder.release_folders(run["config"], args.output_dir)


def draw_from_checkpoint(args, place):
    """`--model_dir`: the v0 demo's generate-only mode, a picture of samples from a checkpoint."""
    ignored = [f"--{key}" for key in (*KEY_FLAGS, "conf", "resume", "visualdl") if getattr(args, key)]
    ignored += ["-o"] * bool(args.overrides) + ["--eval_every_pass"] * bool(args.eval_every_pass)
    if ignored:  # the checkpoint's config draws the picture: a training setting would change nothing
        them = "it" if len(ignored) == 1 else "them"
        raise ConfigError(f"--model_dir only draws samples from the checkpoint, as it was trained; "
                          f"{', '.join(ignored)} would change nothing there: drop {them}")
    print(f"wrote {generate.write_picture(args.model_dir, args.dataset, args.output_dir, place)}")


def train_in_processes(config, args, resume, nproc):
    """Train in `nproc` processes, each on its share of every batch (parallel.py); this one holds the output folders
    and waits. Returns the exit code."""
    if nproc > parallel.cores():
        print(f"warning: --nproc {nproc} is more than the {parallel.cores()} core(s) here: the processes wait for "
              f"each other, so training is slower than with --nproc {parallel.cores()}", file=sys.stderr, flush=True)
    try:  # (main() has checked the folders: rank 0's refusals come before any process starts)
        return parallel.spawn(train_process, (config, args.output_dir, resume, args.visualdl, args.eval_every_pass),
                              nproc)
    except parallel.ProcessLost as e:  # killed from outside: what was kept, and how to go on
        raise parallel.ProcessLost(f"{e}, so the run stopped; {going_on(config, args.output_dir, resume)}",
                                   e.exit_code) from None
    except parallel.StoppedAtOnce as e:
        raise Interrupted(e.signum, stopped_at_once(config, args.output_dir, e.signum, resume)[0]) from None


def train_process(config, output_dir, resume, visualdl, eval_samples):
    """What each process that main() starts runs: train() on the CPU. Returns its exit code."""
    def job():
        train(config, output_dir, paddle.CPUPlace(), resume, visualdl, eval_samples)
    return cli.run(job, lambda: stopped_at_once(config, output_dir, resume=resume), SMALLER)


def stopped_at_once(config, output_dir, signum=signal.SIGINT, resume=None):
    """(what it says, exit code) when a signal stops a run at once (a second Ctrl-C, one at start-up): no checkpoint
    of its own, so the newest one in the folder (or the one it resumed from) is where it goes on from. `config`: None
    if not read yet."""
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    if config is None:
        return f"stopped by {name}", 128 + signum
    return f"stopped at once by {name}; {going_on(config, output_dir, resume)}", 128 + signum


def going_on(config, output_dir, resume):
    """How a run that ended without a checkpoint of its own goes on: from the newest checkpoint in its folder, or
    the one it resumed from."""
    folder = run_folder.folder_of(config, output_dir)
    return how_to_go_on(config, folder, checkpoint.latest(folder.params_dir) or resume)


if __name__ == "__main__":
    sys.exit(main())
