"""Measure generated samples: `python -m paddle_gan.evaluate -d mnist --model_dir mnist_params/pass-00009`.

Images are judged by paddle_gan's own classifier (classifier.py), trained on the real training split: FID between
its penultimate features of the samples and of the 10,000 test images, its Inception Score, the histogram of the
classes it sees (modes covered, KL to uniform), and k-NN precision/recall (Kynkaanniemi et al. 2019). The toys are
judged directly: the uniform toy's points by the fraction inside the unit square, the cells of a 10x10 grid they
reach, and the energy distance to a fresh uniform sample; the Gaussian toy's numbers by their mean and standard
deviation and their Kolmogorov-Smirnov and Wasserstein distances to the exact N(data_mean, data_std) (a checkpoint's
own, or --data_mean and --data_std for --samples and --real). The formulas are in metrics.py. Prints one JSON line.

Samples of a conditional generator are also scored on their classes: the label accuracy is the share of samples the
classifier puts in the class they were asked for, overall and per class. A conditional checkpoint is asked for every
class in turn; a --samples file needs its --labels file (generate writes both).
"""
import json
import sys
from pathlib import Path

import numpy as np

from . import checkpoint, cli, device, readers
from .classifier import CLASSIFIER_DIR, EPOCHS, IMAGE_DATASETS, build_classifier, classify, load_classifier, load_splits
from .config import DEFAULTS, TOYS, check_dataset, check_seed, gaussian_target, updated
from .metrics import (IS_SPLITS, EvaluateError, class_histogram, feature_stats, frechet_distance, gaussian_metrics,
                      inception_score, kl_to_uniform, knn_radii, label_accuracy, modes_covered, precision_recall,
                      uniform_metrics)

SCORED_DATASETS = (*TOYS, *IMAGE_DATASETS)
IMAGE_SUMMARY = ("fid", "inception_score", "modes", "kl_to_uniform", "precision", "recall")
SUMMARY = {"uniform": ("inside", "grid_coverage", "energy_distance"),  # the numbers a per-pass log keeps
           "gaussian": ("mean", "std", "ks", "wasserstein"),
           **{dataset: IMAGE_SUMMARY for dataset in IMAGE_DATASETS}}
DEFAULT_NORMAL = gaussian_target(DEFAULTS)

_REFERENCES = {}


def summary_keys(config):
    """The numbers a per-pass evaluation of `config`'s run keeps (metrics.csv): SUMMARY's, and the label accuracy
    of a conditional run."""
    return SUMMARY[config["dataset"]] + (("label_accuracy",) if config["conditional"] else ())


def reference(dataset, data_dir, classifier_dir=CLASSIFIER_DIR, log=None):
    """The classifier and the test images' statistics (features, mean, covariance, k-NN radii), computed once per
    process: a per-pass evaluation pays only for its own samples."""
    key = (dataset, str(Path(data_dir).resolve()), str(Path(classifier_dir).resolve()))
    if key not in _REFERENCES:
        net, info = load_classifier(dataset, data_dir, classifier_dir, log)
        test_images, _ = readers.mnist(data_dir, dataset, "test")
        features, _ = classify(net, test_images)
        mu, sigma = feature_stats(features)
        _REFERENCES[key] = {"net": net, "info": info, "features": features, "mu": mu, "sigma": sigma,
                            "radii": knn_radii(features)}
    return _REFERENCES[key]


