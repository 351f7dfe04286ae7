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


def ctrl_c_at_start_up(run, times):
    """Ctrl-C `times` times, half a second apart, as a terminal sends it: to the whole process group, the parent's
    and, until they leave it, the processes it spawned (loading Paddle then). Returns the run's stderr."""
    wait_for(run, "training in 2 processes")
    for _ in range(times):
        time.sleep(0.5)
        os.killpg(run.pid, signal.SIGINT)
    try:
        return run.communicate(timeout=120)[1]
    finally:  # a run that did not stop would go on training in the background
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)


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
    run = start(tmp_path, session=True)
    err = ctrl_c_at_start_up(run, 1)
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
    assert one_line(err).startswith("error: cannot write uniform_samples/"), err


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


@pytest.mark.slow
def test_a_second_ctrl_c_while_the_processes_start_stops_them_at_once(tmp_path):
    run = start(tmp_path, session=True)
    err = ctrl_c_at_start_up(run, 2)
    assert run.returncode == 130
    line = one_line(err)
    # Usually the processes are still loading Paddle: they are stopped with nothing written. On a fast machine the
    # loop may have taken the first Ctrl-C already and the second stops it at once.
    assert line.startswith("stopped at once by Ctrl-C; "), line
    assert not training_processes_left(run.pid)  # start_new_session: the session's id is the parent's pid


def training_processes_left(session):
    """Processes of this test's run (its own session) still alive: they would keep training in the background."""
    time.sleep(1)  # killed processes may take a moment to go
    return [p.name for p in Path("/proc").glob("[0-9]*") if _session(p) == session and b"spawn_main" in _cmdline(p)]


def _cmdline(proc):
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def _session(proc):
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


class FakeProcess:
    def __init__(self, exitcode):
        self.exitcode = exitcode


@pytest.mark.parametrize("exitcodes, results, failure, pending, expected", [
    # rank 1 killed from outside; rank 0 then failed at its all-reduce and was reported first
    ((1, -9), [None, None], "Process 0 terminated with the following error: Traceback ...", [],
     ("lost", "training process 1 of 2 was killed (SIGKILL)", 137)),
    # spawn's message names the process that ended first; the other was stopped by join()'s SIGTERM
    ((-15, -9), [None, None], "Process 1 terminated with signal SIGKILL.", [],
     ("lost", "training process 1 of 2 was killed (SIGKILL)", 137)),
    # rank 0 refused something (its line is printed): the other failed because it left
    ((0, 1), [2, None], "Process 1 terminated with the following error: RuntimeError", [], ("code", 2)),
    # rank 0 finished the run; rank 1 crashed while ending: the run is complete
    ((0, -11), [0, None], "Process 1 terminated with signal SIGSEGV.", [], ("code", 0)),
    # a second Ctrl-C: stopped at once
    ((1, 1), [None, None], "Process 0 terminated with the following error: KeyboardInterrupt", [signal.SIGINT],
     ("stopped", signal.SIGINT)),
    # anything else is a bug: its traceback, exit 1
    ((1, -15), [None, None], "Process 0 terminated with the following error: Traceback ... ZeroDivisionError", [],
     ("code", 1)),
])
def test_how_a_failed_process_ends_the_run(exitcodes, results, failure, pending, expected, capsys):
    processes = [FakeProcess(code) for code in exitcodes]
    if expected[0] == "lost":
        with pytest.raises(parallel.ProcessLost) as lost:
            parallel._lost(processes, results, Exception(failure), pending)
        assert (str(lost.value), lost.value.exit_code) == expected[1:]
    elif expected[0] == "stopped":
        with pytest.raises(parallel.StoppedAtOnce) as stopped:
            parallel._lost(processes, results, Exception(failure), pending)
        assert stopped.value.signum == expected[1]
    else:
        assert parallel._lost(processes, results, Exception(failure), pending) == expected[1]
        err = capsys.readouterr().err
        assert ("ZeroDivisionError" in err) == (expected[1] == 1)  # only a bug's traceback is shown
