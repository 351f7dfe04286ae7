"""Two processes (the default on a CPU) on the failure paths: whatever stops a spawned run, it ends in one line that
says what happened and how to go on, with the exit code a single process gives, and no worker's traceback. Real
processes, real signals."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paddle_gan import checkpoint, parallel, train

ROOT = Path(__file__).resolve().parent.parent
# Not under make: the lines would add "(or: make run ARGS=--resume)"
ENV = {**{k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS")}, "PYTHONPATH": str(ROOT)}
# The 2-D toy in two processes, a pass of 60 iterations, a progress line every 10.
RUN = ("-d", "uniform", "--nproc", "2", "--batch_size", "16", "--iters_per_pass", "60", "--num_passes", "50",
       "-o", "log_every=10")


def start(tmp_path, *args, session=False):
    return subprocess.Popen([sys.executable, "-m", "paddle_gan.train", *RUN, *args], cwd=tmp_path, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=session)


def wait_for(process, prefix):
    for line in process.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"the run ended before printing {prefix!r}: {process.stderr.read()}")


def training_processes(parent):
    """The processes `parent` spawned for the ranks (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the ranks' processes in /proc (Linux)")
def test_a_killed_training_process_ends_the_run_in_one_line_naming_the_checkpoint_and_the_command(tmp_path):
    run = start(tmp_path)
    wait_for(run, "Pass 1, Batch 10")  # pass 0's checkpoint is written
    ranks = training_processes(run)
    assert len(ranks) == 2
    os.kill(ranks[1], signal.SIGKILL)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 128 + signal.SIGKILL
    line = one_line(err)
    assert line.startswith("error: training process 1 of 2 was killed (SIGKILL), so the run stopped; nothing after "
                           "checkpoint uniform_params/pass-00000 was kept; continue from it with: "), line
    assert line.endswith(" -m paddle_gan.train -d uniform --resume"), line
    assert checkpoint.latest(tmp_path / "uniform_params").name == "pass-00000"


@pytest.mark.slow
def test_ctrl_c_while_the_processes_start_ends_in_one_line_and_a_checkpoint(tmp_path):
    # The terminal sends Ctrl-C to its whole foreground process group: the parent and, until they leave it, the
    # processes it spawned, which are loading Paddle then.
    run = start(tmp_path, session=True)
    wait_for(run, "training in 2 processes")
    time.sleep(0.5)
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130
    line = one_line(err)
    assert line.startswith("stopped in pass 0 after ") and line.endswith(" -m paddle_gan.train -d uniform --resume")
    assert checkpoint.latest(tmp_path / "uniform_params").name.startswith("pass-00000-batch-")


@pytest.mark.slow
def test_when_rank_0_cannot_write_the_other_process_ends_with_it_quietly(tmp_path):
    run = start(tmp_path)
    wait_for(run, "Pass 0, Batch 10")
    samples = tmp_path / "uniform_samples"
    for path in samples.iterdir():
        path.unlink()
    samples.rmdir()
    samples.write_text("not a folder")  # rank 0 fails at the pass's end; rank 1 is left waiting for it
    _, err = run.communicate(timeout=120)
    assert run.returncode == 2
    assert one_line(err).startswith("error: "), err


def test_a_refusal_comes_before_any_process_starts(tmp_path, monkeypatch, capsys):
    (tmp_path / "uniform_samples").mkdir()
    (tmp_path / "uniform_samples" / "losses.csv").write_text("an earlier run's")
    monkeypatch.setattr(parallel, "spawn", lambda *args: pytest.fail("processes started"))
    assert train.main([*RUN, "--output_dir", str(tmp_path)]) == 2
    assert "is left from an earlier run that wrote no checkpoint" in one_line(capsys.readouterr().err)
    assert train.main([*RUN, "--output_dir", str(tmp_path / "new"), "--nproc", "3"]) == 2
    assert one_line(capsys.readouterr().err) == (
        "error: batch_size 16 does not split over 3 processes; choose a batch that is a multiple of 3 (it is the "
        "global batch, shared out evenly), or another --nproc")


def test_more_processes_than_cores_is_said_in_one_line(tmp_path, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    monkeypatch.setattr(parallel, "spawn", lambda func, args, nproc: started.append(nproc) or 0)
    assert train.main([*RUN, "--output_dir", str(tmp_path)]) == 0
    assert started == [2]
    assert capsys.readouterr().err == ("warning: --nproc 2 is more than the 1 core(s) here: the processes wait for "
                                       "each other, so training is slower than with --nproc 1\n")
