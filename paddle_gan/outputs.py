"""What a training run writes, in one place: the v0 demo's `{d}_samples/` and `{d}_params/` folders under
`--output_dir`, the VisualDL dashboard, and the messages a stopped or diverged run ends with.

  {d}_samples/losses.csv      a row per iteration: pass, iteration (the batch in its pass), the four losses, trained
  {d}_samples/loss.png        the losses so far, redrawn after every pass
  {d}_samples/train_pass{N}.png   the pass's samples from the run's fixed picture noise
  {d}_samples/progress.gif    every pass's picture so far, a frame each, rewritten after every pass
  {d}_samples/metrics.csv, metrics.png   with --eval_every_pass: the scores of every pass (paddle_gan.evaluate)
  {d}_params/pass-NNNNN/      a checkpoint after every pass, or when the run is stopped midway (checkpoint.py)

With several processes (parallel.py) rank 0 writes all of it; the other ranks hold a SilentOutputs, which writes
nothing but still checks each checkpoint's parameters, so that every rank stops alike when they are not finite.

One run per folder: a run holds a lock on both folders (`.lock` in each) from before it writes anything until its
process ends, so a second run into the same folders (or a --resume of a run still going) stops with an error
instead of writing over the first one's files.
"""
import contextlib
import csv
import os
import secrets
import shlex
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no folder locks (paddle_gan is tested on Linux)
    fcntl = None

from . import checkpoint, evaluate, parallel, plots, readers
from .config import ConfigError
from .errors import Diverged, Interrupted, UserError, python_command
from .generate import sample
from .schedules import LOSS_NAMES
from .visualdl_log import VisualDLLog

LOSS_COLUMNS = ("pass", "iteration", *LOSS_NAMES, "trained")
RUN_NAME = "run_name.txt"  # in {d}_samples/: the run its logs belong to; every checkpoint's meta.json names it too
RUN_FILES = ("losses.csv", "metrics.csv", "loss.png", "metrics.png", "train_pass0.png")  # in {d}_samples/


class OutputError(UserError):
    """The output folders cannot be written, or hold an earlier run that a fresh start would overwrite."""


def for_this_process(config, output_dir, resume=None, visualdl=None, eval_samples=0):
    """Rank 0's RunOutputs; on the other ranks of a data-parallel run, its silent twin. Checks, before any work,
    that the outputs can be written (and the dashboard and the evaluation can run)."""
    outputs = RunOutputs if parallel.rank() == 0 else SilentOutputs
    return outputs(config, output_dir, resume, visualdl, eval_samples)


_claimed = {}  # folder -> its open lock file: the folders this process holds, until it ends


def claim_folders(config, output_dir):
    """Make the run's output folders ({d}_samples/, {d}_params/ under `output_dir`) this process's: an exclusive
    lock on `.lock` in each (fcntl.flock), which the OS drops when the process ends, however it ends (kill -9 too).
    Raises OutputError, naming the process that holds it, when another run holds one. Claiming twice is claiming
    once; the processes main() spawns for a run are covered by its claim. A run lets go when it ends
    (RunOutputs.__exit__), or when its process ends."""
    if os.environ.get(parallel.STARTED_HERE):
        return
    for folder in (Path(output_dir) / config["samples_dir"], Path(output_dir) / config["params_dir"]):
        key = folder.resolve()
        if key in _claimed:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = open(folder / ".lock", "a+")
        except OSError as e:
            raise OutputError(f"cannot write to {folder} ({e.strerror}); choose a writable --output_dir") from None
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.seek(0)
                holder = lock.read().strip() or "unknown"
                lock.close()
                raise OutputError(f"{folder} belongs to a run that is still going (process {holder}); wait for it "
                                  f"to end or stop it (Ctrl-C), or choose another --output_dir") from None
            lock.truncate(0)
            lock.write(f"{os.getpid()}\n")
            lock.flush()
        _claimed[key] = lock


def release_folders(config, output_dir):
    """Let go of the claim of claim_folders (a notebook's kernel lives on after its train() ends)."""
    for folder in (Path(output_dir) / config["samples_dir"], Path(output_dir) / config["params_dir"]):
        lock = _claimed.pop(folder.resolve(), None)
        if lock is not None:
            lock.close()  # closing the file drops the lock


