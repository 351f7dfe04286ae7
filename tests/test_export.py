"""Export: Paddle Inference runs the exported generator and draws what `generate` draws."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import mnist_checkpoint, tiny_config, write_labelled, write_mnist

from paddle_gan import checkpoint, export, readers
from paddle_gan.errors import UserError
from paddle_gan.generate import load_generator, sample
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


def run_predictor(out_dir, z):
    return predict(out_dir, {"z": z})


def predict(out_dir, feed):
    """What Paddle Inference draws from the exported generator in `out_dir` for the inputs `feed`."""
    predictor = export.predictor(out_dir)
    assert predictor.get_input_names() == list(feed)
    for name, value in feed.items():
        handle = predictor.get_input_handle(name)
        handle.reshape(value.shape)
        handle.copy_from_cpu(value)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


@pytest.mark.parametrize("dataset", ["mnist", "uniform"])
def test_exported_generator_matches_generate(tmp_path, dataset):
    if dataset == "mnist":
        write_mnist(tmp_path / "data", n=16)
    config = tiny_config(dataset, data_dir=str(tmp_path / "data"), num_passes=1)
    train(config, tmp_path)
    model_dir = tmp_path / config["params_dir"] / "pass-00000"
    result = subprocess.run([sys.executable, "-m", "paddle_gan.export", "--model_dir", str(model_dir),
                             "--out", str(tmp_path / "exported")], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr

    z = readers.noise(config, config["batch_size"], seed=3)
    expected = sample(*load_generator(model_dir)[:3], z)
    np.testing.assert_allclose(run_predictor(tmp_path / "exported", z), expected, rtol=1e-5, atol=1e-6)
    assert run_predictor(tmp_path / "exported", np.concatenate([z, z, z[:3]])).shape[0] == 19  # any batch size
    meta = json.loads((tmp_path / "exported" / "meta.json").read_text())
    assert meta["input"]["shape"] == [-1, config["noise_dim"]] and meta["config"]["dataset"] == dataset


def test_exported_conditional_generator_takes_the_label_and_matches_generate(tmp_path):
    config = tiny_config("mnist", data_dir=str(write_labelled(tmp_path / "data")), conditional=True)
    train(config, tmp_path)
    model_dir = tmp_path / config["params_dir"] / "pass-00000"
    export.export(model_dir, tmp_path / "exported")
    meta = json.loads((tmp_path / "exported" / "meta.json").read_text())
    assert meta["label"] == {"name": "label", "shape": [-1], "dtype": "int64", "classes": 10}

    z, labels = readers.noise(config, 10, seed=3), np.arange(10)
    predictor = export.predictor(tmp_path / "exported")
    assert predictor.get_input_names() == ["z", "label"]
    for name, value in (("z", z), ("label", labels)):
        handle = predictor.get_input_handle(name)
        handle.reshape(value.shape)
        handle.copy_from_cpu(value)
    predictor.run()
    drawn = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    expected = sample(*load_generator(model_dir)[:3], z, labels=labels)
    np.testing.assert_allclose(drawn, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected, sample(*load_generator(model_dir)[:3], z, labels=labels[::-1]), atol=1e-4)


def onnxruntime_or_skip():
    """onnxruntime, when paddle2onnx can convert under this Paddle; else the test is skipped, saying why (e.g.
    paddle2onnx 2.x beside Paddle 2.6: `make install` picks 1.3.1 there)."""
    try:
        export.import_paddle2onnx()
    except UserError as e:
        pytest.skip(str(e))
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e .[test])")


@pytest.mark.parametrize("conditional", [False, True])
def test_onnx_export_draws_what_the_paddle_inference_export_draws(tmp_path, conditional):
    onnxruntime = onnxruntime_or_skip()
    model_dir = mnist_checkpoint(tmp_path, conditional)
    out = tmp_path / "exported"
    result = subprocess.run([sys.executable, "-m", "paddle_gan.export", "--model_dir", str(model_dir), "--out",
                             str(out), "--format", "onnx"], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert f"and {out / 'generator.onnx'}" in result.stdout

    config = checkpoint.saved_config(model_dir)
    feed = {"z": readers.noise(config, 19, seed=3)}  # not the batch size: any number of rows
    if conditional:
        feed["label"] = np.arange(19, dtype=np.int64) % 10
    session = onnxruntime.InferenceSession(str(out / "generator.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(feed)
    drawn = session.run(None, feed)[0]
    assert drawn.shape == (19, 1, 28, 28) and np.abs(drawn).max() <= 1
    np.testing.assert_allclose(drawn, predict(out, feed), rtol=0, atol=1e-4)
    if conditional:  # the label reaches the picture
        assert not np.allclose(drawn, session.run(None, dict(feed, label=feed["label"][::-1]))[0], atol=1e-4)


def test_onnx_export_without_paddle2onnx_says_what_to_install(tmp_path, monkeypatch, capsys):
    config = tiny_config("uniform")
    train(config, tmp_path)
    monkeypatch.setitem(sys.modules, "paddle2onnx", None)  # what `import paddle2onnx` meets when it is not installed
    capsys.readouterr()
    assert export.main(["--model_dir", str(tmp_path / "uniform_params" / "pass-00000"), "--out",
                        str(tmp_path / "exported"), "--format", "onnx"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: --format onnx needs paddle2onnx"), err
    assert err[0].endswith("pip install paddle2onnx, or pip install -e .[onnx]")
    assert not (tmp_path / "exported").exists()  # refused before any work


def test_a_paddle2onnx_that_refuses_this_paddle_is_one_line_too(tmp_path, monkeypatch):
    """paddle2onnx 2.x raises ValueError as it loads beside Paddle 2.6: the error names the version to install."""
    (tmp_path / "paddle2onnx").mkdir()
    (tmp_path / "paddle2onnx" / "__init__.py").write_text('raise ValueError("The paddlepaddle version should not be '
                                                          'less than 3.0.0.dev20250426")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "paddle2onnx", raising=False)
    monkeypatch.setattr(export, "version", lambda name: "2.1.0")
    with pytest.raises(UserError, match=r"^paddle2onnx 2\.1\.0 needs Paddle 3, and this is Paddle .*: "
                                        r"pip install 'paddle2onnx<2'"):
        export.import_paddle2onnx()


def test_export_of_a_folder_that_is_no_checkpoint_fails_clearly(tmp_path):
    result = subprocess.run([sys.executable, "-m", "paddle_gan.export", "--model_dir", str(tmp_path),
                             "--out", str(tmp_path / "x")], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "is not a paddle_gan checkpoint folder (no meta.json)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_outputs_of_export_and_train_model_dir_end_in_one_line(tmp_path, capsys):
    """A path under a regular file cannot be written (as a read-only folder cannot: root ignores permissions)."""
    from paddle_gan import train as train_module
    config = tiny_config("uniform")
    train(config, tmp_path)
    model_dir = str(tmp_path / "uniform_params" / "pass-00000")
    (tmp_path / "a_file").write_text("")
    capsys.readouterr()
    assert export.main(["--model_dir", model_dir, "--out", str(tmp_path / "a_file" / "out")]) == 2
    assert train_module.main(["-d", "uniform", "--model_dir", model_dir, "--output_dir",
                              str(tmp_path / "a_file" / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("error: cannot write") for line in err), err
