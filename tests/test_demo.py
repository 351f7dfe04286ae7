"""The demo page: `python -m paddle_gan.demo` serves it, and in headless Chromium it draws the generator's samples."""
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import mnist_checkpoint, needs, tiny_config

from paddle_gan import demo, export
from paddle_gan.errors import UserError
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent

# The canvas as the page drew it: its size, its darkest and brightest red value, and all of it as a PNG to compare.
CANVAS = """const canvas = document.getElementById("grid");
const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let low = 255, high = 0;
for (let i = 0; i < rgba.length; i += 4) { low = Math.min(low, rgba[i]); high = Math.max(high, rgba[i]); }
return [canvas.width, canvas.height, low, high, canvas.toDataURL()];"""


def page_tools_or_skip():
    try:
        export.import_paddle2onnx()
    except UserError as e:
        pytest.skip(str(e))
    if not demo.RUNTIME.is_file():
        needs(f"{demo.RUNTIME} is missing: run make demo-js")


@contextmanager
def served(model_dir, tmp_path):
    """`python -m paddle_gan.demo --model_dir model_dir --port 0` running; yields the address it prints."""
    stderr = open(tmp_path / "demo.stderr", "w")
    # Ctrl-C's default: a shell that starts a job in the background (a test run under nohup, say) ignores SIGINT
    process = subprocess.Popen([sys.executable, "-m", "paddle_gan.demo", "--model_dir", str(model_dir), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in process.stdout:
            if line.startswith("serving the demo at "):
                break
        else:
            pytest.fail(f"the demo exited with {process.wait()}: {(tmp_path / 'demo.stderr').read_text()}")
        yield line.split()[4]
        process.send_signal(signal.SIGINT)  # Ctrl-C: the server stops and says so
        assert process.wait(timeout=30) == 0 and process.stdout.read() == "stopped\n"
    finally:
        if process.poll() is None:
            process.kill()
        stderr.close()


def wait_for_drawing(browser, n):
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 60).until(
        lambda b: b.find_element("id", "grid").get_attribute("data-draws") == str(n)
        or b.find_element("id", "status").text.startswith("Could not draw"))
    assert not browser.find_element("id", "status").text.startswith("Could not draw"), \
        browser.find_element("id", "status").text
    return browser.execute_script(CANVAS)


@pytest.mark.slow
def test_the_page_draws_digits_and_new_noise_and_the_walk_redraw_them(tmp_path, browser):
    page_tools_or_skip()
    model_dir = mnist_checkpoint(tmp_path)
    with served(model_dir, tmp_path) as address:
        browser.get(address)
        width, height, low, high, first = wait_for_drawing(browser, 1)
        assert (width, height) == (8 * 28, 8 * 28) and low < high  # an 8x8 grid, not a constant colour
        assert browser.find_element("id", "status").text.startswith(f"mnist: the generator of {model_dir}")
        assert not browser.find_element("id", "class-picker").is_displayed()  # not a conditional generator

        browser.find_element("id", "new-noise").click()
        *_, low, high, renewed = wait_for_drawing(browser, 2)
        assert low < high and renewed != first
        walk = "const w = document.getElementById('walk'); w.value = arguments[0]; w.dispatchEvent(new Event('input'));"
        browser.execute_script(walk, 1)
        assert wait_for_drawing(browser, 3)[-1] != renewed
        browser.execute_script(walk, 0)  # back at the start of the walk: the same picture
        assert wait_for_drawing(browser, 4)[-1] == renewed


@pytest.mark.slow
def test_a_conditional_generator_gets_a_class_picker(tmp_path, browser):
    from selenium.webdriver.support.ui import Select
    page_tools_or_skip()
    with served(mnist_checkpoint(tmp_path, conditional=True), tmp_path) as address:
        browser.get(address)
        width, height, low, high, rows = wait_for_drawing(browser, 1)
        assert (width, height) == (10 * 28, 10 * 28) and low < high  # a row per class, as the training pictures
        assert browser.find_element("id", "class-picker").is_displayed()
        picker = Select(browser.find_element("id", "class"))
        assert [o.text for o in picker.options] == ["each row a class"] + [str(k) for k in range(10)]
        picker.select_by_value("3")
        width, height, *_, threes = wait_for_drawing(browser, 2)
        assert (width, height) == (8 * 28, 8 * 28)
        picker.select_by_value("7")
        assert wait_for_drawing(browser, 3)[-1] != threes  # the same noise, another class


def test_without_the_javascript_library_one_line_says_to_run_make_demo_js(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "RUNTIME", tmp_path / "onnxruntime-web" / "ort.wasm.min.js")
    assert demo.main(["--model_dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: the demo's JavaScript library is missing") \
        and "run make demo-js" in err[0]


def test_a_uniform_checkpoint_or_a_busy_port_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "RUNTIME", Path(__file__))  # the page's library is not what these tests are about
    train(tiny_config("uniform"), tmp_path)
    capsys.readouterr()
    assert demo.main(["--model_dir", str(tmp_path / "uniform_params" / "pass-00000")]) == 2
    assert "the uniform toy's generator, which draws points: the demo page draws images" in capsys.readouterr().err

    page_tools_or_skip()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert demo.main(["--model_dir", str(mnist_checkpoint(tmp_path / "mnist")),
                          "--port", str(busy.getsockname()[1])]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot serve on 127.0.0.1:") and "choose another --port" in err[0]
