"""Checkpoints restore bit for bit and refuse what does not fit."""
import json
import os
import pickle
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import tiny_config

from paddle_gan import checkpoint
from paddle_gan.programs import build_programs


def started(config):
    programs = build_programs(config)
    scope, exe = paddle.static.Scope(), paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    return programs, scope, exe


def meta(config, pass_id=0, batch=None):
    batch = config["iters_per_pass"] if batch is None else batch
    return checkpoint.make_meta(config, pass_id, batch, pass_id * config["iters_per_pass"] + batch, {})


def values(scope, names):
    return {n: np.array(scope.find_var(n).get_tensor()) for n in names}


def test_save_then_load_restores_every_parameter_bit_for_bit(tmp_path):
    config = tiny_config("mnist")
    programs, scope, exe = started(config)
    z = np.random.default_rng(0).standard_normal((8, 100)).astype("float32")
    exe.run(programs.g, feed={"z": z}, fetch_list=programs.fetch["g"], scope=scope)  # move away from the init
    checkpoint.save(tmp_path / "pass-00000", scope, programs, meta(config))
    params, opt_state = checkpoint.persistable_names(programs)
    assert any(n.endswith("_mean") for n in params) and any("moment1" in n for n in opt_state)

    other_programs, other_scope, _ = started(tiny_config("mnist", seed=99))
    checkpoint.load_params(tmp_path / "pass-00000", other_scope, paddle.CPUPlace(),
                           checkpoint.persistable_names(other_programs)[0])
    saved, loaded = values(scope, params), values(other_scope, params)
    assert all(np.array_equal(saved[n], loaded[n]) and saved[n].dtype == loaded[n].dtype for n in params)
    with open(tmp_path / "pass-00000" / checkpoint.OPT_FILE, "rb") as f:
        opt = pickle.load(f)
    assert set(opt) == set(opt_state)
    assert checkpoint.saved_config(tmp_path / "pass-00000") == config


