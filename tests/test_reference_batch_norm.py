"""Reference batch norm in the uniform toy's D: every batch is normalised with the statistics of fixed real points."""
import numpy as np
import paddle
import pytest
from conftest import setup, tiny_config

from paddle_gan import nets
from paddle_gan.config import ConfigError, updated
from paddle_gan.programs import build_programs
from paddle_gan.readers import NoiseBatches, reference_batch, uniform_data


def d_logits(config, *batches):
    """D's logits on each of `batches` (arrays of points), from one freshly initialised D; returns (scope, logits)."""
    main, startup = paddle.static.Program(), paddle.static.Program()
    startup.random_seed = config["seed"]
    with paddle.static.program_guard(main, startup):
        x = paddle.static.data("x", [None, 2], "float32")
        reference = reference_batch(config, nets.REFERENCE_ROWS) if nets.uses_reference(config) else None
        logit = nets.discriminator(config, x, training=True, reference=reference)
    scope, exe = paddle.static.Scope(), paddle.static.Executor(paddle.CPUPlace())
    exe.run(startup, scope=scope)
    return scope, [exe.run(main, feed={"x": batch}, fetch_list=[logit], scope=scope)[0] for batch in batches]


POINTS = np.random.default_rng(0).normal(0.5, 0.6, (16, 2)).astype("float32")
# The first three points alone, and beside the other thirteen moved far away.
ALONE, AMONG_OTHERS = POINTS[:3], np.concatenate([POINTS[:3], POINTS[3:] + 5])


def numpy_d(scope, x):
    """The v0 toy's D with reference batch norm, in numpy, from the weights in `scope`."""
    def value(name):
        return np.array(scope.find_var(name).get_tensor())

    def fc(h, name):
        return h @ value(f"D.{name}.w") + value(f"D.{name}.b")
    relu = lambda h: np.maximum(h, 0)  # noqa: E731
    hidden = [fc(relu(fc(points, "dis_hidden")), "dis_hidden2") for points in (value(nets.REFERENCE), x)]
    mean, variance = hidden[0].mean(0), hidden[0].var(0)
    normed = (hidden[1] - mean) / np.sqrt(variance + 1e-5) * value("D.dis_hidden_bn.w") + value("D.dis_hidden_bn.b")
    return fc(relu(normed), "dis_prob")


def test_d_normalises_every_batch_with_the_reference_points():
    scope, (logits, alone, among_others) = d_logits(tiny_config("uniform", d_reference_batch=True), POINTS, ALONE,
                                                    AMONG_OTHERS)
    np.testing.assert_allclose(logits, numpy_d(scope, POINTS), rtol=1e-4, atol=1e-5)
    # A point's logit does not depend on the batch it comes in: batch norm over the batch itself would change it.
    np.testing.assert_allclose(alone, logits[:3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(among_others[:3], logits[:3], rtol=1e-5, atol=1e-6)


def test_with_batch_norm_over_the_batch_a_points_logit_depends_on_the_others():
    # What the reference fixes, shown on the v0 D: the same check fails there.
    _, (logits, among_others) = d_logits(tiny_config("uniform", d_reference_batch=False), POINTS, AMONG_OTHERS)
    assert not np.allclose(among_others[:3], logits[:3], rtol=1e-3)


def test_the_reference_points_are_real_points_that_no_program_moves():
    config = tiny_config("uniform", d_reference_batch=True)
    programs, scope, exe = setup(config)
    points = reference_batch(config, nets.REFERENCE_ROWS)
    data = uniform_data(config["num_samples"], config["seed"])
    rows = {tuple(row) for row in data}
    assert len(np.unique(points, axis=0)) == nets.REFERENCE_ROWS and all(tuple(p) in rows for p in points)
    np.testing.assert_array_equal(np.array(scope.find_var(nets.REFERENCE).get_tensor()), points)

    noise = next(NoiseBatches("normal", config["batch_size"], config["noise_dim"], 0))
    real = {"img": uniform_data(config["batch_size"], 1)}
    for step, feed in (("losses", {**real, **noise}), ("d_fake", noise), ("d_real", real), ("g", noise)):
        exe.run(getattr(programs, step), feed=feed, fetch_list=programs.fetch[step], scope=scope)
    np.testing.assert_array_equal(np.array(scope.find_var(nets.REFERENCE).get_tensor()), points)
    other = reference_batch(dict(config, seed=config["seed"] + 1), nets.REFERENCE_ROWS)
    assert not np.array_equal(other, points)  # the run's seed draws them


def test_reference_batch_norm_only_where_it_is_built():
    with pytest.raises(ConfigError, match="the toys' D"):
        updated(tiny_config("mnist"), {"d_reference_batch": True})


def test_without_batch_norm_there_is_no_reference():
    programs = build_programs(tiny_config("uniform", d_reference_batch=True, d_batch_norm=False))
    assert nets.REFERENCE not in {p.name for p in programs.d_real.global_block().all_parameters()}


def test_too_few_samples_for_the_reference_is_a_clear_error(tmp_path, capsys):
    from paddle_gan.train import main
    code = main(["-d", "uniform", "-o", "d_reference_batch=true", "-o", "num_samples=100", "--batch_size", "8",
                 "--output_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("error: ") and "reference batch norm" in err and len(err.splitlines()) == 1
