"""Configuration: plain values read from `conf/{dataset}.toml`, overridden from the command line.

Every key has a default here, so a config file names only what differs, and `-o key=value` can set any key.
"""
import math
import os
from pathlib import Path

from .errors import UserError

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

TOYS = ("uniform", "gaussian")  # data made from a formula, learnt by v0_mlp: no files, no classes
DATASETS = (*TOYS, "mnist", "fashion_mnist", "cifar")
NETWORKS = ("v0_mlp", "v0_dcgan", "fluid_dcgan", "basic_mlp")
SCHEDULES = ("strike", "alternate", "kstep")
NOISES = ("normal", "uniform")
AMPS = ("off", "fp16", "bf16")
NOISE_SOURCES = ("auto", "reader", "graph")
D_UPDATES = ("each", "sum")

DEFAULTS = {
    "dataset": "mnist",
    "network": "v0_dcgan",
    "data_dir": "data/mnist_data",
    "num_samples": 1_000_000,   # size of a toy's data set (v0: 1,000,000 points)
    "data_mean": 4.0,           # the Gaussian toy's real data: N(data_mean, data_std), one number a sample
    "data_std": 0.5,
    "noise": "normal",
    "noise_dim": 100,
    "d_batch_norm": True,
    "d_reference_batch": False,  # D's batch norm (if on) takes its statistics from fixed real points, not each batch's
    "schedule": "strike",
    "max_strike": 5,
    "d_steps": 1,               # kstep: k discriminator steps ...
    "g_steps": 1,               # ... then n generator steps
    "batch_size": 128,
    "lr": 2e-4,
    "d_lr": 0.0,                # D's Adam rate, if not lr's (two time-scales); 0: lr for both networks
    "real_label": 1.0,          # d_real's target; below 1 (e.g. 0.9): one-sided label smoothing
    "beta1": 0.5,
    # How a D iteration (d_fake, then d_real) updates D: "each" program takes its own Adam step, as the tutorials'
    # programs did; "sum": one Adam step on the sum of both losses, as PyTorch's DCGAN example does (programs.py).
    "d_update": "each",
    "num_passes": 100,
    "iters_per_pass": 1000,
    "log_every": 100,
    "seed": 1,
    # The GPU path (device.py): "auto" takes it on a CUDAPlace and leaves the CPU run as the tutorials wrote it.
    "noise_source": "auto",     # z for d_fake and g: "reader" feeds it, "graph" draws it inside the programs
    "fetch_every": 0,           # bring losses to the host every N iterations (0: every one on CPU, every 10 on a GPU)
    "amp": "off",               # mixed precision on a GPU: fp16 (with loss scaling) or bf16 (amp.py)
    "conditional": False,       # a CGAN: G draws the class it is given, D judges image and class together
    "ema_decay": 0.0,           # > 0: G_ema, an average of G's weights, draws the samples (ema.py); 0: G draws them
    "keep_checkpoints": 0,      # keep the newest K checkpoint folders; 0 keeps them all, as the tutorials did
    "nproc": 0,                 # processes training together on a CPU (parallel.py); 0: one per core (auto)
    "samples_dir": "mnist_samples",
    "params_dir": "mnist_params",
}


MAX_SEED = 2**31 - 1
NUM_CLASSES = 10  # MNIST's digits, Fashion-MNIST's garments, CIFAR-10's classes: what a conditional run can draw


class ConfigError(UserError):
    """A config value that cannot work; the message says which key and what to do."""


def conf_path(dataset):
    """The shipped config for a data set: conf/{dataset}.toml."""
    return CONF_DIR / f"{dataset}.toml"


def load_config(path, overrides=None):
    """Read a TOML config, apply `overrides` (a dict of already-typed values), check it, and return a dict."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder; pass --conf a .toml file, e.g. conf/mnist.toml")
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; pass --conf PATH or pick a data set with -d")
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; save it as UTF-8 (TOML's encoding)") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"config file {path} cannot be read ({e.strerror})") from None
    return updated(DEFAULTS, {**values, **(overrides or {})})


def parse_override(text):
    """Turn `key=value` from `-o` into (key, value) with the type of the key's default."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or key not in DEFAULTS:
        known = ", ".join(sorted(DEFAULTS))
        raise ConfigError(f"-o {text!r}: expected key=value with a key among: {known}")
    return key, _typed(key, raw.strip())


