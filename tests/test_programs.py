"""The four programs share parameters by name, and each optimizer moves only its own network."""
import numpy as np
import pytest
from conftest import restore, setup, snapshot, tiny_config

from paddle_gan import ema
from paddle_gan.programs import build_programs, get_params
from paddle_gan.readers import NoiseBatches, uniform_data

CONFIGS = {
    "uniform": dict(dataset="uniform"),
    "v0_dcgan_mnist": dict(dataset="mnist"),
    "v0_dcgan_mnist, D updated on the summed loss": dict(dataset="mnist", d_update="sum"),
    "v0_dcgan_mnist, one D update per program": dict(dataset="mnist", d_update="each"),
    "v0_dcgan_cifar": dict(dataset="cifar"),
    "fluid_dcgan": dict(dataset="mnist", network="fluid_dcgan", d_batch_norm=True),
    "cgan_mnist": dict(dataset="mnist", conditional=True),
    "cgan_fluid": dict(dataset="mnist", network="fluid_dcgan", conditional=True),
    "cgan_cifar": dict(dataset="cifar", conditional=True),
    "basic_mlp": dict(dataset="mnist", network="basic_mlp", d_batch_norm=False),
}


def names(program, prefix):
    return sorted(p.name for p in get_params(program, prefix))


def is_statistic(name):
    return name.endswith(("_mean", "_variance"))


def feeds(config, seed=0):
    shape = (config["batch_size"], 2) if config["dataset"] == "uniform" else \
        (config["batch_size"], 1, 28, 28) if config["dataset"] == "mnist" else (config["batch_size"], 3, 32, 32)
    rng = np.random.default_rng(seed)
    img = uniform_data(config["batch_size"], seed) if len(shape) == 2 else rng.uniform(-1, 1, shape).astype("float32")
    noise = next(NoiseBatches("normal", config["batch_size"], config["noise_dim"], seed, 10 * config["conditional"]))
    real = {"img": img}
    if config["conditional"]:
        real["img_label"] = rng.integers(0, 10, config["batch_size"])
    return real, noise


@pytest.mark.parametrize("name", CONFIGS)
def test_parameter_names_shared_across_programs(name):
    for ema_decay in (0.0, 0.999):  # infer draws from G, or from the averaged G_ema that g keeps
        programs = build_programs(tiny_config(**CONFIGS[name], ema_decay=ema_decay))
        d_names = names(programs.d_real, "D.")
        assert d_names and d_names == names(programs.d_fake, "D.") == names(programs.g, "D.")
        g_names = names(programs.d_fake, "G.")
        assert g_names and g_names == names(programs.g, "G.")
        drawn_by = "G_ema." if ema_decay else "G."
        assert names(programs.infer, drawn_by) == [n.replace("G.", drawn_by, 1) for n in g_names]
        averaged = [n for n in names(programs.g, "G_ema.") if n != ema.UPDATES]  # the averaging's step count
        assert averaged == (names(programs.infer, "G_ema.") if ema_decay else [])
        assert names(programs.infer, "D.") == [] and names(programs.infer, "G." if ema_decay else "G_ema.") == []
        assert names(programs.d_real, "G.") == []
        every = [p.name for p in programs.g.global_block().all_parameters()]
        assert all(n.startswith(("G.", "D.", ema.NET + ".")) for n in every), \
            "an unnamed parameter would silently not be shared"
        for program in (programs.d_real, programs.d_fake, programs.g, programs.infer, programs.losses):
            declared = [p.name for p in program.global_block().all_parameters()]
            # Paddle 3 declares a parameter again for every layer built with its name: Adam would move it twice
            assert len(declared) == len(set(declared)), "a parameter declared twice in one program"


