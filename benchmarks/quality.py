"""Sample quality against wall-clock time: what a user of this machine gets after 5, 15, 30 minutes of training.

    python benchmarks/quality.py -d mnist [--budget 1800] [--every 150] [-n 10000] [--out quality/mnist]
                                 [-- any train flags, e.g. --conf conf/mnist_fluid.toml --batch_size 64]
    python benchmarks/quality.py -d mnist --evaluate_only quality/mnist     # score a finished run again

It runs `python -m paddle_gan.train` as a user would, with `-o iters_per_pass=EVERY` so that a checkpoint is
written every EVERY iterations (a pass's length only decides when pictures and checkpoints are written: the data,
the noise and the updates are the same whatever it is). After `--budget` seconds it stops the run with Ctrl-C (the
trainer writes a last checkpoint). Only then does it score every checkpoint with paddle_gan.evaluate, so the
scoring costs the training no time; a checkpoint's time is the wall-clock from the launch (imports, program
building and reading the data included) to its writing.

Writes into --out: run/ (the trainer's output), grids/ (each checkpoint's 8x8 grid, or scatter plot), quality.json
(machine, command, the real-data floor, every checkpoint's metrics) and quality.png (the metrics against minutes,
the floor dashed). A benchmark reports; it asserts nothing.
"""
import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import paddle_gan  # noqa: E402,F401  first: it sets Paddle's environment before Paddle loads
import paddle  # noqa: E402

from paddle_gan import checkpoint, evaluate, plots, readers  # noqa: E402
from paddle_gan.generate import load_generator, sample  # noqa: E402
from paddle_gan.config import gaussian_target  # noqa: E402

STARTED_FILE = "started.json"


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_training(dataset, every, budget, out, train_args):
    """Train for `budget` seconds of wall-clock into out/run, then stop it as Ctrl-C would."""
    command = [sys.executable, "-m", "paddle_gan.train", "-d", dataset, "--output_dir", str(out / "run"),
               "-o", f"iters_per_pass={every}", *train_args]
    started = time.time()
    (out / STARTED_FILE).write_text(json.dumps({"time": started, "command": command}))
    print("running: " + " ".join(command[1:]), flush=True)
    with open(out / "train.log", "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # the trainer finishes its iteration and writes a checkpoint
            process.wait()
    print(f"training stopped after {time.time() - started:.0f} s (exit {process.returncode}); log: {out / 'train.log'}",
          flush=True)


def checkpoint_seconds(path, started):
    """Seconds from the launch to the writing of checkpoint `path` (meta.json's time has whole seconds)."""
    written = datetime.strptime(checkpoint.read_meta(path)["time"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    return written - started


def score_run(dataset, out, n):
    """Score every checkpoint in out/run; returns (floor, points)."""
    started = json.loads((out / STARTED_FILE).read_text())["time"]
    folders = [folder for params in sorted((out / "run").glob("*_params"))  # {d}_params, or {d}_cgan_params
               for folder in checkpoint.list_checkpoints(params)]
    if not folders:
        raise SystemExit(f"no checkpoint in {out / 'run'}: the run stopped before its first one; see {out / 'train.log'}")
    config = checkpoint.saved_config(folders[0])
    normal = gaussian_target(config)  # the Gaussian toy's target; the others ignore it
    floor = evaluate.real_floor(dataset, n, config["data_dir"], log=print, normal=normal)
    print(f"real data (n={n}): {evaluate.summary_line(floor)}", flush=True)
    (out / "grids").mkdir(exist_ok=True)
    points = []
    for folder in folders:
        exe, programs, scope, config = load_generator(folder)
        seconds = checkpoint_seconds(folder, started)
        labels = readers.balanced_labels(config, n)  # a conditional generator draws every class alike
        samples = sample(exe, programs, scope, readers.evaluation_noise(config, n), config["batch_size"], labels)
        metrics = evaluate.evaluate_samples(dataset, samples, config["data_dir"], labels=labels, normal=normal)
        meta = checkpoint.read_meta(folder)
        kept = evaluate.summary_keys(config) + (("label_accuracy_per_class",) if config["conditional"] else ())
        points.append({"checkpoint": folder.name, "iteration": meta["iteration"], "seconds": round(seconds, 1),
                       **{k: metrics[k] for k in kept}})
        # the trainer's own picture noise (and a class a row, for a conditional generator)
        picture = sample(exe, programs, scope, readers.picture_noise(config), labels=readers.picture_labels(config))
        plots.save_samples(picture, out / "grids" / f"{seconds / 60:05.1f}min-iter{meta['iteration']}.png",
                           f"{seconds / 60:.1f} min, iteration {meta['iteration']}", normal=normal)
        print(f"{seconds / 60:6.1f} min  iteration {meta['iteration']:6d}  {evaluate.summary_line(metrics)}",
              flush=True)
    return floor, points


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--dataset", default="mnist", choices=evaluate.SCORED_DATASETS)
    parser.add_argument("--budget", type=float, default=1800, help="seconds of training (default 1800: 30 min)")
    parser.add_argument("--every", type=int, default=150, help="iterations between checkpoints (default 150)")
    parser.add_argument("-n", type=int, help="samples per evaluation (default 10000; 5000 for uniform)")
    parser.add_argument("--out", help="output folder (default benchmarks/quality/{dataset})")
    parser.add_argument("--evaluate_only", metavar="DIR", help="score the run already in DIR (made by this script)")
    parser.add_argument("train_args", nargs="*", help="after --: flags for python -m paddle_gan.train")
    args = parser.parse_args(argv)

    args.n = args.n or (5000 if args.dataset == "uniform" else 10000)
    out = Path(args.evaluate_only or args.out or HERE / "quality" / args.dataset)
    if not args.evaluate_only:
        if (out / "run").exists():
            raise SystemExit(f"{out / 'run'} exists: pass another --out, or --evaluate_only {out} to score it")
        out.mkdir(parents=True, exist_ok=True)
        run_training(args.dataset, args.every, args.budget, out, args.train_args)

    floor, points = score_run(args.dataset, out, args.n)
    started = json.loads((out / STARTED_FILE).read_text())
    report = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                          "paddle": paddle.__version__},
              "command": started["command"][1:], "started": datetime.fromtimestamp(started["time"]).isoformat(),
              "samples_per_evaluation": args.n,
              "floor": {k: floor[k] for k in evaluate.SUMMARY[args.dataset]}, "points": points}
    (out / "quality.json").write_text(json.dumps(report, indent=1))
    plots.save_metrics_plot([p["seconds"] / 60 for p in points], points, "minutes of training (this machine)",
                            out / "quality.png", floor=report["floor"])
    print(f"wrote {out / 'quality.json'}, {out / 'quality.png'} and {out / 'grids'}/")


if __name__ == "__main__":
    main()