class RunOutputs:
    """The outputs of one run of `config` under `output_dir`. `resume`: the checkpoint it continues from (None for a
    fresh run); `visualdl`: a folder for the dashboard's records; `eval_samples`: if not 0, how many samples to
    score after every pass.

    Use: `started(...)` once the programs are built (a context manager: the logs are closed however the run ends),
    then `log(...)` every iteration and `pass_end(pass_id)` after every pass."""

    def __init__(self, config, output_dir, resume=None, visualdl=None, eval_samples=0):
        self.config, self.output_dir, self.eval_samples = config, Path(output_dir), eval_samples
        self.samples_dir = self.output_dir / config["samples_dir"]
        self.params_dir = self.output_dir / config["params_dir"]
        self.resume = self.last_checkpoint = resume
        if eval_samples and config["dataset"] not in evaluate.SCORED_DATASETS:
            raise ConfigError(f"--eval_every_pass: paddle_gan.evaluate has no metrics for {config['dataset']} "
                              f"(it knows {', '.join(evaluate.SCORED_DATASETS)}); train without it")
        self.dashboard = self._open_dashboard(visualdl)
        self._prepare_folders(resume)

    def _open_dashboard(self, visualdl):
        return VisualDLLog(visualdl) if visualdl else None  # first: a missing VisualDL fails before anything else

    def _prepare_folders(self, resume):
        """Claim the output folders for this run and check that they can be written; a fresh run must find no
        earlier run's files there."""
        claim_folders(self.config, self.output_dir)
        for folder in (self.samples_dir, self.params_dir):
            try:
                tempfile.TemporaryFile(dir=folder).close()
            except OSError as e:
                raise OutputError(f"cannot write to {folder} ({e.strerror}); choose a writable --output_dir") from None
        checkpoint.put_back_moved_aside(self.params_dir, log=lambda message: print(message, flush=True))
        for name in checkpoint.remove_unfinished(self.params_dir):
            print(f"removed {self.params_dir / name}, a checkpoint whose writing was cut off", flush=True)
        if resume is None:
            earlier = [path for path in (checkpoint.latest(self.params_dir), *(self.samples_dir / n for n in RUN_FILES))
                       if path and path.exists()]
            if earlier:
                make = " (make run ARGS=--resume)" if os.environ.get("MAKELEVEL") else ""
                raise OutputError(f"{earlier[0]} belongs to an earlier run that a fresh start would overwrite; "
                                  f"continue that run with --resume{make}, or move it away or choose another "
                                  "--output_dir to start afresh")
        self.run_name = run_name(self.samples_dir, resume)

    def _branch_off(self):
        """A resume from before the newest checkpoint: set the abandoned branch aside (checkpoint.set_aside_newer),
        with a copy of the logs as they were, before the logs are cut back to the resumed iteration."""
        aside = checkpoint.set_aside_newer(self.params_dir, self.resume)
        if aside:
            for name in ("losses.csv", "metrics.csv"):
                if (self.samples_dir / name).is_file():
                    shutil.copy2(self.samples_dir / name, aside / name)
            print(f"branching off at {Path(self.resume).name}: the newer checkpoints of the abandoned run, and a copy "
                  f"of its logs, are now in {aside}", flush=True)

    # ---- the run --------------------------------------------------------------------------------------------------

    def started(self, exe, programs, scope, streams, iteration=0):
        """Bind the run's executor, programs, scope and `streams` (name -> real batches, noise batches, schedule,
        whose state every checkpoint keeps), `iteration` iterations done; open the logs. Returns self."""
        self.exe, self.programs, self.scope, self.streams = exe, programs, scope, streams
        self.iteration = iteration
        self._open_logs()
        return self

    def _open_logs(self):
        if self.eval_samples and self.config["dataset"] in evaluate.IMAGE_DATASETS:
            # The classifier and the test set's statistics now, not after the first pass: training a missing
            # classifier takes minutes, and a missing test set should stop the run before it starts.
            evaluate.reference(self.config["dataset"], self.config["data_dir"], log=lambda m: print(m, flush=True))
        if self.resume:  # the run is back where the checkpoint left it (checkpoint.resume): safe to branch off
            self._branch_off()
        with self._writing():
            self.history = _restart_loss_log(self.samples_dir / "losses.csv", self.iteration)
            self.metrics_rows = _restart_metrics_log(self.samples_dir / "metrics.csv", self.iteration)
            self.loss_file = open(self.samples_dir / "losses.csv", "a", newline="")
        self.loss_writer = csv.writer(self.loss_file)

    def log(self, pass_id, batch_id, loss, trained, real, noise):
        """After an iteration on the feeds `real` and `noise` (empty: drawn in the programs): its losses (nan where
        not computed or not fetched) and who `trained` ("D", "G" or "DG")."""
        with self._writing():  # a full disk shows here when the file's buffer is written out
            self.loss_writer.writerow([pass_id, batch_id, *(_fmt(loss[k]) for k in LOSS_NAMES), trained])
        for key, value in (("iteration", self.iteration), ("d_loss", loss["d_loss"]), ("g_loss", loss["g_loss"])):
            self.history[key].append(value)
        if self.dashboard and batch_id % self.config["log_every"] == 0:
            noise = noise or next(self.streams["noise_batches"])
            self.dashboard.iteration(self.iteration, loss, *d_outputs(self.exe, self.programs, self.scope, real, noise))
        self.iteration += 1

    def pass_end(self, pass_id):
        """After a pass: its picture, the loss curve, the dashboard's pass records and the evaluation; then the
        pass's checkpoint."""
        samples = sample(self.exe, self.programs, self.scope, readers.picture_noise(self.config),
                         labels=readers.picture_labels(self.config))
        if self.config["dataset"] == "uniform":  # the v0 demo printed where the toy's points lie
            mean, std = samples.mean(axis=0), samples.std(axis=0)
            print(f"Pass {pass_id}: samples mean {np.round(mean.astype(float), 3).tolist()}, std "
                  f"{np.round(std.astype(float), 3).tolist()} (U[0,1)^2: mean [0.5, 0.5], std [0.289, 0.289])",
                  flush=True)
        seen_by_d = d_map(self.exe, self.programs, self.scope, self.config) if self.config["dataset"] == "uniform" \
            else None
        with self._writing():
            plots.save_samples(samples, self.samples_dir / f"train_pass{pass_id}.png", f"pass {pass_id}", seen_by_d)
            plots.save_progress_animation([self.samples_dir / f"train_pass{n}.png" for n in range(pass_id + 1)
                                           if (self.samples_dir / f"train_pass{n}.png").is_file()],
                                          self.samples_dir / "progress.gif")
            plots.save_loss_curve(self.history["iteration"], self.history["d_loss"], self.history["g_loss"],
                                  self.samples_dir / "loss.png")
            if self.dashboard:
                self.dashboard.pass_end(pass_id, learning_rates(self.programs, self.scope), samples)
            if self.eval_samples:
                self._evaluate(pass_id)
        self.save(pass_id, self.config["iters_per_pass"])

    def _evaluate(self, pass_id):
        """Score `eval_samples` samples of the generator as it is now (always the same noise), append the scores to
        metrics.csv and redraw metrics.png."""
        z = readers.evaluation_noise(self.config, self.eval_samples)
        labels = readers.balanced_labels(self.config, self.eval_samples)
        samples = sample(self.exe, self.programs, self.scope, z, self.config["batch_size"], labels)
        metrics = evaluate.evaluate_samples(self.config["dataset"], samples, self.config["data_dir"], labels=labels)
        row = {"pass": pass_id, "iteration": self.iteration,
               **{k: metrics[k] for k in evaluate.summary_keys(self.config)}}
        path = self.samples_dir / "metrics.csv"
        new_file = not path.is_file()
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        self.metrics_rows.append(row)
        plots.save_metrics_plot([r["iteration"] for r in self.metrics_rows], self.metrics_rows, "iteration",
                                self.samples_dir / "metrics.png")
        print(f"Pass {pass_id}: {evaluate.summary_line(metrics)} ({self.eval_samples} samples)", flush=True)

    # ---- checkpoints ----------------------------------------------------------------------------------------------

    def save(self, pass_id, batches_done):
        """Write the checkpoint of `batches_done` batches into pass `pass_id` (all of them: the pass's own
        checkpoint); keep the newest `keep_checkpoints`. Parameters that are not finite stop the run instead
        (finite losses do not prove finite weights: NaN data, for one). Returns the checkpoint folder."""
        last = batches_done == self.config["iters_per_pass"]
        path = checkpoint.pass_dir(self.params_dir, pass_id, None if last else batches_done)
        try:
            with self._writing():
                self._write_checkpoint(path, pass_id, batches_done)
        except checkpoint.NotFiniteError as e:
            raise Diverged(f"{e}: training diverged; the last good checkpoint is {self.last_checkpoint or 'none yet'}; "
                           "check the data, or try a lower --lr") from None
        self.last_checkpoint = path
        return path

    def _write_checkpoint(self, path, pass_id, batches_done):
        self.loss_file.flush()  # the log on disk reaches as far as the checkpoint does
        os.fsync(self.loss_file.fileno())
        log = self.samples_dir / "losses.csv"
        if not log.is_file() or not os.path.samestat(os.fstat(self.loss_file.fileno()), log.stat()):
            raise OutputError(f"{log} was moved, deleted or replaced while the run wrote it (the rows since then "
                              f"went with it); {self._how_to_go_on()}")
        checkpoint.save(path, self.scope, self.programs,
                        checkpoint.make_meta(self.config, pass_id, batches_done, self.iteration, self.streams,
                                             self.run_name))
        checkpoint.prune(self.params_dir, self.config["keep_checkpoints"])

    @contextlib.contextmanager
    def _writing(self):
        """An output that cannot be written (a full disk, a folder replaced by a file) ends the run with one line;
        a checkpoint cut off midway leaves the previous one as it was (checkpoint.save)."""
        try:
            yield
        except OSError as e:
            raise OutputError(f"cannot write {e.filename or self.output_dir} ({e.strerror}); make room or put "
                              f"back what was moved, then {self._how_to_go_on()}") from None

    def _how_to_go_on(self):
        if self.last_checkpoint is None:
            return f"no checkpoint was written yet: move {self.samples_dir} away and start the run again"
        return f"continue from checkpoint {self.last_checkpoint} with: {self.resume_command()}"

    # ---- how a run ends early -------------------------------------------------------------------------------------

    def interrupted(self, signum, pass_id, batches_done):
        """Ctrl-C or SIGTERM after `batches_done` batches of pass `pass_id`: the checkpoint (unless the pass's own was
        just written) and the exception that ends the run, saying how to continue."""
        if batches_done < self.config["iters_per_pass"]:
            self.save(pass_id, batches_done)
            where = f"in pass {pass_id} after {batches_done} batches"
        else:
            where = f"after pass {pass_id}"
        return Interrupted(signum, f"stopped {where}; checkpoint {self.last_checkpoint}; continue with: "
                                   f"{self.resume_command()}")

    def diverged(self, error, pass_id, batch_id, fetch_every=1):
        """A loss came back NaN or inf (`error`) at batch `batch_id` of pass `pass_id`: the exception that ends the
        run, naming the last good checkpoint."""
        since = " (or since the last fetch of losses)" if fetch_every > 1 else ""
        return Diverged(f"{error} at pass {pass_id}, batch {batch_id}{since}: training diverged; the last good "
                        f"checkpoint is {self.last_checkpoint or 'none yet'}; try a lower --lr")

    def resume_command(self):
        """The command that continues this run, as it runs from where the user is."""
        python = python_command()
        where = "" if self.output_dir == Path(".") else f" --output_dir {shlex.quote(str(self.output_dir))}"
        command = (f"{parallel.restart_prefix(python)}{python} -m paddle_gan.train -d {self.config['dataset']}{where}"
                   " --resume")
        if os.environ.get("MAKELEVEL") and where == "":  # started by `make run`, whose ARGS pass flags on
            command += " (or: make run ARGS=--resume)"
        return command

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # However the run ends, the logs are closed: a stopped run's curves are worth most.
        if getattr(self, "loss_file", None):
            self.loss_file.close()
        if self.dashboard:
            self.dashboard.close()
        release_folders(self.config, self.output_dir)


