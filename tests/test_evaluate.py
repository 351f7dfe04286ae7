"""evaluate: the metrics on cases with known answers, the cached classifier, and the command line."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import tiny_config

from paddle_gan import evaluate
from paddle_gan.config import ConfigError
from paddle_gan.fetch import idx_bytes
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


def run_evaluate(*args, cwd):
    return subprocess.run([sys.executable, "-m", "paddle_gan.evaluate", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)


def one_hot(classes, num_classes=10):
    return np.eye(num_classes)[classes]


# --- FID -------------------------------------------------------------------------------------------------------

def test_identical_sets_have_zero_fid():
    features = np.random.default_rng(0).standard_normal((500, 16)) @ np.random.default_rng(1).random((16, 16))
    stats = evaluate.feature_stats(features)
    assert abs(evaluate.frechet_distance(*stats, *stats)) < 1e-8


def test_fid_of_commuting_gaussians_is_the_closed_form():
    # Both covariances diagonal in one random basis: tr sqrt(s1 s2) = sum sqrt(a_i b_i).
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    got = evaluate.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-9)


def test_fid_of_non_commuting_gaussians_matches_the_eigenvalues_of_the_product():
    # s1 s2 is not symmetric, but its eigenvalues are real and positive: tr sqrt(s1 s2) = sum sqrt(eig(s1 s2)).
    rng = np.random.default_rng(3)
    m1, m2 = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    s1, s2 = m1 @ m1.T + 0.1 * np.eye(5), m2 @ m2.T + 0.1 * np.eye(5)
    trace_root = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()
    expected = np.trace(s1) + np.trace(s2) - 2 * trace_root
    assert evaluate.frechet_distance(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(expected, rel=1e-9)


def test_shifted_gaussian_samples_give_the_squared_shift():
    rng = np.random.default_rng(4)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    x, y = rng.standard_normal((20000, 4)), rng.standard_normal((20000, 4)) + shift
    fid = evaluate.frechet_distance(*evaluate.feature_stats(x), *evaluate.feature_stats(y))
    assert fid == pytest.approx((shift ** 2).sum(), abs=0.05)  # 5.25, up to the sampling error of 20,000 points


# --- Inception Score and the class histogram -------------------------------------------------------------------

def test_one_class_scores_one_with_one_mode():
    probs = one_hot(np.full(1000, 3))
    assert evaluate.inception_score(probs)[0] == pytest.approx(1.0)
    counts = evaluate.class_histogram(probs)
    assert counts[3] == 1000 and evaluate.modes_covered(counts) == 1
    assert evaluate.kl_to_uniform(counts) == pytest.approx(np.log(10))


def test_confident_and_evenly_spread_classes_score_ten():
    probs = one_hot(np.arange(1000) % 10)
    score, spread = evaluate.inception_score(probs)
    assert score == pytest.approx(10.0) and spread == pytest.approx(0.0, abs=1e-9)
    counts = evaluate.class_histogram(probs)
    assert evaluate.modes_covered(counts) == 10 and evaluate.kl_to_uniform(counts) == pytest.approx(0.0, abs=1e-12)


def test_undecided_classifier_scores_one():
    assert evaluate.inception_score(np.full((100, 10), 0.1))[0] == pytest.approx(1.0)


def test_a_class_under_one_percent_is_not_a_mode():
    counts = np.array([99 * 10] * 9 + [9])  # the last class holds 9 of 8,919 samples, 0.1%
    assert evaluate.modes_covered(counts) == 9


# --- precision and recall ---------------------------------------------------------------------------------------

def disc(n, radius, seed):
    rng = np.random.default_rng(seed)
    angle, r = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.random(n))
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def test_precision_recall_of_nested_discs():
    big, small = disc(2000, 1.0, 5), disc(2000, 0.5, 6)
    # Fakes filling only the centre: all of them look real (precision 1), a quarter of the reals are reached.
    precision, recall = evaluate.precision_recall(big, small)
    assert precision > 0.97 and 0.2 < recall < 0.35
    # Fakes spread beyond the reals: three quarters of them fall outside, every real is reached.
    precision, recall = evaluate.precision_recall(small, big)
    assert 0.2 < precision < 0.35 and recall > 0.97


def test_identical_clouds_have_full_precision_and_recall():
    points = disc(500, 1.0, 7)
    assert evaluate.precision_recall(points, points) == (1.0, 1.0)


def test_knn_radius_is_the_kth_neighbour_not_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    np.testing.assert_allclose(evaluate.knn_radii(points, k=1), np.array([1, 1, 2, 3, 4]) ** 2)


# --- the uniform toy --------------------------------------------------------------------------------------------

def test_true_uniform_sample_scores_perfectly():
    metrics = evaluate.uniform_metrics(np.random.default_rng(8).random((5000, 2)), seed=0)
    assert metrics["inside"] == 1.0 and metrics["grid_coverage"] == 1.0
    assert abs(metrics["energy_distance"]) < 0.002


def test_collapsed_half_square_is_caught():
    points = np.random.default_rng(9).random((5000, 2)) * [0.5, 1.0]
    metrics = evaluate.uniform_metrics(points, seed=0)
    assert metrics["inside"] == 1.0 and metrics["grid_coverage"] == 0.5
    assert metrics["energy_distance"] > 0.05


def test_points_outside_the_square_are_counted():
    points = np.random.default_rng(10).random((1000, 2))
    points[:250] += 2.0
    assert evaluate.uniform_metrics(points)["inside"] == pytest.approx(0.75)


def test_energy_distance_is_unbiased_for_small_samples():
    rng = np.random.default_rng(11)
    distances = [evaluate.energy_distance(rng.random((50, 2)), rng.random((50, 2))) for _ in range(200)]
    assert abs(np.mean(distances)) < 0.003  # the biased (V-statistic) form would average 2*0.52/50 = 0.021


# --- the classifier and its cache ------------------------------------------------------------------------------

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
    for names, n in ((evaluate.TRAIN_FILES, n_train), (evaluate.TEST_FILES, n_test)):
        for name, array in zip(names, make(n)):
            (folder / name).write_bytes(idx_bytes(array))
    return folder


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return write_labelled(tmp_path_factory.mktemp("labelled") / "mnist_data")


def test_classifier_learns_a_tiny_set_and_its_cache_is_reused_and_verified(labelled, tmp_path):
    messages = []
    net, info = evaluate.load_classifier("mnist", labelled, tmp_path, log=messages.append)
    assert any("no cached classifier" in m for m in messages)
    assert info["val_accuracy"] == 1.0 and info["test_accuracy"] == 1.0
    weights, info_file = evaluate.classifier_paths("mnist", tmp_path)
    assert json.loads(info_file.read_text())["sha256"] == evaluate._sha256(weights)

    messages.clear()
    cached, cached_info = evaluate.load_classifier("mnist", labelled, tmp_path, log=messages.append)
    assert messages == [] and cached_info == info  # reused: nothing trained
    images = evaluate.load_splits(labelled)["test"][0]
    np.testing.assert_allclose(evaluate.classify(cached, images)[1], evaluate.classify(net, images)[1], atol=1e-6)

    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    weights.write_bytes(bytes(data))
    _, rebuilt = evaluate.load_classifier("mnist", labelled, tmp_path, log=messages.append)
    assert any("does not match the SHA-256" in m for m in messages)
    assert any("training the mnist classifier" in m for m in messages)
    assert rebuilt["sha256"] == evaluate._sha256(weights) and rebuilt["test_accuracy"] == 1.0


def test_evaluate_samples_judges_real_and_collapsed_images_and_keeps_static_mode(labelled, tmp_path):
    real = evaluate.load_splits(labelled)["val"][0]
    assert not paddle.in_dynamic_mode()
    good = evaluate.evaluate_samples("mnist", real, labelled, tmp_path)
    assert not paddle.in_dynamic_mode()  # the trainer's static programs still run after a per-pass evaluation
    one_class = evaluate.evaluate_samples("mnist", np.repeat(real[:1], 100, axis=0), labelled, tmp_path)
    blank = evaluate.evaluate_samples("mnist", np.full((100, 1, 28, 28), -1.0, np.float32), labelled, tmp_path)
    assert good["modes"] == 10 and good["inception_score"] > 5
    for collapsed in (one_class, blank):
        assert collapsed["modes"] == 1 and collapsed["inception_score"] == pytest.approx(1.0, abs=0.01)
        assert collapsed["recall"] < 0.2 and collapsed["fid"] > 5 * good["fid"]


def test_evaluate_samples_refuses_pixels_out_of_range(labelled, tmp_path):
    with pytest.raises(evaluate.EvaluateError, match="x/255"):
        evaluate.evaluate_samples("mnist", np.full((20, 1, 28, 28), 255.0), labelled, tmp_path)


# --- the command line -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint_dir(labelled, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evalrun")
    train(tiny_config("mnist", data_dir=str(labelled), iters_per_pass=2, schedule="alternate"), folder)
    return folder / "mnist_params" / "pass-00000"


def test_static_generator_runs_on_after_an_evaluation(checkpoint_dir, labelled, tmp_path):
    # What a trainer's per-pass evaluation does: sample with the static infer program, evaluate, sample again.
    from paddle_gan.generate import load_generator, sample
    exe, programs, scope, config = load_generator(checkpoint_dir)
    before = sample(exe, programs, scope, config, 20, seed=1)
    metrics = evaluate.evaluate_samples("mnist", before, labelled, tmp_path)
    assert sum(metrics["class_counts"]) == 20
    np.testing.assert_array_equal(sample(exe, programs, scope, config, 20, seed=1), before)


@pytest.mark.slow
def test_cli_prints_one_json_line_for_a_checkpoint(checkpoint_dir, labelled, tmp_path):
    result = run_evaluate("-d", "mnist", "--model_dir", str(checkpoint_dir), "-n", "30", "--data_dir",
                          str(labelled), "--classifier_dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    metrics = json.loads(lines[0])
    assert metrics["n"] == 30 and sum(metrics["class_counts"]) == 30 and np.isfinite(metrics["fid"])
    assert "training the mnist classifier" in result.stderr  # the first use built the cache, and said so

    np.save(tmp_path / "s.npy", np.full((12, 1, 28, 28), -1.0, np.float32))
    result = run_evaluate("-d", "mnist", "--samples", "s.npy", "--data_dir", str(labelled), "--classifier_dir",
                          str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["modes"] == 1


def test_cli_refuses_a_checkpoint_of_another_data_set(checkpoint_dir, tmp_path):
    result = run_evaluate("-d", "uniform", "--model_dir", str(checkpoint_dir), cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: {checkpoint_dir} is a mnist checkpoint, but -d uniform "
                                                  "was given"]


def test_cli_real_floor_of_the_uniform_toy(tmp_path):
    result = run_evaluate("-d", "uniform", "--real", "-n", "2000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["inside"] == 1.0 and metrics["grid_coverage"] == 1.0 and metrics["real"] is True


def test_cli_says_how_to_fix_a_missing_data_set(tmp_path):
    result = run_evaluate("-d", "mnist", "--real", "--data_dir", str(tmp_path / "nowhere"), "--classifier_dir",
                          str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "not found" in result.stderr


# --- train --eval_every_pass ------------------------------------------------------------------------------------

def read_rows(path):
    import csv
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_eval_every_pass_logs_the_scores_of_each_pass_checkpoint(labelled, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the classifier cache goes to ./data/classifiers, here a fresh one
    config = tiny_config("mnist", data_dir=str(labelled), iters_per_pass=2, num_passes=2, schedule="alternate")
    train(config, tmp_path, eval_samples=40)
    out = capsys.readouterr().out
    assert "training the mnist classifier" in out  # built before the first pass, and said so

    rows = read_rows(tmp_path / "mnist_samples" / "metrics.csv")
    assert [(r["pass"], r["iteration"]) for r in rows] == [("0", "2"), ("1", "4")]
    assert set(rows[0]) == {"pass", "iteration", *evaluate.IMAGE_SUMMARY}
    assert (tmp_path / "mnist_samples" / "metrics.png").stat().st_size > 0
    assert out.count("Pass 1: FID ") == 1

    # Each row scores the generator saved in that pass's checkpoint, on the evaluation's fixed noise.
    from paddle_gan.generate import load_generator, sample
    from paddle_gan.train import EVAL_NOISE_SEED_OFFSET
    for row in rows:
        exe, programs, scope, saved = load_generator(tmp_path / "mnist_params" / f"pass-0000{row['pass']}")
        samples = sample(exe, programs, scope, saved, 40, saved["seed"] + EVAL_NOISE_SEED_OFFSET)
        again = evaluate.evaluate_samples("mnist", samples, labelled)
        assert float(row["fid"]) == pytest.approx(again["fid"], rel=1e-6)
        assert int(row["modes"]) == again["modes"]
    assert rows[0]["fid"] != rows[1]["fid"]  # the generator moved between the passes


def test_eval_every_pass_on_resume_keeps_the_rows_of_finished_passes(tmp_path):
    config = tiny_config("uniform", num_passes=2)
    train(config, tmp_path, eval_samples=200)
    first = read_rows(tmp_path / "uniform_samples" / "metrics.csv")
    assert len(first) == 2 and set(first[0]) == {"pass", "iteration", "inside", "grid_coverage", "energy_distance"}

    again = tmp_path / "again"
    train(dict(config, num_passes=1), again, eval_samples=200)
    train(config, again, resume=again / "uniform_params" / "pass-00000", eval_samples=200)
    assert read_rows(again / "uniform_samples" / "metrics.csv") == first  # no row lost, none doubled


def test_eval_every_pass_refuses_a_data_set_without_metrics(tmp_path):
    from conftest import write_cifar
    write_cifar(tmp_path / "cifar")
    with pytest.raises(ConfigError, match="no metrics for cifar"):
        train(tiny_config("cifar", data_dir=str(tmp_path / "cifar")), tmp_path, eval_samples=100)
    assert not (tmp_path / "cifar_params").exists() or not any((tmp_path / "cifar_params").iterdir())
