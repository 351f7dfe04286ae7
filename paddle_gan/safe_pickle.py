"""Read a pickle as data, never as code: the one loader for every pickle paddle_gan opens.

A pickle is a small program: it may name any importable function (`os.system`, `builtins.eval`, ...) and call it
while it is read, so `pickle.load` on a file from someone else runs whatever they put in it. paddle_gan opens
pickles it did not write itself: a checkpoint folder shared by a classmate, CIFAR-10's batches, the offline MNIST
package, the evaluator's classifier cache. All of them hold only numbers: numpy arrays, in dicts, lists and tuples
of numbers and strings. `load` builds those and nothing else. A file that names anything else is refused before
the thing it names is even looked up, so nothing in it runs.

What the files may name (everything else is refused):
- numpy's own reconstructors for arrays, scalars and dtypes (both numpy 1's `numpy.core` and numpy 2's
  `numpy._core` spellings, as pickles written by either name them), for numeric dtypes only: an array of Python
  objects (`dtype=object`) would unpickle its elements as well, so it is refused when its dtype is read;
- `_codecs.encode`, with which Python 2 pickles (CIFAR-10's, the MNIST package's) store byte strings;
- `builtins.tuple` and `collections.OrderedDict`, with which `paddle.save` writes a state dict's tensors, and
  `builtins.bytes`, with which protocol 2 writes an empty byte string.
dict, list, tuple, str, bytes, int, float, bool and None need no name: the pickle format builds them itself.
"""
import codecs
import collections
import io
import pickle
from pathlib import Path

import numpy as np

from .errors import UserError


class UnsafePickleError(UserError):
    """A pickle that asks for something other than data; it was refused before anything in it ran."""


class _Refused(pickle.UnpicklingError):
    """A function the pickle names that data never needs (the text names it)."""


class _NotData(pickle.UnpicklingError):
    """A value the pickle would build that data never holds (the text says what)."""


def _numeric_dtype(*args):
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise _NotData("an array of Python objects (dtype=object), whose elements would be unpickled too")
    return dtype


def _ndarray(*args):
    """numpy.ndarray as a pickle names it: an argument of _reconstruct, never called (it could make any array)."""
    raise _NotData("numpy.ndarray called directly")


def _reconstruct(subtype, shape, dtype_code):
    if subtype is not _ndarray:
        raise _NotData(f"an array of subclass {subtype!r}")
    return np.ndarray.__new__(np.ndarray, shape, _numeric_dtype(dtype_code))


def _scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise _NotData("a numpy scalar of a non-numeric dtype")
    return np.frombuffer(data, dtype, count=1)[0]


def _frombuffer(buffer, dtype, shape, order):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise _NotData("an array of Python objects (dtype=object)")
    return np.frombuffer(buffer, dtype).reshape(shape, order=order)


def _encode(text, encoding="latin1"):
    if not isinstance(text, str):
        raise _NotData("_codecs.encode of something other than a string")
    return codecs.encode(text, encoding)


_ALLOWED = {
    **{(module, "_reconstruct"): _reconstruct for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "scalar"): _scalar for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "_frombuffer"): _frombuffer for module in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): _ndarray,
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _encode,
    # Python 3 writes these under Python 2's module name in protocol 2 (an empty bytes object is bytes())
    **{(module, "tuple"): tuple for module in ("builtins", "__builtin__")},
    **{(module, "bytes"): bytes for module in ("builtins", "__builtin__")},
    ("collections", "OrderedDict"): collections.OrderedDict,
}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise _Refused(f"{module}.{name}")
        return allowed

    def persistent_load(self, pid):
        raise _Refused(f"a persistent id ({str(pid)[:40]!r})")


def _object_arrays(value):
    """Whether `value` holds an array of Python objects anywhere (one that the checks while loading missed)."""
    if isinstance(value, np.ndarray):
        return value.dtype.hasobject
    if isinstance(value, dict):
        return any(_object_arrays(k) or _object_arrays(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_object_arrays(v) for v in value)
    return False


def loads(data, source, encoding="ASCII"):
    """The object pickled in `data` (bytes), built from data only; `source` names it in errors. Raises
    UnsafePickleError for anything else, and pickle's own errors for bytes that are not a pickle."""
    try:
        value = _DataUnpickler(io.BytesIO(data), encoding=encoding).load()
        if _object_arrays(value):
            raise _NotData("an array of Python objects (dtype=object)")
        return value
    except _Refused as e:
        raise UnsafePickleError(f"{source} asks to run {e} when loaded, which a data file never needs; refused, "
                                "nothing in it was run: use a copy from a source you trust") from None
    except _NotData as e:
        raise UnsafePickleError(f"{source} holds {e}, which a data file never needs; refused: use a copy from a "
                                "source you trust") from None


def load(path, encoding="ASCII"):
    """The object pickled in file `path`, built from data only (see `loads`)."""
    return loads(Path(path).read_bytes(), path, encoding)
