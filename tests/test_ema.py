"""ema: the g program averages G's weights into G_ema as the formula says, and G_ema is what draws the samples."""
import pickle

import numpy as np
import pytest
from conftest import restore, setup, snapshot, tiny_config, write_mnist

from paddle_gan import checkpoint, ema
from paddle_gan.config import updated
from paddle_gan.programs import build_programs, get_params
from paddle_gan.readers import noise
from paddle_gan.train import train


def weights(program, net):
    """The parameters of `net` ("G" or "G_ema") in `program` that the averaging touches: not the statistics."""
    return [p for p in get_params(program, net + ".") if not p.stop_gradient and p.name != ema.UPDATES]


def updates(scope):
    return float(np.array(scope.find_var(ema.UPDATES).get_tensor())[0])


@pytest.mark.parametrize("dataset", ["uniform", "mnist"])
def test_each_g_step_averages_g_into_g_ema_as_the_numpy_reference_does(dataset):
    config = tiny_config(dataset, ema_decay=0.6)
    programs, scope, exe = setup(config)
    g, g_ema = weights(programs.g, "G"), weights(programs.g, ema.NET)
    assert [p.name for p in g_ema] == [p.name.replace("G.", "G_ema.", 1) for p in g]
    averaged = {p.name: v.astype(np.float64) for p, v in zip(g_ema, snapshot(scope, g_ema).values())}
    for step in range(12):  # through the warm-up ((1 + n) / (10 + n) < 0.6 for n < 12.5) and past it
        assert updates(scope) == step
        exe.run(programs.g, feed={"z": noise(config, 8, seed=step)}, fetch_list=programs.fetch["g"], scope=scope)
        decay = min(0.6, (1 + step) / (10 + step))
        current = snapshot(scope, g)  # G after this step's Adam update
        for p in g_ema:
            averaged[p.name] = decay * averaged[p.name] + (1 - decay) * current[p.name.replace("G_ema.", "G.", 1)]
        for p in g_ema:
            np.testing.assert_allclose(np.array(scope.find_var(p.name).get_tensor()), averaged[p.name], rtol=2e-5,
                                       atol=1e-7, err_msg=p.name)


def test_g_ema_keeps_batch_norm_statistics_of_its_own_activations():
    config = tiny_config("mnist", ema_decay=0.999)
    programs, scope, exe = setup(config)
    stats = [p for p in get_params(programs.g, ema.NET + ".") if p.stop_gradient and p.name != ema.UPDATES]
    assert stats and all(p.name.endswith(("_mean", "_variance")) for p in stats)
    before = snapshot(scope, stats)
    for step in range(3):
        exe.run(programs.g, feed={"z": noise(config, 8, seed=step)}, fetch_list=programs.fetch["g"], scope=scope)
    after = snapshot(scope, stats)
    assert all(not np.array_equal(before[n], after[n]) for n in before)  # G_ema's forward pass moved them
    g_means = {n: np.array(scope.find_var(n.replace("G_ema.", "G.", 1)).get_tensor()) for n in after}
    assert not all(np.array_equal(after[n], g_means[n]) for n in after)  # its own, not copies of G's


def test_infer_draws_from_the_averaged_weights_and_without_averaging_from_g():
    config = tiny_config("mnist", ema_decay=0.999)
    programs, scope, exe = setup(config)
    plain = build_programs(updated(config, {"ema_decay": 0.0}))  # the same names, infer from G: one scope
    z = noise(config, 8, seed=1)

    def drawn(which):
        return exe.run(which.infer, feed={"z": z}, fetch_list=which.fetch["infer"], scope=scope)[0]
    from_g = drawn(plain)
    g_params = get_params(programs.g, "G.")
    copy = {name.replace("G.", "G_ema.", 1): value for name, value in snapshot(scope, g_params).items()}
    restore(scope, copy)  # G_ema := G, statistics included
    np.testing.assert_array_equal(drawn(programs), from_g)
    moved = {n: v + 0.05 for n, v in copy.items() if n.endswith(".w")}
    restore(scope, moved)
    assert not np.allclose(drawn(programs), from_g)  # infer follows G_ema ...
    np.testing.assert_array_equal(drawn(plain), from_g)  # ... and G's own samples did not move


def test_checkpoints_hold_g_ema_and_the_step_count_and_resume_exactly(tmp_path):
    write_mnist(tmp_path / "data", n=20)
    config = tiny_config("mnist", data_dir=str(tmp_path / "data"), schedule="kstep", d_steps=1, g_steps=1,
                         iters_per_pass=3, num_passes=3, ema_decay=0.99)
    train(config, tmp_path / "straight")
    train(dict(config, num_passes=1), tmp_path / "resumed")
    train(config, tmp_path / "resumed", resume=tmp_path / "resumed" / "mnist_params" / "pass-00000")
    saved = []
    for run in ("straight", "resumed"):
        folder = tmp_path / run / "mnist_params" / "pass-00002"
        params = pickle.loads((folder / checkpoint.PARAMS_FILE).read_bytes())
        state = pickle.loads((folder / checkpoint.OPT_FILE).read_bytes())
        saved.append({**params, **state})
    straight, resumed = saved
    assert any(n.startswith("G_ema.") for n in straight) and ema.UPDATES in straight
    assert straight[ema.UPDATES][0] == 4  # kstep 1+1 over 9 iterations: g ran at iterations 1, 3, 5 and 7
    assert straight.keys() == resumed.keys()
    assert all(np.array_equal(straight[n], resumed[n]) for n in straight)


def test_without_averaging_there_is_no_g_ema_and_switching_it_on_a_resume_is_refused(tmp_path):
    config = tiny_config("uniform", ema_decay=0.0)
    train(config, tmp_path)
    folder = tmp_path / "uniform_params" / "pass-00000"
    assert not any(n.startswith("G_ema") for n in pickle.loads((folder / checkpoint.PARAMS_FILE).read_bytes()))
    with pytest.raises(checkpoint.CheckpointError, match="trained without an averaged generator.*keep ema_decay at 0"):
        train(updated(config, {"ema_decay": 0.999, "num_passes": 2}), tmp_path, resume=folder)
