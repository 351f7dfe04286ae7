"""The classifier that judges generated MNIST and Fashion-MNIST images (paddle_gan.evaluate): a small CNN that
paddle_gan trains itself on the real training split, in Paddle's dynamic graph (it is a measuring tool, not part of
the GAN), cached with its SHA-256 in data/classifiers/ so that every evaluation uses the same one.

Its penultimate layer (128 features) is what FID and precision/recall compare; its class probabilities give the
Inception Score and the modes. How well it classifies, and how long it trains: benchmarks/RESULTS.md.
"""
import contextlib
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from . import readers, safe_pickle
from .config import NUM_CLASSES
from .metrics import EvaluateError

CLASSIFIER_DIR = "data/classifiers"
EPOCHS = 12
ACCURACY_TARGET = {"mnist": 0.993}  # Fashion-MNIST is harder: its accuracy is recorded, not required
IMAGE_DATASETS = ("mnist", "fashion_mnist")


class Classifier(nn.Layer):
    """conv 5x5 32 + BN + ReLU + pool, conv 5x5 64 + BN + ReLU + pool, fc 128 + ReLU (the features), fc 10."""
    FEATURES = 128

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2D(1, 32, 5, padding=2), nn.BatchNorm2D(32)
        self.conv2, self.bn2 = nn.Conv2D(32, 64, 5, padding=2), nn.BatchNorm2D(64)
        self.fc1, self.fc2 = nn.Linear(64 * 7 * 7, self.FEATURES), nn.Linear(self.FEATURES, NUM_CLASSES)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        """(features, logits) of (N, 1, 28, 28) images in [-1, 1]."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        features = F.relu(self.fc1(x.flatten(1)))
        return features, self.fc2(self.dropout(features))


@contextlib.contextmanager
def dygraph():
    """Run the classifier in dynamic mode and give the caller back static mode if it was in it (the trainer is)."""
    static = not paddle.in_dynamic_mode()
    if static:
        paddle.disable_static()
    try:
        yield
    finally:
        if static:
            paddle.enable_static()


def _shift(images, rng, pixels=2):
    """Each image moved by up to `pixels` in x and y, background (-1) filling in: cheap augmentation."""
    padded = np.pad(images, ((0, 0), (0, 0), (pixels, pixels), (pixels, pixels)), constant_values=-1.0)
    dy, dx = rng.integers(0, 2 * pixels + 1, (2, len(images)))
    h, w = images.shape[2:]
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(len(images))])


def train_classifier(images, labels, epochs=EPOCHS, batch_size=128, lr=1e-3, seed=0, val=None, log=None):
    """Train a Classifier on (N, 1, 28, 28) images in [-1, 1]: Adam with the rate falling to 0 along a cosine
    (the last, slow steps settle the weights), random shifts.
    `val` (images, labels) is only measured, for the log. Returns the classifier in eval mode."""
    rng = np.random.default_rng(seed)
    with dygraph():
        paddle.seed(seed)
        net = Classifier()
        steps = epochs * -(-len(images) // batch_size)
        scheduler = paddle.optimizer.lr.CosineAnnealingDecay(lr, T_max=steps)
        optimizer = paddle.optimizer.Adam(scheduler, parameters=net.parameters())
        net.train()
        for epoch in range(epochs):
            order, started, losses = rng.permutation(len(images)), time.perf_counter(), []
            for start in range(0, len(images), batch_size):
                batch = order[start:start + batch_size]
                x = paddle.to_tensor(_shift(images[batch], rng))
                loss = F.cross_entropy(net(x)[1], paddle.to_tensor(labels[batch].astype(np.int64)))
                loss.backward()
                optimizer.step()
                optimizer.clear_grad()
                scheduler.step()
                losses.append(float(loss))
            if log:
                net.eval()
                measured = f", val accuracy {_accuracy(net, *val):.4f}" if val else ""
                log(f"classifier epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}{measured} "
                    f"({time.perf_counter() - started:.0f} s)")
                net.train()
        net.eval()
    return net


def classify(net, images, batch_size=500):
    """(features (N, 128) float64, class probabilities (N, 10) float64) of (N, 1, 28, 28) images in [-1, 1]."""
    features, probs = [], []
    with dygraph(), paddle.no_grad():
        for start in range(0, len(images), batch_size):
            f, logits = net(paddle.to_tensor(np.ascontiguousarray(images[start:start + batch_size], np.float32)))
            features.append(f.numpy())
            probs.append(F.softmax(logits, axis=1).numpy())
    return np.concatenate(features).astype(np.float64), np.concatenate(probs).astype(np.float64)


def load_splits(dataset, data_dir):
    """{"train", "val", "test"}: (images, labels) pairs. val is the last sixth of the training file (MNIST: the
    last 10,000, as in the 50,000/10,000 split of the deeplearning.net tutorials); test is the t10k file."""
    images, labels = readers.mnist(data_dir, dataset, "train")
    n_val = len(images) // 6
    return {"train": (images[:-n_val], labels[:-n_val]), "val": (images[-n_val:], labels[-n_val:]),
            "test": readers.mnist(data_dir, dataset, "test")}


def classifier_paths(dataset, classifier_dir=CLASSIFIER_DIR):
    """(weights, info) files of a data set's cached classifier: {dataset}_cnn.pdparams and {dataset}_cnn.json."""
    base = Path(classifier_dir) / f"{dataset}_cnn"
    return base.with_suffix(".pdparams"), base.with_suffix(".json")


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _accuracy(net, images, labels):
    return float((classify(net, images)[1].argmax(axis=1) == labels).mean())


