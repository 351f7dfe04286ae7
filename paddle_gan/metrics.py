"""The numbers that judge samples, in numpy alone: on a classifier's features and class probabilities (FID, Inception
Score, modes, k-NN precision and recall), on 2-D points (the uniform toy's share inside the square, grid coverage
and energy distance) or on numbers (the Gaussian toy's mean, standard deviation, and two distances to the exact
normal distribution). paddle_gan.evaluate feeds them; nothing here knows Paddle or a data set's files.
"""
from statistics import NormalDist

import numpy as np

from .config import NUM_CLASSES
from .errors import UserError

MODE_SHARE = 0.01  # a class is a covered mode if it holds at least 1% of the samples
PR_K = 3           # Kynkaanniemi et al. 2019: the k-th nearest neighbour sets each point's radius
IS_SPLITS = 10     # the Inception Score's customary 10 splits
GRID = 10          # the uniform toy's coverage grid: 10x10 cells over the unit square


class EvaluateError(UserError):
    """Samples or a data set the evaluator cannot use; the message says what to do."""


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


def label_accuracy(probs, labels, num_classes=NUM_CLASSES):
    """How often the classifier sees the class a conditional generator was asked for: (overall share, the share
    for each asked-for class, nan for a class never asked for)."""
    seen, labels = np.asarray(probs).argmax(axis=1), np.asarray(labels)
    if len(labels) != len(seen):
        raise EvaluateError(f"{len(labels)} labels for {len(seen)} samples; give one class per sample")
    right = seen == labels
    per_class = [float(right[labels == k].mean()) if (labels == k).any() else float("nan") for k in range(num_classes)]
    return float(right.mean()), per_class


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
    points = toy_samples(points, "uniform", 2)
    inside = ((points >= 0) & (points < 1)).all(axis=1)
    cells = np.unique(np.floor(points[inside] * GRID).astype(int), axis=0)
    fresh = np.random.default_rng(seed).random(points.shape)
    return {"dataset": "uniform", "n": len(points), "inside": float(inside.mean()),
            "grid_coverage": len(cells) / GRID ** 2, "energy_distance": energy_distance(points, fresh)}


def toy_samples(samples, dataset, dims):
    """`samples` as float64 if they are a toy's: shape (N, dims), N >= 2, every value finite; else an EvaluateError."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != dims or len(samples) < 2:
        raise EvaluateError(f"{dataset} samples must have shape (N, {dims}) with N >= 2, got {samples.shape}")
    if not np.isfinite(samples).all():
        raise EvaluateError(f"{dataset} samples hold NaN or inf: the generator that drew them has diverged; "
                            "take an earlier checkpoint")
    return samples


def gaussian_metrics(samples, mean, std):
    """The Gaussian toy's metrics for (N, 1) numbers against N(mean, std): their mean and standard deviation; the
    Kolmogorov-Smirnov distance (the largest gap between their empirical CDF and the exact one: 0 to 1); and the
    1-D Wasserstein distance (the area between the two CDFs, in the data's units: how far, on average, the
    samples must move to follow N(mean, std)). For 5,000 real samples KS is about 0.01, and Wasserstein about 0.015
    standard deviations."""
    x = np.sort(toy_samples(samples, "gaussian", 1)[:, 0])
    n, target = len(x), NormalDist(mean, std)
    cdf = np.array([target.cdf(v) for v in x])
    ranks = np.arange(1, n + 1) / n
    ks = max(float(np.max(ranks - cdf)), float(np.max(cdf - (ranks - 1.0 / n))))
    # W1 = the mean distance between the i-th smallest sample and the target's quantile at the middle of its rank
    quantiles = np.array([target.inv_cdf((i - 0.5) / n) for i in range(1, n + 1)])
    return {"dataset": "gaussian", "n": n, "mean": float(x.mean()), "std": float(x.std()), "ks": ks,
            "wasserstein": float(np.mean(np.abs(x - quantiles)))}
