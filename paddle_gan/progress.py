"""How a pass shows its progress: a tqdm bar on a terminal, the notebook's bar in Jupyter, plain log lines elsewhere.

A bar rewrites one line in place, which is what a person at a terminal wants and what a log file (CI, nohup,
a job scheduler) cannot hold: there every `log_every` iterations gets one line in the v0 demo's words instead.
"""
import math
import os
import sys
import time

from tqdm import tqdm
from tqdm.auto import tqdm as notebook_tqdm  # the widget bar in Jupyter (falls back to text without ipywidgets)

from .schedules import LOSS_NAMES


def in_notebook():
    """True inside a Jupyter kernel (AI Studio, JupyterLab, nbclient), where stdout is no terminal but shows bars."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and "IPKernelApp" in shell.config


def output_mode(stream=None):
    """"notebook", "terminal" or "lines": how progress is shown on `stream` (default: stdout)."""
    if in_notebook():
        return "notebook"
    stream = stream if stream is not None else sys.stdout
    return "terminal" if stream.isatty() and _has_width(stream) else "lines"


def _has_width(stream):
    # A pseudo-terminal nobody sized (`script`, some CI runners) reports 0 columns, and tqdm then draws nothing.
    try:
        return os.get_terminal_size(stream.fileno()).columns > 0
    except (OSError, ValueError):  # no file descriptor behind the stream: trust isatty()
        return True


class PassProgress:
    """Progress of one pass of `total` iterations, starting at `start` (a resumed pass starts midway).

    Use as a context manager; call `update(batch_id, loss, trained)` after every iteration and `write(text)` for
    any other message while the pass runs (printing straight to a terminal would tear the bar).
    """

    def __init__(self, pass_id, total, start=0, log_every=100, mode=None, stream=None):
        self.pass_id, self.log_every = pass_id, log_every
        self.stream = stream if stream is not None else sys.stdout
        self.mode = mode or output_mode(self.stream)
        self.bar = None
        if self.mode != "lines":
            bar = notebook_tqdm if self.mode == "notebook" else tqdm
            self.bar = bar(total=total, initial=start, desc=f"Pass {pass_id}", unit="it", file=self.stream,
                           dynamic_ncols=True, leave=True)
        self.started, self.done = time.perf_counter(), 0
        # Each loss as last computed in the pass: an iteration of the kstep schedule trains one network and computes
        # only its losses, and on a GPU most iterations fetch none (device.gpu_path). A NaN in an update is a loss
        # not computed: a computed one that is not finite stops the run (train.train_step).
        self.last = dict.fromkeys(LOSS_NAMES)

    def update(self, batch_id, loss, trained):
        """One iteration done: `loss` maps LOSS_NAMES to floats (nan where not computed), `trained` is D, G or DG."""
        self.done += 1
        computed = {k: v for k, v in loss.items() if k in self.last and not math.isnan(v)}
        self.last.update(computed)
        if self.bar is not None:
            if computed:
                self.bar.set_postfix(self._shown() | {"trained": trained}, refresh=False)
            self.bar.update(1)
        elif batch_id % self.log_every == 0:  # formatted only for the lines printed: this runs every iteration
            seconds = (time.perf_counter() - self.started) / self.done
            losses = ", ".join(f"{k} {v}" for k, v in self._shown().items())
            self.write(f"Pass {self.pass_id}, Batch {batch_id}: {losses}"
                       + f", trained {trained} ({seconds:.3f} s/iter)")

    def _shown(self):
        return {k: "-" if v is None else f"{v:.4f}" for k, v in self.last.items()}

    def write(self, text):
        """Print `text` on a line of its own, above the bar if there is one."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