class SilentOutputs(RunOutputs):
    """What the ranks other than 0 hold: the same run, nothing written. They still check each checkpoint's
    parameters (they hold the same ones as rank 0), so that they stop with rank 0 when those are not finite."""

    def _open_dashboard(self, visualdl):
        return None

    def _prepare_folders(self, resume):
        pass

    def _open_logs(self):
        pass

    def log(self, pass_id, batch_id, loss, trained, real, noise):
        self.iteration += 1

    def pass_end(self, pass_id):
        self.save(pass_id, self.config["iters_per_pass"])

    def _write_checkpoint(self, path, pass_id, batches_done):
        checkpoint.check_finite(path, self.scope, self.programs)


D_MAP_SIZE = 101  # points a side of the grid the toy's picture shows D's view on


def d_map(exe, programs, scope, config):
    """D's probability that a point is real on a D_MAP_SIZE x D_MAP_SIZE grid over the toy's plotted area (row:
    y, column: x), batch norm in eval mode, as the losses program computes it."""
    axis = np.linspace(*plots.SCATTER_LIMITS, D_MAP_SIZE, dtype=np.float32)
    x, y = np.meshgrid(axis, axis)
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    z = readers.noise(config, len(points), seed=0)  # G's half of the program, unused here: it needs its feed
    probs = exe.run(programs.losses, feed={"img": points, "z": z}, fetch_list=programs.fetch["d_of_each"],
                    scope=scope)[0]
    return np.asarray(probs).reshape(D_MAP_SIZE, D_MAP_SIZE)


