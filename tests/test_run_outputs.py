"""What a run writes and how it ends early, piece by piece: its folders (run_folder), the loss log (loss_log), the
pass's pictures (pass_pictures) and checkpoints (saving), on rank 0 and on the ranks that write nothing."""
import csv
import errno
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import setup, tiny_config

from paddle_gan import checkpoint, pass_pictures, readers, run_folder
from paddle_gan.config import conf_path, load_config
from paddle_gan.errors import Diverged
from paddle_gan.errors import python_command
from paddle_gan.loss_log import LossLog
from paddle_gan.run_folder import OutputError
from paddle_gan.saving import Saver
from paddle_gan.schedules import make_schedule

LOSS = {"d_pos_loss": 0.5, "d_neg_loss": 0.25, "d_loss": 0.375, "g_loss": float("nan")}


class Run:
    """The pieces train() holds on rank 0 (`writes`) or on another rank, bound to freshly initialised programs."""

    def __init__(self, config, output_dir, writes=True):
        self.config = config
        self.programs, self.scope, self.exe = setup(config)
        streams = {"real_batches": readers.real_batches(config), "noise_batches": readers.training_noise(config),
                   "schedule": make_schedule(config)}
        self.folder = run_folder.prepare(config, output_dir) if writes else run_folder.folder_of(config, output_dir)
        self.loss_log = LossLog(self.folder.samples_dir) if writes else None
        self.saver = Saver(config, self.folder, writes, self.programs, self.scope, streams, self.loss_log)
        self.iteration = 0

    def log(self, pass_id, batch_id):
        if self.loss_log:
            self.loss_log.write(pass_id, batch_id, LOSS, "D")
        self.iteration += 1

    def pass_end(self, pass_id):
        if self.loss_log:
            pass_pictures.draw(self.exe, self.programs, self.scope, self.config, self.folder.samples_dir, pass_id,
                               self.loss_log.history)
        return self.saver.save(pass_id, self.config["iters_per_pass"], self.iteration)

    def close(self):
        if self.loss_log:
            self.loss_log.close()
        run_folder.release_folders(self.config, self.folder.output_dir)


def test_a_pass_writes_its_rows_picture_curve_and_checkpoint(tmp_path):
    config = tiny_config("uniform", iters_per_pass=2)
    run = Run(config, tmp_path)
    for batch_id in range(2):
        run.log(0, batch_id)
    run.pass_end(0)
    run.close()
    samples = tmp_path / "uniform_samples"
    with open(samples / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["pass"], r["iteration"], r["d_loss"], r["g_loss"], r["trained"]) for r in rows] == \
        [("0", "0", "0.375000", "", "D"), ("0", "1", "0.375000", "", "D")]
    assert (samples / "train_pass0.png").is_file() and (samples / "loss.png").is_file()
    assert run.saver.last_checkpoint == tmp_path / "uniform_params" / "pass-00000"
    assert checkpoint.read_meta(run.saver.last_checkpoint)["iteration"] == 2


def test_the_animation_shows_every_pass_then_at_most_its_frame_budget_from_first_to_newest():
    assert pass_pictures.animation_passes(0) == [0]
    assert pass_pictures.animation_passes(pass_pictures.MAX_FRAMES - 1) == list(range(pass_pictures.MAX_FRAMES))
    for newest in (pass_pictures.MAX_FRAMES, 99, 1000):
        shown = pass_pictures.animation_passes(newest)
        assert len(shown) == pass_pictures.MAX_FRAMES and shown[0] == 0 and shown[-1] == newest
        assert shown == sorted(set(shown))
        assert max(np.diff(shown)) - min(np.diff(shown)) <= 1  # evenly spread


