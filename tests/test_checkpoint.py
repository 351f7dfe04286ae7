"""Checkpoints restore bit for bit and refuse what does not fit."""
import pickle

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


def values(scope, names):
    return {n: np.array(scope.find_var(n).get_tensor()) for n in names}


def test_save_then_load_restores_every_parameter_bit_for_bit(tmp_path):
    config = tiny_config("mnist")
    programs, scope, exe = started(config)
    z = np.random.default_rng(0).standard_normal((8, 100)).astype("float32")
    exe.run(programs.g, feed={"z": z}, fetch_list=programs.fetch["g"], scope=scope)  # move away from the init
    checkpoint.save(tmp_path / "pass-00000", scope, programs, config)
    params, opt_state = checkpoint.persistable_names(programs)
    assert any(n.endswith("_mean") for n in params) and any("moment1" in n for n in opt_state)

    other_programs, other_scope, _ = started(tiny_config("mnist", seed=99))
    checkpoint.load_params(tmp_path / "pass-00000", other_scope, paddle.CPUPlace())
    saved, loaded = values(scope, params), values(other_scope, params)
    assert all(np.array_equal(saved[n], loaded[n]) and saved[n].dtype == loaded[n].dtype for n in params)
    with open(tmp_path / "pass-00000" / checkpoint.OPT_FILE, "rb") as f:
        opt = pickle.load(f)
    assert set(opt) == set(opt_state)
    assert checkpoint.load_config(tmp_path / "pass-00000") == config


def test_loading_another_networks_checkpoint_is_refused(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    checkpoint.save(tmp_path / "ckpt", scope, programs, config)
    _, mnist_scope, _ = started(tiny_config("mnist"))
    with pytest.raises(checkpoint.CheckpointError, match="another network"):
        checkpoint.load_params(tmp_path / "ckpt", mnist_scope, paddle.CPUPlace())


def test_save_replaces_an_existing_folder_and_leaves_no_temporary(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    target = tmp_path / "pass-00000"
    target.mkdir()
    (target / "stale").write_text("old")
    checkpoint.save(target, scope, programs, config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pass-00000"]
    assert not (target / "stale").exists()


def test_corrupt_params_file_is_named(tmp_path):
    config = tiny_config("uniform")
    programs, scope, _ = started(config)
    checkpoint.save(tmp_path / "c", scope, programs, config)
    (tmp_path / "c" / checkpoint.PARAMS_FILE).write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="model.pdparams cannot be read"):
        checkpoint.load_params(tmp_path / "c", scope, paddle.CPUPlace())
