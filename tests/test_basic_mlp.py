"""The TensorFlow write-up's basic GAN (conf/mnist_mlp.toml, network basic_mlp): its layers, its initialisation, its
[0, 1] pixels, and that it learns."""
import numpy as np
import pytest
from conftest import setup, tiny_config

from paddle_gan.config import ConfigError, conf_path, load_config
from paddle_gan.ema import generator_name
from paddle_gan.download import idx_bytes
from paddle_gan.generate import sample
from paddle_gan.readers import MNIST_FILES, noise
from paddle_gan.train import train

LAYERS = {"D.d_fc1": (784, 128), "D.d_fc3": (128, 1), "G.g_fc1": (100, 128), "G.g_fc3": (128, 784)}


def weights(scope, layer):
    return (np.array(scope.find_var(f"{layer}.w").get_tensor()), np.array(scope.find_var(f"{layer}.b").get_tensor()))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_the_config_is_the_write_ups():
    config = load_config(conf_path("mnist_mlp"))
    assert (config["network"], config["noise"], config["batch_size"], config["lr"], config["beta1"]) == \
        ("basic_mlp", "uniform", 64, 2e-4, 0.9)
    assert (config["schedule"], config["d_steps"], config["g_steps"], config["nproc"]) == ("kstep", 1, 2, 1)
    assert config["ema_decay"] == 0 and config["d_update"] == "sum"  # the write-up minimised D_real + D_fake at once


def test_layers_are_named_shaped_and_initialised_as_the_write_up():
    config = tiny_config("mnist", network="basic_mlp", d_batch_norm=False, ema_decay=0.0)
    programs, scope, _ = setup(config)
    assert sorted(p.name for p in programs.g.global_block().all_parameters()) == \
        sorted(f"{layer}.{part}" for layer in LAYERS for part in "wb")
    for layer, (fan_in, fan_out) in LAYERS.items():
        w, b = weights(scope, layer)
        assert w.shape == (fan_in, fan_out) and np.all(b == np.float32(0.1))
        bound = np.sqrt(6 / (fan_in + fan_out))  # Xavier (Glorot) uniform
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
        assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)


def test_d_and_g_compute_the_write_ups_functions_on_pixels_in_0_1():
    """The package's images are in [-1, 1]; the write-up's D sees x in [0, 1] and its G ends in a sigmoid."""
    config = tiny_config("mnist", network="basic_mlp", d_batch_norm=False)
    programs, scope, exe = setup(config)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32)
    z = rng.uniform(-1, 1, (8, 100)).astype(np.float32)
    d_says = exe.run(programs.losses, feed={"img": images, "z": z}, fetch_list=programs.fetch["d_of_each"],
                     scope=scope)[0]
    (w1, b1), (w3, b3) = weights(scope, "D.d_fc1"), weights(scope, "D.d_fc3")
    pixels = (images.reshape(8, 784) + 1) / 2
    np.testing.assert_allclose(np.ravel(d_says), np.ravel(sigmoid(np.maximum(pixels @ w1 + b1, 0) @ w3 + b3)),
                               rtol=1e-4, atol=1e-6)
    drawer = generator_name(config)  # the averaged G_ema draws (it starts from weights of its own)
    (w1, b1), (w3, b3) = weights(scope, f"{drawer}.g_fc1"), weights(scope, f"{drawer}.g_fc3")
    drawn = sample(exe, programs, scope, z)
    write_ups = sigmoid(np.maximum(z @ w1 + b1, 0) @ w3 + b3)  # in [0, 1]
    np.testing.assert_allclose(drawn.reshape(8, 784), write_ups * 2 - 1, rtol=1e-4, atol=1e-5)


def test_it_refuses_what_it_is_not_built_for():
    with pytest.raises(ConfigError, match="basic_mlp is built for 28x28 MNIST"):
        load_config(conf_path("cifar"), {"network": "basic_mlp"})
    with pytest.raises(ConfigError, match="conditional=true .* not network=basic_mlp"):
        load_config(conf_path("mnist_mlp"), {"conditional": True})


def write_one_shape(folder, n=64, seed=0):
    """MNIST files whose every image is one bright bar on black, with a little noise: a shape G can learn fast."""
    folder.mkdir(parents=True)
    images = np.random.default_rng(seed).integers(0, 30, (n, 28, 28))
    images[:, 6:22, 12:16] += 200
    for name, array in zip(MNIST_FILES["train"], (images.astype(np.uint8), np.zeros(n, np.uint8))):
        (folder / name).write_bytes(idx_bytes(array))
    return images.mean(axis=0) / 255 * 2 - 1  # the mean image, in [-1, 1]


def test_a_short_run_learns_the_data(tmp_path):
    mean_image = write_one_shape(tmp_path / "data")
    config = dict(load_config(conf_path("mnist_mlp")), data_dir=str(tmp_path / "data"), num_passes=1,
                  iters_per_pass=600, log_every=1000)  # the write-up's rate, 2e-4
    z = noise(config, 64, seed=3)
    programs, scope, exe = setup(config)
    before = np.abs(sample(exe, programs, scope, z)[:, 0] - mean_image).mean()
    exe, programs, scope = train(config, tmp_path / "out")
    after = np.abs(sample(exe, programs, scope, z)[:, 0] - mean_image).mean()
    # Measured over seeds 1-6: after 600 iterations 0.08 to 0.15 of the distance from the mean image (in [-1, 1])
    # there was before training, the bar 1.69 to 1.80 brighter than the background; the bounds leave room for other
    # hosts' floats.
    assert after < 0.25 * before, (before, after)
    bar, background = sample(exe, programs, scope, z)[:, 0, 6:22, 12:16], sample(exe, programs, scope, z)[:, 0, :, :4]
    assert bar.mean() > background.mean() + 1  # the bar is drawn where the data has it


def test_its_exports_draw_what_generate_draws(tmp_path):
    """Paddle Inference and ONNX take the MLP as they take the DCGANs: images in [-1, 1], whatever the net's range."""
    from test_export import onnxruntime_or_skip, predict

    from paddle_gan import export
    from paddle_gan.generate import load_generator
    write_one_shape(tmp_path / "data")
    config = dict(load_config(conf_path("mnist_mlp")), data_dir=str(tmp_path / "data"), num_passes=1,
                  iters_per_pass=50, log_every=1000)
    train(config, tmp_path)
    model_dir = tmp_path / "mnist_mlp_params" / "pass-00000"
    z = noise(config, 19, seed=3)
    expected = sample(*load_generator(model_dir)[:3], z)
    assert expected.shape == (19, 1, 28, 28) and -1 <= expected.min() and expected.max() <= 1
    export.export(model_dir, tmp_path / "paddle")
    np.testing.assert_allclose(predict(tmp_path / "paddle", {"z": z}), expected, rtol=1e-5, atol=1e-6)
    onnxruntime = onnxruntime_or_skip()
    export.export(model_dir, tmp_path / "onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "onnx" / "generator.onnx"),
                                           providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"z": z})[0], expected, rtol=0, atol=1e-4)