def _typed(key, value):
    if key not in DEFAULTS:
        raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(DEFAULTS))}")
    kind = type(DEFAULTS[key])
    if isinstance(value, str) and kind is not str:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0"):
                raise ConfigError(f"{key}={value!r}: expected true or false")
            return value.lower() in ("true", "1")
        try:
            number = float(value) if kind is int and "e" in value.lower() else kind(value)
        except ValueError:
            raise ConfigError(f"{key}={value!r}: expected a {kind.__name__}") from None
        if kind is int and not float(number).is_integer():  # 2.5e0 is not 2 (and inf, nan are no whole numbers)
            raise ConfigError(f"{key}={value!r}: expected a whole number")
        value = kind(number)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):  # inf passes "> 0", then diverges
        raise ConfigError(f"{key}={value!r}: expected a finite number")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{key}={value!r}: expected a {kind.__name__}")
    return value


def check(config):
    """Refuse values that would fail later, or silently train nothing."""
    for key, allowed in (("dataset", DATASETS), ("network", NETWORKS), ("schedule", SCHEDULES), ("noise", NOISES),
                         ("amp", AMPS), ("noise_source", NOISE_SOURCES), ("d_update", D_UPDATES)):
        if config[key] not in allowed:
            raise ConfigError(f"{key}={config[key]!r} is not one of: {', '.join(allowed)}")
    for key in ("noise_dim", "batch_size", "num_passes", "iters_per_pass", "log_every", "max_strike",
                "d_steps", "g_steps", "num_samples"):
        if config[key] < 1:
            raise ConfigError(f"{key}={config[key]} must be a positive whole number")
    if config["fetch_every"] < 0:
        raise ConfigError(f"fetch_every={config['fetch_every']} must be 0 (auto) or a positive whole number")
    # strike decides every iteration on losses of the noise it then trains on: it must see both on the host.
    if config["schedule"] == "strike" and config["noise_source"] == "graph":
        raise ConfigError("noise_source=graph does not fit schedule=strike, which decides on the same noise it then "
                          "trains on; use noise_source=auto or reader, or schedule alternate or kstep")
    if config["schedule"] == "strike" and config["fetch_every"] > 1:
        raise ConfigError(f"fetch_every={config['fetch_every']} does not fit schedule=strike, which needs the losses "
                          "every iteration; use fetch_every=0 or 1, or schedule alternate or kstep")
    if config["d_update"] == "sum" and config["amp"] != "off":
        raise ConfigError(f"d_update=sum does not fit amp={config['amp']} (the summed update is built for float32); "
                          "add -o d_update=each, or drop --amp")
    check_seed(config["seed"], "seed=")
    if config["nproc"] < 0:
        raise ConfigError(f"nproc={config['nproc']} must be 0 (one process per core) or a positive whole number")
    if config["keep_checkpoints"] < 0:
        raise ConfigError(f"keep_checkpoints={config['keep_checkpoints']} must be 0 (keep all) or more")
    if not config["lr"] > 0:
        raise ConfigError(f"lr={config['lr']} must be positive")
    if not config["d_lr"] >= 0:
        raise ConfigError(f"d_lr={config['d_lr']} must be positive, or 0 for D to use lr")
    if not 0 < config["real_label"] <= 1:
        raise ConfigError(f"real_label={config['real_label']} must be in (0, 1] (1: no label smoothing)")
    if not 0 <= config["ema_decay"] < 1:
        raise ConfigError(f"ema_decay={config['ema_decay']} must be in [0, 1) (0: no averaged generator)")
    if not 0 <= config["beta1"] < 1:
        raise ConfigError(f"beta1={config['beta1']} must be in [0, 1)")
    if config["dataset"] not in TOYS and not config["data_dir"].strip():
        raise ConfigError("data_dir is empty; set it to the folder of the data set's files (conf/*.toml name them, "
                          "e.g. -o data_dir=data/mnist_data)")
    for key in ("samples_dir", "params_dir"):
        if not config[key].strip():
            raise ConfigError(f"{key} is empty; name the folder under --output_dir, e.g. -o {key}="
                              f"{config['dataset']}_{key.split('_')[0]}")
    if os.path.normpath(config["samples_dir"]) == os.path.normpath(config["params_dir"]):
        raise ConfigError(f"samples_dir and params_dir are both {config['samples_dir']!r}; checkpoints and pictures "
                          "need folders of their own: give one of them another name")
    if (config["dataset"] in TOYS) != (config["network"] == "v0_mlp"):
        raise ConfigError(f"network={config['network']} does not fit dataset={config['dataset']}: "
                          "use v0_mlp for the toys (uniform, gaussian) and v0_dcgan, fluid_dcgan or basic_mlp for "
                          "images")
    if config["d_reference_batch"] and config["network"] != "v0_mlp":
        raise ConfigError(f"d_reference_batch=true is built for the toys' D (v0_mlp), not network="
                          f"{config['network']}; drop -o d_reference_batch=true")
    if config["conditional"] and config["dataset"] in TOYS:
        raise ConfigError(f"conditional=true needs a data set with classes (mnist, fashion_mnist, cifar); the "
                          f"{config['dataset']} toy has none: drop -o conditional=true")
    if not math.isfinite(config["data_mean"]) or abs(config["data_mean"]) > 1e6:
        raise ConfigError(f"data_mean={config['data_mean']} must be a finite number within ±1e6")
    if not 1e-6 <= config["data_std"] <= 1e6:  # also refuses nan
        raise ConfigError(f"data_std={config['data_std']} must be positive, from 1e-6 to 1e6")
    if config["network"] in ("fluid_dcgan", "basic_mlp") and sample_shape(config) != (1, 28, 28):
        raise ConfigError(f"network={config['network']} is built for 28x28 MNIST; use v0_dcgan for cifar")
    if config["network"] == "basic_mlp" and config["conditional"]:
        raise ConfigError("conditional=true is built for the convolutional networks (v0_dcgan, fluid_dcgan), not "
                          "network=basic_mlp; drop -o conditional=true")