def test_a_fresh_run_is_refused_over_an_earlier_ones_checkpoints(tmp_path):
    config = tiny_config("uniform")
    checkpoint.pass_dir(tmp_path / "uniform_params", 3).mkdir(parents=True)
    meta = checkpoint.make_meta(config, 3, config["iters_per_pass"], 4 * config["iters_per_pass"], {})
    (tmp_path / "uniform_params" / "pass-00003" / checkpoint.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(OutputError, match="pass-00003 belongs to an earlier run.*--resume"):
        run_folder.prepare(config, tmp_path)
    run_folder.prepare(config, tmp_path, resume=tmp_path / "uniform_params" / "pass-00003")  # continuing it is fine


@pytest.mark.parametrize("name", ["losses.csv", "metrics.csv", "train_pass0.png", "loss.png"])
def test_a_fresh_run_is_refused_over_any_file_an_earlier_run_wrote(tmp_path, name):
    """Not only checkpoints: with `-o params_dir=other` the samples folder may still hold a run's log."""
    config = tiny_config("uniform", params_dir="other_params")
    (tmp_path / "uniform_samples").mkdir()
    (tmp_path / "uniform_samples" / name).write_text("an earlier run's")
    # that run wrote no checkpoint: the way out is starting afresh, not --resume
    with pytest.raises(OutputError, match=f"uniform_samples/{name} is left from an earlier run that wrote no "
                                          "checkpoint.*move .*uniform_samples away") as refused:
        run_folder.prepare(config, tmp_path)
    assert "--resume" not in str(refused.value).replace("(nothing to resume)", "")
    assert (tmp_path / "uniform_samples" / name).read_text() == "an earlier run's"
    (tmp_path / "other_params" / "pass-00000").mkdir(parents=True)  # with a checkpoint, --resume continues it
    (tmp_path / "other_params" / "pass-00000" / checkpoint.META_FILE).write_text(
        json.dumps(checkpoint.make_meta(config, 0, config["iters_per_pass"], config["iters_per_pass"], {})))
    with pytest.raises(OutputError, match="pass-00000 belongs to an earlier run.*--resume"):
        run_folder.prepare(config, tmp_path)
    assert (tmp_path / "uniform_samples" / name).read_text() == "an earlier run's"


def test_a_rank_that_writes_nothing_still_stops_on_parameters_that_are_not_finite(tmp_path):
    config = tiny_config("uniform", iters_per_pass=2)
    other = Run(config, tmp_path / "rank1", writes=False)
    other.log(0, 0)
    other.log(0, 1)
    other.pass_end(0)
    assert other.saver.last_checkpoint.name == "pass-00000"  # what rank 0 would have written
    w = other.scope.find_var("D.dis_prob.w").get_tensor()
    w.set(np.full_like(np.array(w), np.nan), paddle.CPUPlace())
    with pytest.raises(Diverged, match="D.dis_prob.w holds NaN or inf.*last good checkpoint is .*pass-00000"):
        other.pass_end(1)
    other.close()
    assert not (tmp_path / "rank1").exists()


def test_the_ends_of_a_run_say_where_it_stopped_and_how_to_go_on(tmp_path):
    config = tiny_config("uniform", iters_per_pass=5)
    run = Run(config, tmp_path)
    run.log(0, 0)
    stopped = run.saver.interrupted(signal.SIGINT, 0, 1, run.iteration)
    assert stopped.signum == signal.SIGINT
    assert str(stopped) == (f"stopped in pass 0 after 1 batches; checkpoint {tmp_path}/uniform_params/"
                            f"pass-00000-batch-00001; continue with: {python_command()} -m paddle_gan.train -d "
                            f"uniform --output_dir {tmp_path} --resume")
    diverged = run.saver.diverged(Diverged("g returned loss [nan]"), 0, 1, fetch_every=10)
    run.close()
    assert str(diverged).startswith("g returned loss [nan] at pass 0, batch 1 (or since the last fetch of losses): "
                                    f"training diverged; the last good checkpoint is {tmp_path}/uniform_params/"
                                    "pass-00000-batch-00001")


def test_printed_commands_name_this_python_as_the_user_can_type_it(tmp_path, monkeypatch):
    venv_python = tmp_path / "project" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(venv_python))
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # `make run`: the venv is not activated
    assert python_command() == ".venv/bin/python"
    monkeypatch.setenv("PATH", f"{venv_python.parent}:/usr/bin:/bin")  # activated: `python` is this one
    assert python_command() == "python"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the venv is not below the working directory: its absolute path
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert python_command() == str(venv_python)


