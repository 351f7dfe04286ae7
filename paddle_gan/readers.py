"""Data and noise, as endless streams of float32 batches.

A real-data stream shuffles its data set afresh for every pass over it and drops the last partial batch, so every
batch has `batch_size` rows. A noise stream draws without end. Each stream owns a seeded numpy Generator, so a run
is reproducible, and can report where it is (`state()`) and be put back there (`restore()`), so a resumed run reads
exactly the batches an uninterrupted run would have read.
"""
import gzip
import pickle
from pathlib import Path

import numpy as np

MNIST_TRAIN_IMAGES = "train-images-idx3-ubyte"
MNIST_TRAIN_LABELS = "train-labels-idx1-ubyte"
CIFAR_TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


class DataError(RuntimeError):
    """Data missing or unreadable; the message names the file and how to fix it."""


class ShuffledBatches:
    """Shuffled passes over `data` (first axis = samples) in batches of `batch_size`, one pass after another."""

    def __init__(self, data, batch_size, seed):
        if len(data) < batch_size:
            raise DataError(f"the data set has {len(data)} samples, fewer than one batch of {batch_size}")
        self.data, self.batch_size = data, batch_size
        self.batches_per_pass = len(data) // batch_size
        self.rng = np.random.default_rng(seed)
        self._shuffle()

    def _shuffle(self):
        # The generator's state before the shuffle is enough to redo it: a checkpoint need not store the order.
        self.rng_before_shuffle = self.rng.bit_generator.state
        self.order = self.rng.permutation(len(self.data))
        self.position = 0  # batches already read in this pass

    def __iter__(self):
        return self

    def __next__(self):
        if self.position == self.batches_per_pass:
            self._shuffle()
        start = self.position * self.batch_size
        self.position += 1
        return self.data[self.order[start:start + self.batch_size]]

    def state(self):
        return {"rng": self.rng_before_shuffle, "position": self.position}

    def restore(self, state):
        self.rng.bit_generator.state = state["rng"]
        self._shuffle()
        self.position = state["position"]


def uniform_data(num_samples, seed):
    """The v0 toy's data set: points drawn from U[0,1)^2, float32, shape (num_samples, 2)."""
    return np.random.default_rng(seed).random((num_samples, 2), dtype=np.float32)


class NoiseBatches:
    """Endless noise batches of shape (batch_size, noise_dim): `normal` N(0,1) or `uniform` U(-1,1)."""

    def __init__(self, kind, batch_size, noise_dim, seed):
        self.kind, self.shape = kind, (batch_size, noise_dim)
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        return self

    def __next__(self):
        if self.kind == "normal":
            return self.rng.standard_normal(self.shape, dtype=np.float32)
        return self.rng.uniform(-1.0, 1.0, self.shape).astype(np.float32)

    def state(self):
        return {"rng": self.rng.bit_generator.state}

    def restore(self, state):
        self.rng.bit_generator.state = state["rng"]


def scale_images(pixels):
    """uint8 pixels -> float32 in [-1, 1], the tutorials' x/255*2-1."""
    return pixels.astype(np.float32) * (2.0 / 255.0) - 1.0


def _open_idx(path):
    """Open an IDX file, raw or gzipped (`name` or `name.gz`)."""
    path = Path(path)
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate, (gzip.open if candidate.suffix == ".gz" else open)(candidate, "rb")
    raise DataError(f"{path} not found (nor {path.name}.gz); fetch MNIST with: bash data/get_mnist_data.sh")


def read_idx(path):
    """Read an IDX file (unsigned bytes, any number of dimensions) into a uint8 array."""
    found, f = _open_idx(path)
    with f:
        try:
            raw = f.read()
        except (OSError, EOFError) as e:
            raise DataError(f"{found} is unreadable ({e}); fetch it again with: bash data/get_mnist_data.sh") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{found} is not an IDX file of unsigned bytes (bad magic number); "
                        "fetch it again with: bash data/get_mnist_data.sh")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{found} holds {len(raw)} bytes but its header promises {expected} (truncated?); "
                        "fetch it again with: bash data/get_mnist_data.sh")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_images(data_dir):
    """MNIST's training images from `data_dir`, float32 in [-1, 1], shape (N, 1, 28, 28)."""
    images = read_idx(Path(data_dir) / MNIST_TRAIN_IMAGES)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{Path(data_dir) / MNIST_TRAIN_IMAGES} holds images of shape {images.shape[1:]}, "
                        "not 28x28; fetch MNIST again with: bash data/get_mnist_data.sh")
    return scale_images(images)[:, None, :, :]


def cifar_images(data_dir):
    """CIFAR-10's training images (data_batch_1..5) from `data_dir`, float32 in [-1, 1], shape (N, 3, 32, 32)."""
    batches = []
    for name in CIFAR_TRAIN_BATCHES:
        path = Path(data_dir) / name
        if not path.is_file():
            raise DataError(f"{path} not found; download cifar-10-python.tar.gz and unpack it into "
                            f"{Path(data_dir).parent}/ (it makes {Path(data_dir).name}/)")
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="latin1")
            data = np.asarray(batch["data"], dtype=np.uint8)
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as e:
            raise DataError(f"{path} is not a CIFAR-10 batch ({type(e).__name__}: {e}); unpack "
                            "cifar-10-python.tar.gz again") from None
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataError(f"{path} holds rows of shape {data.shape[1:]}, not 3072 CHW pixels; unpack "
                            "cifar-10-python.tar.gz again")
        batches.append(data)
    return scale_images(np.concatenate(batches).reshape(-1, 3, 32, 32))


def real_batches(config):
    """The config's real data as a ShuffledBatches stream."""
    dataset, seed = config["dataset"], config["seed"]
    if dataset == "uniform":
        data = uniform_data(config["num_samples"], seed)
    elif dataset == "mnist":
        data = mnist_images(config["data_dir"])
    else:
        data = cifar_images(config["data_dir"])
    return ShuffledBatches(data, config["batch_size"], seed + 1)

