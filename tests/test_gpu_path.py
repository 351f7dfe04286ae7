"""The GPU path (device.plan), run on CPU: noise drawn inside the programs, losses fetched every N iterations,
mixed precision refused on CPU and built where Paddle can; and the CPU default left as it was."""
import csv
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import restore, setup, snapshot, tiny_config

from paddle_gan import checkpoint, device, parallel
from paddle_gan import train as train_module
from paddle_gan.config import ConfigError, updated
from paddle_gan.device import DeviceError, plan
from paddle_gan.errors import Diverged
from paddle_gan.generate import write_picture
from paddle_gan.programs import KEPT_GRADIENT, _graph_noise, build_programs, get_params
from paddle_gan.readers import graph_noise_seed
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent
LEGACY_IR = not paddle.framework.use_pir_api()


class FakeCUDAPlace:
    """Stands for paddle.CUDAPlace in plan's type check: this machine has no GPU."""


def loss_of(exe, programs, scope, name):
    return float(exe.run(getattr(programs, name), feed={}, fetch_list=programs.fetch[name], scope=scope)[0])


def params_of(folder):
    with open(folder / checkpoint.PARAMS_FILE, "rb") as f:
        return pickle.load(f)


def loss_rows(folder, config):
    with open(folder / config["samples_dir"] / "losses.csv", newline="") as f:
        return list(csv.DictReader(f))


# ---- which path a place takes ------------------------------------------------------------------------------------

def gpu_path(config, place):
    """(noise drawn in the programs, fetch losses every N iterations): the two choices of the plan."""
    chosen = plan(config, place)
    return chosen.noise_in_graph, chosen.fetch_every


@pytest.mark.parametrize("schedule", ["strike", "alternate", "kstep"])
def test_cpu_default_is_the_tutorials_loop(schedule):
    assert gpu_path(tiny_config("mnist", schedule=schedule), paddle.CPUPlace()) == (False, 1)


def test_a_gpu_takes_the_gpu_path_unless_strike_needs_the_losses(monkeypatch):
    monkeypatch.setattr(paddle, "CUDAPlace", FakeCUDAPlace)
    place = FakeCUDAPlace()
    assert gpu_path(tiny_config("mnist", schedule="alternate"), place) == (True, device.GPU_FETCH_EVERY)
    assert gpu_path(tiny_config("mnist", schedule="kstep"), place) == (True, device.GPU_FETCH_EVERY)
    assert gpu_path(tiny_config("mnist", schedule="strike"), place) == (False, 1)
    config = tiny_config("mnist", schedule="alternate", noise_source="reader", fetch_every=1)
    assert gpu_path(config, place) == (False, 1)
    # mixed precision takes one D update per program (d_update=sum is built for float32)
    assert gpu_path(tiny_config("mnist", amp="fp16", schedule="alternate", d_update="each"), place)[0]


def test_the_gpu_path_on_cpu_by_config_keys():
    config = tiny_config("mnist", schedule="kstep", noise_source="graph", fetch_every=4)
    assert gpu_path(config, paddle.CPUPlace()) == (True, 4)


@pytest.mark.parametrize("keys, message", [
    (dict(noise_source="graph"), "noise_source=graph does not fit schedule=strike"),
    (dict(fetch_every=5), "fetch_every=5 does not fit schedule=strike"),
    (dict(amp="fp8"), "amp='fp8' is not one of: off, fp16, bf16"),
    (dict(fetch_every=-1), "fetch_every=-1 must be 0"),
])
def test_settings_that_cannot_work_are_refused(keys, message):
    with pytest.raises(ConfigError, match=message):
        updated(tiny_config("uniform", schedule="strike"), keys)


