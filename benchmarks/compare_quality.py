"""Several quality.py runs in one picture: FID and Inception Score against minutes, one line per run; and one run's
fixed-noise grids at chosen minutes side by side. What the READMEs' "How long to train" shows.

    python benchmarks/compare_quality.py --runs NEW_S1 NEW_S2 OLD_S1 OLD_S2 --labels "..." "..." "..." "..."
                                         --plot docs/mnist_quality.png
    python benchmarks/compare_quality.py --grids NEW_S1 --minutes 5 15 30 --out docs/mnist_5_15_30min.png

Each RUN is a folder quality.py wrote (quality.json, grids/). For --grids, the checkpoint nearest each minute
(its grid from quality.py's grids/). A benchmark reports; it asserts nothing.
"""
import argparse
import json
import sys
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.image import imread


def load(run):
    return json.loads((Path(run) / "quality.json").read_text())


def plot(runs, labels, path):
    fig = Figure(figsize=(10, 4))
    fid_ax, is_ax = fig.subplots(1, 2)
    for run, label in zip(runs, labels):
        points = load(run)["points"]
        minutes = [p["seconds"] / 60 for p in points]
        style = "-" if "new" in label.lower() or "默认" in label else "--"
        fid_ax.plot(minutes, [p["fid"] for p in points], style, marker=".", label=label)
        is_ax.plot(minutes, [p["inception_score"] for p in points], style, marker=".", label=label)
    floor = load(runs[0])["floor"]
    fid_ax.axhline(floor["fid"], color="gray", linestyle=":", label="real data")
    is_ax.axhline(floor["inception_score"], color="gray", linestyle=":", label="real data")
    fid_ax.set(yscale="log", xlabel="minutes of training", ylabel="FID (lower is better)")
    is_ax.set(xlabel="minutes of training", ylabel="Inception Score (10 at best)")
    fid_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def grids(run, minutes, path):
    points = load(run)["points"]
    files = sorted((Path(run) / "grids").glob("*.png"))
    chosen = []
    for minute in minutes:
        point = min(points, key=lambda p: abs(p["seconds"] / 60 - minute))
        [file] = [f for f in files if f.name.endswith(f"iter{point['iteration']}.png")]
        chosen.append((point, file))
    fig = Figure(figsize=(3.6 * len(chosen), 3.8))
    for ax, (point, file) in zip(fig.subplots(1, len(chosen)), chosen):
        ax.imshow(imread(file), cmap="gray")
        ax.set_title(f"{point['seconds'] / 60:.1f} min ({point['iteration']:,} it.), FID {point['fid']:.1f}",
                     fontsize=10)
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", help="quality.py folders to plot together")
    parser.add_argument("--labels", nargs="+", help="one per run (a label with 'new' in it draws solid)")
    parser.add_argument("--plot", help="where to write the FID/IS plot")
    parser.add_argument("--grids", help="a quality.py folder whose grids to set side by side")
    parser.add_argument("--minutes", type=float, nargs="+", default=[5, 15, 30])
    parser.add_argument("--out", help="where to write the grids")
    args = parser.parse_args(argv)
    if args.runs:
        plot(args.runs, args.labels or args.runs, args.plot)
        print(f"wrote {args.plot}")
    if args.grids:
        grids(args.grids, args.minutes, args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