def checked_images(images):
    """`images` as an array, if they are what image_metrics scores: (N, 1, 28, 28) in [-1, 1]; else an
    EvaluateError saying what is wrong."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise EvaluateError(f"image samples must have shape (N, 1, 28, 28), got {images.shape}")
    if len(images) < IS_SPLITS:
        raise EvaluateError(f"need at least {IS_SPLITS} samples, got {len(images)}; raise -n")
    if not np.isfinite(images).all():
        raise EvaluateError("image samples hold NaN or inf: the generator that drew them has diverged; take an "
                            "earlier checkpoint")
    if images.min() < -1.001 or images.max() > 1.001:
        raise EvaluateError(f"image samples must lie in [-1, 1] (the generator's tanh range), got "
                            f"[{images.min():.3g}, {images.max():.3g}]; scale uint8 pixels with x/255*2-1")
    return images


def image_metrics(ref, images, labels=None):
    """FID, IS, class histogram and precision/recall of `images` (an array that passed checked_images) against
    `ref`; with `labels` (the class each image was drawn as), the label accuracy too."""
    features, probs = classify(ref["net"], images)
    counts = class_histogram(probs)
    score, score_std = inception_score(probs)
    precision, recall = precision_recall(ref["features"], features, real_radii=ref["radii"])
    metrics = {"n": len(images), "fid": frechet_distance(*feature_stats(features), ref["mu"], ref["sigma"]),
               "inception_score": score, "inception_score_std": score_std, "modes": modes_covered(counts),
               "kl_to_uniform": kl_to_uniform(counts), "class_counts": counts.tolist(),
               "precision": precision, "recall": recall}
    if labels is not None:
        metrics["label_accuracy"], metrics["label_accuracy_per_class"] = label_accuracy(probs, labels)
    return metrics


def _data_dir(dataset, data_dir):
    if dataset not in SCORED_DATASETS:
        raise EvaluateError(f"no evaluator for dataset {dataset!r}; it knows {', '.join(SCORED_DATASETS)}")
    return data_dir or readers.DEFAULT_DIRS.get(dataset)


def evaluate_samples(dataset, samples, data_dir=None, classifier_dir=CLASSIFIER_DIR, seed=0, log=None, labels=None,
                     normal=DEFAULT_NORMAL):
    """The metrics of `samples` as a flat dict (see the module docstring): (N, 2) points for uniform, (N, 1) numbers
    for gaussian (against N(*normal)), (N, 1, 28, 28) images in [-1, 1] otherwise, drawn as the classes `labels` for
    a conditional generator. The first call for an image data set loads (or trains) its classifier and the test
    statistics; later calls reuse them. `seed` only draws the uniform toy's reference points."""
    data_dir = _data_dir(dataset, data_dir)
    if dataset == "uniform":
        return uniform_metrics(samples, seed)
    if dataset == "gaussian":
        return gaussian_metrics(samples, *normal)
    samples = checked_images(samples)  # before the classifier, which may take minutes to train
    return {"dataset": dataset, **image_metrics(reference(dataset, data_dir, classifier_dir, log), samples, labels)}


def real_floor(dataset, n, data_dir=None, classifier_dir=CLASSIFIER_DIR, seed=0, log=None, normal=DEFAULT_NORMAL):
    """The metrics of held-out real data, the best a generator can hope for: the first `n` validation images
    against the test set (a toy: `n` fresh samples of its distribution)."""
    data_dir = _data_dir(dataset, data_dir)
    if dataset == "uniform":
        samples = np.random.default_rng(seed + 1).random((n, 2))  # seed + 1: not the reference points themselves
    elif dataset == "gaussian":
        samples = readers.gaussian_data(n, *normal, seed + 1)
    else:
        samples = load_splits(dataset, data_dir)["val"][0][:n]
    return {**evaluate_samples(dataset, samples, data_dir, classifier_dir, seed, log, normal=normal), "real": True}


def summary_line(metrics):
    """The headline numbers in one line, e.g. "FID 3.41, IS 9.12, modes 10, precision 0.81, recall 0.62"."""
    if metrics["dataset"] == "uniform":
        return (f"inside {metrics['inside']:.3f}, 10x10 coverage {metrics['grid_coverage']:.2f}, "
                f"energy distance {metrics['energy_distance']:.4f}")
    if metrics["dataset"] == "gaussian":
        return (f"mean {metrics['mean']:.3f}, std {metrics['std']:.3f}, KS {metrics['ks']:.4f}, "
                f"Wasserstein {metrics['wasserstein']:.4f}")
    line = (f"FID {metrics['fid']:.2f}, IS {metrics['inception_score']:.2f}, modes {metrics['modes']}, "
            f"precision {metrics['precision']:.3f}, recall {metrics['recall']:.3f}")
    if "label_accuracy" in metrics:
        line += f", label accuracy {metrics['label_accuracy']:.3f}"
    return line


