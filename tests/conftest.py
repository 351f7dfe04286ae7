"""Shared test helpers: tiny configs and small data sets written by the tests themselves."""
import gzip
import pickle

import paddle_gan  # noqa: F401,I001  first: it sets Paddle's environment (logs, MKL path) before Paddle loads

import numpy as np
import paddle
import pytest
from paddle_gan.config import DEFAULTS, check, conf_path, load_config
from paddle_gan.download import idx_bytes
from paddle_gan.programs import build_programs
from paddle_gan.readers import MNIST_FILES


@pytest.fixture(autouse=True)
def static_mode():
    paddle.enable_static()
    yield


def tiny_config(dataset="uniform", **overrides):
    """The shipped config for `dataset`, shrunk to run in seconds."""
    config = load_config(conf_path(dataset))
    config.update(batch_size=8, num_passes=1, iters_per_pass=3, log_every=1, num_samples=256, seed=7)
    config.update(overrides)
    check(config)
    return config


def write_mnist(folder, n=40, gz=False, seed=0):
    """A small MNIST-like IDX pair: n random 28x28 images and labels. Returns the uint8 images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for name, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        data = idx_bytes(array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return images


def write_cifar(folder, per_batch=6, seed=0):
    """Five small CIFAR-10 pickles (data_batch_1..5) in the original layout. Returns all their rows."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, 6):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({"batch_label": f"batch {i}", "data": data, "labels": list(range(per_batch))}, f)
        rows.append(data)
    return np.concatenate(rows)


def write_labelled(folder, n_train=600, n_test=100, seed=0):
    """An easy MNIST-like set: class k is a bright 7x7 block at cell k of a 4x3 grid, plus noise and jitter."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def make(n):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            top, left = 1 + (k // 4) * 9 + rng.integers(0, 2), 1 + (k % 4) * 7 + rng.integers(0, 1)
            images[i, top:top + 7, left:left + 6] = 255
        return images, labels.astype(np.uint8)
    for names, n in ((MNIST_FILES["train"], n_train), (MNIST_FILES["test"], n_test)):
        for name, array in zip(names, make(n)):
            (folder / name).write_bytes(idx_bytes(array))
    return folder


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """An easy labelled MNIST-like set (write_labelled), one per test module."""
    return write_labelled(tmp_path_factory.mktemp("labelled") / "mnist_data")


def setup(config, noise_in_graph=False):
    """Build `config`'s programs and run their startup on the CPU. Returns (programs, scope, exe)."""
    programs = build_programs(config, noise_in_graph)
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    return programs, scope, exe


def snapshot(scope, params):
    """The values of `params` in `scope`, by name."""
    return {p.name: np.array(scope.find_var(p.name).get_tensor()) for p in params}


def restore(scope, values):
    """Put `snapshot` values back into `scope`."""
    for name, value in values.items():
        scope.find_var(name).get_tensor().set(value, paddle.CPUPlace())


__all__ = ["DEFAULTS", "tiny_config", "write_mnist", "write_cifar", "write_labelled", "setup", "snapshot",
           "restore"]