# ---- mixed precision ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_amp_is_refused_on_cpu_in_one_line(tmp_path, amp):
    with pytest.raises(DeviceError, match=f"--amp {amp} needs a GPU.*use --amp off on CPU"):
        gpu_path(tiny_config("uniform", amp=amp), paddle.CPUPlace())
    result = subprocess.run([sys.executable, "-m", "paddle_gan.train", "-d", "uniform", "--use_gpu", "0", "--amp", amp],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: --amp {amp} needs a GPU (Paddle's CPU kernels cannot train "
                                                  "these networks in float16 or bfloat16); use --amp off on CPU"]


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
@pytest.mark.parametrize("dataset", ["uniform", "mnist"])
def test_amp_programs_build_and_keep_their_state_with_the_optimizers(amp, dataset):
    if amp == "fp16" and not LEGACY_IR:
        pytest.skip("PIR checks float16 kernels while building, and a CPU build has none for matmul and conv")
    programs = build_programs(tiny_config(dataset, amp=amp, schedule="alternate", d_update="each"),
                              noise_in_graph=True)

    def state(program):
        return {v.name for v in program.list_vars() if v.persistable and ".opt." in v.name}

    assert "D.opt.learning_rate_0" in state(programs.d_real) and "G.opt.learning_rate_0" in state(programs.g)
    if amp == "fp16":  # dynamic loss scaling, saved with Adam's state under each network's prefix
        assert {"D.opt.loss_scaling_0", "D.opt.num_good_steps_0"} <= state(programs.d_fake)
        assert {"G.opt.loss_scaling_0", "G.opt.num_good_steps_0"} <= state(programs.g)
    # not trained, not in mixed precision: the programs a CPU can still run
    assert programs.feed["infer"] and programs.feed["losses"]


# ---- noise drawn inside the programs -----------------------------------------------------------------------------

@pytest.mark.parametrize("noise", ["normal", "uniform"])
def test_graph_noise_is_fresh_every_run_and_follows_paddle_seed(noise):
    config = tiny_config("mnist", schedule="alternate", noise=noise)
    programs, scope, exe = setup(config, noise_in_graph=True)
    assert programs.feed["d_fake"] == programs.feed["g"] == []
    start = snapshot(scope, get_params(programs.g, ""))

    def losses():
        restore(scope, start)  # the same parameters every time: a different loss means different noise
        return loss_of(exe, programs, scope, "d_fake")

    paddle.seed(5)
    first, second = losses(), losses()
    assert np.isfinite(first) and first != second
    paddle.seed(5)
    assert losses() == first


def test_graph_noise_has_the_rows_and_range_asked_for(monkeypatch):
    config = tiny_config("mnist", batch_size=8, noise="uniform", schedule="alternate")
    monkeypatch.setattr(parallel, "world_size", lambda: 2)  # each of 2 processes draws its half of the batch
    main, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main, startup):
        z, label = _graph_noise(config)
    assert label is None  # not conditional: no classes to draw
    exe = paddle.static.Executor(paddle.CPUPlace())
    value = exe.run(main, fetch_list=[z], scope=paddle.static.Scope())[0]
    assert value.shape == (4, config["noise_dim"]) and -1 <= value.min() and value.max() <= 1


def test_graph_labels_ask_for_every_class():
    config = tiny_config("mnist", batch_size=2000, schedule="alternate", conditional=True)
    main, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main, startup):
        _, label = _graph_noise(config)
    value = paddle.static.Executor(paddle.CPUPlace()).run(main, fetch_list=[label], scope=paddle.static.Scope())[0]
    assert value.shape == (2000,) and value.dtype == np.int64
    counts = np.bincount(value, minlength=10)
    assert len(counts) == 10 and counts.min() > 130  # 0 to 9 (9 too), about 200 each


@pytest.mark.parametrize("conditional", [False, True])  # a CGAN draws its classes in the programs too
@pytest.mark.parametrize("d_update", ["each", "sum"])
def test_each_program_with_graph_noise_moves_only_its_own_network(conditional, d_update):
    config = tiny_config("mnist", schedule="alternate", conditional=conditional, ema_decay=0.999, d_update=d_update)
    programs, scope, exe = setup(config, noise_in_graph=True)
    g_params, d_params = get_params(programs.g, "G."), get_params(programs.g, "D.")
    if d_update == "sum":  # d_fake keeps D's gradients of its drawn noise for d_real's step, and moves no weight
        before = snapshot(scope, g_params + d_params)
        assert np.isfinite(loss_of(exe, programs, scope, "d_fake"))
        after = snapshot(scope, g_params + d_params)
        assert all(np.array_equal(before[n], after[n]) for n in before if not n.endswith(("_mean", "_variance")))
        kept = np.array(scope.find_var(KEPT_GRADIENT + d_params[0].name).get_tensor())
        assert np.abs(kept).max() > 0
        return
    for step, trained, frozen in (("d_fake", d_params, g_params), ("g", g_params, d_params)):
        before_trained, before_frozen = snapshot(scope, trained), snapshot(scope, frozen)
        assert np.isfinite(loss_of(exe, programs, scope, step))
        after_trained, after_frozen = snapshot(scope, trained), snapshot(scope, frozen)
        weights = [n for n in before_trained if not n.endswith(("_mean", "_variance"))]
        assert any(not np.array_equal(before_trained[n], after_trained[n]) for n in weights), f"{step} trained nothing"
        assert all(np.array_equal(before_frozen[n], after_frozen[n]) for n in before_frozen
                   if not n.endswith(("_mean", "_variance"))), f"{step} moved the other network"


def test_each_process_and_each_start_draws_its_own_noise():
    seeds = {graph_noise_seed(1, rank, iteration) for rank in range(4) for iteration in (0, 3000)}
    assert len(seeds) == 8
    assert graph_noise_seed(1, 0, 0) == graph_noise_seed(1, 0, 0)


