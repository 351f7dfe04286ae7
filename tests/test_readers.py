"""Readers: IDX and CIFAR parsing against files the tests write, the uniform toy's range, noise."""
import gzip
import pickle
import re

import numpy as np
import pytest
from conftest import tiny_config, write_cifar, write_mnist

from paddle_gan import readers
from paddle_gan.download import idx_bytes


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("n", [1, 37])
def test_mnist_idx_raw_and_gz_any_count(tmp_path, gz, n):
    pixels = write_mnist(tmp_path, n=n, gz=gz)
    images = readers.mnist(tmp_path)[0]
    assert images.shape == (n, 1, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0], pixels / 255.0 * 2 - 1, atol=1e-6)


def test_read_idx_any_dimensions(tmp_path):
    array = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    (tmp_path / "x").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(readers.read_idx(tmp_path / "x"), array)


def test_cifar_batches_in_chw_order(tmp_path):
    rows = write_cifar(tmp_path, per_batch=3)
    images = readers.cifar(tmp_path)[0]
    assert images.shape == (15, 3, 32, 32)
    expected = rows.reshape(15, 3, 32, 32)[4, 1, 5, 7] / 255.0 * 2 - 1  # channel 1 = the second 1024 bytes
    assert images[4, 1, 5, 7] == pytest.approx(expected, abs=1e-6)


def idx_header(magic_type, dims):
    return bytes([0, 0, magic_type, len(dims)]) + np.asarray(dims, ">u4").tobytes()


IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


@pytest.mark.parametrize("name, content, message", [
    (IMAGES, b"\x00\x00\x0d\x03" + bytes(100), r"train-images-idx3-ubyte has magic number 00000d03, not an IDX file"),
    (IMAGES, gzip.compress(b"x", mtime=0), r"train-images-idx3-ubyte has magic number 1f8b"),  # gzip bytes under the raw name
    (IMAGES, b"", r"train-images-idx3-ubyte has magic number none"),
    (IMAGES, idx_header(8, (4, 28, 28))[:10], r"ends inside its header \(10 bytes for 3 dimensions\)"),
    (IMAGES, idx_header(8, (4, 28, 28)) + bytes(4 * 784 - 10),
     r"holds 3142 bytes but its header \[4, 28, 28\] promises 3152 \(truncated\)"),
    (IMAGES, idx_header(8, (4, 28, 28)) + bytes(4 * 784 + 1), r"promises 3152 \(trailing bytes\)"),
    (IMAGES, idx_header(8, (4, 32, 32)) + bytes(4 * 1024), r"holds items of shape \[32, 32\], not 28x28 images"),
    (LABELS, idx_header(8, (4, 2)) + bytes(8), r"train-labels-idx1-ubyte holds items of shape \[2\], not single"),
    (LABELS, idx_header(8, (3,)) + bytes(3),
     r"train-images-idx3-ubyte holds 4 images but train-labels-idx1-ubyte holds 3 labels"),
])
def test_each_idx_error_names_the_file_what_is_wrong_and_the_fix(tmp_path, name, content, message):
    write_mnist(tmp_path, n=4)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(readers.DataError) as error:
        readers.mnist(tmp_path)[0]
    text = str(error.value)
    assert re.search(message, text), text
    assert text.startswith(str(tmp_path)) and "\n" not in text
    assert re.search(r"fetch (it|both) again with: bash data/get_mnist_data.sh --dest " + re.escape(str(tmp_path))
                     + "$", text), text


def test_a_label_that_is_no_class_id_is_refused(tmp_path):
    write_mnist(tmp_path)
    labels = np.zeros(40, np.uint8)
    labels[7] = 12
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(readers.DataError, match="train-labels-idx1-ubyte holds label 12, not a class id 0-9; fetch"):
        readers.mnist(tmp_path)


def test_missing_and_unreadable_idx_files(tmp_path):
    with pytest.raises(readers.DataError, match=r"train-images-idx3-ubyte not found \(nor train-images-idx3-ubyte"
                                                r".gz\); fetch it with: bash data/get_mnist_data.sh --dest"):
        readers.mnist(tmp_path)[0]
    write_mnist(tmp_path, n=4, gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])  # a .gz cut short
    with pytest.raises(readers.DataError, match="train-images-idx3-ubyte.gz is unreadable"):
        readers.mnist(tmp_path)[0]


