"""generate: samples from a saved generator, reproducible by seed, in the documented shapes."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config, write_mnist
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
    assert imread(tmp_path / "s.png").shape[:2] == (2 * 30 + 2, 8 * 30 + 2)
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
