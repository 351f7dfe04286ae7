"""A file is data, never code: every pickle paddle_gan opens (checkpoints, CIFAR-10's batches, the offline MNIST
package, the classifier cache) is refused, with nothing run, when it asks for anything but numbers."""
import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config, write_cifar, write_mnist

from paddle_gan import checkpoint, classifier, download, readers, safe_pickle
from paddle_gan.generate import load_generator
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


class Call:
    """Pickles as a call of `function(*args)`: what a planted file asks the loader to do."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def payloads(marker, real=None):
    """Planted pickles of several kinds, each of which creates `marker` if anything in it runs; `real`: the
    dict the silent variant returns after its command, so that nothing looks wrong."""
    command = f"touch {marker}"
    return {
        "os.system": Call(os.system, command),
        "subprocess": Call(subprocess.call, ["touch", str(marker)]),
        "eval": Call(eval, f"__import__('os').system({command!r})"),
        "exec": Call(exec, f"import os; os.system({command!r})"),
        "object array": {"G.x": np.array([Call(os.system, command), 1], dtype=object)},
        "nested": {"G.x": [(1, {"a": Call(os.system, command)})]},
        "silent": Call(eval, f"__import__('os').system({command!r}) and 0 or {real!r}"),
        "object array alone": np.array([1, "a"], dtype=object),
    }


def plant(path, value, protocol=4):
    path.write_bytes(pickle.dumps(value, protocol=protocol))


def test_numbers_load_as_pickle_would_give_them():
    value = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "n": np.int64(7), "f": np.float64(0.5),
             "list": [1, 2.5, "a", b"b", None, True, (3, 4)], "empty": np.zeros((0, 2), np.uint8),
             "fortran": np.asfortranarray(np.ones((2, 3), np.float16))}
    for protocol in (2, 4, 5):
        loaded = safe_pickle.loads(pickle.dumps(value, protocol=protocol), "test")
        assert loaded.keys() == value.keys()
        for key in value:
            if isinstance(value[key], np.ndarray):
                assert loaded[key].dtype == value[key].dtype and np.array_equal(loaded[key], value[key])
            else:
                assert loaded[key] == value[key]


@pytest.mark.parametrize("kind", list(payloads("m")))
def test_a_planted_pickle_is_refused_before_anything_runs(kind, tmp_path):
    marker = tmp_path / "MARKER"
    plant(tmp_path / "f.pkl", payloads(marker, {"G.x": np.ones(2)})[kind])
    with pytest.raises(safe_pickle.UnsafePickleError) as refused:
        safe_pickle.load(tmp_path / "f.pkl")
    assert not marker.exists()
    message = str(refused.value)
    assert "\n" not in message and str(tmp_path / "f.pkl") in message
    if kind in ("os.system", "silent"):
        assert "posix.system" in message or "builtins.eval" in message


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safe")
    write_mnist(folder / "mnist_data", n=24)
    config = tiny_config("mnist", data_dir=str(folder / "mnist_data"), iters_per_pass=2, schedule="alternate")
    train(config, folder)
    return folder, folder / "mnist_params" / "pass-00000"


def test_our_checkpoints_still_load_bit_exact_and_paddle_load_reads_them(mnist_run):
    _, folder = mnist_run
    with open(folder / checkpoint.PARAMS_FILE, "rb") as f:
        expected = pickle.load(f)  # our own file, written by this test's run
    loaded = safe_pickle.load(folder / checkpoint.PARAMS_FILE)
    assert loaded.keys() == expected.keys()
    assert all(np.array_equal(loaded[k], expected[k]) and loaded[k].dtype == expected[k].dtype for k in expected)
    import paddle
    by_paddle = paddle.load(str(folder / checkpoint.PARAMS_FILE), return_numpy=True)
    assert all(np.array_equal(by_paddle[k], expected[k]) for k in expected)


@pytest.mark.parametrize("kind", ["os.system", "silent", "object array", "nested"])
def test_every_checkpoint_file_is_read_as_data(kind, mnist_run, tmp_path):
    _, source = mnist_run
    for name in (checkpoint.PARAMS_FILE, checkpoint.OPT_FILE):
        folder = tmp_path / name / "pass-00000"
        shutil.copytree(source, folder)
        real = safe_pickle.load(folder / name)
        plant(folder / name, payloads(tmp_path / "MARKER", real)[kind])
        with pytest.raises(safe_pickle.UnsafePickleError):
            if name == checkpoint.PARAMS_FILE:
                load_generator(folder)
            else:
                checkpoint.load_optimizer(folder, *_scope_for(folder))
        assert not (tmp_path / "MARKER").exists()


def _scope_for(folder):
    import paddle
    from paddle_gan.programs import build_programs
    programs = build_programs(checkpoint.saved_config(folder))
    scope = paddle.static.Scope()
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    return scope, paddle.CPUPlace(), programs


@pytest.mark.parametrize("kind", ["os.system", "exec", "object array alone"])
def test_cifar_batches_are_read_as_data(kind, tmp_path):
    rows = write_cifar(tmp_path / "cifar")
    data, _ = readers.cifar(tmp_path / "cifar")  # the real layout (Python 2 style dicts of bytes) still loads
    assert data.shape == (len(rows), 3, 32, 32)
    plant(tmp_path / "cifar" / "data_batch_3", payloads(tmp_path / "MARKER")[kind], protocol=2)
    with pytest.raises(safe_pickle.UnsafePickleError, match="data_batch_3"):
        readers.cifar(tmp_path / "cifar")
    assert not (tmp_path / "MARKER").exists()


def test_the_offline_mnist_pickle_is_read_as_data(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 784)).astype(np.float32) / 256
    labels = np.arange(6, dtype=np.int64)
    good = gzip.compress(pickle.dumps(((images, labels), (images[:2], labels[:2]), (images[:3], labels[:3])), 2))
    files = download.rebuild_from_pickle(__import__("io").BytesIO(good))
    assert files["train-images-idx3-ubyte"][16:] == np.rint(np.concatenate([images, images[:2]]) * 256).astype(
        np.uint8).tobytes()
    bad = gzip.compress(pickle.dumps(payloads(tmp_path / "MARKER")["subprocess"], 2))
    with pytest.raises(safe_pickle.UnsafePickleError):
        download.rebuild_from_pickle(__import__("io").BytesIO(bad))
    assert not (tmp_path / "MARKER").exists()


def test_the_classifier_cache_is_read_as_data(tmp_path):
    weights, info_file = classifier.classifier_paths("mnist", tmp_path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    plant(weights, payloads(tmp_path / "MARKER")["silent"])
    # a matching checksum beside it, as a replaced cache folder would have
    info_file.write_text(json.dumps({"sha256": classifier._sha256(weights)}))
    with pytest.raises(safe_pickle.UnsafePickleError):
        classifier._load_cached(weights, info_file)
    assert not (tmp_path / "MARKER").exists()


def run(module, *args, cwd):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_every_command_that_opens_a_checkpoint_refuses_a_planted_one(mnist_run, tmp_path):
    run_folder, source = mnist_run
    marker = tmp_path / "MARKER"
    folder = tmp_path / "mnist_params" / "pass-00000"
    shutil.copytree(source, folder)
    for name in (checkpoint.PARAMS_FILE, checkpoint.OPT_FILE):  # the silent variant: it would return the real dict
        plant(folder / name, payloads(marker, safe_pickle.load(source / name))["silent"])
    shutil.copytree(run_folder / "mnist_data", tmp_path / "mnist_data")
    commands = [
        ("paddle_gan.generate", "--model_dir", str(folder), "-n", "4", "-o", "s.npy"),
        ("paddle_gan.train", "-d", "mnist", "--model_dir", str(folder)),
        ("paddle_gan.train", "-d", "mnist", "--resume", str(folder), "--nproc", "1", "--no_download"),
        ("paddle_gan.export", "--model_dir", str(folder), "--out", "exported"),
        ("paddle_gan.evaluate", "-d", "mnist", "--model_dir", str(folder), "-n", "10"),
        ("paddle_gan.demo", "--model_dir", str(folder), "--port", "0"),
    ]
    for command in commands:
        result = run(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, (command, result.stderr)
        assert "builtins.eval" in result.stderr, (command, result.stderr)
        assert not marker.exists(), command
    # nothing written: no samples, no export, no run folders of the refused resume
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_data", "mnist_params"]
