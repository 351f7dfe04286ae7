"""Nothing lost: a stopped run resumes bit for bit, Ctrl-C writes a checkpoint, NaN stops the run, bad output
folders are refused before any work."""
import json
import pickle
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config, uninterrupted_run, write_mnist

from paddle_gan import checkpoint, readers
from paddle_gan.config import updated
from paddle_gan.errors import Diverged
from paddle_gan.run_folder import OutputError
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent


def params_of(folder):
    with open(folder / checkpoint.PARAMS_FILE, "rb") as f:
        params = pickle.load(f)
    with open(folder / checkpoint.OPT_FILE, "rb") as f:
        return params, pickle.load(f)


def assert_same_run(straight, resumed, samples_dir, params_dir, last):
    assert (straight / samples_dir / "losses.csv").read_text() == (resumed / samples_dir / "losses.csv").read_text()
    for a, b in zip(params_of(straight / params_dir / last), params_of(resumed / params_dir / last)):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[name], b[name]) for name in a)


CASES = {
    "uniform strike": dict(dataset="uniform", iters_per_pass=7, batch_size=16),
    "mnist alternate": dict(dataset="mnist", iters_per_pass=3, schedule="alternate"),
    "mnist kstep": dict(dataset="mnist", iters_per_pass=3, schedule="kstep", d_steps=2, g_steps=1),
    "mnist kstep, D updated on the summed loss": dict(dataset="mnist", iters_per_pass=3, schedule="kstep", d_steps=2,
                                                      g_steps=1, d_update="sum"),
    "mnist kstep, one D update per program": dict(dataset="mnist", iters_per_pass=3, schedule="kstep", d_steps=2,
                                                  g_steps=1, d_update="each"),
    "mnist conditional, averaged": dict(dataset="mnist", iters_per_pass=3, schedule="kstep", g_steps=2,
                                        conditional=True, ema_decay=0.999),
}


@pytest.mark.parametrize("case", CASES)
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, case):
    overrides = dict(CASES[case])
    dataset = overrides.pop("dataset")
    if dataset == "mnist":
        write_mnist(tmp_path / "data", n=20)  # 2 batches of 8: the data passes do not line up with training passes
        overrides["data_dir"] = str(tmp_path / "data")
    config = tiny_config(dataset, num_passes=3, **overrides)
    samples_dir, params_dir = config["samples_dir"], config["params_dir"]

    train(config, tmp_path / "straight")
    train(dict(config, num_passes=1), tmp_path / "resumed")
    first = checkpoint.read_meta(tmp_path / "resumed" / params_dir / "pass-00000")
    train(updated(first["config"], {"num_passes": 3}), tmp_path / "resumed",
          resume=tmp_path / "resumed" / params_dir / "pass-00000")
    assert_same_run(tmp_path / "straight", tmp_path / "resumed", samples_dir, params_dir, "pass-00002")
    assert (tmp_path / "resumed" / samples_dir / "train_pass2.png").is_file()


@pytest.mark.parametrize("d_lr, d_rate_after", [(0.0, 0.5), (1e-3, 1e-3)])
def test_a_changed_learning_rate_is_applied_on_resume(tmp_path, capsys, d_lr, d_rate_after):
    # Without d_lr, lr is both networks' rate; with it (as conf/uniform.toml has), lr is G's alone.
    config = tiny_config("uniform", num_passes=1, d_lr=d_lr)
    train(config, tmp_path)
    last = tmp_path / "uniform_params" / "pass-00000"
    train(updated(config, {"num_passes": 2, "lr": 0.5}), tmp_path, resume=last)
    assert "lr 0.0001 -> 0.5" in capsys.readouterr().out
    _, opt = params_of(tmp_path / "uniform_params" / "pass-00001")
    rates = {name.split(".")[0]: float(value) for name, value in opt.items() if "learning_rate" in name}
    assert rates == {"G": pytest.approx(0.5), "D": pytest.approx(d_rate_after)}


def test_a_fresh_run_does_not_overwrite_an_earlier_one(tmp_path):
    config = tiny_config("uniform")
    train(config, tmp_path)
    with pytest.raises(OutputError, match="pass-00000 belongs to an earlier run.*--resume"):
        train(config, tmp_path)


def test_resume_refuses_a_checkpoint_of_another_network(tmp_path):
    config = tiny_config("uniform")
    train(config, tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="another network .noise_dim=10.*noise_dim=4"):
        train(dict(config, noise_dim=4, num_passes=2), tmp_path, resume=tmp_path / "uniform_params" / "pass-00000")


