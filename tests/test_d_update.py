"""How a D iteration updates D (config `d_update`): one Adam step per program ("each", the tutorials') or one Adam
step on the summed loss of d_fake and d_real ("sum"), checked against numpy on the uniform toy's small nets."""
import numpy as np
import pytest
from conftest import setup, snapshot, tiny_config

from paddle_gan.config import ConfigError, updated
from paddle_gan.programs import KEPT_GRADIENT, get_params
from paddle_gan.readers import NoiseBatches, uniform_data

BETA2, EPSILON = 0.999, 1e-8  # Paddle's Adam defaults


def toy_config(d_update):
    # Without D's batch norm the numpy D below is three layers; a rate large enough to move every weight visibly.
    return tiny_config("uniform", d_update=d_update, d_batch_norm=False, d_reference_batch=False, lr=1e-2, d_lr=0.0,
                       beta1=0.5, ema_decay=0.0)


def relu(x):
    return np.maximum(x, 0)


def generator(p, z):
    """nets.v0_mlp_generator in training mode (batch norm on the batch's own statistics)."""
    h = relu(z @ p["G.gen_layer_hidden.w"] + p["G.gen_layer_hidden.b"])
    h = h @ p["G.gen_hidden2.w"] + p["G.gen_hidden2.b"]
    h = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-5) * p["G.gen_layer_hidden_bn.w"] + p["G.gen_layer_hidden_bn.b"]
    return relu(h) @ p["G.gen_layer1.w"] + p["G.gen_layer1.b"]


def d_gradients(p, x, label):
    """The gradients of nets.v0_mlp_discriminator's (no batch norm) mean logit loss against `label`."""
    h1 = x @ p["D.dis_hidden.w"] + p["D.dis_hidden.b"]
    h2 = relu(h1) @ p["D.dis_hidden2.w"] + p["D.dis_hidden2.b"]
    logit = relu(h2) @ p["D.dis_prob.w"] + p["D.dis_prob.b"]
    d_logit = (1 / (1 + np.exp(-logit)) - label) / len(x)
    d_h2 = d_logit @ p["D.dis_prob.w"].T * (h2 > 0)
    d_h1 = d_h2 @ p["D.dis_hidden2.w"].T * (h1 > 0)
    return {"D.dis_prob.w": relu(h2).T @ d_logit, "D.dis_prob.b": d_logit.sum(0),
            "D.dis_hidden2.w": relu(h1).T @ d_h2, "D.dis_hidden2.b": d_h2.sum(0),
            "D.dis_hidden.w": x.T @ d_h1, "D.dis_hidden.b": d_h1.sum(0)}


def adam_step(params, grads, state, lr, beta1):
    state["t"] += 1
    t = state["t"]
    for name, grad in grads.items():
        m = state.setdefault("m", {}).setdefault(name, 0) * beta1 + (1 - beta1) * grad
        v = state.setdefault("v", {}).setdefault(name, 0) * BETA2 + (1 - BETA2) * grad ** 2
        state["m"][name], state["v"][name] = m, v
        params[name] = params[name] - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - BETA2 ** t)) + EPSILON)


def reference_d_iterations(params, real, z, d_update, lr, beta1, iterations):
    """D's parameters after `iterations` D iterations (d_fake, then d_real) in numpy."""
    params = {k: v.astype(np.float64) for k, v in params.items()}
    state = {"t": 0}
    for _ in range(iterations):
        fake = generator(params, z)  # G does not move in a D iteration
        fake_grads = d_gradients(params, fake, 0.0)
        if d_update == "sum":  # both gradients at the same D, one step
            real_grads = d_gradients(params, real, 1.0)
            adam_step(params, {k: fake_grads[k] + real_grads[k] for k in fake_grads}, state, lr, beta1)
        else:  # d_fake's step, then d_real's on the moved D
            adam_step(params, fake_grads, state, lr, beta1)
            adam_step(params, d_gradients(params, real, 1.0), state, lr, beta1)
    return params


@pytest.mark.parametrize("d_update", ["sum", "each"])
def test_a_d_iteration_is_the_adam_step_numpy_takes(d_update):
    config = toy_config(d_update)
    programs, scope, exe = setup(config)
    real = uniform_data(config["batch_size"], seed=0).astype("float32")
    z = next(NoiseBatches("normal", config["batch_size"], config["noise_dim"], seed=0))["z"]
    start = snapshot(scope, get_params(programs.g, ""))
    for _ in range(3):
        exe.run(programs.d_fake, feed={"z": z}, fetch_list=programs.fetch["d_fake"], scope=scope)
        exe.run(programs.d_real, feed={"img": real}, fetch_list=programs.fetch["d_real"], scope=scope)
    trained = snapshot(scope, get_params(programs.g, "D."))
    expected = reference_d_iterations(start, real.astype(np.float64), z.astype(np.float64), d_update, config["lr"],
                                      config["beta1"], 3)
    other = reference_d_iterations(start, real.astype(np.float64), z.astype(np.float64),
                                   "each" if d_update == "sum" else "sum", config["lr"], config["beta1"], 3)
    for name, value in trained.items():
        np.testing.assert_allclose(value, expected[name], rtol=2e-4, atol=2e-6, err_msg=name)
    # the two ways differ by far more than that tolerance, so the comparison above tells them apart
    assert max(np.abs(expected[n] - other[n]).max() for n in trained) > 1e-3


def test_with_sum_d_fake_keeps_its_gradients_and_moves_no_weight():
    config = toy_config("sum")
    programs, scope, exe = setup(config)
    d_params = get_params(programs.d_fake, "D.")
    before = snapshot(scope, d_params)
    z = next(NoiseBatches("normal", config["batch_size"], config["noise_dim"], seed=0))["z"]
    exe.run(programs.d_fake, feed={"z": z}, fetch_list=programs.fetch["d_fake"], scope=scope)
    after = snapshot(scope, d_params)
    assert all(np.array_equal(before[n], after[n]) for n in before)
    saved = np.array(scope.find_var(KEPT_GRADIENT + "D.dis_prob.w").get_tensor())
    assert np.abs(saved).max() > 0
    # the kept gradients are no network's parameters: no optimizer moves them, no checkpoint holds them
    assert not any(p.name.startswith(KEPT_GRADIENT) for p in get_params(programs.d_real, "D."))


def test_sum_with_mixed_precision_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="d_update=sum does not fit amp=fp16.*-o d_update=each"):
        updated(toy_config("sum"), {"amp": "fp16"})
    with pytest.raises(ConfigError, match="d_update='both' is not one of: each, sum"):
        updated(toy_config("sum"), {"d_update": "both"})
