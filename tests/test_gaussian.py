"""The textbook's 1-D Gaussian toy (-d gaussian, conf/gaussian.toml): its data, its metrics against the exact normal
distribution, the figure each pass draws (real density, G's histogram, D(x)), and that a short run learns."""
import json
import math
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from conftest import setup, tiny_config
from matplotlib.image import imread

from paddle_gan import d_view, demo, export, plots, readers
from paddle_gan.config import ConfigError, conf_path, gaussian_target, load_config
from paddle_gan.evaluate import evaluate_samples, real_floor
from paddle_gan.generate import sample
from paddle_gan.metrics import EvaluateError, gaussian_metrics
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


def run_module(module, *args, cwd):
    return subprocess.run([sys.executable, "-m", f"paddle_gan.{module}", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_the_config_and_its_checks():
    config = load_config(conf_path("gaussian"))
    assert (config["dataset"], config["network"], config["noise"]) == ("gaussian", "v0_mlp", "normal")
    assert (config["data_mean"], config["data_std"], config["nproc"]) == (4.0, 0.5, 1)
    for bad, match in (({"data_std": 0.0}, "data_std=0.0 must be positive"),
                       ({"data_std": float("nan")}, "data_std=nan"),
                       ({"data_mean": float("inf")}, "data_mean=inf: expected a finite number"),
                       ({"network": "v0_dcgan"}, "network=v0_dcgan does not fit dataset=gaussian"),
                       ({"conditional": True}, "the gaussian toy has none")):
        with pytest.raises(ConfigError, match=match):
            load_config(conf_path("gaussian"), bad)


def test_the_real_data_is_the_normal_distribution_asked_for():
    config = tiny_config("gaussian", num_samples=200_000, data_mean=-3.0, data_std=2.0)
    samples, labels = readers.real_data(config)
    assert samples.shape == (200_000, 1) and samples.dtype == np.float32 and labels is None
    assert abs(samples.mean() + 3.0) < 0.02 and abs(samples.std() - 2.0) < 0.02  # 5 standard errors
    assert gaussian_metrics(samples[:10_000], -3.0, 2.0)["ks"] < 1.63 / math.sqrt(10_000)  # KS's 1% critical value
    again, _ = readers.real_data(dict(config, seed=config["seed"] + 1))
    assert not np.array_equal(samples, again)  # the seed draws the data set


def test_the_metrics_against_the_exact_distribution():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5000, 1))
    right = gaussian_metrics(4.0 + 0.5 * z, 4.0, 0.5)
    shifted = gaussian_metrics(4.25 + 0.5 * z, 4.0, 0.5)  # half a standard deviation to the right
    narrow = gaussian_metrics(4.0 + 0.25 * z, 4.0, 0.5)
    assert abs(right["mean"] - 4.0) < 0.03 and abs(right["std"] - 0.5) < 0.02
    assert right["ks"] < 0.03 and right["wasserstein"] < 0.03
    # a shift by d moves every sample by d: the Wasserstein distance is d; KS is the largest CDF gap, at the middle
    assert shifted["wasserstein"] == pytest.approx(0.25, abs=0.03)
    assert shifted["ks"] == pytest.approx(NormalDist().cdf(0.25) - NormalDist().cdf(-0.25), abs=0.03)
    assert narrow["std"] == pytest.approx(0.25, abs=0.01) and narrow["ks"] > 5 * right["ks"]
    # KS by brute force: the empirical CDF against the exact one on both sides of every sample
    x = np.sort(4.25 + 0.5 * z[:200, 0])
    exact = [NormalDist(4.0, 0.5).cdf(v) for v in x]
    brute = max(max(abs((i + 1) / 200 - c), abs(i / 200 - c)) for i, c in enumerate(exact))
    assert gaussian_metrics(x[:, None], 4.0, 0.5)["ks"] == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize("bad", [np.zeros((10, 2)), np.zeros(10), np.array([[1.0], [np.nan], [2.0]])])
def test_samples_that_are_not_the_toys_are_refused_in_one_line(bad):
    with pytest.raises(EvaluateError, match="gaussian samples"):
        evaluate_samples("gaussian", bad)