def test_the_fix_command_follows_the_data_set_and_its_folder(tmp_path):
    assert readers.fetch_command("mnist", "data/mnist_data") == "bash data/get_mnist_data.sh"
    assert readers.fetch_command("cifar", "elsewhere") == "bash data/get_cifar_data.sh --dest elsewhere"
    with pytest.raises(readers.DataError, match="fetch it with: bash data/get_fashion_mnist_data.sh --dest"):
        readers.mnist(tmp_path, "fashion_mnist")[0]


def test_away_from_the_repository_the_fix_command_is_one_that_runs_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/get_mnist_data.sh here
    command = readers.fetch_command("mnist", "data/mnist_data")
    assert command.endswith(" -m paddle_gan.download mnist --dest data/mnist_data")
    where = re.escape(f"(data_dir is taken from the working directory, {tmp_path})")
    with pytest.raises(readers.DataError, match=where):
        readers.mnist("data/mnist_data")[0]
    (tmp_path / "data" / "mnist_data" / "train-images-idx3-ubyte").mkdir(parents=True)
    with pytest.raises(readers.DataError, match="train-images-idx3-ubyte is not a file"):
        readers.mnist("data/mnist_data")[0]


def pickled(value):
    return pickle.dumps(value, protocol=2)


GOOD = {"data": np.zeros((3, 3072), np.uint8), "labels": [0, 1, 2]}


@pytest.mark.parametrize("content, message", [
    (b"not a pickle", r"data_batch_3 is not a readable pickle \(UnpicklingError: "),
    (pickled(GOOD)[:40], r"data_batch_3 is not a readable pickle \("),
    (pickled([1, 2]), r"data_batch_3 is not a CIFAR-10 batch \(keys list, expected data and labels\)"),
    (pickled({"data": GOOD["data"]}), r"data_batch_3 is not a CIFAR-10 batch \(keys \['data'\], expected"),
    (pickled({**GOOD, "data": np.zeros((3, 1024), np.uint8)}),
     r"data_batch_3: data is a uint8 array of shape \[3, 1024\], not uint8 rows of 3072 CHW pixels"),
    (pickled({**GOOD, "data": np.zeros((3, 3072), np.float32)}), r"data is a float32 array of shape \[3, 3072\]"),
    (pickled({**GOOD, "data": [[0] * 3072] * 3}), r"data_batch_3: data is a list, not uint8 rows"),
    (pickled({**GOOD, "labels": [0, 1]}), r"data_batch_3 holds 3 images but 2 labels"),
])
def test_each_cifar_error_names_the_file_what_is_wrong_and_the_fix(tmp_path, content, message):
    write_cifar(tmp_path, per_batch=3)
    (tmp_path / "data_batch_3").write_bytes(content)
    with pytest.raises(readers.DataError) as error:
        readers.cifar(tmp_path)[0]
    text = str(error.value)
    assert re.search(message, text), text
    assert text.endswith(f"fetch it again with: bash data/get_cifar_data.sh --dest {tmp_path}") and "\n" not in text


def test_missing_cifar_batch(tmp_path):
    write_cifar(tmp_path, per_batch=3)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(readers.DataError, match="data_batch_3 not found; fetch CIFAR-10 with: bash data/get_cifar"):
        readers.cifar(tmp_path)[0]


