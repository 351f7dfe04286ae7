"""Checkpoints: the `{d}_params/pass-NNNNN/` folders the v0 demo wrote, readable without paddle_gan.

A folder holds
  model.pdparams   every parameter of G and D by name, batch-norm statistics included
  optimizer.pdopt  both networks' Adam state (moments, step counters, learning rates)
  meta.json        paddle_gan and Paddle versions, the time, the config, where training stood (pass, batch,
                   iteration) and the state of the data streams and the schedule, so `--resume` continues exactly
Both `.pd*` files are pickled {name: numpy array} dicts, the layout of Paddle's own files: `paddle.load` reads them.

`pass-00004` is written at the end of pass 4; `pass-00004-batch-00350` when a run is stopped after 350 batches of
pass 4. A folder is written under a hidden temporary name, synced to disk and then renamed, so a crash while
saving leaves the previous checkpoint as it was and no folder that `--resume` would take for a checkpoint.

`resume` puts a run back where a checkpoint left it: parameters, both optimizers' state, the data and noise streams
and the schedule, so that the resumed run continues exactly as if it had never stopped.
"""
import json
import os
import pickle
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle

from . import __version__, safe_pickle
from .config import ConfigError, checked
from .errors import UserError
from .programs import learning_rate

PARAMS_FILE = "model.pdparams"
OPT_FILE = "optimizer.pdopt"
META_FILE = "meta.json"
FOLDER_NAME = re.compile(r"pass-(\d{5,})(?:-batch-(\d{5,}))?")
# Keys that decide the networks' shapes: a checkpoint cannot be loaded into a run that changes them.
NETWORK_KEYS = ("dataset", "network", "noise_dim", "conditional", "d_batch_norm", "d_reference_batch")
NETWORK_PREFIXES = ("G.", "G_ema.", "D.")  # what a checkpoint holds: the networks' variables (nets.py, ema.py)
FP16_STATE = ("opt.loss_scaling_", "opt.num_good_steps_", "opt.num_bad_steps_")  # amp.py's dynamic loss scale


class CheckpointError(UserError):
    """A checkpoint folder that cannot be used; the message names the folder and what is wrong."""


class NotFiniteError(CheckpointError):
    """Parameters holding NaN or inf, which are never written over a good checkpoint."""


def pass_dir(params_dir, pass_id, batch=None):
    """`pass-NNNNN` for the end of a pass, `pass-NNNNN-batch-BBBBB` for a run stopped after `batch` batches."""
    return Path(params_dir) / (f"pass-{pass_id:05d}" if batch is None else f"pass-{pass_id:05d}-batch-{batch:05d}")


def list_checkpoints(params_dir):
    """The complete checkpoint folders in `params_dir`, oldest first by (pass, batch)."""
    found = [path for path in Path(params_dir).glob("pass-*")
             if FOLDER_NAME.fullmatch(path.name) and (path / META_FILE).is_file()]
    return sorted(found, key=_folder_position)


def _folder_position(path):
    match = FOLDER_NAME.fullmatch(path.name)
    return int(match[1]), float("inf") if match[2] is None else int(match[2])  # a pass's end comes after its batches


def position(path):
    """(pass, batch) where checkpoint folder `path` stands, from its meta.json (batch inf at a pass's end), in
    list_checkpoints' order."""
    meta = read_meta(path)
    return meta["pass"], float("inf") if meta["batch"] == meta["config"]["iters_per_pass"] else meta["batch"]


def set_aside_newer(params_dir, resume):
    """Resuming from a checkpoint older than the newest in `params_dir` branches the run off there: the newer
    checkpoints belong to the abandoned branch. They move into `params_dir/abandoned-<time>/`, where neither
    `latest` nor `prune` sees them, so a later --resume continues the new branch and pruning never deletes it.
    Returns that folder, or None when nothing was newer."""
    start = position(resume)
    newer = [path for path in list_checkpoints(params_dir) if _folder_position(path) > start]
    if not newer:
        return None
    aside = Path(params_dir) / time.strftime("abandoned-%Y%m%d-%H%M%S")
    if aside.exists():
        aside = aside.with_name(f"{aside.name}-{os.getpid()}")
    aside.mkdir()
    for path in newer:
        os.replace(path, aside / path.name)
    return aside


