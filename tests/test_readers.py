"""Readers: IDX and CIFAR parsing against files the tests write, the uniform toy's range, noise."""
import gzip

import numpy as np
import pytest
from conftest import tiny_config, write_cifar, write_mnist

from paddle_gan import readers
from paddle_gan.fetch import idx_bytes


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("n", [1, 37])
def test_mnist_idx_raw_and_gz_any_count(tmp_path, gz, n):
    pixels = write_mnist(tmp_path, n=n, gz=gz)
    images = readers.mnist_images(tmp_path)
    assert images.shape == (n, 1, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0], pixels / 255.0 * 2 - 1, atol=1e-6)


def test_read_idx_any_dimensions(tmp_path):
    array = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    (tmp_path / "x").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(readers.read_idx(tmp_path / "x"), array)


def test_idx_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(readers.DataError, match="get_mnist_data.sh"):
        readers.mnist_images(tmp_path)
    write_mnist(tmp_path, n=4)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(readers.DataError, match="train-images-idx3-ubyte.*truncated"):
        readers.mnist_images(tmp_path)
    path.write_bytes(b"\x00\x00\x0d\x03" + bytes(100))
    with pytest.raises(readers.DataError, match="magic"):
        readers.mnist_images(tmp_path)
    path.write_bytes(gzip.compress(b"x"))  # gzip data under the raw name
    with pytest.raises(readers.DataError, match="magic"):
        readers.mnist_images(tmp_path)


def test_cifar_batches_in_chw_order(tmp_path):
    rows = write_cifar(tmp_path, per_batch=3)
    images = readers.cifar_images(tmp_path)
    assert images.shape == (15, 3, 32, 32)
    expected = rows.reshape(15, 3, 32, 32)[4, 1, 5, 7] / 255.0 * 2 - 1  # channel 1 = the second 1024 bytes
    assert images[4, 1, 5, 7] == pytest.approx(expected, abs=1e-6)
    (tmp_path / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(readers.DataError, match="data_batch_3"):
        readers.cifar_images(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(readers.DataError, match="data_batch_3 not found"):
        readers.cifar_images(tmp_path)


def test_uniform_data_in_unit_square_and_seeded():
    data = readers.uniform_data(10000, seed=3)
    assert data.shape == (10000, 2) and data.dtype == np.float32
    assert data.min() >= 0 and data.max() < 1
    assert abs(data.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(data, readers.uniform_data(10000, seed=3))


def test_shuffled_batches_shuffle_each_pass_and_cover_the_data():
    data = np.arange(20, dtype=np.float32)
    batches = readers.ShuffledBatches(data, 6, seed=0)
    first, second = [next(batches) for _ in range(3)], [next(batches) for _ in range(3)]
    assert [len(b) for b in first] == [6, 6, 6]  # the partial batch is dropped
    assert len(set(np.concatenate(first).tolist())) == 18
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    again = readers.ShuffledBatches(data, 6, seed=0)
    np.testing.assert_array_equal(np.concatenate([next(again) for _ in range(3)]), np.concatenate(first))


def test_shuffled_batches_refuse_data_smaller_than_a_batch():
    with pytest.raises(readers.DataError, match="fewer than one batch"):
        readers.ShuffledBatches(np.zeros((3, 2)), 8, seed=0)


@pytest.mark.parametrize("stop_after", [0, 2, 3, 7])  # before any batch, mid-pass, at a pass boundary, later
def test_restored_streams_continue_exactly(stop_after):
    data = np.arange(20, dtype=np.float32)
    streams = readers.ShuffledBatches(data, 6, seed=4), readers.NoiseBatches("normal", 5, 3, seed=4)
    for _ in range(stop_after):
        [next(s) for s in streams]
    states = [s.state() for s in streams]
    expected = [[next(s) for _ in range(8)] for s in streams]

    fresh = readers.ShuffledBatches(data, 6, seed=99), readers.NoiseBatches("normal", 5, 3, seed=99)
    for stream, state, want in zip(fresh, states, expected):
        stream.restore(state)
        np.testing.assert_array_equal(np.stack([next(stream) for _ in range(8)]), np.stack(want))


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_noise_shape_distribution_and_seed(kind):
    stream = readers.NoiseBatches(kind, 500, 10, seed=5)
    z = np.concatenate([next(stream) for _ in range(4)])
    assert z.shape == (2000, 10) and z.dtype == np.float32
    if kind == "normal":
        assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    else:
        assert z.min() >= -1 and z.max() < 1 and abs(z.std() - 2 / np.sqrt(12)) < 0.02
    np.testing.assert_array_equal(next(readers.NoiseBatches(kind, 500, 10, seed=5)), z[:500])
    assert not np.array_equal(next(readers.NoiseBatches(kind, 500, 10, seed=6)), z[:500])


def test_real_batches_follow_the_config(tmp_path):
    write_mnist(tmp_path, n=20)
    batch = next(readers.real_batches(tiny_config("mnist", data_dir=str(tmp_path))))
    assert batch.shape == (8, 1, 28, 28)
    batch = next(readers.real_batches(tiny_config("uniform")))
    assert batch.shape == (8, 2)
