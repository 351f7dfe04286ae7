"""Measure generated samples: `python -m paddle_gan.evaluate -d mnist --model_dir mnist_params/pass-00009`.

Images are judged by a small CNN classifier that paddle_gan trains itself on the real training split (cached in
`data/classifiers/`): FID between its penultimate features of the samples and of the 10,000 test images, its
Inception Score, the histogram of the classes it sees (modes covered, KL to uniform), and k-NN precision/recall
(Kynkaanniemi et al. 2019). The uniform toy's points are judged directly: the fraction inside the unit square,
the cells of a 10x10 grid they reach, and the energy distance to a fresh uniform sample. Prints one JSON line.
"""
import argparse
import contextlib
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from . import checkpoint, readers
from .config import ConfigError
from .device import DeviceError, make_place

IMAGE_DATASETS = ("mnist", "fashion_mnist")
DATASETS = ("uniform", *IMAGE_DATASETS)
NUM_CLASSES = 10
TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")  # Fashion-MNIST uses MNIST's file names
CLASSIFIER_DIR = "data/classifiers"
ACCURACY_TARGET = {"mnist": 0.993}  # issue 6; Fashion-MNIST is harder, and its accuracy is recorded, not required
EPOCHS = 12  # 8 epochs reached 99.24% test accuracy, 12 reach 99.31% (benchmarks/RESULTS.md)
MODE_SHARE = 0.01  # a class is a covered mode if it holds at least 1% of the samples
PR_K = 3           # Kynkaanniemi et al. 2019: the k-th nearest neighbour sets each point's radius
IS_SPLITS = 10     # the Inception Score's customary 10 splits
GRID = 10          # the uniform toy's coverage grid: 10x10 cells over the unit square
IMAGE_SUMMARY = ("fid", "inception_score", "modes", "kl_to_uniform", "precision", "recall")
SUMMARY = {"uniform": ("inside", "grid_coverage", "energy_distance"),  # the numbers a per-pass log keeps
           **{dataset: IMAGE_SUMMARY for dataset in IMAGE_DATASETS}}


class EvaluateError(RuntimeError):
    """Samples or a data set the evaluator cannot use; the message says what to do."""


# ---------------------------------------------------------------------------------------------------------------
# The metrics: numpy only, on features, class probabilities or 2-D points.

def feature_stats(features):
    """Mean and covariance (float64) of (N, D) features, the two numbers FID compares."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2): |mu1-mu2|^2 + tr(s1 + s2 - 2 sqrt(s1 s2)).

    tr sqrt(s1 s2) is computed as the trace of sqrt(A s2 A) with A = sqrt(s1): that matrix is symmetric and has
    the eigenvalues of s1 s2, so a symmetric eigendecomposition suffices (no scipy.linalg.sqrtm, no complex parts).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    product = root1 @ sigma2 @ root1
    eigen = np.linalg.eigvalsh((product + product.T) / 2)  # symmetrise away round-off before eigvalsh
    trace_root = np.sqrt(np.clip(eigen, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root)


def inception_score(probs, splits=IS_SPLITS):
    """exp(E_x KL(p(y|x) || p(y))) over `splits` equal parts of (N, classes) probabilities; (mean, std)."""
    probs = np.asarray(probs, dtype=np.float64)
    if len(probs) < splits:
        raise EvaluateError(f"the Inception Score needs at least {splits} samples, got {len(probs)}")
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        log_ratio = np.log(np.clip(part, 1e-30, None)) - np.log(np.clip(marginal, 1e-30, None))
        kl = np.where(part > 0, part * log_ratio, 0)  # 0 log 0 = 0: a certain classifier is not an error
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_histogram(probs, num_classes=NUM_CLASSES):
    """How many samples the classifier puts in each class (its most probable one)."""
    return np.bincount(np.asarray(probs).argmax(axis=1), minlength=num_classes)


def modes_covered(counts, share=MODE_SHARE):
    """Classes holding at least `share` of the samples."""
    counts = np.asarray(counts)
    return int((counts >= share * counts.sum()).sum())


def kl_to_uniform(counts):
    """KL(class histogram || uniform) in nats: 0 when every class is equally common, log(classes) for one class."""
    p = np.asarray(counts, dtype=np.float64) / np.sum(counts)
    return float(np.sum(p[p > 0] * np.log(p[p > 0] * len(p))))


def _squared_distances(a, b):
    """(len(a), len(b)) squared Euclidean distances, float64, never negative."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.clip(d, 0, None)