def test_loading_another_networks_checkpoint_is_refused(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    checkpoint.save(tmp_path / "ckpt", scope, programs, meta(config))
    mnist_programs, mnist_scope, _ = started(tiny_config("mnist"))
    with pytest.raises(checkpoint.CheckpointError, match="another network"):
        checkpoint.load_params(tmp_path / "ckpt", mnist_scope, paddle.CPUPlace(),
                               checkpoint.persistable_names(mnist_programs)[0])


def test_save_replaces_an_existing_folder_and_leaves_no_temporary(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    target = tmp_path / "pass-00000"
    target.mkdir()
    (target / "stale").write_text("old")
    checkpoint.save(target, scope, programs, meta(config))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass-00000"]
    assert not (target / "stale").exists()


def test_corrupt_params_file_is_named(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    checkpoint.save(tmp_path / "c", scope, programs, meta(config))
    (tmp_path / "c" / checkpoint.PARAMS_FILE).write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="model.pdparams cannot be read"):
        checkpoint.load_params(tmp_path / "c", scope, paddle.CPUPlace(), checkpoint.persistable_names(programs)[0])


@pytest.mark.parametrize("damage, message", [
    (lambda values: {k: v for k, v in values.items() if not k.startswith("D.")},
     r"lacks D\.\S+, D\.\S+, D\.\S+ and \d+ more"),
    (lambda values: {k: v for k, v in values.items() if k != "G.gen_layer1.w"}, r"lacks G\.gen_layer1\.w, which"),
    (lambda values: {**values, "D.extra.w": np.zeros(3, "float32")}, r"has D\.extra\.w, which this network does not"),
    (lambda values: {**values, "G.gen_layer1.w": np.zeros((3, 3), "float32")}, r"G\.gen_layer1\.w has shape \(3, 3\)"),
    (lambda values: {**values, "G.gen_layer1.w": values["G.gen_layer1.w"].astype("float64")},
     r"G\.gen_layer1\.w holds float64 numbers, the network expects float32"),
    (lambda values: list(values.values()), "not a checkpoint file"),
    (lambda values: {k: v.tolist() for k, v in values.items()}, "not a checkpoint file"),
])
def test_a_checkpoint_missing_extra_or_misshaped_parameters_is_refused_by_name(tmp_path, damage, message):
    """Loading it anyway would resume with freshly initialised weights where values are missing."""
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    checkpoint.save(tmp_path / "c", scope, programs, meta(config))
    file = tmp_path / "c" / checkpoint.PARAMS_FILE
    file.write_bytes(pickle.dumps(damage(pickle.loads(file.read_bytes()))))
    with pytest.raises(checkpoint.CheckpointError, match=message):
        checkpoint.load_params(tmp_path / "c", scope, paddle.CPUPlace(), checkpoint.persistable_names(programs)[0])


def test_a_save_cut_off_half_way_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    config = tiny_config("uniform")
    programs, scope, exe = started(config)
    checkpoint.save(checkpoint.pass_dir(tmp_path, 0), scope, programs, meta(config, 0))
    before = (tmp_path / "pass-00000" / checkpoint.PARAMS_FILE).read_bytes()
    z = np.random.default_rng(0).standard_normal((8, 10)).astype("float32")
    exe.run(programs.g, feed={"z": z}, fetch_list=programs.fetch["g"], scope=scope)

    def power_cut(path, data):  # the process dies once the parameters are on disk, before the rest
        if path.name != checkpoint.PARAMS_FILE:
            raise KeyboardInterrupt
        real_write(path, data)
    real_write = checkpoint._write_synced
    monkeypatch.setattr(checkpoint, "_write_synced", power_cut)
    for target in (checkpoint.pass_dir(tmp_path, 0), checkpoint.pass_dir(tmp_path, 1)):
        with pytest.raises(KeyboardInterrupt):
            checkpoint.save(target, scope, programs, meta(config, 1))
    assert (tmp_path / "pass-00000" / checkpoint.PARAMS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass-00000"]

    # A process killed outright leaves its temporary folder; it is never taken for a checkpoint.
    (tmp_path / ".pass-00001.tmp-999").mkdir()
    (tmp_path / ".pass-00001.tmp-999" / checkpoint.META_FILE).write_text("{}")
    assert checkpoint.latest(tmp_path) == tmp_path / "pass-00000"
    assert checkpoint.remove_unfinished(tmp_path) == [".pass-00001.tmp-999"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass-00000"]


def test_checkpoints_are_ordered_by_pass_then_batch_and_pruned_oldest_first(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    for pass_id, batch in ((0, None), (1, 2), (1, None), (10, None), (2, 1)):
        checkpoint.save(checkpoint.pass_dir(tmp_path, pass_id, batch), scope, programs, meta(config, pass_id))
    (tmp_path / "pass-00011").mkdir()  # no meta.json: not a checkpoint
    names = [p.name for p in checkpoint.list_checkpoints(tmp_path)]
    assert names == ["pass-00000", "pass-00001-batch-00002", "pass-00001", "pass-00002-batch-00001", "pass-00010"]
    checkpoint.prune(tmp_path, 2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["pass-00002-batch-00001", "pass-00010"]
    checkpoint.prune(tmp_path, 0)
    assert len(checkpoint.list_checkpoints(tmp_path)) == 2


def test_parameters_that_are_not_finite_are_never_saved(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    name = checkpoint.persistable_names(programs)[0][0]
    tensor = scope.find_var(name).get_tensor()
    broken = np.array(tensor)
    broken.flat[0] = np.nan
    tensor.set(broken, paddle.CPUPlace())
    with pytest.raises(checkpoint.NotFiniteError, match=f"{name} holds NaN or inf"):
        checkpoint.save(tmp_path / "pass-00000", scope, programs, meta(config))
    assert list(tmp_path.iterdir()) == []


def test_meta_records_versions_position_and_config(tmp_path):
    config = tiny_config("mnist")
    programs, scope, _ = started(config)
    checkpoint.save(tmp_path / "pass-00003-batch-00002", scope, programs, meta(config, 3, 2))
    saved = checkpoint.read_meta(tmp_path / "pass-00003-batch-00002")
    assert saved["paddle"] == paddle.__version__ and saved["paddle_gan"]
    assert (saved["pass"], saved["batch"], saved["iteration"]) == (3, 2, 3 * config["iters_per_pass"] + 2)
    assert saved["config"] == config and saved["time"]


def test_a_checkpoint_for_another_network_is_refused_by_name(tmp_path):
    config = tiny_config("mnist")
    with pytest.raises(checkpoint.CheckpointError, match="made for another network .noise_dim=100.*noise_dim=64"):
        checkpoint.check_network(tmp_path, config, dict(config, noise_dim=64))
    checkpoint.check_network(tmp_path, config, dict(config, lr=1.0))  # not a network setting
    # a conditional GAN's checkpoint says so, not which tensor has which shape
    with pytest.raises(checkpoint.CheckpointError, match="made for another network .conditional=True.*"
                                                         "this run has conditional=False"):
        checkpoint.check_network(tmp_path, dict(config, conditional=True), config)


@pytest.mark.parametrize("edit", [
    lambda m: m.pop("train_state"),
    lambda m: m.pop("iteration"),
    lambda m: m.update(batch="3"),
    lambda m: m.update(train_state={"schedule": {}}),
    lambda m: m.update(train_state={"real_batches": [1], "noise_batches": None, "schedule": 5}),
], ids=["no train_state", "no iteration", "batch a string", "streams missing", "streams garbled"])
def test_a_damaged_meta_json_ends_a_resume_in_one_line(tmp_path, capsys, edit):
    from paddle_gan import train
    args = ["-d", "uniform", "--num_passes", "1", "--iters_per_pass", "2", "--output_dir", str(tmp_path),
            "--nproc", "1"]
    assert train.main(args) == 0
    file = tmp_path / "uniform_params" / "pass-00000" / checkpoint.META_FILE
    saved = json.loads(file.read_text())
    edit(saved)
    file.write_text(json.dumps(saved))
    capsys.readouterr()
    assert train.main([*args, "--num_passes", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "pick another checkpoint folder" in err, err


def test_an_overwrite_cut_off_between_its_renames_puts_the_old_copy_back(tmp_path, monkeypatch):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    target = checkpoint.pass_dir(tmp_path, 0)
    checkpoint.save(target, scope, programs, meta(config, 0))
    saved = {name: (target / name).read_bytes() for name in (checkpoint.PARAMS_FILE, checkpoint.META_FILE)}

    real_replace = os.replace

    def killed_after_moving_aside(source, destination):  # the first rename happens, the process dies before the next
        real_replace(source, destination)
        if ".old-" in Path(destination).name:
            raise KeyboardInterrupt
    monkeypatch.setattr(checkpoint.os, "replace", killed_after_moving_aside)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(target, scope, programs, meta(config, 0))
    monkeypatch.setattr(checkpoint.os, "replace", real_replace)
    assert not target.exists() and checkpoint.latest(tmp_path) is None  # only the aside copy holds pass 0

    # what a --resume does first (run_folder.prepare): the aside copy goes back, whole, and nothing is deleted
    assert checkpoint.put_back_moved_aside(tmp_path, log=lambda message: None) == ["pass-00000"]
    assert checkpoint.remove_unfinished(tmp_path) == []
    assert checkpoint.latest(tmp_path) == target
    assert {name: (target / name).read_bytes() for name in saved} == saved

    # killed after both renames, before the old copy was deleted: the new folder stays, the old one goes
    (tmp_path / ".pass-00000.old-4242").mkdir()
    (tmp_path / ".pass-00000.old-4242" / checkpoint.META_FILE).write_text("{}")
    assert checkpoint.put_back_moved_aside(tmp_path) == []
    assert checkpoint.remove_unfinished(tmp_path) == [".pass-00000.old-4242"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass-00000"]
