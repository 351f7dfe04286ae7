"""One run per output folder: a second run into the folders of a run still going stops at once with a one-line
error, writes nothing, and the folders are free again once the first run's process is gone (kill -9 included)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_config

from paddle_gan import run_folder
from paddle_gan.run_folder import OutputError

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TOY = ["-d", "uniform", "--iters_per_pass", "200", "-o", "log_every=100000"]


def train_command(*args):
    return [sys.executable, "-m", "paddle_gan.train", *TOY, *args]


def wait_for(path, process, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.2)


@pytest.mark.serial
@pytest.mark.slow
@pytest.mark.parametrize("second", [[], ["--resume"]], ids=["fresh", "resume"])
def test_a_second_run_into_a_running_runs_folder_is_refused_until_the_first_is_killed(tmp_path, second):
    first = subprocess.Popen(train_command("--num_passes", "1000", "--output_dir", "out"), cwd=tmp_path, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "out" / "uniform_params" / "pass-00000", first)
        losses = tmp_path / "out" / "uniform_samples" / "losses.csv"
        inode, rows = losses.stat().st_ino, len(losses.read_text().splitlines())

        refused = subprocess.run(train_command("--num_passes", "2", "--output_dir", "out", *second), cwd=tmp_path,
                                 env=ENV, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        assert f"belongs to a run that is still going (process {first.pid})" in refused.stderr
        # The running run's log is the same file and has only grown: nothing truncated or replaced it.
        assert losses.stat().st_ino == inode and len(losses.read_text().splitlines()) >= rows
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGKILL)  # as kill -9: no handler runs, the OS drops the lock
        first.wait()

    resumed = subprocess.run(train_command("--num_passes", "2", "--output_dir", "out", "--resume"), cwd=tmp_path,
                             env=ENV, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr


def test_claiming_twice_in_one_process_is_one_claim_and_ending_the_run_lets_go(tmp_path):
    config = tiny_config("uniform")
    run_folder.claim_folders(config, tmp_path)
    run_folder.claim_folders(config, tmp_path)  # a notebook calling train() again
    holder = subprocess.run([sys.executable, "-c", "import sys; from paddle_gan import run_folder; "
                             "from paddle_gan.config import load_config, conf_path; "
                             "run_folder.claim_folders(load_config(conf_path('uniform')), sys.argv[1])", str(tmp_path)],
                            env=ENV, capture_output=True, text=True, timeout=60)
    assert holder.returncode != 0 and f"(process {os.getpid()})" in holder.stderr
    run_folder.release_folders(config, tmp_path)
    holder = subprocess.run(holder.args, env=ENV, capture_output=True, text=True, timeout=60)
    assert holder.returncode == 0, holder.stderr


def test_a_claim_held_elsewhere_names_its_process(tmp_path):
    config = tiny_config("uniform")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from paddle_gan import run_folder; "
                               "from paddle_gan.config import load_config, conf_path; "
                               "run_folder.claim_folders(load_config(conf_path('uniform')), sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(tmp_path)],
                              env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=f"process {holder.pid}"):
            run_folder.claim_folders(config, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    run_folder.claim_folders(config, tmp_path)  # free again
    run_folder.release_folders(config, tmp_path)
