"""evaluate: the scores of real and collapsed samples, the command line, and the trainer's --eval_every_pass."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import tiny_config

from paddle_gan import evaluate, readers
from paddle_gan.classifier import CLASSIFIER_DIR, load_classifier, load_splits
from paddle_gan.config import ConfigError
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


def run_evaluate(*args, cwd):
    return subprocess.run([sys.executable, "-m", "paddle_gan.evaluate", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)


@pytest.fixture(scope="module")
def classifier_dir(labelled, tmp_path_factory):
    """The classifier of `labelled`, trained once for this module (test_classifier.py tests the training and the
    cache; here it is only the evaluator's instrument)."""
    folder = tmp_path_factory.mktemp("classifier")
    load_classifier("mnist", labelled, folder)
    return folder


def test_evaluate_samples_judges_real_and_collapsed_images_and_keeps_static_mode(labelled, classifier_dir):
    real = load_splits("mnist", labelled)["val"][0]
    assert not paddle.in_dynamic_mode()
    good = evaluate.evaluate_samples("mnist", real, labelled, classifier_dir)
    assert not paddle.in_dynamic_mode()  # the trainer's static programs still run after a per-pass evaluation
    one_class = evaluate.evaluate_samples("mnist", np.repeat(real[:1], 100, axis=0), labelled, classifier_dir)
    blank = evaluate.evaluate_samples("mnist", np.full((100, 1, 28, 28), -1.0, np.float32), labelled, classifier_dir)
    assert good["modes"] == 10 and good["inception_score"] > 5
    for collapsed in (one_class, blank):
        assert collapsed["modes"] == 1 and collapsed["inception_score"] == pytest.approx(1.0, abs=0.01)
        assert collapsed["recall"] < 0.2 and collapsed["fid"] > 5 * good["fid"]


def test_label_accuracy_of_real_images_with_their_own_and_with_wrong_labels(labelled, classifier_dir):
    images, labels = load_splits("mnist", labelled)["val"]
    right = evaluate.evaluate_samples("mnist", images, labelled, classifier_dir, labels=labels)
    wrong = evaluate.evaluate_samples("mnist", images, labelled, classifier_dir, labels=(labels + 1) % 10)
    assert right["label_accuracy"] > 0.9 and wrong["label_accuracy"] < 0.1
    assert len(right["label_accuracy_per_class"]) == 10
    assert "label_accuracy" not in evaluate.evaluate_samples("mnist", images, labelled, classifier_dir)
    assert "label accuracy" in evaluate.summary_line(right)


def test_evaluate_samples_refuses_pixels_out_of_range_before_training_a_classifier(labelled, tmp_path):
    with pytest.raises(evaluate.EvaluateError, match="x/255"):
        evaluate.evaluate_samples("mnist", np.full((20, 1, 28, 28), 255.0), labelled, tmp_path)
    diverged = np.zeros((20, 1, 28, 28), np.float32)
    diverged[3, 0, 5, 5] = np.nan  # a diverged generator's: scored, it would give NaN, which JSON cannot hold
    with pytest.raises(evaluate.EvaluateError, match="NaN or inf: the generator that drew them has diverged"):
        evaluate.evaluate_samples("mnist", diverged, labelled, tmp_path)
    with pytest.raises(evaluate.EvaluateError, match="NaN or inf"):
        evaluate.evaluate_samples("uniform", np.full((20, 2), np.inf))
    assert list(tmp_path.iterdir()) == []  # no classifier trained (or cached) for samples it cannot score


# --- the command line -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint_dir(labelled, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evalrun")
    train(tiny_config("mnist", data_dir=str(labelled), iters_per_pass=2, schedule="alternate"), folder)
    return folder / "mnist_params" / "pass-00000"


def test_static_generator_runs_on_after_an_evaluation(checkpoint_dir, labelled, classifier_dir):
    # What a trainer's per-pass evaluation does: sample with the static infer program, evaluate, sample again.
    from paddle_gan.generate import load_generator, sample
    exe, programs, scope, config = load_generator(checkpoint_dir)
    before = sample(exe, programs, scope, readers.noise(config, 20, seed=1))
    metrics = evaluate.evaluate_samples("mnist", before, labelled, classifier_dir)
    assert sum(metrics["class_counts"]) == 20
    np.testing.assert_array_equal(sample(exe, programs, scope, readers.noise(config, 20, seed=1)), before)


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


@pytest.mark.slow
def test_cli_scores_the_classes_of_a_conditional_checkpoint_and_of_generated_files(labelled, classifier_dir, tmp_path):
    config = tiny_config("mnist", data_dir=str(labelled), iters_per_pass=2, schedule="alternate", conditional=True)
    train(config, tmp_path)
    model_dir = tmp_path / config["params_dir"] / "pass-00000"
    result = run_evaluate("-d", "mnist", "--model_dir", str(model_dir), "-n", "30", "--data_dir", str(labelled),
                          "--classifier_dir", str(classifier_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert 0 <= metrics["label_accuracy"] <= 1 and len(metrics["label_accuracy_per_class"]) == 10

    images, labels = load_splits("mnist", labelled)["val"]
    np.save(tmp_path / "s.npy", images[:40])
    np.save(tmp_path / "s_labels.npy", labels[:40])
    result = run_evaluate("-d", "mnist", "--samples", "s.npy", "--labels", "s_labels.npy", "--data_dir",
                          str(labelled), "--classifier_dir", str(classifier_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label_accuracy"] > 0.9


def test_cli_refuses_a_checkpoint_of_another_data_set(checkpoint_dir, tmp_path):
    result = run_evaluate("-d", "uniform", "--model_dir", str(checkpoint_dir), cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: {checkpoint_dir} is a checkpoint for dataset=mnist, but "
                                                  "-d uniform was given"]


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
    for row in rows:
        exe, programs, scope, saved = load_generator(tmp_path / "mnist_params" / f"pass-0000{row['pass']}")
        samples = sample(exe, programs, scope, readers.evaluation_noise(saved, 40), saved["batch_size"])
        again = evaluate.evaluate_samples("mnist", samples, labelled)
        assert float(row["fid"]) == pytest.approx(again["fid"], rel=1e-6)
        assert int(row["modes"]) == again["modes"]
    assert rows[0]["fid"] != rows[1]["fid"]  # the generator moved between the passes


def test_eval_every_pass_of_a_conditional_run_logs_the_label_accuracy(labelled, classifier_dir, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(classifier_dir, tmp_path / CLASSIFIER_DIR)  # the cache ./data/classifiers: trained already
    config = tiny_config("mnist", data_dir=str(labelled), iters_per_pass=2, schedule="alternate", conditional=True)
    train(config, tmp_path, eval_samples=40)
    [row] = read_rows(tmp_path / config["samples_dir"] / "metrics.csv")
    assert set(row) == {"pass", "iteration", *evaluate.IMAGE_SUMMARY, "label_accuracy"}
    assert 0 <= float(row["label_accuracy"]) <= 1


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