def latest(params_dir):
    """The newest checkpoint folder in `params_dir`, or None."""
    folders = list_checkpoints(params_dir)
    return folders[-1] if folders else None


MOVED_ASIDE = re.compile(r"\.(pass-[0-9-batch]+)\.old-\d+")  # save()'s name for a folder it is overwriting


def put_back_moved_aside(params_dir, log=print):
    """A save that overwrote a checkpoint folder and was killed between its two renames left the old, complete
    folder under its aside name and none under the real one: put it back, and `log` so. Returns the names put
    back."""
    restored = []
    for old in sorted(Path(params_dir).glob(".pass-*.old-*")):
        match = MOVED_ASIDE.fullmatch(old.name)
        final = old.with_name(match[1]) if match else None
        if final and not final.exists() and all((old / name).is_file() for name in (PARAMS_FILE, OPT_FILE, META_FILE)):
            os.replace(old, final)
            restored.append(final.name)
            log(f"put back {final}, which a save cut off while overwriting it had moved aside")
    return restored


def remove_unfinished(params_dir):
    """Delete the temporary folders a killed save left behind; returns their names. A folder moved aside by an
    overwrite goes only once its replacement is in place (put_back_moved_aside first puts back the others)."""
    leftovers = [p for p in Path(params_dir).glob(".pass-*") if p.is_dir()]
    leftovers = [p for p in leftovers
                 if not (MOVED_ASIDE.fullmatch(p.name) and not (p.parent / MOVED_ASIDE.fullmatch(p.name)[1]).exists())]
    for path in leftovers:
        shutil.rmtree(path)
    return [p.name for p in leftovers]


def prune(params_dir, keep):
    """Keep the newest `keep` checkpoints (0 keeps them all, as the tutorials did)."""
    if keep > 0:
        for path in list_checkpoints(params_dir)[:-keep]:
            shutil.rmtree(path)


def persistable_names(programs):
    """(parameter names, optimizer-state names) of G and D across the training programs."""
    params, opt_state = set(), set()
    for program in (programs.d_real, programs.d_fake, programs.g):
        names = {p.name for p in program.global_block().all_parameters()}
        params |= {name for name in names if name.startswith(NETWORK_PREFIXES)}  # not programs.KEPT_GRADIENT's
        opt_state |= {v.name for v in program.list_vars()
                      if v.persistable and v.name not in names and v.name.startswith(NETWORK_PREFIXES)}
    return sorted(params), sorted(opt_state)


def _read(scope, names):
    return {name: np.array(scope.find_var(name).get_tensor()) for name in names}


def make_meta(config, pass_id, batch, iteration, streams, run=None):
    """What meta.json holds: `batch` batches of pass `pass_id` done, `iteration` iterations done in all, where
    each of `streams` (name -> real batches, noise batches or schedule) stands, and `run`, the name of the run the
    checkpoint belongs to (run_folder.py: a resume may only continue the run of its output folder)."""
    return {"paddle_gan": __version__, "paddle": paddle.__version__,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pass": pass_id, "batch": batch,
            "iteration": iteration, "config": config, "run": run,
            "train_state": {name: stream.state() for name, stream in streams.items()}}


