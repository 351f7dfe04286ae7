"""--visualdl: the records VisualDL would show can be read back; without VisualDL, one line says what to install."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, tiny_config, wait_for_port

from paddle_gan import train as train_module
from paddle_gan.config import ConfigError
from paddle_gan.visualdl_log import learning_rates
from paddle_gan.train import train


def read_records(logdir):
    from visualdl import LogReader
    files = sorted(logdir.glob("vdlrecords.*.log"))
    assert len(files) == 1, files
    reader = LogReader(file_path=str(files[0]))
    return reader, reader.get_tags()


def test_losses_d_outputs_learning_rates_and_pictures_are_logged(tmp_path):
    pytest.importorskip("visualdl", reason="VisualDL is not installed (pip install -e .[vis])")
    config = tiny_config("uniform", iters_per_pass=4, num_passes=2, log_every=2, lr=3e-4, d_lr=0.0)
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
    config = tiny_config("uniform", lr=2.5e-3, d_lr=4e-3)
    _, programs, scope = train(config, tmp_path)
    assert learning_rates(programs, scope) == {"G": pytest.approx(2.5e-3), "D": pytest.approx(4e-3)}


def test_without_visualdl_one_line_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "visualdl", None)  # what `import visualdl` meets when it is not installed
    with pytest.raises(ConfigError, match=r"pip install visualdl, or pip install -e \.\[vis\]"):
        train(tiny_config("uniform"), tmp_path, visualdl=tmp_path / "vdl")
    assert not (tmp_path / "uniform_params").exists()  # refused before any work
    assert train_module.main(["-d", "uniform", "--num_passes", "1", "--iters_per_pass", "2",
                              "--output_dir", str(tmp_path), "--visualdl", str(tmp_path / "vdl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --visualdl needs VisualDL")


# How many pixels of each chart on the page have the run's colour (blue): the curve, not the grey axes and text.
CURVE_PIXELS = """return Array.from(document.querySelectorAll("canvas")).map(canvas => {
    const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < rgba.length; i += 4) if (rgba[i + 2] > 150 && rgba[i] < 120 && rgba[i + 3] > 100) n++;
    return n;
});"""


@pytest.mark.slow
def test_the_dashboard_shows_the_loss_curves_in_a_browser(tmp_path, browser):
    """The README's command, `visualdl --logdir DIR --language en`, serves a scalars page on which Chromium draws
    the four loss curves, whatever language the browser asks for."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    pytest.importorskip("visualdl", reason="VisualDL is not installed (pip install -e .[vis])")
    train(tiny_config("uniform", iters_per_pass=6, num_passes=1, log_every=1), tmp_path / "out",
          visualdl=tmp_path / "vdl")
    port = free_port()
    visualdl = Path(sys.executable).with_name("visualdl")
    server = subprocess.Popen([str(visualdl), "--logdir", str(tmp_path / "vdl"), "--language", "en", "--host",
                               "127.0.0.1", "--port", str(port), "--disable-telemetry"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        browser.get(f"http://127.0.0.1:{port}/app/scalar")
        assert "500" not in browser.title  # what VisualDL 2.5.3 serves for French without --language
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: b.title == "Scalars - VisualDL")
        # the tag groups with their numbers of charts; a chart's title is drawn in its canvas, not in the page
        wait.until(lambda b: "D2loss4lr2" in b.execute_script("return document.body.textContent"))
        browser.find_element(By.XPATH, "//h3[normalize-space(text())='loss']").click()  # at first only D is open
        wait.until(lambda b: len(b.find_elements(By.TAG_NAME, "canvas")) == 6)  # 2 of D, 4 losses
        wait.until(lambda b: min(b.execute_script(CURVE_PIXELS)) > 100)  # each has a curve drawn in it
    finally:
        server.terminate()
        server.wait(timeout=30)
