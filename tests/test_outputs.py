"""outputs: what a run writes (rank 0's RunOutputs) and what the other ranks' silent twin does not."""
import csv
import signal

import numpy as np
import paddle
import pytest
from conftest import setup, tiny_config

from paddle_gan import checkpoint, readers
from paddle_gan.errors import Diverged
from paddle_gan.outputs import OutputError, RunOutputs, SilentOutputs
from paddle_gan.schedules import make_schedule

LOSS = {"d_pos_loss": 0.5, "d_neg_loss": 0.25, "d_loss": 0.375, "g_loss": float("nan")}


def started(outputs_class, config, output_dir, iteration=0):
    """An outputs object bound to freshly initialised programs, as train() binds it."""
    programs, scope, exe = setup(config)
    streams = {"real_batches": readers.real_batches(config), "noise_batches": readers.training_noise(config),
               "schedule": make_schedule(config)}
    outputs = outputs_class(config, output_dir)
    return outputs.started(exe, programs, scope, streams, iteration), scope


def test_a_pass_writes_its_rows_picture_curve_and_checkpoint(tmp_path):
    config = tiny_config("uniform", iters_per_pass=2)
    run, _ = started(RunOutputs, config, tmp_path)
    with run:
        for batch_id in range(2):
            run.log(0, batch_id, LOSS, "D", img=None, z=None)
        run.pass_end(0)
    samples = tmp_path / "uniform_samples"
    with open(samples / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["pass"], r["iteration"], r["d_loss"], r["g_loss"], r["trained"]) for r in rows] == \
        [("0", "0", "0.375000", "", "D"), ("0", "1", "0.375000", "", "D")]
    assert (samples / "train_pass0.png").is_file() and (samples / "loss.png").is_file()
    assert run.last_checkpoint == tmp_path / "uniform_params" / "pass-00000"
    assert checkpoint.read_meta(run.last_checkpoint)["iteration"] == 2


def test_a_fresh_run_is_refused_over_an_earlier_ones_checkpoints(tmp_path):
    config = tiny_config("uniform")
    checkpoint.pass_dir(tmp_path / "uniform_params", 3).mkdir(parents=True)
    (tmp_path / "uniform_params" / "pass-00003" / checkpoint.META_FILE).write_text("{}")
    with pytest.raises(OutputError, match="holds checkpoints of an earlier run .newest pass-00003.*--resume"):
        RunOutputs(config, tmp_path)
    RunOutputs(config, tmp_path, resume=tmp_path / "uniform_params" / "pass-00003")  # continuing it is fine


def test_the_silent_twin_writes_nothing_but_stops_on_parameters_that_are_not_finite(tmp_path):
    config = tiny_config("uniform", iters_per_pass=2)
    twin, scope = started(SilentOutputs, config, tmp_path / "rank1")
    with twin:
        twin.log(0, 0, LOSS, "DG", img=None, z=None)
        twin.log(0, 1, LOSS, "DG", img=None, z=None)
        twin.pass_end(0)
        assert twin.iteration == 2 and twin.last_checkpoint.name == "pass-00000"  # what rank 0 would have written
        w = scope.find_var("D.dis_prob.w").get_tensor()
        w.set(np.full_like(np.array(w), np.nan), paddle.CPUPlace())
        with pytest.raises(Diverged, match="D.dis_prob.w holds NaN or inf.*last good checkpoint is .*pass-00000"):
            twin.pass_end(1)
    assert not (tmp_path / "rank1").exists()


def test_the_ends_of_a_run_say_where_it_stopped_and_how_to_go_on(tmp_path):
    config = tiny_config("uniform", iters_per_pass=5)
    run, _ = started(RunOutputs, config, tmp_path)
    with run:
        run.log(0, 0, LOSS, "D", img=None, z=None)
        stopped = run.interrupted(signal.SIGINT, 0, 1)
        assert stopped.signum == signal.SIGINT
        assert str(stopped) == (f"stopped in pass 0 after 1 batches; checkpoint {tmp_path}/uniform_params/"
                                f"pass-00000-batch-00001; continue with: python -m paddle_gan.train -d uniform "
                                f"--output_dir {tmp_path} --resume")
        diverged = run.diverged(Diverged("g returned loss [nan]"), 0, 1, fetch_every=10)
    assert str(diverged).startswith("g returned loss [nan] at pass 0, batch 1 (or since the last fetch of losses): "
                                    f"training diverged; the last good checkpoint is {tmp_path}/uniform_params/"
                                    "pass-00000-batch-00001")
