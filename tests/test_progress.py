"""Progress: a bar on a terminal, log lines in a file or pipe, the notebook bar in Jupyter."""
import fcntl
import io
import os
import pty
import struct
import sys
import termios
import types

from conftest import tiny_config

from paddle_gan.progress import PassProgress, output_mode
from paddle_gan.train import train

LOSS = {"d_pos_loss": 0.5, "d_neg_loss": 0.75, "d_loss": 0.625, "g_loss": float("nan")}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_mode_follows_the_stream(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert output_mode(Terminal()) == "terminal"
    assert output_mode(io.StringIO()) == "lines"


def test_a_terminal_nobody_sized_gets_lines(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    leader, follower = pty.openpty()  # a fresh pseudo-terminal reports 0 columns, as under `script` or in some CI
    try:
        with open(follower, "w", closefd=False) as stream:
            assert stream.isatty() and output_mode(stream) == "lines"
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
            assert output_mode(stream) == "terminal"
    finally:
        os.close(leader)
        os.close(follower)


def test_a_jupyter_kernel_gets_the_notebook_bar(monkeypatch):
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert output_mode(io.StringIO()) == "notebook"
    shell.config = {}  # IPython in a terminal: not a notebook, so the stream decides
    assert output_mode(io.StringIO()) == "lines"


def test_lines_every_log_every_and_no_bar():
    out = io.StringIO()
    with PassProgress(2, total=10, log_every=5, stream=out) as bar:
        for batch_id in range(10):
            bar.update(batch_id, LOSS, "D")
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Pass 2, Batch 0", "Pass 2, Batch 5"]
    assert "d_neg_loss 0.7500, d_loss 0.6250, g_loss -, trained D" in lines[0] and "s/iter" in lines[0]
    assert "\r" not in out.getvalue()


def test_a_line_shows_each_loss_as_last_computed():
    """kstep trains one network per iteration: a line after a G step still shows D's last losses, and no "nan"."""
    out = io.StringIO()
    g_only = dict.fromkeys(LOSS, float("nan")) | {"g_loss": 3.25}
    with PassProgress(0, total=4, log_every=1, stream=out) as bar:
        bar.update(0, g_only, "G")
        bar.update(1, LOSS, "D")
        bar.update(2, g_only, "G")
    first, _, last = out.getvalue().splitlines()
    assert "d_loss -, g_loss 3.2500, trained G" in first
    assert "d_pos_loss 0.5000, d_neg_loss 0.7500, d_loss 0.6250, g_loss 3.2500, trained G" in last
    assert "nan" not in out.getvalue()


def test_bar_on_a_terminal_shows_count_rate_eta_and_losses():
    out = Terminal()
    with PassProgress(3, total=10, start=4, log_every=1, stream=out) as bar:
        for batch_id in range(4, 10):
            bar.update(batch_id, LOSS, "DG")
        bar.write("a message above the bar")
    text = out.getvalue()
    final = text.split("\r")[-1]
    assert final.startswith("Pass 3: 100%") and "10/10" in final
    assert "it/s" in final or "s/it" in final
    assert "<00:00" in final  # the time left
    assert "d_loss=0.6250" in final and "trained=DG" in final
    assert "a message above the bar" in text and "Pass 3, Batch" not in text


def test_train_draws_a_bar_on_a_terminal_and_lines_elsewhere(tmp_path, monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    config = tiny_config("uniform", iters_per_pass=4, num_passes=2, log_every=2, schedule="alternate")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    train(config, tmp_path / "tty")
    assert "Pass 1: 100%" in terminal.getvalue() and "Pass 0, Batch" not in terminal.getvalue()
    monkeypatch.undo()

    train(config, tmp_path / "pipe")
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines() if ", Batch" in line] == \
        ["Pass 0, Batch 0", "Pass 0, Batch 2", "Pass 1, Batch 0", "Pass 1, Batch 2"]
    assert "%|" not in out