def knn_radii(features, k=PR_K, chunk=1000):
    """Squared distance from each point to its k-th nearest neighbour among the others (the k-NN manifold)."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) <= k:
        raise EvaluateError(f"k-NN radii with k={k} need more than {k} points, got {len(features)}")
    radii = np.empty(len(features))
    for start in range(0, len(features), chunk):
        d = _squared_distances(features[start:start + chunk], features)
        radii[start:start + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself (distance 0)
    return radii


def _inside_manifold(points, manifold, radii, chunk=1000):
    """Which `points` lie within the k-NN ball of at least one point of `manifold`."""
    points, manifold = np.asarray(points, np.float64), np.asarray(manifold, np.float64)
    inside = np.empty(len(points), bool)
    for start in range(0, len(points), chunk):
        inside[start:start + chunk] = (_squared_distances(points[start:start + chunk], manifold)
                                       <= radii[None, :]).any(axis=1)
    return inside


def precision_recall(real, fake, k=PR_K, real_radii=None):
    """Kynkaanniemi et al. 2019: precision = share of fakes inside the real k-NN manifold, recall = share of
    reals inside the fake one. Pass `real_radii` (from knn_radii) to reuse them across calls."""
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    precision = _inside_manifold(fake, real, real_radii).mean()
    recall = _inside_manifold(real, fake, knn_radii(fake, k)).mean()
    return float(precision), float(recall)


def _mean_distance(a, b, chunk=1000):
    total = 0.0
    for start in range(0, len(a), chunk):
        total += np.sqrt(_squared_distances(a[start:start + chunk], b)).sum()
    return total


def energy_distance(x, y):
    """Energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'|, unbiased (a point is not paired with itself), so two samples of
    one distribution give about 0 whatever their size; 0 only when the distributions are equal."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n, m = len(x), len(y)
    return float(2 * _mean_distance(x, y) / (n * m) - _mean_distance(x, x) / (n * (n - 1))
                 - _mean_distance(y, y) / (m * (m - 1)))


def uniform_metrics(points, seed=0):
    """The toy's metrics for (N, 2) points: share inside [0,1)^2, share of the 10x10 cells reached, and the
    energy distance to N fresh points of U[0,1)^2 drawn with `seed`."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise EvaluateError(f"uniform samples must have shape (N, 2) with N >= 2, got {points.shape}")
    inside = ((points >= 0) & (points < 1)).all(axis=1)
    cells = np.unique(np.floor(points[inside] * GRID).astype(int), axis=0)
    fresh = np.random.default_rng(seed).random(points.shape)
    return {"dataset": "uniform", "n": len(points), "inside": float(inside.mean()),
            "grid_coverage": len(cells) / GRID ** 2, "energy_distance": energy_distance(points, fresh)}


# ---------------------------------------------------------------------------------------------------------------
# The classifier: a small CNN in Paddle's dynamic graph (it is a measuring tool, not part of the GAN).

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


# ---------------------------------------------------------------------------------------------------------------
# Data and the classifier cache.

def default_data_dir(dataset):
    """Where a data set's IDX files live unless told otherwise: data/{dataset}_data (data/mnist_data for MNIST)."""
    return f"data/{dataset}_data"


def _read_pair(data_dir, names):
    images, labels = (readers.read_idx(Path(data_dir) / name) for name in names)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise EvaluateError(f"{Path(data_dir) / names[0]} and {names[1]} are not 28x28 images with one label "
                            "each; fetch the data set again")
    return readers.scale_images(images)[:, None], labels.astype(np.int64)