def test_a_full_disk_during_a_checkpoint_ends_in_one_line_and_keeps_the_previous_one(tmp_path, monkeypatch):
    config = tiny_config("uniform", iters_per_pass=1)
    run = Run(config, tmp_path)
    run.log(0, 0)
    first = run.pass_end(0)
    saved = (first / checkpoint.PARAMS_FILE).read_bytes()

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    monkeypatch.setattr(checkpoint, "_write_synced", full)
    run.log(1, 0)
    with pytest.raises(OutputError, match=r"cannot write .*model.pdparams \(No space left on device\); make room "
                                          r".* after checkpoint .*pass-00000 was kept; continue from it with: "):
        run.pass_end(1)
    run.close()
    assert checkpoint.list_checkpoints(tmp_path / "uniform_params") == [first]  # no half-written pass-00001
    assert (first / checkpoint.PARAMS_FILE).read_bytes() == saved
    assert not [p for p in (tmp_path / "uniform_params").iterdir() if p.name.startswith(".pass")]


@pytest.mark.parametrize("replace", ["losses.csv by a folder", "losses.csv deleted", "params_dir by a file"])
def test_an_output_replaced_mid_run_ends_in_one_line(tmp_path, replace):
    config = tiny_config("uniform", iters_per_pass=1)
    run = Run(config, tmp_path)
    run.log(0, 0)
    log, params = tmp_path / "uniform_samples" / "losses.csv", tmp_path / "uniform_params"
    if replace == "params_dir by a file":
        shutil.rmtree(params)
        params.write_text("")
    else:
        log.unlink()
        if replace == "losses.csv by a folder":
            log.mkdir()
    with pytest.raises(OutputError) as error:
        run.saver.save(0, 1, run.iteration)
    run.close()
    message = str(error.value)
    assert "\n" not in message and message.endswith("start the run again"), message  # no checkpoint yet
    assert ("was moved, deleted or replaced" if "losses" in replace else "cannot write") in message


def test_a_full_disk_under_the_loss_log_ends_train_in_one_line(tmp_path, monkeypatch):
    from paddle_gan import loss_log
    from paddle_gan.train import train

    class FullDisk:
        def writerow(self, row):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "uniform_samples" / "losses.csv"))
    opened = loss_log.LossLog.__init__

    def full_disk_after_opening(self, *args):
        opened(self, *args)
        self.writer = FullDisk()
    monkeypatch.setattr(loss_log.LossLog, "__init__", full_disk_after_opening)
    with pytest.raises(OutputError, match=r"cannot write .*losses.csv \(No space left on device\).*start the run"):
        train(tiny_config("uniform", iters_per_pass=2), tmp_path)


def test_the_command_that_continues_a_run_finds_its_checkpoint(monkeypatch):
    monkeypatch.delenv("MAKELEVEL", raising=False)
    mnist = load_config(conf_path("mnist"))
    mlp = dict(mnist, params_dir="mlp_params")
    # the shipped config's folder: a bare --resume finds the newest checkpoint there
    assert run_folder.resume_command(mnist, ".", Path("mnist_params/pass-00003")).endswith(
        " -m paddle_gan.train -d mnist --resume")
    # another config's folder (--conf conf/mnist_mlp.toml, -o params_dir=...): --resume would look in mnist_params
    assert run_folder.resume_command(mlp, ".", Path("mlp_params/pass-00003")).endswith(
        " -m paddle_gan.train -d mnist --resume mlp_params/pass-00003")
    # resumed from a checkpoint elsewhere and stopped before writing one of its own
    assert run_folder.resume_command(mnist, "new", Path("old/mnist_params/pass-00003")).endswith(
        " -m paddle_gan.train -d mnist --output_dir new --resume old/mnist_params/pass-00003")
