"""Shared test helpers: tiny configs and small data sets written by the tests themselves, and a headless browser."""
import gzip
import os
import pickle
import shutil
import signal
import socket
import time

import paddle_gan  # noqa: F401,I001  first: it sets Paddle's environment (logs, MKL path) before Paddle loads

import numpy as np
import paddle
import pytest
from paddle_gan.config import DEFAULTS, check, conf_path, load_config
from paddle_gan.download import idx_bytes
from paddle_gan.programs import build_programs
from paddle_gan.readers import MNIST_FILES

# The tests that send Ctrl-C to a command need it listening. A test run started in the background by a
# non-interactive shell (`make test &` in a script, as a CI runner may) ignores SIGINT, and every command it starts
# inherits that and rightly keeps ignoring it (so does Python): listen again, as a terminal's test run does.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def static_mode():
    paddle.enable_static()
    yield


def tiny_config(dataset="uniform", **overrides):
    """The shipped config for `dataset`, shrunk to run in seconds."""
    config = load_config(conf_path(dataset))
    config.update(batch_size=8, num_passes=1, iters_per_pass=3, log_every=1, num_samples=256, seed=7)
    config.update(overrides)
    check(config)
    return config


def write_mnist(folder, n=40, gz=False, seed=0):
    """A small MNIST-like IDX pair: n random 28x28 images and labels. Returns the uint8 images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for name, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        data = idx_bytes(array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return images


def write_cifar(folder, per_batch=6, seed=0):
    """Five small CIFAR-10 pickles (data_batch_1..5) in the original layout. Returns all their rows."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(1, 6):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({"batch_label": f"batch {i}", "data": data, "labels": list(range(per_batch))}, f)
        rows.append(data)
    return np.concatenate(rows)


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
    for names, n in ((MNIST_FILES["train"], n_train), (MNIST_FILES["test"], n_test)):
        for name, array in zip(names, make(n)):
            (folder / name).write_bytes(idx_bytes(array))
    return folder


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """An easy labelled MNIST-like set (write_labelled), one per test module."""
    return write_labelled(tmp_path_factory.mktemp("labelled") / "mnist_data")


def setup(config, noise_in_graph=False):
    """Build `config`'s programs and run their startup on the CPU. Returns (programs, scope, exe)."""
    paddle.seed(config["seed"])  # as train() does: the initializers draw from Paddle's generator
    programs = build_programs(config, noise_in_graph)
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    return programs, scope, exe


def snapshot(scope, params):
    """The values of `params` in `scope`, by name."""
    return {p.name: np.array(scope.find_var(p.name).get_tensor()) for p in params}


def restore(scope, values):
    """Put `snapshot` values back into `scope`."""
    for name, value in values.items():
        scope.find_var(name).get_tensor().set(value, paddle.CPUPlace())


__all__ = ["DEFAULTS", "tiny_config", "write_mnist", "write_cifar", "write_labelled", "setup", "snapshot",
           "restore"]


def needs(reason):
    """Skip a test whose tool is missing (Chromium, its driver), with the reason; in CI, whose .ci/run installs
    them, fail it instead, so that a browser test never passes there by not running."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium under Selenium, asking for pages in French: a language VisualDL has no pages for, which is
    what broke its dashboard (HTTP 500) unless it is started with --language."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        needs("selenium is not installed (pip install -e .[test])")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        needs("Chromium and its driver are not installed (apt-get install chromium chromium-driver)")
    monkeypatch.setenv("SE_AVOID_STATS", "true")  # Selenium Manager would otherwise post usage statistics
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--window-size=1400,1000"):  # no sandbox: root, in CI
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr"})
    session = webdriver.Chrome(options=options, service=Service(driver))
    yield session
    session.quit()


def free_port():
    """A TCP port nothing listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=60):
    """Wait until a server started as `process` accepts connections on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with code {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing listened on port {port} after {timeout} s")


def mnist_checkpoint(tmp_path, conditional=False):
    """A tiny MNIST checkpoint (one pass of three iterations) trained under `tmp_path`; returns its folder."""
    from paddle_gan.train import train  # here, not at the top: conftest must import paddle_gan first
    if conditional:
        write_labelled(tmp_path / "data")
    else:
        write_mnist(tmp_path / "data", n=16)
    config = tiny_config("mnist", data_dir=str(tmp_path / "data"), conditional=conditional)
    train(config, tmp_path)
    return tmp_path / config["params_dir"] / "pass-00000"


def uninterrupted_run(cli, args, tmp_path_factory):
    """`cli(*args)` (a test module's way to start the trainer) from start to end in a fresh folder; returns its
    --output_dir, the reference a stopped and resumed run must equal."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    run = cli(*args, "--output_dir", "straight", cwd=folder)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    return folder / "straight"
