"""--visualdl: the records VisualDL would show can be read back; without VisualDL, one line says what to install."""
import csv
import sys

import pytest
from conftest import tiny_config

from paddle_gan import train as train_module
from paddle_gan.config import ConfigError
from paddle_gan.outputs import learning_rates
from paddle_gan.train import train


def read_records(logdir):
    from visualdl import LogReader
    files = sorted(logdir.glob("vdlrecords.*.log"))
    assert len(files) == 1, files
    reader = LogReader(file_path=str(files[0]))
    return reader, reader.get_tags()


def test_losses_d_outputs_learning_rates_and_pictures_are_logged(tmp_path):
    pytest.importorskip("visualdl", reason="VisualDL is not installed (pip install -e .[vis])")
    config = tiny_config("uniform", iters_per_pass=4, num_passes=2, log_every=2, lr=3e-4)
    train(config, tmp_path / "out", visualdl=tmp_path / "vdl")
    reader, tags = read_records(tmp_path / "vdl")

    expected = {f"loss/{k}" for k in ("d_pos_loss", "d_neg_loss", "d_loss", "g_loss")}
    assert expected | {"D/D(x)", "D/D(G(z))", "lr/G", "lr/D"} <= set(tags["scalar"])
    assert tags["image"] == ["samples"]
    d_loss = {r.id: r.value for r in reader.get_data("scalar", "loss/d_loss")}
    assert sorted(d_loss) == [0, 2, 4, 6]  # every log_every iterations, stepped by iteration
    logged = {int(r["iteration"]): float(r["d_loss"]) for r in csv_rows(tmp_path / "out" / "uniform_samples")}
    for step, value in d_loss.items():
        assert value == pytest.approx(logged[step], abs=1e-5)
    for tag in ("D/D(x)", "D/D(G(z))"):
        assert all(0 < r.value < 1 for r in reader.get_data("scalar", tag))
    for net in "GD":
        assert [(r.id, r.value) for r in reader.get_data("scalar", f"lr/{net}")] == [(0, pytest.approx(3e-4)),
                                                                                     (1, pytest.approx(3e-4))]
    assert [r.id for r in reader.get_data("image", "samples")] == [0, 1]


def csv_rows(samples_dir):
    with open(samples_dir / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # losses.csv numbers iterations within a pass; the dashboard counts them across the run
    for i, row in enumerate(rows):
        row["iteration"] = i
    return rows


def test_learning_rates_are_read_from_the_optimizers(tmp_path):
    config = tiny_config("uniform", lr=2.5e-3)
    _, programs, scope = train(config, tmp_path)
    assert learning_rates(programs, scope) == {"G": pytest.approx(2.5e-3), "D": pytest.approx(2.5e-3)}


def test_without_visualdl_one_line_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "visualdl", None)  # what `import visualdl` meets when it is not installed
    with pytest.raises(ConfigError, match=r"pip install visualdl, or pip install -e \.\[vis\]"):
        train(tiny_config("uniform"), tmp_path, visualdl=tmp_path / "vdl")
    assert not (tmp_path / "uniform_params").exists()  # refused before any work
    assert train_module.main(["-d", "uniform", "--num_passes", "1", "--iters_per_pass", "2",
                              "--output_dir", str(tmp_path), "--visualdl", str(tmp_path / "vdl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --visualdl needs VisualDL")