def test_a_graph_noise_run_is_reproducible_and_so_is_its_resume(tmp_path):
    config = tiny_config("uniform", schedule="alternate", noise_source="graph", num_passes=2, iters_per_pass=4)
    last = Path(config["params_dir"]) / "pass-00001"
    for run in ("a", "b"):
        train(config, tmp_path / run)
    a, b = params_of(tmp_path / "a" / last), params_of(tmp_path / "b" / last)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    for run in ("r1", "r2"):
        train(dict(config, num_passes=1), tmp_path / run)
        train(config, tmp_path / run, resume=tmp_path / run / config["params_dir"] / "pass-00000")
    r1, r2 = params_of(tmp_path / "r1" / last), params_of(tmp_path / "r2" / last)
    assert all(np.array_equal(r1[n], r2[n]) for n in r1)
    # The generator is reseeded from where the run restarts: not the noise the unstopped run drew (README).
    assert not all(np.array_equal(a[n], r1[n]) for n in a)


# ---- losses fetched every N iterations ---------------------------------------------------------------------------

def test_fetching_every_n_logs_those_rows_and_trains_the_same(tmp_path):
    config = tiny_config("uniform", schedule="alternate", iters_per_pass=8, log_every=5, num_passes=1)
    train(config, tmp_path / "every")
    sparse = updated(config, {"fetch_every": 3})
    train(sparse, tmp_path / "sparse")
    every, rows = loss_rows(tmp_path / "every", config), loss_rows(tmp_path / "sparse", config)
    assert len(rows) == 8 and all(r["trained"] == "DG" for r in rows)  # a row per iteration, losses or not
    fetched = [int(r["iteration"]) for r in rows if r["d_loss"]]
    assert fetched == [0, 3, 5, 6, 7]  # every 3rd, the printed 5th, and the pass's last
    assert all(rows[i] == every[i] for i in fetched) and all(not rows[i]["g_loss"] for i in (1, 2, 4))
    last = Path(config["params_dir"]) / "pass-00000"
    a, b = params_of(tmp_path / "every" / last), params_of(tmp_path / "sparse" / last)
    assert all(np.array_equal(a[n], b[n]) for n in a)  # what is fetched does not change what is trained
    assert (tmp_path / "sparse" / config["samples_dir"] / "loss.png").is_file()


def test_a_nan_between_fetches_stops_the_run_before_the_checkpoint(tmp_path, monkeypatch):
    config = tiny_config("uniform", schedule="alternate", iters_per_pass=6, log_every=100, fetch_every=100)
    real_step, calls = train_module.train_step, []

    def poisoned_step(exe, programs, scope, schedule, real, noise, fetch_losses=True):
        calls.append(fetch_losses)
        if len(calls) == 3:  # an iteration that fetches nothing: D's weights turn NaN unseen
            w = scope.find_var("D.dis_prob.w").get_tensor()
            w.set(np.full_like(np.array(w), np.nan), paddle.CPUPlace())
        return real_step(exe, programs, scope, schedule, real, noise, fetch_losses)

    monkeypatch.setattr(train_module, "train_step", poisoned_step)
    message = r"returned loss \[nan\] at pass 0, batch 5 \(or since the last fetch of losses\).*none yet"
    with pytest.raises(Diverged, match=message):
        train(config, tmp_path)
    assert calls == [True, False, False, False, False, True]
    assert checkpoint.list_checkpoints(tmp_path / config["params_dir"]) == []


def test_a_checkpoint_trained_in_fp16_generates_and_resumes_without_amp(tmp_path):
    # No GPU here: make a CPU checkpoint look like one trained with --amp fp16 (its config, its loss scale).
    config = tiny_config("uniform", schedule="alternate")
    train(config, tmp_path)
    folder = tmp_path / config["params_dir"] / "pass-00000"
    meta = checkpoint.read_meta(folder)
    (folder / checkpoint.META_FILE).write_text(json.dumps(dict(meta, config=dict(meta["config"], amp="fp16"))))
    with open(folder / checkpoint.OPT_FILE, "rb") as f:
        opt = pickle.load(f)
    opt.update({"D.opt.loss_scaling_0": np.float32([1024.0]), "D.opt.num_good_steps_0": np.int32([7])})
    with open(folder / checkpoint.OPT_FILE, "wb") as f:
        pickle.dump(opt, f)

    assert write_picture(folder, "uniform", tmp_path / "gen").is_file()  # infer never runs in fp16
    train(updated(checkpoint.saved_config(folder), {"amp": "off", "num_passes": 2}), tmp_path, resume=folder)
    assert (tmp_path / config["params_dir"] / "pass-00001").is_dir()


def test_the_plan_fetches_every_nth_the_printed_and_the_last_iteration_and_feeds_noise_only_on_cpu():
    config = tiny_config("uniform", schedule="alternate", iters_per_pass=12, log_every=5)
    sparse = plan(updated(config, {"noise_source": "graph", "fetch_every": 4}), paddle.CPUPlace())
    assert [b for b in range(12) if sparse.fetch_losses(b)] == [0, 4, 5, 8, 10, 11]
    noise_batches = iter([{"z": np.zeros((8, 10), np.float32)}])
    assert sparse.noise(noise_batches) == {}  # drawn in the programs: nothing to feed, the stream is not read
    tutorial = plan(config, paddle.CPUPlace())
    assert all(tutorial.fetch_losses(b) for b in range(12))
    assert tutorial.noise(noise_batches)["z"].shape == (8, 10)