@pytest.mark.parametrize("name", CONFIGS)
def test_each_optimizer_moves_only_its_own_network(name):
    config = tiny_config(**CONFIGS[name])
    programs, scope, exe = setup(config)
    g_params, d_params = get_params(programs.g, "G."), get_params(programs.g, "D.")
    real, noise = feeds(config)

    # with d_update=sum d_fake only keeps D's gradients: d_real, after it, takes the one step (test_d_update.py)
    d_fake_trains, d_fake_keeps = (d_params, g_params) if config["d_update"] == "each" else ([], g_params + d_params)
    for step, feed, trained, frozen in (("d_fake", noise, d_fake_trains, d_fake_keeps),
                                        ("d_real", real, d_params, g_params), ("g", noise, g_params, d_params)):
        before_trained, before_frozen = snapshot(scope, trained), snapshot(scope, frozen)
        exe.run(getattr(programs, step), feed=feed, fetch_list=programs.fetch[step], scope=scope)
        after_trained, after_frozen = snapshot(scope, trained), snapshot(scope, frozen)
        weights = [n for n in before_trained if not is_statistic(n)]
        assert not trained or any(not np.array_equal(before_trained[n], after_trained[n]) for n in weights), \
            f"{step} trained nothing"
        for n in before_frozen:
            if not is_statistic(n):  # batch-norm statistics move in any program that runs the layer in training mode
                assert np.array_equal(before_frozen[n], after_frozen[n]), f"{step} changed {n}"


def test_d_real_update_is_seen_by_d_fake():
    config = tiny_config("mnist")
    programs, scope, exe = setup(config)
    real, noise = feeds(config)
    start = snapshot(scope, get_params(programs.g, ""))

    def d_fake_loss():
        return float(exe.run(programs.d_fake, feed=noise, fetch_list=programs.fetch["d_fake"], scope=scope)[0])

    untouched = d_fake_loss()
    restore(scope, start)
    assert d_fake_loss() == untouched  # the same start gives the same loss: the difference below is d_real's doing
    restore(scope, start)
    exe.run(programs.d_real, feed=real, fetch_list=programs.fetch["d_real"], scope=scope)
    assert d_fake_loss() != untouched


def test_d_real_and_d_fake_share_one_adam_state_apart_from_g():
    # with one update per program (d_update=sum has one Adam, d_real's: test_d_update.py)
    programs = build_programs(tiny_config("mnist", d_update="each"))

    def optimizer_state(program):
        params = {p.name for p in program.global_block().all_parameters()}
        return {v.name for v in program.list_vars() if v.persistable and v.name not in params}

    d_real, d_fake, g = (optimizer_state(p) for p in (programs.d_real, programs.d_fake, programs.g))
    assert d_real and d_real == d_fake
    assert g and not g & d_real
    assert all(n.startswith("D.opt.") for n in d_real) and all(n.startswith("G.opt.") for n in g)


def test_infer_uses_moving_statistics():
    config = tiny_config("mnist")
    programs, scope, exe = setup(config)
    _, noise = feeds(config)
    whole = exe.run(programs.infer, feed=noise, fetch_list=programs.fetch["infer"], scope=scope)[0]
    single = exe.run(programs.infer, feed={"z": noise["z"][:1]}, fetch_list=programs.fetch["infer"], scope=scope)[0]
    np.testing.assert_allclose(single[0], whole[0], atol=1e-6)  # batch statistics would make these differ
    assert whole.shape == (config["batch_size"], 1, 28, 28)
    assert -1 <= whole.min() and whole.max() <= 1


def test_losses_program_scores_the_real_batch_like_d_real():
    config = tiny_config("uniform", d_batch_norm=False)  # without batch norm, D is the same in train and eval mode
    programs, scope, exe = setup(config)
    real, noise = feeds(config)
    d_pos, d_neg, g_loss = exe.run(programs.losses, feed={**real, **noise}, fetch_list=programs.fetch["losses"],
                                   scope=scope)
    d_real_loss = exe.run(programs.d_real, feed=real, fetch_list=programs.fetch["d_real"], scope=scope)[0]
    np.testing.assert_allclose(d_pos, d_real_loss, rtol=1e-6)
    # against 0 the loss is mean softplus(l), against 1 mean softplus(-l): equal only if the logits average 0
    assert np.isfinite(d_neg) and np.isfinite(g_loss) and not np.isclose(d_neg, g_loss)


def test_the_label_reaches_g_and_d():
    config = tiny_config("mnist", conditional=True)
    programs, scope, exe = setup(config)
    real, noise = feeds(config)
    other = (noise["label"] + 1) % 10  # every row asks for another class

    def infer(label):
        return exe.run(programs.infer, feed={"z": noise["z"], "label": label}, fetch_list=programs.fetch["infer"],
                       scope=scope)[0]

    def d_outputs(img_label, label):
        return exe.run(programs.losses, feed={**real, "img_label": img_label, "z": noise["z"], "label": label},
                       fetch_list=programs.fetch["d_outputs"], scope=scope)

    np.testing.assert_array_equal(infer(noise["label"]), infer(noise["label"]))  # no randomness in the way
    changed = np.abs(infer(other) - infer(noise["label"])).reshape(len(other), -1).max(axis=1)
    assert (changed > 0).all()  # each image follows its own label
    d_x, d_gz = d_outputs(real["img_label"], noise["label"])
    d_x_other, _ = d_outputs((real["img_label"] + 1) % 10, noise["label"])
    _, d_gz_other = d_outputs(real["img_label"], other)
    assert d_x_other != d_x and d_gz_other != d_gz  # D judges the real images and the fakes with their labels


