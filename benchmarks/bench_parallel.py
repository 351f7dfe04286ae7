"""Training speed in one process and in several: images/s of `python -m paddle_gan.train -d mnist`, alone and under
`python -m paddle.distributed.launch --nproc_per_node N`.

    python benchmarks/bench_parallel.py [--nproc 1 2] [--iters 20 80] [--schedule alternate] [-o data_dir=...]

Each setting trains one pass of a little more than the larger number of iterations, in a fresh temporary folder,
and reads the progress lines of rank 0 at the two iteration counts: each line tells the seconds per iteration
since the pass began, so their difference is the time of the iterations in between alone, without start-up and
without the first, slow iterations. `batch_size` is the global batch, so images/s compare directly. The load
average is printed before each run: on a machine busy with other work the figures say little. A benchmark
reports; it asserts nothing.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seconds_at(log, batch):
    """Seconds from the start of the pass to the end of iteration `batch`, from its progress line in `log`."""
    for line in log.splitlines():
        match = re.match(rf"Pass 0, Batch {batch}: .* \(([0-9.]+) s/iter\)", line)
        if match:
            return (batch + 1) * float(match[1])
    raise SystemExit(f"no progress line for batch {batch} in:\n{log[-2000:]}")


def run(nproc, iters, args, folder):
    """Seconds for iterations iters[0] + 1 .. iters[1] on `nproc` processes."""
    command = [sys.executable, "-m", "paddle_gan.train", "-d", "mnist", "--num_passes", "1",
               "--iters_per_pass", str(iters[1] + 1), "--output_dir", str(folder), *args]
    if nproc > 1:
        command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", str(nproc),
                   "--log_dir", str(folder / "log"), *command]
    print(f"load average {os.getloadavg()[0]:.2f}: {nproc} process(es), {iters[1] + 1} iterations", flush=True)
    # In the temporary folder, so that nothing a run writes (Paddle 2.6's http.log, for one) lands in the project.
    out = subprocess.run(command, cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
                         capture_output=True, text=True).stdout
    log = out if nproc == 1 else (folder / "log" / "workerlog.0").read_text()
    return seconds_at(log, iters[1]) - seconds_at(log, iters[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--iters", type=int, nargs=2, default=[20, 80], metavar=("FEWER", "MORE"))
    parser.add_argument("--schedule", default="alternate", help="alternate: every iteration costs the same")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    # Progress lines at both iteration counts: log_every divides both.
    train_args = ["--schedule", args.schedule, "--batch_size", str(args.batch_size),
                  "-o", f"log_every={math.gcd(*args.iters)}", "-o", f"data_dir={ROOT / 'data' / 'mnist_data'}",
                  *(x for o in args.overrides for x in ("-o", o))]
    extra = args.iters[1] - args.iters[0]
    rows = []
    for nproc in args.nproc:
        with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
            seconds = run(nproc, args.iters, train_args, Path(tmp))
        rows.append((nproc, seconds / extra, extra * args.batch_size / seconds))
        print(f"{nproc} process(es): {rows[-1][1]:.3f} s/iter, {rows[-1][2]:.1f} img/s", flush=True)
    print(f"\nprocesses  s/iter  img/s  speed-up  (iterations {args.iters[0] + 1}-{args.iters[1]}, "
          f"batch {args.batch_size}, {args.schedule})")
    for nproc, per_iter, speed in rows:
        print(f"{nproc:>9}  {per_iter:>6.3f}  {speed:>5.1f}  {speed / rows[0][2]:>8.2f}")


if __name__ == "__main__":
    main()