def check_seed(seed, name="--seed "):
    """Refuse a seed numpy's and Paddle's generators would fail on (they take it plus readers.SEED_OFFSETS)."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name}{seed}: a seed must be a whole number from 0 to {MAX_SEED}")


def check_dataset(config, dataset, source):
    """Refuse `config` (read from `source`, e.g. "mnist_params/pass-00009 is a checkpoint") when it is not for the
    data set the command line named with -d."""
    if config["dataset"] != dataset:
        raise ConfigError(f"{source} for dataset={config['dataset']}, but -d {dataset} was given")


def sample_shape(config):
    """Shape of one real (or generated) sample."""
    shapes = {"uniform": (2,), "gaussian": (1,), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28),
              "cifar": (3, 32, 32)}
    return shapes[config["dataset"]]


def num_classes(config):
    """How many classes the programs take a label of: NUM_CLASSES in a conditional run, else 0 (no label)."""
    return NUM_CLASSES if config["conditional"] else 0


def gaussian_target(config):
    """(data_mean, data_std): the normal distribution the Gaussian toy learns, which its pictures and scores compare
    G's samples to."""
    return config["data_mean"], config["data_std"]


def checked(config):
    """`config` as Python code hands it over (a notebook's train(config)) or a checkpoint's meta.json holds it,
    typed and checked as the command line's is; keys it lacks take their defaults (a checkpoint written before a
    key existed trained with its default)."""
    if not isinstance(config, dict):
        raise ConfigError(f"a config is a dict of settings, e.g. load_config(conf_path('mnist')), not "
                          f"{type(config).__name__}")
    return updated(DEFAULTS, config)


def updated(config, overrides):
    """A copy of `config` with already-typed `overrides` applied (None means not given), checked."""
    config = dict(config)
    config.update({k: _typed(k, v) for k, v in overrides.items() if v is not None})
    check(config)
    return config