def test_an_unwritable_output_folder_is_refused_before_training(tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(OutputError, match="cannot write to .*a_file/uniform_samples.*--output_dir"):
        train(tiny_config("uniform"), tmp_path / "a_file")


@pytest.mark.parametrize("poison, message", [
    # An absurd learning rate: the losses themselves overflow.
    ({"lr": 1e30}, r"returned loss \[(nan|inf)\] at pass 1, batch \d.*the last good checkpoint is .*pass-00000"),
    # NaN images: here D's losses stay finite while its weights turn NaN, which the checkpoint check catches.
    ("nan data", r"not writing .*pass-00001: D\.\S+ holds NaN or inf: training diverged; the last good checkpoint "
                 r"is .*pass-00000"),
])
def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, poison, message):
    write_mnist(tmp_path / "data", n=16)
    config = tiny_config("mnist", data_dir=str(tmp_path / "data"), num_passes=1, schedule="alternate")
    train(config, tmp_path)
    good = tmp_path / "mnist_params" / "pass-00000"
    saved = good.joinpath(checkpoint.PARAMS_FILE).read_bytes()
    if poison == "nan data":
        mnist = readers.mnist
        monkeypatch.setattr(readers, "mnist", lambda *args: (mnist(*args)[0] * np.float32("nan"), mnist(*args)[1]))
        poison = {}
    with pytest.raises(Diverged, match=message):
        train(updated(config, {"num_passes": 2, **poison}), tmp_path, resume=good)
    assert good.joinpath(checkpoint.PARAMS_FILE).read_bytes() == saved
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "mnist_params")] == ["pass-00000"]