def run_name(samples_dir, resume):
    """The name of the run that writes into `samples_dir`, kept in its RUN_NAME file: a fresh run's is new; a
    resumed run's is its checkpoint's (or, for a checkpoint from before names, the folder's). A checkpoint of one
    run resumed into a folder that holds another run's logs is refused: their rows would follow each other in one
    losses.csv."""
    path = samples_dir / RUN_NAME
    here = path.read_text().strip() if path.is_file() else None
    theirs = checkpoint.read_meta(resume).get("run") if resume else None
    if here and theirs and here != theirs:
        raise OutputError(f"{resume} is a checkpoint of run {theirs}, but {samples_dir} holds the logs of run {here}: "
                          "resume it into its own --output_dir, or into a new one")
    name = theirs or (here if resume else None) or time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(name + "\n")
    os.replace(tmp, path)
    return name


def d_outputs(exe, programs, scope, real, noise):
    """D's mean probabilities (D(x), D(G(z))) on a real batch and a noise batch (their feeds), batch norm in eval
    mode."""
    return [float(v) for v in exe.run(programs.losses, feed={**real, **noise},
                                      fetch_list=programs.fetch["d_outputs"], scope=scope)]


def learning_rates(programs, scope):
    """{"G": rate, "D": rate}: what each Adam will use now (read from its state, so a --lr set on resume shows)."""
    return {net: float(np.array(scope.find_var(name).get_tensor()).item())
            for net, name in programs.learning_rates.items()}


def _restart_loss_log(path, rows_kept):
    """The loss log of a resumed run: its first `rows_kept` rows, rewritten so later rows of the lost run go.
    Returns those rows' (iteration, d_loss, g_loss), for the loss curve."""
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
    d_loss, g_loss = LOSS_COLUMNS.index("d_loss"), LOSS_COLUMNS.index("g_loss")
    return {"iteration": list(range(len(rows))),
            "d_loss": [float(r[d_loss] or "nan") for r in rows], "g_loss": [float(r[g_loss] or "nan") for r in rows]}


def _restart_metrics_log(path, iterations_done):
    """The per-pass metrics of a resumed run: the rows of passes it finished before `iterations_done`."""
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


def _fmt(value):
    return "" if np.isnan(value) else f"{value:.6f}"
