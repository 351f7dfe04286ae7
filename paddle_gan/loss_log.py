"""`{d}_samples/losses.csv`: a row per iteration (pass, iteration in the pass, the four losses, who trained).

A resumed run first cuts the log back to the iterations its checkpoint holds, so the rows of a lost stretch of run
go; every checkpoint syncs the log to disk, so the log on disk reaches as far as the newest checkpoint does.
"""
import csv
import os

import numpy as np

from .schedules import LOSS_NAMES

LOSS_COLUMNS = ("pass", "iteration", *LOSS_NAMES, "trained")


class LossLog:
    """losses.csv in `samples_dir`, with its first `iterations_done` rows kept (0: a fresh log). `history` holds
    every row's iteration and four losses, for the loss curve."""

    def __init__(self, samples_dir, iterations_done=0):
        self.path = samples_dir / "losses.csv"
        self.history = _restart(self.path, iterations_done)
        self.file = open(self.path, "a", newline="")
        self.writer = csv.writer(self.file)

    def write(self, pass_id, batch_id, loss, trained):
        """One iteration's row: its losses (LOSS_NAMES -> float, nan where not computed) and who `trained`."""
        self.writer.writerow([pass_id, batch_id, *("" if np.isnan(loss[k]) else f"{loss[k]:.6f}" for k in LOSS_NAMES),
                              trained])
        self.history["iteration"].append(len(self.history["iteration"]))
        for name in LOSS_NAMES:
            self.history[name].append(loss[name])

    def sync(self):
        """Put every row written so far on disk. Returns False if the file at `path` is no longer this log (moved,
        deleted or replaced while the run wrote it: its rows went with it)."""
        self.file.flush()
        os.fsync(self.file.fileno())
        return self.path.is_file() and os.path.samestat(os.fstat(self.file.fileno()), self.path.stat())

    def close(self):
        self.file.close()


def _restart(path, rows_kept):
    """Rewrite the log at `path` with its first `rows_kept` rows. Returns those rows' history."""
    rows = []
    if path.is_file():
        with open(path, newline="") as f:
            rows = list(csv.reader(f))[1:rows_kept + 1]
    if len(rows) < rows_kept:  # cut short or deleted since the checkpoint: the rows stay, empty, so the next ones
        # land at their iterations; said, since the curve then has a gap
        print(f"{path} held {len(rows)} of the {rows_kept} iterations before the checkpoint; the missing rows are "
              "left empty", flush=True)
        rows += [[""] * len(LOSS_COLUMNS) for _ in range(rows_kept - len(rows))]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows([LOSS_COLUMNS, *rows])
    os.replace(tmp, path)
    columns = {name: LOSS_COLUMNS.index(name) for name in LOSS_NAMES}
    return {"iteration": list(range(len(rows))),
            **{name: [float(r[column] or "nan") for r in rows] for name, column in columns.items()}}
