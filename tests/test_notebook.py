"""The course notebook runs top to bottom on a tiny synthetic MNIST, and its visible loop is train()'s loop."""
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import write_mnist

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "gan_mnist.ipynb"


@pytest.mark.slow
def test_notebook_runs_and_trains_what_train_trains(tmp_path):
    data = tmp_path / "mnist_data"
    write_mnist(data, n=40)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    # As papermill would: the test's values after the notebook's own.
    parameters.source += (f"\nDATA_DIR = {str(data)!r}\nNUM_PASSES = 2\nITERS_PER_PASS = 3\nBATCH_SIZE = 8\n"
                          f"SEED = 7\nOUTPUT_DIR = {str(tmp_path / 'nb')!r}\nTOY_PASSES = 2\nTOY_ITERS_PER_PASS = 3\n")
    # The kernel imports this checkout's paddle_gan, whatever else is installed. Any cell error raises here.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute(env=env)

    pictures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    # real data, one grid per pass, the loss curve, the generated grid, the conditional run's class-per-row grid,
    # the Gaussian toy's first and last pass
    assert len(pictures) == 1 + 2 + 1 + 1 + 1 + 2
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"paddle {paddle.__version__} | paddle_gan" in text  # the kernel ran this environment's Paddle
    assert "D(x) = " in text and "生成的图片: (64, 1, 28, 28)" in text
    assert "条件 GAN 的网格: (100, 1, 28, 28)" in text
    assert (tmp_path / "nb" / "mnist_cgan_params" / "pass-00001").is_dir()  # the conditional run's checkpoint
    assert "G 的样本 vs N(4, 0.5): mean " in text and (tmp_path / "nb" / "gaussian_params" / "pass-00001").is_dir()

    # The same config through train(): the notebook's checkpoint must hold the same weights, bit for bit on CPU. In
    # a fresh process, as the notebook's kernel is.
    subprocess.run([sys.executable, "-c", "from conftest import tiny_config; from paddle_gan.train "
                    f"import train; train(tiny_config('mnist', data_dir={str(data)!r}, num_passes=2, "
                    f"iters_per_pass=3, batch_size=8, seed=7, log_every=100), {str(tmp_path / 'cli')!r})"],
                   env={**env, "PYTHONPATH": os.pathsep.join((str(ROOT / "tests"), env["PYTHONPATH"]))},
                   check=True, timeout=300, capture_output=True)
    name = "mnist_params/pass-00001/model.pdparams"
    ours, theirs = (pickle.loads((tmp_path / run / name).read_bytes()) for run in ("nb", "cli"))
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