def load_splits(data_dir):
    """{"train", "val", "test"}: (images, labels) pairs. val is the last sixth of the training file (MNIST: the
    last 10,000, as in the 50,000/10,000 split of the deeplearning.net tutorials); test is the t10k file."""
    images, labels = _read_pair(data_dir, TRAIN_FILES)
    n_val = len(images) // 6
    return {"train": (images[:-n_val], labels[:-n_val]), "val": (images[-n_val:], labels[-n_val:]),
            "test": _read_pair(data_dir, TEST_FILES)}


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
    splits = load_splits(data_dir)
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
        missing, unexpected = net.set_state_dict(paddle.load(str(weights))) or ([], [])
        net.eval()
    if missing or unexpected:
        return None, f"{weights} was saved from another network"
    return net, info


def load_classifier(dataset, data_dir, classifier_dir=CLASSIFIER_DIR, log=None):
    """The data set's cached classifier, checksum-verified; trained (and cached) first when missing or corrupt.
    Returns (net, info)."""
    if dataset not in IMAGE_DATASETS:
        raise EvaluateError(f"no classifier for dataset {dataset!r}; the evaluator knows {', '.join(DATASETS)}")
    weights, info_file = classifier_paths(dataset, classifier_dir)
    net, info = _load_cached(weights, info_file)
    if net is None:
        if log:
            log(f"{info}; training the {dataset} classifier on {data_dir} (a few minutes on a CPU)")
        net, info = build_classifier(dataset, data_dir, classifier_dir, log=log)
    return net, info


_REFERENCES = {}


def reference(dataset, data_dir, classifier_dir=CLASSIFIER_DIR, log=None):
    """The classifier and the test images' statistics (features, mean, covariance, k-NN radii), computed once per
    process: a per-pass evaluation pays only for its own samples."""
    key = (dataset, str(Path(data_dir).resolve()), str(Path(classifier_dir).resolve()))
    if key not in _REFERENCES:
        net, info = load_classifier(dataset, data_dir, classifier_dir, log)
        test_images, _ = _read_pair(data_dir, TEST_FILES)
        features, _ = classify(net, test_images)
        mu, sigma = feature_stats(features)
        _REFERENCES[key] = {"net": net, "info": info, "features": features, "mu": mu, "sigma": sigma,
                            "radii": knn_radii(features)}
    return _REFERENCES[key]


def image_metrics(ref, images):
    """FID, IS, class histogram and precision/recall of (N, 1, 28, 28) images in [-1, 1] against `ref`."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise EvaluateError(f"image samples must have shape (N, 1, 28, 28), got {images.shape}")
    if len(images) < IS_SPLITS:
        raise EvaluateError(f"need at least {IS_SPLITS} samples, got {len(images)}; raise -n")
    if images.min() < -1.001 or images.max() > 1.001:
        raise EvaluateError(f"image samples must lie in [-1, 1] (the generator's tanh range), got "
                            f"[{images.min():.3g}, {images.max():.3g}]; scale uint8 pixels with x/255*2-1")
    features, probs = classify(ref["net"], images)
    counts = class_histogram(probs)
    score, score_std = inception_score(probs)
    precision, recall = precision_recall(ref["features"], features, real_radii=ref["radii"])
    return {"n": len(images), "fid": frechet_distance(*feature_stats(features), ref["mu"], ref["sigma"]),
            "inception_score": score, "inception_score_std": score_std, "modes": modes_covered(counts),
            "kl_to_uniform": kl_to_uniform(counts), "class_counts": counts.tolist(),
            "precision": precision, "recall": recall}


def evaluate_samples(dataset, samples, data_dir=None, classifier_dir=CLASSIFIER_DIR, seed=0, log=None):
    """The metrics of `samples` as a flat dict (see the module docstring): (N, 2) points for uniform, (N, 1, 28, 28)
    images in [-1, 1] otherwise. The first call for an image data set loads (or trains) its classifier and the
    test statistics; later calls reuse them. `seed` only draws the uniform toy's reference points."""
    if dataset == "uniform":
        return uniform_metrics(samples, seed)
    if dataset not in IMAGE_DATASETS:
        raise EvaluateError(f"no evaluator for dataset {dataset!r}; it knows {', '.join(DATASETS)}")
    ref = reference(dataset, data_dir or default_data_dir(dataset), classifier_dir, log)
    return {"dataset": dataset, **image_metrics(ref, samples)}


