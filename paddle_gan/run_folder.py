"""The run's folders: `{d}_samples/` and `{d}_params/` under `--output_dir`, as the v0 demo named them.

One run per folder. A run locks both folders (`.lock` in each) from before it writes anything until its process
ends, so a second run into the same folders (or a --resume of a run still going) stops with an error instead of
writing over the first one's files. A fresh run must find no earlier run's files there; a resumed run must be the
run whose logs the folder holds (`run_name.txt`). What goes into the folders: loss_log.py, pass_pictures.py,
pass_scores.py, saving.py.
"""
import os
import secrets
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no folder locks (paddle_gan is tested on Linux)
    fcntl = None

from . import checkpoint, parallel
from .config import conf_path, load_config
from .errors import UserError, python_command

RUN_NAME = "run_name.txt"  # in {d}_samples/: the run its logs belong to; every checkpoint's meta.json names it too
RUN_FILES = ("losses.csv", "metrics.csv", "loss.png", "metrics.png", "train_pass0.png")  # in {d}_samples/


class OutputError(UserError):
    """The output folders cannot be written, or hold an earlier run that a fresh start would overwrite."""


@dataclass
class RunFolder:
    output_dir: Path
    samples_dir: Path  # pictures and logs
    params_dir: Path  # checkpoints
    run_name: str = None  # set by prepare()


def folder_of(config, output_dir):
    """The RunFolder of a run of `config` under `output_dir`, as yet unclaimed (what the ranks that write nothing
    know of it)."""
    output_dir = Path(output_dir)
    return RunFolder(output_dir, output_dir / config["samples_dir"], output_dir / config["params_dir"])


def prepare(config, output_dir, resume=None):
    """Claim the folders of a run of `config` under `output_dir` (`resume`: the checkpoint it continues from, None
    for a fresh run), check them (`check`) and name the run. Returns the RunFolder."""
    claim_folders(config, output_dir)
    run = check(config, output_dir, resume)
    run.run_name = agreed_name(run.samples_dir, resume)
    tmp = run.samples_dir / (RUN_NAME + ".tmp")
    tmp.write_text(run.run_name + "\n")
    os.replace(tmp, run.samples_dir / RUN_NAME)
    return run


def check(config, output_dir, resume=None):
    """Check that the folders of a run of `config` under `output_dir` can be written and may take this run (a fresh
    run finds no earlier run's files; a resumed one is the run whose logs are there), and tidy up after a crash.
    Returns the RunFolder. With several processes main() calls it before starting them, so that a refusal is one
    line before any process starts."""
    run = folder_of(config, output_dir)
    samples_dir, params_dir = run.samples_dir, run.params_dir
    for folder in (samples_dir, params_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as e:
            raise OutputError(f"cannot write to {folder} ({e.strerror}); choose a writable --output_dir") from None
    checkpoint.put_back_moved_aside(params_dir, log=lambda message: print(message, flush=True))
    for name in checkpoint.remove_unfinished(params_dir):
        print(f"removed {params_dir / name}, a checkpoint whose writing was cut off", flush=True)
    if resume is None:
        newest = checkpoint.latest(params_dir)
        earlier = ([newest] if newest else []) + left_behind(samples_dir)
        if earlier and newest is None:  # nothing to resume: only starting afresh helps
            raise OutputError(f"{earlier[0]} is left from an earlier run that wrote no checkpoint (nothing to "
                              f"resume); move {samples_dir} away or choose another --output_dir to start afresh")
        if earlier:
            make = " (make run ARGS=--resume)" if os.environ.get("MAKELEVEL") else ""
            raise OutputError(f"{earlier[0]} belongs to an earlier run that a fresh start would overwrite; "
                              f"continue that run with --resume{make}, or move it away or choose another "
                              "--output_dir to start afresh")
    agreed_name(samples_dir, resume)
    return run


def left_behind(samples_dir):
    """The files of RUN_FILES that a run left in `samples_dir`: a fresh run there would overwrite them."""
    return [samples_dir / name for name in RUN_FILES if (samples_dir / name).exists()]


def agreed_name(samples_dir, resume):
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
    return theirs or (here if resume else None) or time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def branch_off(folder, resume):
    """A resume from before the newest checkpoint: set the abandoned branch aside (checkpoint.set_aside_newer),
    with a copy of the logs as they were, before the logs are cut back to the resumed iteration. Call it once the
    run is back where `resume` left it."""
    aside = checkpoint.set_aside_newer(folder.params_dir, resume)
    if aside:
        for name in ("losses.csv", "metrics.csv"):
            if (folder.samples_dir / name).is_file():
                shutil.copy2(folder.samples_dir / name, aside / name)
        print(f"branching off at {Path(resume).name}: the newer checkpoints of the abandoned run, and a copy of its "
              f"logs, are now in {aside}", flush=True)


def resume_command(config, output_dir, last_checkpoint=None):
    """The command that continues the run in `output_dir` from `last_checkpoint` (its newest), as it runs from where
    the user is. A bare --resume looks in the params_dir of conf/{dataset}.toml: a run with another config (--conf,
    -o params_dir=...), or resumed from a checkpoint elsewhere, is given its checkpoint's path, whose own config then
    applies."""
    python = python_command()
    where = "" if Path(output_dir) == Path(".") else f" --output_dir {shlex.quote(str(output_dir))}"
    which = ""
    elsewhere = last_checkpoint is not None and (  # where a bare --resume would not look
        config["params_dir"] != _shipped_params_dir(config["dataset"])
        or Path(last_checkpoint).parent.resolve() != (Path(output_dir) / config["params_dir"]).resolve())
    if elsewhere:
        which = f" {shlex.quote(str(last_checkpoint))}"
    command = (f"{parallel.restart_prefix(python)}{python} -m paddle_gan.train -d {config['dataset']}{where}"
               f" --resume{which}")
    if os.environ.get("MAKELEVEL") and where == "" and which == "":  # started by `make run`: its ARGS pass flags on
        command += " (or: make run ARGS=--resume)"
    return command


def _shipped_params_dir(dataset):
    try:
        return load_config(conf_path(dataset))["params_dir"]
    except UserError:  # no conf/ beside the package: name the checkpoint
        return None


_claimed = {}  # folder -> its open lock file: the folders this process holds, until it ends


def claim_folders(config, output_dir):
    """Make the run's output folders ({d}_samples/, {d}_params/ under `output_dir`) this process's: an exclusive
    lock on `.lock` in each (fcntl.flock), which the OS drops when the process ends, however it ends (kill -9 too).
    Raises OutputError, naming the process that holds it, when another run holds one. Claiming twice is claiming
    once; the processes main() spawns for a run are covered by its claim. A run lets go when it ends
    (release_folders), or when its process ends."""
    if parallel.spawned_by_main():  # covered by the parent's claim
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
