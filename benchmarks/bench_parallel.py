"""Training speed in one process and in several: images/s of `python -m paddle_gan.train -d mnist --nproc N`.

    python benchmarks/bench_parallel.py [--nproc 1 2] [--batch_size 32 64] [--iters 20 120] [-o key=value ...]

Each setting trains one pass of a little more than the larger number of iterations, in a fresh temporary folder,
and reads the progress lines (rank 0's) at the two iteration counts: each line tells the seconds per iteration
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seconds_at(log, batch):
    """Seconds from the start of the pass to the end of iteration `batch`, from its progress line in `log`."""
    for line in log.splitlines():
        match = re.match(rf"Pass 0, Batch {batch}: .* \(([0-9.]+) s/iter\)", line)
        if match:
            return (batch + 1) * float(match[1])
    raise SystemExit(f"no progress line for batch {batch} in:\n{log[-2000:]}")


def run(nproc, batch_size, iters, args, folder):
    """Seconds for iterations iters[0] + 1 .. iters[1] on `nproc` processes."""
    command = [sys.executable, "-m", "paddle_gan.train", "-d", "mnist", "--num_passes", "1", "--nproc", str(nproc),
               "--batch_size", str(batch_size), "--iters_per_pass", str(iters[1] + 1), "--output_dir", str(folder),
               *args]
    print(f"load average {os.getloadavg()[0]:.2f}: {nproc} process(es), batch {batch_size}", flush=True)
    # In the temporary folder, so that nothing a run writes (Paddle 2.6's http.log, for one) lands in the project.
    log = subprocess.run(command, cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
                         capture_output=True, text=True).stdout
    return seconds_at(log, iters[1]) - seconds_at(log, iters[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch_size", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--iters", type=int, nargs=2, default=[20, 120], metavar=("FEWER", "MORE"))
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    # Progress lines at both iteration counts: log_every divides both.
    train_args = ["-o", f"log_every={math.gcd(*args.iters)}", "-o", f"data_dir={ROOT / 'data' / 'mnist_data'}",
                  *(x for o in args.overrides for x in ("-o", o))]
    extra = args.iters[1] - args.iters[0]
    rows = []
    for batch_size in args.batch_size:
        for nproc in args.nproc:
            with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
                seconds = run(nproc, batch_size, args.iters, train_args, Path(tmp))
            rows.append((batch_size, nproc, seconds / extra, extra * batch_size / seconds))
            print(f"batch {batch_size}, {nproc} process(es): {rows[-1][2]:.3f} s/iter, {rows[-1][3]:.1f} img/s",
                  flush=True)
    print(f"\nbatch  processes  s/iter  img/s  (iterations {args.iters[0] + 1}-{args.iters[1]}, "
          f"{' '.join(args.overrides) or 'conf/mnist.toml'})")
    for batch_size, nproc, per_iter, speed in rows:
        print(f"{batch_size:>5}  {nproc:>9}  {per_iter:>6.3f}  {speed:>5.1f}")


if __name__ == "__main__":
    main()