def test_uniform_data_in_unit_square_and_seeded():
    data = readers.uniform_data(10000, seed=3)
    assert data.shape == (10000, 2) and data.dtype == np.float32
    assert data.min() >= 0 and data.max() < 1
    assert abs(data.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(data, readers.uniform_data(10000, seed=3))


def test_shuffled_batches_shuffle_each_pass_and_cover_the_data():
    data = {"img": np.arange(20, dtype=np.float32), "img_label": np.arange(20) % 10}
    batches = readers.ShuffledBatches(data, 6, seed=0)
    first, second = [next(batches)["img"] for _ in range(3)], [next(batches)["img"] for _ in range(3)]
    assert [len(b) for b in first] == [6, 6, 6]  # the partial batch is dropped
    assert len(set(np.concatenate(first).tolist())) == 18
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    again = readers.ShuffledBatches(data, 6, seed=0)
    batch = next(again)
    np.testing.assert_array_equal(batch["img"], first[0])
    np.testing.assert_array_equal(batch["img_label"], batch["img"].astype(int) % 10)  # labels stay with their images


def test_shuffled_batches_refuse_data_smaller_than_a_batch():
    with pytest.raises(readers.DataError, match="fewer than one batch"):
        readers.ShuffledBatches({"img": np.zeros((3, 2))}, 8, seed=0)


@pytest.mark.parametrize("stop_after", [0, 2, 3, 7])  # before any batch, mid-pass, at a pass boundary, later
def test_restored_streams_continue_exactly(stop_after):
    data = {"img": np.arange(20, dtype=np.float32)}
    streams = readers.ShuffledBatches(data, 6, seed=4), readers.NoiseBatches("normal", 5, 3, seed=4, num_classes=10)
    for _ in range(stop_after):
        [next(s) for s in streams]
    states = [s.state() for s in streams]
    expected = [[next(s) for _ in range(8)] for s in streams]

    fresh = readers.ShuffledBatches(data, 6, seed=99), readers.NoiseBatches("normal", 5, 3, seed=99, num_classes=10)
    for stream, state, want in zip(fresh, states, expected):
        stream.restore(state)
        for got, batch in zip([next(stream) for _ in range(8)], want):
            assert got.keys() == batch.keys()
            for name in batch:
                np.testing.assert_array_equal(got[name], batch[name])


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_noise_shape_distribution_and_seed(kind):
    stream = readers.NoiseBatches(kind, 500, 10, seed=5)
    z = np.concatenate([next(stream)["z"] for _ in range(4)])
    assert z.shape == (2000, 10) and z.dtype == np.float32
    if kind == "normal":
        assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    else:
        assert z.min() >= -1 and z.max() < 1 and abs(z.std() - 2 / np.sqrt(12)) < 0.02
    np.testing.assert_array_equal(next(readers.NoiseBatches(kind, 500, 10, seed=5))["z"], z[:500])
    assert not np.array_equal(next(readers.NoiseBatches(kind, 500, 10, seed=6))["z"], z[:500])


def test_conditional_noise_asks_for_every_class_alike():
    labels = next(readers.NoiseBatches("normal", 5000, 4, seed=5, num_classes=10))["label"]
    assert labels.dtype == np.int64
    counts = np.bincount(labels, minlength=11)
    assert counts[10] == 0 and counts[:10].min() > 400  # 0 to 9, each about 500 of 5000: 9 is drawn too
    assert "label" not in next(readers.NoiseBatches("normal", 5, 4, seed=5))  # unconditional: z alone


def test_real_batches_follow_the_config(tmp_path):
    write_mnist(tmp_path, n=20)
    batch = next(readers.real_batches(tiny_config("mnist", data_dir=str(tmp_path))))
    assert list(batch) == ["img"] and batch["img"].shape == (8, 1, 28, 28)
    batch = next(readers.real_batches(tiny_config("fashion_mnist", data_dir=str(tmp_path))))
    assert batch["img"].shape == (8, 1, 28, 28)
    batch = next(readers.real_batches(tiny_config("uniform")))
    assert batch["img"].shape == (8, 2)


def test_conditional_real_batches_carry_each_images_own_label(tmp_path):
    write_mnist(tmp_path, n=20)
    images, labels = readers.mnist(tmp_path)
    batch = next(readers.real_batches(tiny_config("mnist", data_dir=str(tmp_path), conditional=True)))
    assert batch["img_label"].dtype == np.int64 and batch["img_label"].shape == (8,)
    for image, label in zip(batch["img"], batch["img_label"]):
        [row] = np.flatnonzero((images == image).all(axis=(1, 2, 3)))
        assert labels[row] == label


def test_cifar_labels_are_read_with_the_images(tmp_path):
    write_cifar(tmp_path)
    images, labels = readers.cifar(tmp_path)
    assert len(labels) == len(images) == 30 and labels.tolist()[:6] == list(range(6))


def test_a_stream_restored_with_a_larger_batch_starts_a_new_pass_rather_than_run_short():
    data = {"img": np.arange(20, dtype=np.float32)}
    small = readers.ShuffledBatches(data, 4, seed=1)
    [next(small) for _ in range(4)]  # 4 of 5 batches read
    large = readers.ShuffledBatches(data, 10, seed=1)  # 2 batches a pass: the saved position is past its end
    large.restore(small.state())
    batch = next(large)["img"]
    assert len(batch) == 10 and len(set(batch.tolist())) == 10