def _write_synced(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sync_folder(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_finite(path, scope, programs):
    """Raise NotFiniteError unless every parameter is finite; returns the parameters by name, for checkpoint `path`."""
    param_values = _read(scope, persistable_names(programs)[0])
    broken = [name for name, value in param_values.items() if not np.all(np.isfinite(value))]
    if broken:
        raise NotFiniteError(f"not writing {path}: {broken[0]} holds NaN or inf")
    return param_values


def save(path, scope, programs, meta):
    """Write checkpoint folder `path` atomically (see the module docstring). Refuses parameters that are not finite."""
    path = Path(path)
    param_values = check_finite(path, scope, programs)
    opt_state = persistable_names(programs)[1]
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write_synced(tmp / PARAMS_FILE, pickle.dumps(param_values, protocol=4))
        _write_synced(tmp / OPT_FILE, pickle.dumps(_read(scope, opt_state), protocol=4))
        _write_synced(tmp / META_FILE, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        _sync_folder(tmp)
        if path.exists():  # a rename cannot replace a non-empty folder: move the old one aside first
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
        _sync_folder(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_meta(path):
    """meta.json of checkpoint folder `path`, its config checked like a fresh one."""
    path = Path(path)
    file = path / META_FILE
    if not file.is_file():
        raise CheckpointError(f"{path} is not a paddle_gan checkpoint folder (no {META_FILE}); point at a folder "
                              "like mnist_params/pass-00009")
    try:
        meta = json.loads(file.read_text())
        meta["config"] = checked(meta["config"])
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as e:
        raise CheckpointError(f"{file} cannot be read ({e}); pick another checkpoint folder") from None
    for key, kind in (("pass", int), ("batch", int), ("iteration", int), ("train_state", dict)):
        if type(meta.get(key)) is not kind or (kind is int and meta[key] < 0):
            raise CheckpointError(f"{file} has no valid {key!r} (a {kind.__name__} is expected); pick another "
                                  "checkpoint folder")
    if meta["batch"] > meta["config"]["iters_per_pass"]:  # checked before a resume moves anything
        raise CheckpointError(f"{file}: batch {meta['batch']} lies past the end of a pass of "
                              f"{meta['config']['iters_per_pass']} iterations; pick another checkpoint folder")
    return meta


def saved_config(path):
    """The config a checkpoint folder was trained with."""
    return read_meta(path)["config"]


def check_network(path, saved, config):
    """Refuse to load checkpoint `path` (trained with config `saved`) into networks built from `config`."""
    differ = [key for key in NETWORK_KEYS if saved[key] != config[key]]
    if differ:
        made = ", ".join(f"{k}={saved[k]}" for k in differ)
        asked = ", ".join(f"{k}={config[k]}" for k in differ)
        raise CheckpointError(f"{path} was made for another network ({made}), this run has {asked}; "
                              "pick a checkpoint of this network or drop the changed settings")
    if (saved["ema_decay"] > 0) != (config["ema_decay"] > 0):  # the decay may change, G_ema's presence not
        raise CheckpointError(f"{path} was trained {'with' if saved['ema_decay'] > 0 else 'without'} an averaged "
                              f"generator (ema_decay={saved['ema_decay']}), this run has ema_decay="
                              f"{config['ema_decay']}; keep ema_decay {'above' if saved['ema_decay'] > 0 else 'at'} 0")


def _load(file, scope, place, prefix, expected, optional=()):
    """Set the values of pickled dict `file` whose names start with `prefix` into `scope`. Refuses a file that
    lacks any of `expected` (names) or holds a value this network does not have, or of another shape: loading it
    anyway would train or draw with freshly initialised weights in their place."""
    try:
        values = safe_pickle.load(file)  # a shared checkpoint is data: nothing in it may run
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError) as e:
        raise CheckpointError(f"{file} cannot be read ({e}); pick another checkpoint folder") from None
    if not (isinstance(values, dict) and all(isinstance(v, np.ndarray) for v in values.values())):
        raise CheckpointError(f"{file} is not a checkpoint file (a dict of arrays by name); pick another checkpoint "
                              "folder")
    wanted = {name: value for name, value in values.items() if name.startswith(prefix)}
    missing = sorted(name for name in expected if name.startswith(prefix) and name not in wanted)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise CheckpointError(f"{file} lacks {shown}, which this network has; the checkpoint is incomplete or was made "
                              "for another network: pick another checkpoint folder")
    for name, value in wanted.items():
        var = scope.find_var(name)
        if var is None and any(part in name for part in optional):
            continue
        if var is None:
            raise CheckpointError(f"{file} has {name}, which this network does not; was the checkpoint made with "
                                  "another network?")
        tensor = var.get_tensor()
        if tuple(tensor.shape()) != value.shape:
            raise CheckpointError(f"{file}: {name} has shape {value.shape}, the network expects "
                                  f"{tuple(tensor.shape())}")
        dtype = np.array(tensor).dtype  # as the startup program made it
        if value.dtype != dtype:  # set() would take it, and the programs would fail on it later
            raise CheckpointError(f"{file}: {name} holds {value.dtype} numbers, the network expects {dtype}; "
                                  "was the file written by another program?")
        tensor.set(value, place)
    return wanted


def check_data(path):
    """Read checkpoint `path`'s two pickles as data (safe_pickle) before a run resumed from it writes anything: a
    planted file stops the run here, with nothing run and no output folder made."""
    for name in (PARAMS_FILE, OPT_FILE):
        try:
            safe_pickle.load(Path(path) / name)
        except (OSError, pickle.UnpicklingError, EOFError, IndexError, ValueError) as e:
            raise CheckpointError(f"{Path(path) / name} cannot be read ({e}); pick another checkpoint folder") \
                from None


def load_params(path, scope, place, expected, prefix=""):
    """Set the parameters whose names start with `prefix` from checkpoint `path` into `scope`; the checkpoint must
    hold all of `expected` (names)."""
    return _load(Path(path) / PARAMS_FILE, scope, place, prefix, expected)


def load_optimizer(path, scope, place, programs):
    """Set both networks' optimizer state from checkpoint `path` into `scope`; returns what was loaded. The loss
    scale of fp16 training (amp.py) is optional both ways: a run may go on with or without --amp."""
    expected = [name for name in persistable_names(programs)[1] if not any(part in name for part in FP16_STATE)]
    loaded = _load(Path(path) / OPT_FILE, scope, place, "", expected, optional=FP16_STATE)
    return {name: value for name, value in loaded.items() if scope.find_var(name) is not None}


@dataclass(frozen=True)
class Start:
    """Where a run starts: the iterations already done, and the pass and batch of its next iteration."""
    iteration: int = 0
    pass_id: int = 0
    batch: int = 0


def resume(path, config, scope, place, programs, streams):
    """Put the run of `config` back where checkpoint `path` left it: its parameters and optimizer state into
    `scope`, the state of `streams` (name -> real batches, noise batches, schedule) restored, and the learning rate
    `config` asks for set. Returns the Start."""
    meta = read_meta(path)
    check_network(path, meta["config"], config)
    load_params(path, scope, place, persistable_names(programs)[0])
    load_optimizer(path, scope, place, programs)
    for net, name in programs.learning_rates.items():
        # Adam's learning rate is part of its saved state: set the one asked for now, or a new --lr is lost.
        tensor = scope.find_var(name).get_tensor()
        tensor.set(np.full_like(np.array(tensor), learning_rate(config, net)), place)
    for name, stream in streams.items():
        try:
            stream.restore(meta["train_state"][name])
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise CheckpointError(f"{Path(path) / META_FILE}: the state of {name} cannot be restored ({e!r}); pick "
                                  "another checkpoint folder") from None
    pass_id, batch = meta["pass"], meta["batch"]
    if batch == meta["config"]["iters_per_pass"]:  # the checkpoint closed its pass
        pass_id, batch = pass_id + 1, 0
    changed = [f"{k} {meta['config'][k]!r} -> {v!r}" for k, v in config.items() if meta["config"][k] != v]
    print(f"resuming from {path} at pass {pass_id}, batch {batch} (iteration {meta['iteration']})"
          + (f"; changed: {', '.join(changed)}" if changed else ""), flush=True)
    if pass_id >= config["num_passes"]:
        print(f"the checkpoint has all {config['num_passes']} passes; raise --num_passes to train on", flush=True)
    return Start(meta["iteration"], pass_id, batch)
