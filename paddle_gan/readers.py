"""Data and noise, as endless streams of batches. A batch is what a program is fed: a dict from feed name to array,
{"img": images} for real data and {"z": noise} for noise, plus the class ids in a conditional run ("img_label", the
real images' labels; "label", the classes G is asked to draw).

A real-data stream shuffles its data set afresh for every pass over it and drops the last partial batch, so every
batch has `batch_size` rows. A noise stream draws without end. Each stream owns a seeded numpy Generator, so a run
is reproducible, and can report where it is (`state()`) and be put back there (`restore()`), so a resumed run reads
exactly the batches an uninterrupted run would have read. (Not so for noise drawn inside the programs on a GPU:
see graph_noise_seed.)
"""
import gzip
import pickle
import shlex
from pathlib import Path

import numpy as np

from . import safe_pickle
from .config import NUM_CLASSES, num_classes
from .errors import UserError, python_command

# MNIST's (images, labels) files per split; Fashion-MNIST uses the same names.
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CIFAR_TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
# The files each reader needs, and the command (run from the project root) that fetches them.
TRAIN_FILES = {
    "mnist": MNIST_FILES["train"],
    "fashion_mnist": MNIST_FILES["train"],
    "cifar": tuple(CIFAR_TRAIN_BATCHES),
}
FETCH_COMMANDS = {
    "mnist": "bash data/get_mnist_data.sh",
    "fashion_mnist": "bash data/get_fashion_mnist_data.sh",
    "cifar": "bash data/get_cifar_data.sh",
}
DEFAULT_DIRS = {"mnist": "data/mnist_data", "fashion_mnist": "data/fashion_mnist_data",
                "cifar": "data/cifar-10-batches-py"}
# Every random stream of a run has its own seed, the config's seed plus an offset: the same seed gives the same run,
# and no stream repeats another's numbers. (Noise drawn inside the programs: graph_noise_seed.)
SEED_OFFSETS = {"data": 0, "real_batches": 1, "training_noise": 2, "reference_batch": 3, "picture_noise": 1000,
                "evaluation_noise": 2000}


class DataError(UserError):
    """Data missing or unreadable; the message names the file and how to fix it."""


class ShuffledBatches:
    """Shuffled passes over `data`, a dict from feed name to array (first axis = samples, the same in all), in
    batches of `batch_size`, one pass after another."""

    def __init__(self, data, batch_size, seed):
        size = len(next(iter(data.values())))
        if size < batch_size:
            raise DataError(f"the data set has {size} samples, fewer than one batch of {batch_size}")
        self.data, self.size, self.batch_size = data, size, batch_size
        self.batches_per_pass = size // batch_size
        self.rng = np.random.default_rng(seed)
        self._shuffle()

    def _shuffle(self):
        # The generator's state before the shuffle is enough to redo it: a checkpoint need not store the order.
        self.rng_before_shuffle = self.rng.bit_generator.state
        self.order = self.rng.permutation(self.size)
        self.position = 0  # batches already read in this pass

    def __iter__(self):
        return self

    def __next__(self):
        if self.position >= self.batches_per_pass:  # >=: a resumed run may have changed the batch size
            self._shuffle()
        rows = self.order[self.position * self.batch_size:(self.position + 1) * self.batch_size]
        self.position += 1
        return {name: array[rows] for name, array in self.data.items()}

    def state(self):
        return {"rng": self.rng_before_shuffle, "position": self.position}

    def restore(self, state):
        self.rng.bit_generator.state = state["rng"]
        self._shuffle()
        self.position = state["position"]


def uniform_data(num_samples, seed):
    """The v0 toy's data set: points drawn from U[0,1)^2, float32, shape (num_samples, 2)."""
    return np.random.default_rng(seed).random((num_samples, 2), dtype=np.float32)


def gaussian_data(num_samples, mean, std, seed):
    """The Gaussian toy's data set: numbers drawn from N(mean, std), float32, shape (num_samples, 1)."""
    return (mean + std * np.random.default_rng(seed).standard_normal((num_samples, 1))).astype(np.float32)


def stream_seed(config, stream):
    """The seed of one of a run's random streams (SEED_OFFSETS)."""
    return config["seed"] + SEED_OFFSETS[stream]


class NoiseBatches:
    """Endless noise batches {"z": z}, z of shape (batch_size, noise_dim) from `normal` N(0,1) or `uniform`
    U(-1,1); with `num_classes`, also {"label": classes to draw}, uniform over all of them."""

    def __init__(self, kind, batch_size, noise_dim, seed, num_classes=0):
        self.kind, self.shape, self.num_classes = kind, (batch_size, noise_dim), num_classes
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        return self

    def __next__(self):
        if self.kind == "normal":
            batch = {"z": self.rng.standard_normal(self.shape, dtype=np.float32)}
        else:
            batch = {"z": self.rng.uniform(-1.0, 1.0, self.shape).astype(np.float32)}
        if self.num_classes:  # integers(0, n) never draws n: every class, 0 to n - 1
            batch["label"] = self.rng.integers(0, self.num_classes, self.shape[0], dtype=np.int64)
        return batch

    def state(self):
        return {"rng": self.rng.bit_generator.state}

    def restore(self, state):
        self.rng.bit_generator.state = state["rng"]


