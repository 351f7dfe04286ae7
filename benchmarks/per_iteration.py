"""FID against iterations (and seconds) for paddle_gan runs and the PyTorch replica, side by side.

    # paddle_gan, a checkpoint every 1,000 iterations, 5,000 in all (quality.py scores each checkpoint):
    python benchmarks/quality.py -d mnist --every 1000 --budget 100000 --out runs/default_s1 -- --seed 1 \\
        -o num_passes=5
    # the replica (needs PyTorch), same iterations:
    python benchmarks/torch_replica.py --out runs/torch_s1 --iters 5000 --every 1000 --seed 1
    # the table (scores the replica's samples with paddle_gan.evaluate, once; the scores are kept in scores.json):
    python benchmarks/per_iteration.py runs/default_s1 runs/torch_s1 [...]

Every column is scored by paddle_gan's own evaluator on 10,000 samples. The replica's seconds are its training
time alone; paddle_gan's are the wall-clock from the launch to the checkpoint. A benchmark reports; it asserts
nothing.
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paddle_gan  # noqa: E402,F401  first: it sets Paddle's environment before Paddle loads
import numpy as np  # noqa: E402

from paddle_gan import evaluate  # noqa: E402

SCORES = "scores.json"


def replica_points(folder):
    """The replica's checkpoints in `folder`, scored (and the scores kept in folder/scores.json)."""
    run = json.loads((folder / "replica.json").read_text())
    cached = json.loads((folder / SCORES).read_text()) if (folder / SCORES).is_file() else {}
    points = []
    for point in run["points"]:
        key = str(point["iteration"])
        if key not in cached:
            samples = np.load(folder / f"samples-iter{point['iteration']:06d}.npy", allow_pickle=False)
            metrics = evaluate.evaluate_samples("mnist", samples, "data/mnist_data")
            cached[key] = {k: float(metrics[k]) for k in evaluate.IMAGE_SUMMARY}
            (folder / SCORES).write_text(json.dumps(cached, indent=1))
            print(f"{folder.name} iteration {key}: {evaluate.summary_line(metrics)}", file=sys.stderr, flush=True)
        points.append({**point, **cached[key]})
    return points


def run_points(folder):
    """A paddle_gan run scored by quality.py (quality.json), or a replica folder."""
    if (folder / "quality.json").is_file():
        return json.loads((folder / "quality.json").read_text())["points"]
    if (folder / "replica.json").is_file():
        return replica_points(folder)
    raise SystemExit(f"{folder}: neither quality.json (benchmarks/quality.py) nor replica.json "
                     "(benchmarks/torch_replica.py)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--metric", default="fid", choices=evaluate.IMAGE_SUMMARY)
    args = parser.parse_args()
    runs = {folder.name: {p["iteration"]: p for p in run_points(folder)} for folder in args.runs}
    iterations = sorted({i for points in runs.values() for i in points})
    print("| iteration | " + " | ".join(runs) + " |")
    print("|---" * (len(runs) + 1) + "|")
    for i in iterations:
        cells = [f"{points[i][args.metric]:.1f} ({points[i]['seconds'] / 60:.1f} min)" if i in points else "-"
                 for points in runs.values()]
        print(f"| {i} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
