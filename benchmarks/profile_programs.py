"""Where a training iteration's time goes: each program of a config timed on its own, and Paddle's profiler's
table of the ops inside it.

    python benchmarks/profile_programs.py [--conf conf/mnist.toml] [--batch_size 32] [--iters 30] [-o key=value ...]

For each of d_fake, d_real and g, in a process of its own (Paddle allows one profiler per process): the wall-clock
per run (median of `--iters` after 5 warm-up runs, random inputs of the right shape), then `paddle.profiler`'s
summary of as many runs again, sorted by total CPU time: the operators, and how much of the time they account for
(the rest is the executor's own work: scheduling, feeding, fetching). A benchmark reports; it asserts nothing.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paddle_gan  # noqa: E402,F401  first: it sets Paddle's environment before Paddle loads
import numpy as np  # noqa: E402
import paddle  # noqa: E402
import paddle.profiler as profiler  # noqa: E402

from paddle_gan.config import conf_path, load_config, parse_override, sample_shape  # noqa: E402
from paddle_gan.programs import build_programs  # noqa: E402


def feeds(config, rng):
    """Random inputs of the right shape for each program."""
    img = rng.uniform(-1, 1, (config["batch_size"], *sample_shape(config))).astype("float32")
    z = rng.standard_normal((config["batch_size"], config["noise_dim"])).astype("float32")
    return {"d_real": {"img": img}, "d_fake": {"z": z}, "g": {"z": z}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default=str(conf_path("mnist")))
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--program", choices=("d_fake", "d_real", "g"), help="profile this one (default: each, "
                        "in a process of its own)")
    args = parser.parse_args()
    if args.program is None:
        for name in ("d_fake", "d_real", "g"):
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--program", name], check=True)
        return
    overrides = dict(parse_override(o) for o in args.overrides)
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    config = load_config(args.conf, overrides)
    paddle.enable_static()
    programs = build_programs(config)
    scope, exe = paddle.static.Scope(), paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    feed = feeds(config, np.random.default_rng(0))
    print(f"{Path(args.conf).name} {' '.join(args.overrides)}, batch {config['batch_size']}, Paddle "
          f"{paddle.__version__}, load average {os.getloadavg()[0]:.2f}", flush=True)
    for name in (args.program,):
        program = getattr(programs, name)
        for _ in range(5):
            exe.run(program, feed=feed[name], fetch_list=programs.fetch[name], scope=scope)
        seconds = []
        for _ in range(args.iters):  # timed without the profiler, which costs time of its own
            started = time.perf_counter()
            exe.run(program, feed=feed[name], fetch_list=programs.fetch[name], scope=scope)
            seconds.append(time.perf_counter() - started)
        prof = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU], on_trace_ready=lambda p: None)  # no files
        prof.start()
        for _ in range(args.iters):
            exe.run(program, feed=feed[name], fetch_list=programs.fetch[name], scope=scope)
            prof.step()
        prof.stop()
        print(f"\n=== {name}: {1000 * statistics.median(seconds):.1f} ms per run (median of {args.iters})", flush=True)
        prof.summary(sorted_by=profiler.SortedKeys.CPUTotal, op_detail=False, thread_sep=False, time_unit="ms",
                     views=[profiler.SummaryView.OverView, profiler.SummaryView.OperatorView])


if __name__ == "__main__":
    main()
