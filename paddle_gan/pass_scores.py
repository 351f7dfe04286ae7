"""`--eval_every_pass N`: after every pass, N samples scored by paddle_gan.evaluate, appended to
`{d}_samples/metrics.csv` and drawn in metrics.png."""
import csv

from . import evaluate, plots, readers
from .config import ConfigError, gaussian_target
from .generate import sample


def check_dataset(config):
    """Refuse, before any work, a data set the evaluator has no metrics for."""
    if config["dataset"] not in evaluate.SCORED_DATASETS:
        raise ConfigError(f"--eval_every_pass: paddle_gan.evaluate has no metrics for {config['dataset']} "
                          f"(it knows {', '.join(evaluate.SCORED_DATASETS)}); train without it")


class PassScores:
    """metrics.csv in `samples_dir`, cut back to the passes done in the first `iterations_done` iterations; `n`
    samples scored per pass."""

    def __init__(self, config, samples_dir, n, iterations_done=0):
        self.config, self.n, self.path = config, n, samples_dir / "metrics.csv"
        if config["dataset"] in evaluate.IMAGE_DATASETS:
            # The classifier and the test set's statistics now, not after the first pass: training a missing
            # classifier takes minutes, and a missing test set should stop the run before it starts.
            evaluate.reference(config["dataset"], config["data_dir"], log=lambda m: print(m, flush=True))
        self.rows = _restart(self.path, iterations_done)

    def score(self, exe, programs, scope, pass_id, iteration):
        """Score the generator as it is now (always the same noise), append the scores to metrics.csv and redraw
        metrics.png."""
        z = readers.evaluation_noise(self.config, self.n)
        labels = readers.balanced_labels(self.config, self.n)
        samples = sample(exe, programs, scope, z, self.config["batch_size"], labels)
        metrics = evaluate.evaluate_samples(self.config["dataset"], samples, self.config["data_dir"], labels=labels,
                                            normal=gaussian_target(self.config))
        row = {"pass": pass_id, "iteration": iteration, **{k: metrics[k] for k in evaluate.summary_keys(self.config)}}
        new_file = not self.path.is_file()
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        self.rows.append(row)
        plots.save_metrics_plot([r["iteration"] for r in self.rows], self.rows, "iteration",
                                self.path.with_name("metrics.png"))
        print(f"Pass {pass_id}: {evaluate.summary_line(metrics)} ({self.n} samples)", flush=True)


def _restart(path, iterations_done):
    """The rows of passes finished in the first `iterations_done` iterations, the file rewritten with only those."""
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