def real_floor(dataset, n, data_dir=None, classifier_dir=CLASSIFIER_DIR, seed=0, log=None):
    """The metrics of held-out real data, the best a generator can hope for: the first `n` validation images
    against the test set (uniform: `n` fresh points)."""
    if dataset == "uniform":
        samples = np.random.default_rng(seed + 1).random((n, 2))  # seed + 1: not the reference points themselves
    elif dataset in IMAGE_DATASETS:
        data_dir = data_dir or default_data_dir(dataset)
        samples = load_splits(data_dir)["val"][0][:n]
    else:
        raise EvaluateError(f"no evaluator for dataset {dataset!r}; it knows {', '.join(DATASETS)}")
    return {**evaluate_samples(dataset, samples, data_dir, classifier_dir, seed, log), "real": True}


# ---------------------------------------------------------------------------------------------------------------
# The command line.

def _samples_from_checkpoint(model_dir, dataset, n, seed, place):
    from .generate import load_generator, sample  # generate imports train's world; only this path needs it
    exe, programs, scope, config = load_generator(model_dir, place)
    if config["dataset"] != dataset:
        raise EvaluateError(f"{model_dir} is a {config['dataset']} checkpoint, but -d {dataset} was given")
    return sample(exe, programs, scope, config, n, seed)


def summary_line(metrics):
    """The headline numbers in one line, e.g. "FID 3.41, IS 9.12, modes 10, precision 0.81, recall 0.62"."""
    if metrics["dataset"] == "uniform":
        return (f"inside {metrics['inside']:.3f}, 10x10 coverage {metrics['grid_coverage']:.2f}, "
                f"energy distance {metrics['energy_distance']:.4f}")
    return (f"FID {metrics['fid']:.2f}, IS {metrics['inception_score']:.2f}, modes {metrics['modes']}, "
            f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}")


def _rounded(metrics):
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in metrics.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m paddle_gan.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--dataset", required=True, choices=DATASETS, help="which data set the samples mimic")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model_dir", help="sample from this checkpoint folder, e.g. mnist_params/pass-00009")
    source.add_argument("--samples", help="evaluate a numpy file written by paddle_gan.generate")
    source.add_argument("--real", action="store_true", help="evaluate held-out real data: the floor to compare to")
    source.add_argument("--train_classifier", action="store_true", help="(re)train and cache the classifier")
    parser.add_argument("-n", type=int, default=10000, help="samples to draw with --model_dir or --real (10000)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed for --model_dir (default 0)")
    parser.add_argument("--data_dir", help="the data set's IDX files (default data/{dataset}_data)")
    parser.add_argument("--classifier_dir", default=CLASSIFIER_DIR, help=f"classifier cache (default {CLASSIFIER_DIR})")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"classifier epochs (default {EPOCHS})")
    parser.add_argument("--use_gpu", "--useGpu", type=int, choices=(0, 1), default=None)
    parser.add_argument("--gpu_id", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n < IS_SPLITS:
        parser.error(f"-n {args.n}: must be at least {IS_SPLITS}")
    data_dir = args.data_dir or default_data_dir(args.dataset)

    def log(message):
        print(message, file=sys.stderr, flush=True)  # stdout carries only the JSON line
    try:
        if args.train_classifier:
            if args.dataset not in IMAGE_DATASETS:
                raise EvaluateError("the uniform toy needs no classifier; use -d mnist or -d fashion_mnist")
            _, metrics = build_classifier(args.dataset, data_dir, args.classifier_dir, args.epochs, log=log)
        elif args.real:
            metrics = real_floor(args.dataset, args.n, data_dir, args.classifier_dir, args.seed, log)
        else:
            if args.samples:
                try:
                    samples = np.load(args.samples)
                except (OSError, ValueError) as e:
                    raise EvaluateError(f"cannot read {args.samples} as a numpy file ({e}); write it with "
                                        "python -m paddle_gan.generate") from None
            else:
                place = make_place(None if args.use_gpu is None else bool(args.use_gpu), args.gpu_id)
                samples = _samples_from_checkpoint(args.model_dir, args.dataset, args.n, args.seed, place)
            metrics = evaluate_samples(args.dataset, samples, data_dir, args.classifier_dir, args.seed, log)
    except (EvaluateError, ConfigError, DeviceError, readers.DataError, checkpoint.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(_rounded(metrics)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