def build_classifier(dataset, data_dir, classifier_dir=CLASSIFIER_DIR, epochs=EPOCHS, seed=0, log=None):
    """Train the data set's classifier on its training split, measure it, and cache it with its SHA-256.
    Returns (net, info)."""
    splits = load_splits(dataset, data_dir)
    started = time.perf_counter()
    net = train_classifier(*splits["train"], epochs=epochs, seed=seed, val=splits["val"], log=log)
    info = {"dataset": dataset, "data_dir": str(data_dir), "epochs": epochs, "seed": seed,
            "train_size": len(splits["train"][0]),
            "val_accuracy": _accuracy(net, *splits["val"]), "test_accuracy": _accuracy(net, *splits["test"]),
            "seconds": round(time.perf_counter() - started, 1), "paddle": paddle.__version__}
    weights, info_file = classifier_paths(dataset, classifier_dir)
    weights.parent.mkdir(parents=True, exist_ok=True)
    with dygraph():
        paddle.save(net.state_dict(), str(weights))
    info["sha256"] = _sha256(weights)
    info_file.write_text(json.dumps(info, indent=2) + "\n")
    target = ACCURACY_TARGET.get(dataset)
    if log and target and info["test_accuracy"] < target:
        log(f"warning: the {dataset} classifier reached {info['test_accuracy']:.4f} test accuracy, below the "
            f"{target} target; retrain with more --epochs")
    return net, info


def _state_dict(weights):
    """The arrays `paddle.save` wrote to `weights`, read as data (safe_pickle), not with paddle.load's pickle: the
    cache is a file on disk like any other. Its bookkeeping entry (a dict of names) is left out."""
    state = safe_pickle.load(weights)
    return {name: value for name, value in state.items() if isinstance(value, np.ndarray)}


def _load_cached(weights, info_file):
    """(net, info) from the cache, or (None, why it cannot be used)."""
    if not weights.is_file() or not info_file.is_file():
        return None, f"no cached classifier at {weights}"
    try:
        info = json.loads(info_file.read_text())
        expected = info["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return None, f"{info_file} is unreadable"
    if _sha256(weights) != expected:
        return None, f"{weights} does not match the SHA-256 in {info_file.name} (corrupt or replaced)"
    with dygraph():
        net = Classifier()
        missing, unexpected = net.set_state_dict(_state_dict(weights)) or ([], [])
        net.eval()
    if missing or unexpected:
        return None, f"{weights} was saved from another network"
    return net, info


def load_classifier(dataset, data_dir, classifier_dir=CLASSIFIER_DIR, log=None):
    """The data set's cached classifier, checksum-verified; trained (and cached) first when missing or corrupt.
    Returns (net, info)."""
    if dataset not in IMAGE_DATASETS:
        raise EvaluateError(f"no classifier for dataset {dataset!r}; there is one for {', '.join(IMAGE_DATASETS)}")
    weights, info_file = classifier_paths(dataset, classifier_dir)
    net, info = _load_cached(weights, info_file)
    if net is None:
        if log:
            log(f"{info}; training the {dataset} classifier on {data_dir} (a few minutes on a CPU)")
        net, info = build_classifier(dataset, data_dir, classifier_dir, log=log)
    return net, info
