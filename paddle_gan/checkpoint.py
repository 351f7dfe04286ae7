"""Checkpoints: `{d}_params/pass-NNNNN/` folders the v0 demo wrote, readable without paddle_gan.

A folder holds
  model.pdparams   every parameter of G and D by name, batch-norm statistics included
  optimizer.pdopt  both networks' Adam state (moments, step counters, learning rates)
  config.json      the config it was trained with, so `generate` can rebuild the generator
Both `.pd*` files are pickled {name: numpy array} dicts, the layout of Paddle's own files: `paddle.load` reads them.
"""
import os
import pickle
import shutil
from pathlib import Path

import numpy as np

from .config import read_saved_config, save_config

PARAMS_FILE = "model.pdparams"
OPT_FILE = "optimizer.pdopt"
CONFIG_FILE = "config.json"


class CheckpointError(RuntimeError):
    """A checkpoint folder that cannot be used; the message names the folder and what is wrong."""


def pass_dir(params_dir, pass_id):
    return Path(params_dir) / f"pass-{pass_id:05d}"


def persistable_names(programs):
    """(parameter names, optimizer-state names) of G and D across the training programs."""
    params, opt_state = set(), set()
    for program in (programs.d_real, programs.d_fake, programs.g):
        names = {p.name for p in program.global_block().all_parameters()}
        params |= names
        opt_state |= {v.name for v in program.list_vars()
                      if v.persistable and v.name not in names and v.name.startswith(("G.", "D."))}
    return sorted(params), sorted(opt_state)


def _read(scope, names):
    return {name: np.array(scope.find_var(name).get_tensor()) for name in names}


def save(path, scope, programs, config):
    """Write a checkpoint folder at `path`; written beside it first and renamed, so `path` is never half-written."""
    path = Path(path)
    params, opt_state = persistable_names(programs)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, values in ((PARAMS_FILE, _read(scope, params)), (OPT_FILE, _read(scope, opt_state))):
        with open(tmp / name, "wb") as f:
            pickle.dump(values, f, protocol=4)
    save_config(config, tmp / CONFIG_FILE)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def load_config(path):
    """The config a checkpoint folder was trained with."""
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise CheckpointError(f"{path} is not a paddle_gan checkpoint folder (no {CONFIG_FILE}); point --model_dir "
                              "at a folder like mnist_params/pass-00009")
    return read_saved_config(path / CONFIG_FILE)


def load_params(path, scope, place, prefix=""):
    """Set the parameters whose names start with `prefix` from checkpoint `path` into `scope`."""
    file = Path(path) / PARAMS_FILE
    try:
        with open(file, "rb") as f:
            values = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise CheckpointError(f"{file} cannot be read ({e}); pick another checkpoint folder") from None
    wanted = {name: value for name, value in values.items() if name.startswith(prefix)}
    if not wanted:
        raise CheckpointError(f"{file} holds no parameter starting with {prefix!r}")
    for name, value in wanted.items():
        var = scope.find_var(name)
        if var is None:
            raise CheckpointError(f"{file} has parameter {name}, which this network does not; was the checkpoint "
                                  "made with another network?")
        tensor = var.get_tensor()
        if tuple(tensor.shape()) != value.shape:
            raise CheckpointError(f"{file}: {name} has shape {value.shape}, the network expects "
                                  f"{tuple(tensor.shape())}")
        tensor.set(value, place)