def test_same_seed_same_initial_parameters_whatever_was_built_before():
    # First the 2-D toy with another seed: its D's reference batch norm creates its scale directly, and a Paddle
    # initializer shared between networks kept that program's seed for good (a notebook that trained the toy, then
    # MNIST, started MNIST from the toy's seed).
    setup(tiny_config("uniform", seed=1))
    config = tiny_config("mnist")
    first, second = setup(config), setup(config)
    params = get_params(first[0].g, "")
    a, b = snapshot(first[1], params), snapshot(second[1], params)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    other = setup(tiny_config("mnist", seed=8))
    c = snapshot(other[1], params)
    drawn = [n for n in a if np.ptp(a[n]) > 0]  # the random ones: weights, batch-norm scales (not biases at 0)
    assert any(n.endswith("_bn.w") for n in drawn) and any(n.endswith("h1.w") for n in drawn)
    assert not any(np.array_equal(a[n], c[n]) for n in drawn)  # every layer starts from the run's own seed
    again = snapshot(setup(config)[1], params)  # and the seed-8 run left nothing behind
    assert all(np.array_equal(a[n], again[n]) for n in a)


def test_every_layer_starts_from_its_own_numbers():
    # A seed on the programs gave every initializer op the same one: every weight of both networks began with the
    # same numbers (D's first filters were G's last ones), every batch-norm scale was the same vector.
    programs, scope, _ = setup(tiny_config("mnist"))
    values = snapshot(scope, get_params(programs.g, ""))
    starts = {name: tuple(v.ravel()[:4]) for name, v in values.items() if np.ptp(v) > 0}
    assert len(starts) >= 12 and len(set(starts.values())) == len(starts)


def test_d_outputs_are_ds_probabilities_on_the_same_batches_as_the_losses():
    config = tiny_config("uniform", batch_size=1)
    programs, scope, exe = setup(config)
    img = uniform_data(1, seed=0)[None, 0].astype("float32")
    z = next(NoiseBatches("normal", 1, config["noise_dim"], seed=0))["z"]
    feed = {"img": img, "z": z}
    d_pos, d_neg, _ = exe.run(programs.losses, feed=feed, fetch_list=programs.fetch["losses"], scope=scope)
    d_x, d_gz = exe.run(programs.losses, feed=feed, fetch_list=programs.fetch["d_outputs"], scope=scope)
    # One sample each: d_pos_loss = -log D(x) and d_neg_loss = -log(1 - D(G(z))).
    np.testing.assert_allclose(float(d_x), np.exp(-float(d_pos)), rtol=1e-5)
    np.testing.assert_allclose(float(d_gz), 1 - np.exp(-float(d_neg)), rtol=1e-5)


def test_d_lr_gives_d_its_own_rate_and_real_label_is_d_reals_target():
    config = tiny_config("mnist", lr=2e-4, d_lr=5e-5, real_label=0.9)
    programs, scope, exe = setup(config)
    rates = {net: float(np.array(scope.find_var(name).get_tensor())) for net, name in programs.learning_rates.items()}
    assert rates == {"G": pytest.approx(2e-4), "D": pytest.approx(5e-5)}

    # The logit loss is linear in its target: d_pos_loss at 0.9 lies where the line through 1 and 0.5 says.
    real, noise = feeds(config)
    d_pos = {}
    for label in (1.0, 0.9, 0.5):
        built = build_programs(dict(config, real_label=label))  # the same parameter names: the same scope
        d_pos[label] = exe.run(built.losses, feed={**real, **noise}, fetch_list=built.fetch["losses"][:1],
                               scope=scope)[0]
    assert d_pos[0.5] != pytest.approx(d_pos[1.0])
    assert d_pos[0.9] == pytest.approx(d_pos[1.0] + 0.2 * (d_pos[0.5] - d_pos[1.0]), rel=1e-5)