def test_the_figure_draws_the_real_density_gs_histogram_and_d():
    normal = (4.0, 0.5)
    numbers = np.random.default_rng(1).normal(3.0, 0.3, (5000, 1))  # G still to the left, too narrow
    x = plots.density_axis(numbers, normal)
    assert x[0] <= 2.0 and x[-1] >= 6.0  # both the real data's mean ± 4 std and G's samples
    fig = plots.density_figure(numbers, "pass 3", normal, (x, 1 / (1 + np.exp(-(x - 3.5) * 4))))
    density, d_axis = fig.axes
    real = density.lines[0]
    peak = real.get_xdata()[np.argmax(real.get_ydata())]
    assert peak == pytest.approx(4.0, abs=0.02)
    assert max(real.get_ydata()) == pytest.approx(1 / (0.5 * math.sqrt(2 * math.pi)), rel=1e-3)
    bars = density.patches
    heights = np.array([bar.get_height() for bar in bars])
    centres = np.array([bar.get_x() + bar.get_width() / 2 for bar in bars])
    assert abs(centres[np.argmax(heights)] - 3.0) < 0.2  # the histogram is G's samples, not the real data
    assert np.sum(heights * [bar.get_width() for bar in bars]) == pytest.approx(1.0, abs=0.01)  # a density
    assert d_axis.get_ylim() == (0, 1) and d_axis.lines[0].get_label() == "D(x)"
    # rendered: the real curve's green, the histogram's blue and D's red are all there
    picture = plots.sample_picture(numbers, "pass 3", (x, 1 / (1 + np.exp(-(x - 3.5) * 4))), normal) / 255.0
    for rgb in ((0.17, 0.63, 0.17), (0.84, 0.15, 0.16)):  # tab:green, tab:red
        assert np.any(np.all(np.abs(picture - rgb) < 0.05, axis=2)), rgb
    blueish = (picture[:, :, 2] > picture[:, :, 0] + 0.2) & (picture[:, :, 2] > picture[:, :, 1] + 0.1)
    assert blueish.mean() > 0.01


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """conf/gaussian.toml for 12,000 iterations (about 30 s), its samples before and after. By then, on five seeds
    of six (benchmarks/RESULTS.md), G's mean is within a twentieth of a standard deviation of N(4, 0.5)'s and its
    width within 15%, far inside the bounds below; at 6,000 iterations one of them was still on its way. The
    sixth collapsed in its first pass and stayed there: the seed here, 1, was at 4.00 / 0.52 by the end and at
    3.98 / 0.48 at 6,000, and settles in its first 2,000 iterations, before another host's rounding could grow."""
    out = tmp_path_factory.mktemp("gaussian")
    config = tiny_config("gaussian", batch_size=128, iters_per_pass=6000, num_passes=2, log_every=1000,
                         num_samples=100_000, seed=1)
    programs, scope, exe = setup(config)  # the weights train() starts from
    z = readers.noise(config, 5000, seed=3)
    before = sample(exe, programs, scope, z)
    exe, programs, scope = train(config, out)
    return config, out, (before, sample(exe, programs, scope, z)), (exe, programs, scope)


def test_a_short_run_moves_g_to_the_real_distribution(short_run):
    config, _, (before, after), _ = short_run
    start, end = (gaussian_metrics(s, *gaussian_target(config)) for s in (before, after))
    assert end["wasserstein"] < 0.25 * start["wasserstein"]
    assert abs(end["mean"] - 4.0) < 0.5 * 0.5 and 0.5 * 0.5 < end["std"] < 2 * 0.5


def test_each_pass_draws_the_figure_with_ds_own_outputs(short_run):
    config, out, (_, after), (exe, programs, scope) = short_run
    x, probs = d_view.d_curve(exe, programs, scope, config, after)
    assert 0 <= probs.min() and probs.max() <= 1 and probs.std() > 0.01
    for i in (0, 200, 400):
        alone = exe.run(programs.losses, feed={"img": x[i:i + 1, None].astype(np.float32),
                                               "z": np.zeros((1, config["noise_dim"]), np.float32)},
                        fetch_list=programs.fetch["d_of_each"], scope=scope)[0]
        assert float(np.asarray(alone).ravel()[0]) == pytest.approx(probs[i], rel=1e-5, abs=1e-6)
    picture = imread(out / "gaussian_samples" / "train_pass1.png")[:, :, :3]
    assert np.any(np.all(np.abs(picture - (0.84, 0.15, 0.16)) < 0.05, axis=2))  # D's curve is drawn
    assert (out / "gaussian_samples" / "progress.gif").is_file()


def test_evaluate_generate_and_export_take_the_toy_and_the_demo_page_refuses_it(short_run, tmp_path, monkeypatch,
                                                                                capsys):
    config, out, _, _ = short_run
    model_dir = out / "gaussian_params" / "pass-00001"
    result = run_module("evaluate", "-d", "gaussian", "--model_dir", str(model_dir), "-n", "2000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["dataset"] == "gaussian" and metrics["n"] == 2000 and metrics["ks"] < 0.5
    real = run_module("evaluate", "-d", "gaussian", "--real", "-n", "2000", "--data_mean", "-1", "--data_std", "3",
                      cwd=tmp_path)
    assert real.returncode == 0 and abs(json.loads(real.stdout)["mean"] + 1) < 0.3
    assert real_floor("gaussian", 2000, normal=(-1.0, 3.0))["ks"] < 1.63 / math.sqrt(2000)
    mixed = run_module("evaluate", "-d", "mnist", "--real", "--data_mean", "1", cwd=tmp_path)
    assert mixed.returncode == 2 and "--data_mean go with -d gaussian" in mixed.stderr
    result = run_module("generate", "--model_dir", str(model_dir), "-n", "300", "-o", "s.npy", "--png", "s.png",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "s.npy").shape == (300, 1)
    picture = imread(tmp_path / "s.png")[:, :, :3]
    assert np.any(np.all(np.abs(picture - (0.17, 0.63, 0.17)) < 0.05, axis=2))  # the real density, in green
    export.export(model_dir, tmp_path / "exported")
    meta = json.loads((tmp_path / "exported" / "meta.json").read_text())
    assert meta["output"] == {"shape": [-1, 1], "range": "1-D numbers"}
    monkeypatch.setattr(demo, "RUNTIME", Path(__file__))  # the page's library is not what this test is about
    assert demo.main(["--model_dir", str(model_dir)]) == 2
    assert "the gaussian toy's generator, which draws points" in capsys.readouterr().err