def training_noise(config):
    """The noise batches d_fake and g train on (with the classes to draw, in a conditional run)."""
    seed = stream_seed(config, "training_noise")
    return NoiseBatches(config["noise"], config["batch_size"], config["noise_dim"], seed, num_classes(config))


def noise(config, n, seed):
    """`n` noise vectors of the config's kind, drawn with `seed`."""
    return next(NoiseBatches(config["noise"], n, config["noise_dim"], seed))["z"]


# The 2-D toy's scatter plot shows 1,000 points; the 1-D toy's histogram wants more for a smooth outline.
TOY_PICTURE_POINTS = {"uniform": 1000, "gaussian": 5000}


def picture_noise(config, seed=None):
    """The noise of one sample picture: TOY_PICTURE_POINTS for a toy's plot, 64 images for an 8x8 grid; in a
    conditional run, a 10x10 grid whose row k draws class k (picture_labels) and whose column j is one noise vector
    throughout, so that a column shows one style in every class. Without `seed`, the run's own: every pass's
    picture comes from the same noise, so that pictures compare."""
    seed = stream_seed(config, "picture_noise") if seed is None else seed
    if config["conditional"]:
        return np.tile(noise(config, NUM_CLASSES, seed), (NUM_CLASSES, 1))
    return noise(config, TOY_PICTURE_POINTS.get(config["dataset"], 64), seed)


def picture_labels(config):
    """The classes of picture_noise's rows in a conditional run (0 x10, 1 x10, ...); None otherwise."""
    return np.repeat(np.arange(NUM_CLASSES), NUM_CLASSES) if config["conditional"] else None


def evaluation_noise(config, n):
    """The noise of a per-pass evaluation: every pass is scored on the same `n` vectors."""
    return noise(config, n, stream_seed(config, "evaluation_noise"))


def balanced_labels(config, n):
    """In a conditional run, `n` class ids taking every class in turn (0, 1, ..., 9, 0, ...), so that samples drawn
    with them hold each class equally; None otherwise."""
    return np.arange(n) % NUM_CLASSES if config["conditional"] else None


def graph_noise_seed(seed, rank, iteration):
    """The seed of Paddle's generator when the programs draw the noise themselves (noise in the graph), for the
    process `rank` starting at `iteration`. Each process draws its own noise, as each reads its own rows of the
    batch from NoiseBatches. The generator's state is not in the checkpoints: a resumed run reseeds it from where it
    starts, so it is reproducible, but draws other noise than the run that was never stopped."""
    return int(np.random.SeedSequence([seed, rank, iteration]).generate_state(1)[0])


def scale_images(pixels):
    """uint8 pixels -> float32 in [-1, 1], the tutorials' x/255*2-1."""
    return pixels.astype(np.float32) * (2.0 / 255.0) - 1.0


def fetch_command(dataset, data_dir):
    """The command that fetches `dataset` into `data_dir` again, for error messages: the repository's script when it
    is at hand (run from the repository's root), else the module it runs, which works from anywhere."""
    script = FETCH_COMMANDS[dataset]
    dest = "" if str(data_dir) == DEFAULT_DIRS[dataset] else f" --dest {shlex.quote(str(data_dir))}"
    if Path(script.split()[-1]).is_file():
        return script + dest
    return f"{python_command()} -m paddle_gan.download {dataset} --dest {shlex.quote(str(data_dir))}"


def _open_idx(path, fix):
    """Open an IDX file, raw or gzipped (`name` or `name.gz`)."""
    path = Path(path)
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate, (gzip.open if candidate.suffix == ".gz" else open)(candidate, "rb")
        if candidate.exists():
            raise DataError(f"{candidate} is not a file (a folder?); move it away, then fetch the data with: {fix}")
    where = "" if path.is_absolute() else f" (data_dir is taken from the working directory, {Path.cwd()})"
    raise DataError(f"{path} not found (nor {path.name}.gz){where}; fetch it with: {fix}")