def cli(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "paddle_gan.train", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


SIGNAL_RUN = ("-d", "uniform", "--num_passes", "2", "--iters_per_pass", "1500", "--batch_size", "16",
              "-o", "log_every=100", "-o", "num_samples=1000")


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """SIGNAL_RUN from start to end, once for both signals."""
    return uninterrupted_run(cli, SIGNAL_RUN, tmp_path_factory)


@pytest.mark.serial
@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_pass_checkpoints_and_the_resume_completes_the_same_run(tmp_path, signum, code, straight_run):
    stopped = cli(*SIGNAL_RUN, "--output_dir", "stopped", cwd=tmp_path)
    for line in stopped.stdout:  # wait until it is well into the first pass
        if line.startswith("Pass 0, Batch 300"):
            break
    stopped.send_signal(signum)
    out, err = stopped.communicate(timeout=120)
    assert stopped.returncode == code, err
    command = err.strip().splitlines()[-1].split("continue with: ")[1]
    assert command.endswith(" -m paddle_gan.train -d uniform --output_dir stopped --resume")
    [partial] = checkpoint.list_checkpoints(tmp_path / "stopped" / "uniform_params")
    assert partial.name.startswith("pass-00000-batch-")

    # The command exactly as printed, from where the user is (this test's PATH finds no python of this venv).
    resumed = subprocess.Popen(shlex.split(command), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"resuming from stopped/uniform_params/{partial.name}" in out
    assert_same_run(straight_run, tmp_path / "stopped", "uniform_samples", "uniform_params", "pass-00001")


@pytest.mark.serial
@pytest.mark.slow
def test_ctrl_c_during_start_up_or_twice_mid_run_stops_in_one_line(tmp_path):
    args = ("-d", "uniform", "--num_passes", "2", "--iters_per_pass", "3000", "-o", "log_every=100", "--nproc", "1")
    loading = cli(*args, "--output_dir", "loading", cwd=tmp_path)
    time.sleep(0.3)  # Python and Paddle are still loading
    loading.send_signal(signal.SIGINT)
    _, err = loading.communicate(timeout=120)
    assert loading.returncode == 130 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err

    early = cli(*args, "--output_dir", "early", cwd=tmp_path)
    assert early.stdout.readline().startswith("training in 1 process")  # main() is past its imports: building
    early.send_signal(signal.SIGINT)
    _, err = early.communicate(timeout=120)
    assert early.returncode == 130 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # no checkpoint to speak of yet (unless the loop had begun and took the Ctrl-C: then it wrote one)
    assert err.startswith(("stopped at once by Ctrl-C; no checkpoint was written yet: start the run again",
                           "stopped in pass 0 after ")), err

    twice = cli(*args, "--output_dir", "twice", cwd=tmp_path)
    for line in twice.stdout:
        if line.startswith("Pass 0, Batch 300"):
            break
    twice.send_signal(signal.SIGINT)
    twice.send_signal(signal.SIGINT)  # the second stops at once, wherever the first had got to
    _, err = twice.communicate(timeout=120)
    assert twice.returncode == 130 and "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(("stopped at once by Ctrl-C; ", "stopped in pass 0")), err
    if last.startswith("stopped at once"):  # before the first Ctrl-C's checkpoint was done: its losses.csv is there
        assert last.endswith("no checkpoint was written yet: move twice/uniform_samples away and start the run again")


def test_resume_without_a_checkpoint_says_so(tmp_path):
    result = subprocess.run([sys.executable, "-m", "paddle_gan.train", "-d", "uniform", "--resume"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --resume: no checkpoint in uniform_params; start without --resume"
    # A run that stopped before its first checkpoint (it diverged) left its log: a fresh start is refused over it,
    # so the way out is to move that away, not only to drop --resume.
    (tmp_path / "uniform_samples").mkdir()
    (tmp_path / "uniform_samples" / "losses.csv").write_text("pass,batch\n")
    result = subprocess.run([sys.executable, "-m", "paddle_gan.train", "-d", "uniform", "--resume"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --resume: no checkpoint in uniform_params; move uniform_samples away "
                                     "(what an earlier run left there) and start without --resume")


def test_keep_checkpoints_keeps_the_newest(tmp_path):
    train(tiny_config("uniform", num_passes=4, keep_checkpoints=2), tmp_path)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path / "uniform_params")] == ["pass-00002", "pass-00003"]


def test_resuming_from_an_older_checkpoint_branches_off_and_keeps_the_abandoned_branch(tmp_path):
    """The README's "resume from before a collapse": the abandoned newer checkpoints and log move aside, pruning
    keeps only the new branch's, and a later plain --resume continues the new branch."""
    params, samples = tmp_path / "uniform_params", tmp_path / "uniform_samples"
    train(tiny_config("uniform", num_passes=3), tmp_path)
    old_log = (samples / "losses.csv").read_text()
    old_last = (params / "pass-00002" / checkpoint.PARAMS_FILE).read_bytes()

    branch = tiny_config("uniform", num_passes=2, lr=5e-5, keep_checkpoints=1)
    train(branch, tmp_path, resume=params / "pass-00000")
    assert [p.name for p in checkpoint.list_checkpoints(params)] == ["pass-00001"]  # the new branch's, pruned to 1
    assert checkpoint.saved_config(params / "pass-00001")["lr"] == 5e-5
    [aside] = params.glob("abandoned-*")
    assert sorted(p.name for p in checkpoint.list_checkpoints(aside)) == ["pass-00001", "pass-00002"]
    assert (aside / "pass-00002" / checkpoint.PARAMS_FILE).read_bytes() == old_last
    assert (aside / "losses.csv").read_text() == old_log
    assert len((samples / "losses.csv").read_text().splitlines()) == 1 + 2 * branch["iters_per_pass"]

    assert checkpoint.latest(params) == params / "pass-00001"  # what a plain --resume continues: the new branch


def test_a_checkpoint_of_another_run_is_not_resumed_into_this_runs_folder(tmp_path):
    config = tiny_config("uniform", num_passes=1)
    train(config, tmp_path / "a")
    train(dict(config, seed=8), tmp_path / "b")
    losses_b = (tmp_path / "b" / "uniform_samples" / "losses.csv").read_text()
    with pytest.raises(OutputError, match="is a checkpoint of run .* holds the logs of run .*its own --output_dir"):
        train(dict(config, num_passes=2), tmp_path / "b", resume=tmp_path / "a" / "uniform_params" / "pass-00000")
    assert (tmp_path / "b" / "uniform_samples" / "losses.csv").read_text() == losses_b  # untouched
    # its own folder, or a new one, is fine; a branch of the same run too
    train(dict(config, num_passes=2), tmp_path / "c", resume=tmp_path / "a" / "uniform_params" / "pass-00000")
    train(dict(config, num_passes=2), tmp_path / "a", resume=tmp_path / "a" / "uniform_params" / "pass-00000")


def test_a_loss_log_cut_short_before_resume_keeps_its_rows_at_their_iterations(tmp_path, capsys):
    config = tiny_config("uniform", num_passes=1, iters_per_pass=5)
    train(config, tmp_path)
    log = tmp_path / "uniform_samples" / "losses.csv"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:3]) + "\n")  # the header and 2 of 5 rows left
    train(dict(config, num_passes=2), tmp_path, resume=tmp_path / "uniform_params" / "pass-00000")
    assert "held 2 of the 5 iterations before the checkpoint; the missing rows are left empty" in capsys.readouterr().out
    rows = log.read_text().splitlines()
    assert len(rows) == 1 + 10 and rows[1:3] == lines[1:3] and set(rows[3:6]) == {",,,,,,"}
    assert rows[6].startswith("1,0,")  # pass 1's first iteration, where it belongs


def test_a_meta_json_with_a_batch_past_the_pass_is_refused_before_anything_moves(tmp_path):
    config = tiny_config("uniform", num_passes=2, iters_per_pass=3)
    train(config, tmp_path)
    meta_file = tmp_path / "uniform_params" / "pass-00000" / checkpoint.META_FILE
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "batch": 9}))
    before = sorted(p.name for p in (tmp_path / "uniform_params").iterdir())
    with pytest.raises(checkpoint.CheckpointError, match="batch 9 lies past the end of a pass of 3 iterations"):
        train(dict(config, num_passes=3), tmp_path, resume=tmp_path / "uniform_params" / "pass-00000")
    assert sorted(p.name for p in (tmp_path / "uniform_params").iterdir()) == before  # nothing set aside