def _samples_from_checkpoint(model_dir, dataset, n, seed, place):
    """`n` samples of the checkpoint's generator, their classes (None unless it is conditional) and its config."""
    from .generate import load_generator, sample  # Paddle's static programs: only this path needs them
    check_dataset(checkpoint.saved_config(model_dir), dataset, f"{model_dir} is a checkpoint")
    exe, programs, scope, config = load_generator(model_dir, place)
    labels = readers.balanced_labels(config, n)
    return sample(exe, programs, scope, readers.noise(config, n, seed), config["batch_size"], labels), labels, config


def _load(path, what):
    try:
        return np.load(path, allow_pickle=False)  # an array of Python objects would unpickle them: refused
    except (OSError, ValueError, EOFError) as e:  # EOFError: an empty or cut-off file
        raise EvaluateError(f"cannot read {path} as a numpy file ({e or type(e).__name__}); write {what} with "
                            "python -m paddle_gan.generate") from None


def _rounded(metrics):
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in metrics.items()}


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m paddle_gan.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--dataset", required=True, choices=SCORED_DATASETS,
                        help="which data set the samples mimic")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model_dir", help="sample from this checkpoint folder, e.g. mnist_params/pass-00009")
    source.add_argument("--samples", help="evaluate a numpy file written by paddle_gan.generate")
    source.add_argument("--real", action="store_true", help="evaluate held-out real data: the floor to compare to")
    source.add_argument("--train_classifier", action="store_true", help="(re)train and cache the classifier")
    parser.add_argument("--labels", help="with --samples from a conditional generator: the numpy file of their "
                        "classes (generate writes it as {out}_labels.npy), for the label accuracy")
    parser.add_argument("-n", type=int, default=10000, help="samples to draw with --model_dir or --real (10000)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed for --model_dir (default 0)")
    parser.add_argument("--data_dir", help="the data set's IDX files (default data/{dataset}_data)")
    parser.add_argument("--classifier_dir", default=CLASSIFIER_DIR, help=f"classifier cache (default {CLASSIFIER_DIR})")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"classifier epochs (default {EPOCHS})")
    for key in ("data_mean", "data_std"):
        parser.add_argument(f"--{key}", type=float, help=f"-d gaussian with --samples or --real: the real data's "
                            f"{key[5:]} (default {DEFAULTS[key]}; a checkpoint knows its own)")
    device.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.labels and not args.samples:
        parser.error("--labels goes with --samples (a checkpoint's own samples are drawn as every class in turn)")
    if args.n < IS_SPLITS:
        parser.error(f"-n {args.n}: must be at least {IS_SPLITS}")
    given = [f"--{key}" for key in ("data_mean", "data_std") if getattr(args, key) is not None]
    if given and (args.dataset != "gaussian" or args.model_dir):
        parser.error(f"{' and '.join(given)} go with -d gaussian and --samples or --real (a checkpoint knows its own)")
    data_dir = args.data_dir or readers.DEFAULT_DIRS.get(args.dataset)

    def log(message):
        print(message, file=sys.stderr, flush=True)  # stdout carries only the JSON line

    if args.epochs < 1:
        parser.error(f"--epochs {args.epochs}: must be at least 1")

    def job():
        check_seed(args.seed)
        # checked as a config's are: the same bounds whether they come from here or from -o in train
        normal = gaussian_target(updated(DEFAULTS, {"data_mean": args.data_mean, "data_std": args.data_std}))
        if args.train_classifier:
            if args.dataset not in IMAGE_DATASETS:
                raise EvaluateError(f"the {args.dataset} toy needs no classifier; use -d mnist or -d fashion_mnist")
            _, metrics = build_classifier(args.dataset, data_dir, args.classifier_dir, args.epochs, log=log)
        elif args.real:
            metrics = real_floor(args.dataset, args.n, data_dir, args.classifier_dir, args.seed, log, normal)
        else:
            if args.samples:
                samples = _load(args.samples, "it")
                labels = _load(args.labels, "it (with --label)") if args.labels else None
            else:
                samples, labels, config = _samples_from_checkpoint(args.model_dir, args.dataset, args.n, args.seed,
                                                                   device.place_from_args(args))
                normal = gaussian_target(config)
            metrics = evaluate_samples(args.dataset, samples, data_dir, args.classifier_dir, args.seed, log, labels,
                                       normal)
        print(json.dumps(_rounded(metrics)))
    return cli.run(job, smaller="ask for fewer samples (-n)")


if __name__ == "__main__":
    sys.exit(main())
