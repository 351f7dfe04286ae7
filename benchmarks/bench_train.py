"""Training speed of every config on this machine, side by side with the same networks in PyTorch eager.

    python benchmarks/bench_train.py [--configs uniform mnist mnist_fluid cifar] [--iters 10] [--out bench.json]

For each config, a fresh process builds paddle_gan's programs and times the tutorials' iteration (d_fake, d_real,
g, as every schedule's D-then-G step does) on random inputs of the right shape: this measures compute, not data
loading, as torch_reference.py does. It reports images/s of a full iteration and of each program, the seconds from
process start to the first finished iteration (imports and program building included), and the peak RSS. When
PyTorch is importable, torch_reference.py runs in the same session and the table shows paddle_gan / PyTorch.
A benchmark reports; it asserts nothing.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIGS = {"uniform": "uniform", "mnist": "mnist", "mnist_fluid": "mnist", "cifar": "cifar"}  # config -> dataset


def measure(name, iters, warmup, t0):
    """Runs in the child process: time paddle_gan's programs for config `name`."""
    sys.path.insert(0, str(ROOT))
    import paddle_gan  # noqa: F401  sets Paddle's environment (MKL path on AMD) before Paddle loads
    import numpy as np
    import paddle

    from paddle_gan.config import conf_path, load_config, sample_shape
    from paddle_gan.programs import build_programs

    paddle.enable_static()
    config = load_config(conf_path(name))
    programs = build_programs(config)
    scope, exe = paddle.static.Scope(), paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    rng = np.random.default_rng(0)
    batch = config["batch_size"]
    img = rng.uniform(-1, 1, (batch, *sample_shape(config))).astype("float32")
    feeds = {"d_fake": {"z": None}, "d_real": {"img": img}, "g": {"z": None}}
    seconds = {step: 0.0 for step in feeds}

    def iteration(timed):
        for step, feed in feeds.items():
            if "z" in feed:
                feed = {"z": rng.standard_normal((batch, config["noise_dim"]), dtype=np.float32)}
            start = time.perf_counter()
            exe.run(getattr(programs, step), feed=feed, fetch_list=programs.fetch[step], scope=scope)
            if timed:
                seconds[step] += time.perf_counter() - start

    iteration(False)
    first = time.time() - t0
    for _ in range(warmup):
        iteration(False)
    start = time.perf_counter()
    for _ in range(iters):
        iteration(True)
    per_iter = (time.perf_counter() - start) / iters
    return {"config": name, "batch_size": batch, "s_per_iter": round(per_iter, 4),
            "img_per_s": round(batch / per_iter, 1),
            "program_img_per_s": {step: round(batch * iters / s, 1) for step, s in seconds.items()},
            "first_iteration_s": round(first, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "paddle": paddle.__version__, "mkl_debug_cpu_type": os.environ.get("MKL_DEBUG_CPU_TYPE", "")}


def run_child(args):
    t0 = time.time()
    out = subprocess.run(args + ["--t0", repr(t0)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def torch_available():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default="bench_train.json", help="JSON file to write (default bench_train.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.iters, args.warmup, args.t0)))
        return

    use_torch = torch_available()
    if not use_torch:
        print("PyTorch is not importable: no ratio column (pip install torch==2.13.0 for a CPU build)")
    rows = []
    for name in args.configs:
        row = run_child([sys.executable, __file__, "--child", name, "--iters", str(args.iters),
                         "--warmup", str(args.warmup)])
        if use_torch:
            out = subprocess.run([sys.executable, str(HERE / "torch_reference.py"), "--config", name,
                                  "--iters", str(args.iters), "--warmup", str(args.warmup),
                                  "--batch_size", str(row["batch_size"])],
                                 capture_output=True, text=True, check=True).stdout
            row["torch"] = json.loads(out.strip().splitlines()[-1])
            row["ratio"] = round(row["img_per_s"] / row["torch"]["img_per_s"], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)

    header = (f"{'config':<12}{'img/s':>9}{'d_fake':>9}{'d_real':>9}{'g':>9}{'first s':>9}{'RSS MiB':>9}"
              + (f"{'torch img/s':>13}{'ratio':>7}" if use_torch else ""))
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores; paddle {rows[0]['paddle']}, "
          f"MKL_DEBUG_CPU_TYPE={rows[0]['mkl_debug_cpu_type'] or '(unset)'}\n{header}")
    for r in rows:
        p = r["program_img_per_s"]
        line = (f"{r['config']:<12}{r['img_per_s']:>9.1f}{p['d_fake']:>9.1f}{p['d_real']:>9.1f}{p['g']:>9.1f}"
                f"{r['first_iteration_s']:>9.2f}{r['peak_rss_mib']:>9.0f}")
        if use_torch:
            line += f"{r['torch']['img_per_s']:>13.1f}{r['ratio']:>7.2f}"
        print(line)
    Path(args.out).write_text(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rows": rows}, indent=2)
                              + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