def read_idx(path, fix="bash data/get_mnist_data.sh"):
    """Read an IDX file (unsigned bytes, any number of dimensions) into a uint8 array; `fix` is the command that
    error messages tell the user to run."""
    found, f = _open_idx(path, fix)
    with f:
        try:
            raw = f.read()
        except (OSError, EOFError) as e:
            raise DataError(f"{found} is unreadable ({e}); fetch it again with: {fix}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{found} has magic number {raw[:4].hex() or 'none'}, not an IDX file of unsigned bytes "
                        f"(expected 000008nn); fetch it again with: {fix}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{found} ends inside its header ({len(raw)} bytes for {ndim} dimensions); "
                        f"fetch it again with: {fix}")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{found} holds {len(raw)} bytes but its header {list(dims)} promises {expected} "
                        f"({'truncated' if len(raw) < expected else 'trailing bytes'}); fetch it again with: {fix}")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(data_dir, dataset="mnist", split="train"):
    """MNIST's (or Fashion-MNIST's) `split` ("train" or "test") from `data_dir`: float32 images in [-1, 1] of shape
    (N, 1, 28, 28) and their uint8 labels. Both files are checked, so that a mismatched pair is caught."""
    fix = fetch_command(dataset, data_dir)
    image_file, label_file = (Path(data_dir) / name for name in MNIST_FILES[split])
    images, labels = read_idx(image_file, fix), read_idx(label_file, fix)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{image_file} holds items of shape {list(images.shape[1:])}, not 28x28 images; "
                        f"fetch it again with: {fix}")
    if labels.ndim != 1:
        raise DataError(f"{label_file} holds items of shape {list(labels.shape[1:])}, not single labels; "
                        f"fetch it again with: {fix}")
    if len(images) != len(labels):
        raise DataError(f"{image_file} holds {len(images)} images but {label_file.name} holds {len(labels)} labels; "
                        f"fetch both again with: {fix}")
    if labels.size and labels.max() >= NUM_CLASSES:  # a conditional run would look up a class that does not exist
        raise DataError(f"{label_file} holds label {labels.max()}, not a class id 0-{NUM_CLASSES - 1}; "
                        f"fetch it again with: {fix}")
    return scale_images(images)[:, None, :, :], labels


def cifar(data_dir):
    """CIFAR-10's training images (data_batch_1..5) from `data_dir`, float32 in [-1, 1], shape (N, 3, 32, 32), and
    their labels (0-9)."""
    fix = fetch_command("cifar", data_dir)
    batches, all_labels = [], []
    for name in CIFAR_TRAIN_BATCHES:
        path = Path(data_dir) / name
        if not path.is_file():
            raise DataError(f"{path} not found; fetch CIFAR-10 with: {fix}")
        try:
            batch = safe_pickle.load(path, encoding="latin1")  # Python 2 pickles, of byte strings
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError, TypeError,
                ValueError) as e:  # what pickle raises on bytes that are not a pickle varies with the bytes
            raise DataError(f"{path} is not a readable pickle ({type(e).__name__}: {e}); fetch it again with: {fix}") \
                from None
        if not isinstance(batch, dict) or not {"data", "labels"} <= set(batch):
            keys = sorted(map(str, batch)) if isinstance(batch, dict) else type(batch).__name__
            raise DataError(f"{path} is not a CIFAR-10 batch (keys {keys}, expected data and labels); "
                            f"fetch it again with: {fix}")
        data = batch["data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            what = f"{data.dtype} array of shape {list(data.shape)}" if isinstance(data, np.ndarray) else \
                type(data).__name__
            raise DataError(f"{path}: data is a {what}, not uint8 rows of 3072 CHW pixels; fetch it again with: {fix}")
        if len(batch["labels"]) != len(data):
            raise DataError(f"{path} holds {len(data)} images but {len(batch['labels'])} labels; "
                            f"fetch it again with: {fix}")
        labels = np.asarray(batch["labels"])
        if labels.ndim != 1 or not np.isin(labels, np.arange(10)).all():
            raise DataError(f"{path}: labels are not class ids 0-9; fetch it again with: {fix}")
        batches.append(data)
        all_labels.append(labels)
    return scale_images(np.concatenate(batches).reshape(-1, 3, 32, 32)), np.concatenate(all_labels)


def real_data(config):
    """The config's training data: (samples, class ids or None for a toy)."""
    dataset = config["dataset"]
    if dataset == "uniform":
        return uniform_data(config["num_samples"], stream_seed(config, "data")), None
    if dataset == "gaussian":
        return gaussian_data(config["num_samples"], config["data_mean"], config["data_std"],
                             stream_seed(config, "data")), None
    if dataset in ("mnist", "fashion_mnist"):
        return mnist(config["data_dir"], dataset)
    return cifar(config["data_dir"])


def reference_batch(config, rows):
    """`rows` samples of the training data, drawn without replacement with a seed of their own: the points D's
    reference batch norm takes its statistics from (nets.py). The same for every process and every resume."""
    samples, _ = real_data(config)
    if len(samples) < rows:
        raise DataError(f"the data set has {len(samples)} samples, fewer than the {rows} points D's reference batch "
                        "norm takes its statistics from; use more samples or -o d_reference_batch=false")
    return samples[np.random.default_rng(stream_seed(config, "reference_batch")).choice(len(samples), rows, False)]


def real_batches(config):
    """The config's real data as a ShuffledBatches stream: {"img": ...}, and {"img_label": ...} in a conditional
    run."""
    images, labels = real_data(config)
    data = {"img": images}
    if config["conditional"]:
        data["img_label"] = labels.astype(np.int64)
    return ShuffledBatches(data, config["batch_size"], stream_seed(config, "real_batches"))

