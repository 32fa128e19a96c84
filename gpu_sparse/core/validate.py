"""Argument checks shared by the ops and constructors.

Messages follow ``"{op}: {arg} ..., got {actual}"`` and name the bound. Checks never modify
their inputs. The index checks of each sparse format live with the format
(``check_structure`` and ``check_invariants`` in :mod:`gpu_sparse.formats.coo` and
:mod:`gpu_sparse.formats.csr`).
"""

from __future__ import annotations

import numbers
import sys
from typing import Any, Callable, Optional, Tuple

import numpy as np

from ..backend import get_backend

from ..formats import Layout
from .tensor import Tensor, is_inexact


def checked_once(owner: Any, key: Tuple[Any, ...], check: Callable[[], bool]) -> bool:
    """``check()`` of a Tensor's values, remembered until its next in-place change.

    A check of device values needs a synchronisation (a host copy of its answer); a
    training loop passing the same index or target tensor each step pays it once this
    way. The answer is kept with the tensor's version counter, keyed by ``key`` and the
    array, and forgotten when an in-place method bumps the version. Any other ``owner``
    (a raw array) is checked every time. Writes through ``t.array`` are not seen (as for
    the version counter itself)."""
    if not isinstance(owner, Tensor):
        return check()
    counter = owner.version_counter
    full = key + (id(owner.array),)
    if counter.proofs is not None and counter.proofs.get(full) == counter.value:
        return True
    ok = check()
    if ok:
        if counter.proofs is None:
            counter.proofs = {}
        counter.proofs[full] = counter.value
    return ok


