"""generate: samples from a saved generator, reproducible by seed, in the documented shapes."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config, write_labelled, write_mnist
from matplotlib.image import imread

from paddle_gan.generate import load_generator, sample
from paddle_gan.readers import noise
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


def run_generate(*args, cwd):
    return subprocess.run([sys.executable, "-m", "paddle_gan.generate", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)


@pytest.fixture(scope="module")
def mnist_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen")
    write_mnist(folder / "mnist_data", n=24)
    config = tiny_config("mnist", data_dir=str(folder / "mnist_data"), iters_per_pass=2, schedule="alternate")
    exe, programs, scope = train(config, folder)
    return folder / "mnist_params" / "pass-00000", (exe, programs, scope)


def test_loaded_generator_matches_the_trained_one(mnist_checkpoint):
    path, (exe, programs, scope) = mnist_checkpoint
    z = np.random.default_rng(0).standard_normal((5, 100)).astype("float32")
    loaded = load_generator(path)
    np.testing.assert_array_equal(sample(*loaded[:3], z), sample(exe, programs, scope, z))


def test_same_seed_same_samples_any_batching(mnist_checkpoint):
    path, _ = mnist_checkpoint
    exe, programs, scope, config = load_generator(path)
    a = sample(exe, programs, scope, noise(config, 20, seed=3), config["batch_size"])
    b = sample(exe, programs, scope, noise(config, 20, seed=3), config["batch_size"])
    c = sample(exe, programs, scope, noise(config, 20, seed=4), config["batch_size"])
    assert a.shape == (20, 1, 28, 28) and -1 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Other chunks of the same noise: the same samples, since infer uses the moving statistics.
    np.testing.assert_allclose(sample(exe, programs, scope, noise(config, 20, seed=3), 7), a, atol=1e-6)


def test_cli_writes_npy_and_png(mnist_checkpoint, tmp_path):
    path, _ = mnist_checkpoint
    result = run_generate("--model_dir", str(path), "-n", "10", "-o", "s.npy", "--png", "s.png", "--seed", "2",
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (10, 1, 28, 28)
    assert imread(tmp_path / "s.png").shape[:2] == (3 * 30 + 2, 4 * 30 + 2)  # 10 images, as square as can be: 4x3
    exe, programs, scope, config = load_generator(path)
    expected = sample(exe, programs, scope, noise(config, 10, seed=2), config["batch_size"])
    np.testing.assert_array_equal(samples, expected)


def test_uniform_samples_are_points(tmp_path):
    train(tiny_config("uniform"), tmp_path)
    result = run_generate("--model_dir", "uniform_params/pass-00000", "-n", "300", "-o", "u.npy", "--png", "u.png",
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "u.npy").shape == (300, 2)
    assert (tmp_path / "u.png").is_file()


def test_cli_names_the_file_it_wrote_and_refuses_what_it_cannot_write(tmp_path):
    train(tiny_config("uniform"), tmp_path)
    model = ["--model_dir", "uniform_params/pass-00000", "-n", "5"]
    result = run_generate(*model, "-o", "samples", cwd=tmp_path)  # np.save adds .npy: say so
    assert result.returncode == 0 and "to samples.npy" in result.stdout, result.stderr
    assert np.load(tmp_path / "samples.npy").shape == (5, 2)
    for args in (["-o", "no/such/folder/s.npy"], ["--png", "no/such/folder/s.png"], ["--seed", "-1"]):
        result = run_generate(*model, *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, (args, result.stderr)


def test_cli_refuses_a_folder_that_is_not_a_checkpoint(tmp_path):
    result = run_generate("--model_dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0 and "not a paddle_gan checkpoint folder" in result.stderr


@pytest.fixture(scope="module")
def cgan_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cgan")
    config = tiny_config("mnist", data_dir=str(write_labelled(folder / "mnist_data")), iters_per_pass=2,
                         schedule="alternate", conditional=True)
    train(config, folder)
    return folder / config["params_dir"] / "pass-00000"


@pytest.mark.parametrize("asked, classes", [(["--label", "7"], [7] * 12),
                                            (["--label", "3", "--label", "7"], [3] * 6 + [7] * 6),
                                            (["--label", "3,7,9"], [3] * 4 + [7] * 4 + [9] * 4),
                                            ([], None)])
def test_generate_draws_the_classes_asked_for(cgan_checkpoint, tmp_path, asked, classes):
    result = run_generate("--model_dir", str(cgan_checkpoint), "-n", "12", "-o", "s", "--png", "s.png", *asked,
                          cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    samples, labels = np.load(tmp_path / "s.npy"), np.load(tmp_path / "s_labels.npy")
    assert samples.shape == (12, 1, 28, 28) and labels.shape == (12,)
    if classes is None:  # every class in turn, in equal blocks
        assert sorted(set(labels.tolist())) == list(range(10)) and (np.diff(labels) >= 0).all()
    else:
        assert labels.tolist() == classes
    exe, programs, scope, config = load_generator(cgan_checkpoint)
    expected = sample(exe, programs, scope, noise(config, 12, seed=0), config["batch_size"], labels)
    np.testing.assert_array_equal(samples, expected)  # each sample drawn as the class its label says


@pytest.mark.parametrize("asked, message", [(["--label", "10"], "--label 10: a class is a whole number from 0 to 9"),
                                            (["--label", "seven"], "expected class numbers such as 7 or 3,7")])
def test_generate_refuses_a_class_it_cannot_draw(cgan_checkpoint, tmp_path, asked, message):
    result = run_generate("--model_dir", str(cgan_checkpoint), *asked, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "samples.npy").exists()


def test_generate_label_needs_a_conditional_generator(mnist_checkpoint, tmp_path):
    result = run_generate("--model_dir", str(mnist_checkpoint[0]), "--label", "7", cwd=tmp_path)
    assert result.returncode == 2 and "trained without labels" in result.stderr and "Traceback" not in result.stderr


def test_model_dir_picture_of_a_cgan_has_a_row_per_class(cgan_checkpoint, tmp_path):
    result = subprocess.run([sys.executable, "-m", "paddle_gan.train", "-d", "mnist", "--model_dir",
                             str(cgan_checkpoint), "--output_dir", str(tmp_path)], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert imread(tmp_path / "generated_mnist_samples.png").shape[:2] == (10 * 30 + 2, 10 * 30 + 2)