def tensor_arg(fn: str, name: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: {name} must be a gpu_sparse Tensor, got {type(x).__name__}")
    return x


def same_device(fn: str, **tensors: Optional[Tensor]) -> str:
    items = [(k, t) for k, t in tensors.items() if t is not None]
    dev = items[0][1].device
    for k, t in items[1:]:
        if t.device != dev:
            first = items[0][0]
            raise RuntimeError(f"{fn}: expected all tensors on one device, but {first} is "
                               f"on {dev} and {k} is on {t.device}")
    return dev


def value_dtype(fn: str, name: str, t: Tensor) -> None:
    """A dtype the products compute with on t's device (float or complex)."""
    if not is_inexact(t.dtype):
        raise TypeError(f"{fn}: {name} must have a floating point or complex dtype, got "
                        f"{t.dtype}")
    supported = get_backend(t.device).supported_dtypes
    if t.dtype not in supported:
        raise TypeError(f"{fn}: {name} has dtype {t.dtype}, which the {t.device} backend "
                        f"does not compute with; supported: "
                        f"{', '.join(str(d) for d in supported)}")


def same_dtype(fn: str, **tensors: Optional[Tensor]) -> np.dtype:
    items = [(k, t) for k, t in tensors.items() if t is not None]
    dt = items[0][1].dtype
    for k, t in items[1:]:
        if t.dtype != dt:
            raise TypeError(f"{fn}: expected one dtype for all operands, but "
                            f"{items[0][0]} is {dt} and {k} is {t.dtype} "
                            f"(no implicit promotion)")
    return dt


def scalar(fn: str, name: str, s: Any, dtype: np.dtype):
    """A Python/NumPy number usable as a scalar factor with ``dtype`` values."""
    if isinstance(s, Tensor):
        if s.numel() != 1:
            raise TypeError(f"{fn}: {name} must be a number, got a tensor of shape "
                            f"{s.shape}")
        s = s.item()
    if isinstance(s, np.ndarray) and s.ndim == 0:
        s = s[()]
    if isinstance(s, np.bool_):
        s = bool(s)
    if not isinstance(s, numbers.Number):
        raise TypeError(f"{fn}: {name} must be a number, got {type(s).__name__}")
    is_complex = isinstance(s, (complex, np.complexfloating))
    if is_complex and dtype.kind != "c":
        raise TypeError(f"{fn}: {name} is complex ({s}) but the tensors are {dtype}; "
                        f"complex scalars need complex tensors")
    number: Any = s
    try:
        value = complex(number) if is_complex else float(number)
    except OverflowError:  # a Python int beyond any float
        raise ValueError(f"{fn}: {name} = {s} is too large for a floating point number"
                         ) from None
    parts = (value.real, value.imag) if is_complex else (value,)
    said = str(s).lower()
    if any(not np.isfinite(x) for x in parts) and "inf" not in said and "nan" not in said:
        # a long double or Decimal that only overflows on the way to a Python float
        raise ValueError(f"{fn}: {name} = {s} is too large for a floating point number")
    return value


def scale_factor(fn: str, name: str, s: Any, dtype: np.dtype) -> Any:
    """An ``alpha``/``beta``: :func:`scalar`, and ValueError when a finite value would
    overflow to inf in ``dtype`` (finite results would turn into inf and exact zeros into
    NaN; PyTorch raises too). Explicit inf/nan stay allowed."""
    value = scalar(fn, name, s, dtype)
    try:
        # bfloat16's limits from ml_dtypes (NumPy's finfo does not know the type), which
        # a bfloat16 array proves imported: no import of ml_dtypes (about 1 s) up front
        info = (sys.modules["ml_dtypes"].finfo(dtype) if dtype.name == "bfloat16"
                else np.finfo(dtype))
        largest = float(info.max)
    except (TypeError, ValueError):  # a dtype without finfo: nothing to check against
        return value
    parts = (value.real, value.imag) if isinstance(value, complex) else (value,)
    if any(np.isfinite(x) and abs(x) > largest for x in parts):
        raise ValueError(f"{fn}: {name} = {value!r} does not fit the tensors' dtype "
                         f"{dtype} (largest finite value {largest:.6g}); it would become "
                         f"inf")
    return value


def dense_2d(fn: str, name: str, t: Tensor) -> None:
    if t.layout is not Layout.strided:
        raise ValueError(f"{fn}: {name} must be a strided (dense) tensor, got layout "
                         f"{t.layout.value}")
    if t.ndim != 2:
        raise ValueError(f"{fn}: {name} must be a 2-D matrix, got {t.ndim}-D tensor of "
                         f"shape {t.shape}")


def sparse_2d(fn: str, name: str, t: Tensor) -> None:
    if t.layout is Layout.strided:
        raise ValueError(f"{fn}: {name} must be a sparse COO or CSR tensor, got layout "
                         f"strided")
    if t.ndim != 2:
        raise ValueError(f"{fn}: {name} must have 2 sparse dimensions, got shape "
                         f"{t.shape}")
    t.pattern.prove(fn, name)  # type: ignore[union-attr]  # once per pattern


def broadcastable(fn: str, name: str, t: Tensor, shape: Tuple[int, int]) -> None:
    if t.layout is not Layout.strided:
        raise ValueError(f"{fn}: {name} must be a strided (dense) tensor, got layout "
                         f"{t.layout.value}")
    ok = t.ndim <= 2 and all(a in (1, b) for a, b in zip(t.shape[::-1], shape[::-1]))
    if not ok:
        raise ValueError(f"{fn}: {name} of shape {t.shape} cannot be broadcast to the "
                         f"result shape {shape}")


def inner_dims(fn: str, a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{fn}: {a_name} has {a.shape[1]} columns but {b_name} has "
                         f"{b.shape[0]} rows")


# ---- sizes and sparse invariants -------------------------------------------------------
def dtype_arg(fn: str, dtype: Any) -> Optional[np.dtype]:
    """``dtype`` as a NumPy dtype (None stays None): a NumPy dtype or scalar type, its name
    as a string, or a PyTorch dtype (``torch.float32``); TypeError naming ``fn`` else."""
    if dtype is None:
        return None
    spec = dtype
    if type(dtype).__module__.split(".")[0] == "torch":  # torch.float32 -> "float32"
        spec = str(dtype).rsplit(".", 1)[-1]
    try:
        return np.dtype(spec)
    except TypeError:
        raise TypeError(f"{fn}: dtype must be a NumPy dtype, its name or a PyTorch dtype, "
                        f"got {dtype!r}") from None


def size_arg(fn: str, size: Any) -> Tuple[int, int]:
    if isinstance(size, (str, bytes)) or not hasattr(size, "__iter__"):
        raise TypeError(f"{fn}: size must be a sequence of 2 integers, got "
                        f"{type(size).__name__}")
    size = tuple(size)
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        raise TypeError(f"{fn}: size must hold integers, got {size}")
    dims = tuple(int(s) for s in size)
    if len(dims) != 2:
        raise ValueError(f"{fn}: size must have 2 dimensions (sparse matrices), got "
                         f"{len(dims)}: {dims}")
    if any(d < 0 for d in dims):
        raise ValueError(f"{fn}: size must be non-negative, got {dims}")
    if dims[0] and dims[1] and dims[0] > np.iinfo(np.int64).max // dims[1]:
        raise ValueError(f"{fn}: size {dims} has more elements than int64 can count")
    return dims


def index_array(fn: str, name: str, arr: Any) -> Any:
    """``arr`` if it has an integer dtype, else TypeError."""
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {name} must have an integer dtype, got {arr.dtype}")
    return arr
