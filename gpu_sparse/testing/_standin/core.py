"""``cupy.ndarray`` of the stand-in: device memory apart from host memory, CuPy's rules.

An :class:`ndarray` holds ``_a``, a NumPy view of the bytes of a device
:class:`~.memory.Allocation`; only the stand-in's functions touch it. What CuPy 14.2
does differently from NumPy, and a port to the GPU trips over, is modelled from CuPy's
source (``cupy/_core/core.pyx``, ``_kernel.pyx``, ``_routines_indexing.pyx``):

* no implicit conversion: ``np.asarray(a)``/``__array__`` raise TypeError; ``float()``,
  ``int()``, ``bool()``, ``item()``, ``repr()`` copy to the host (a synchronisation,
  counted in :data:`STATE`), as CuPy's ``float(self.get())``; there is no ``__index__``;
* a NumPy ``ndarray`` (any shape, 0-d included) or a list given where CuPy wants a device
  array raises ``TypeError('Unsupported type ...')``; NumPy functions called on a device
  array run CuPy's function of that name through ``__array_function__`` /
  ``__array_ufunc__``, or raise TypeError where CuPy has none;
* reductions and full integer indexing give 0-d arrays, never NumPy scalars;
* integer-array indices out of bounds wrap around instead of raising, and a repeated index
  in ``a[idx] = v`` stores one of its values, not necessarily the last (chosen at random
  per call here, as the order of a parallel scatter is undefined);
* floating-point errors never warn; casts from float to integer saturate (NaN to 0), as
  CUDA's conversion instructions do;
* dtypes beyond bool, integers, floats (bfloat16 through ml_dtypes) and complex raise
  ``ValueError('Unsupported dtype ...')``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import warnings
import weakref
from typing import Any, Callable, Optional

import numpy as np

from . import memory


#: Kinds of the dtypes CuPy holds; bfloat16 (ml_dtypes, kind 'V') is checked by name.
_KINDS = frozenset("biufc")


class DeviceSynchronized(RuntimeError):  # noqa: N818 (CuPy's name)
    """``cupyx.DeviceSynchronized``: a synchronisation inside
    ``cupyx.allow_synchronize(False)``."""

    def __init__(self, message: Optional[str] = None):
        super().__init__(message or "device synchronization was detected while "
                                    "disallowed")


class State(threading.local):
    """What the stand-in counts and how tests steer it (one per thread).

    ``syncs`` counts device-to-host synchronisations (``float()``, ``bool()``, ``get()``,
    a boolean mask index ...), ``h2d`` host-to-device copies (``cupy.asarray`` of host
    data, host values assigned into device arrays), ``launches`` the launches of
    gpu_sparse's own CUDA kernels by name (RawKernel; cuSPARSE's products are counted in
    ``cusparse_calls``, as (CUDA value type, cuSPARSE index type) of each SpMM).
    ``cusparse_not_supported`` holds such pairs for which the stand-in's cuSPARSE answers
    CUSPARSE_STATUS_NOT_SUPPORTED (the backend then falls back to its own kernel).
    """

    def __init__(self) -> None:
        self.cusparse_not_supported: set[tuple[int, int]] = set()
        self.allow_sync = True
        self.rng = np.random.default_rng(0x5EED)
        self.reset()

    def reset(self) -> State:
        """Zero the counters (``syncs``, ``h2d``, ``launches``, ``cusparse_calls``);
        returns the state, e.g. ``state().reset()`` before the code to count."""
        self.syncs = 0
        self.h2d = 0
        self.launches: dict[str, int] = {}
        self.cusparse_calls: list[tuple[int, int]] = []
        return self

    def __repr__(self) -> str:
        return (f"CuPy stand-in state (this thread): syncs={self.syncs} h2d={self.h2d} "
                f"launches={self.launches} cusparse_calls={len(self.cusparse_calls)} "
                f"cusparse_not_supported={sorted(self.cusparse_not_supported)}")


STATE = State()


def synchronize(what: str) -> None:
    """A device-to-host synchronisation: counted, refused under
    ``allow_synchronize(False)``."""
    if not STATE.allow_sync:
        raise DeviceSynchronized(f"device synchronization was detected while disallowed "
                                 f"({what})")
    STATE.syncs += 1


@contextlib.contextmanager
def allow_synchronize(allow: bool):
    """``cupyx.allow_synchronize``: with ``False``, a synchronisation raises
    :class:`DeviceSynchronized`."""
    old = STATE.allow_sync
    STATE.allow_sync = bool(allow)
    try:
        yield
    finally:
        STATE.allow_sync = old


def bfloat16_dtype() -> np.dtype:
    """``ml_dtypes.bfloat16``, which CuPy holds when ml_dtypes is installed (asked for
    only where a bfloat16 value exists, so ml_dtypes is imported already)."""
    ml_dtypes = sys.modules.get("ml_dtypes")
    if ml_dtypes is None:
        raise TypeError("bfloat16 needs ml_dtypes (pip install ml_dtypes)")
    return np.dtype(ml_dtypes.bfloat16)


def check_dtype(dtype: Any) -> np.dtype:
    """A dtype CuPy holds: bool, integers, float16/32/64 (bfloat16), complex64/128, in
    native byte order (``_dtype.pyx``: no long double, no big-endian arrays)."""
    dt = np.dtype(dtype)
    if (dt.kind not in _KINDS and dt.name != "bfloat16") or \
            (dt.kind in "fc" and dt.itemsize > (8 if dt.kind == "f" else 16)) or \
            not dt.isnative:
        raise ValueError(f"Unsupported dtype {dt}")
    return dt


def _unsupported(x: Any) -> TypeError:
    return TypeError(f"Unsupported type {type(x)}")


# ---- between NumPy and the device ---------------------------------------------------
def _device_view(alloc: memory.Allocation, shape: tuple, dtype: np.dtype, order: str
                 ) -> np.ndarray:
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    flat = alloc.raw[:nbytes].view(dtype)
    if order == "F":
        return flat.reshape(tuple(reversed(shape))).T
    return flat.reshape(shape)


def empty(shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
    """Uninitialised device memory (bytes 0xFF), as ``cupy.empty``."""
    dt = check_dtype(dtype)
    shape = _shape_tuple(shape)
    if order not in ("C", "F"):
        raise ValueError(f"order not understood: {order!r}")
    n = int(np.prod(shape, dtype=np.int64))
    if n < 0:
        raise ValueError("negative dimensions are not allowed")
    alloc = memory.allocate(n * dt.itemsize)
    return ndarray._make(_device_view(alloc, shape, dt, order), alloc)


def _shape_tuple(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(int(operator_index(s)) for s in shape)
    except TypeError:
        raise TypeError(f"'{type(shape).__name__}' object cannot be interpreted as an "
                        f"integer") from None


def operator_index(x: Any) -> int:
    """``operator.index`` for shapes and axes (a 0-d device array has no __index__)."""
    if isinstance(x, ndarray):
        raise TypeError("'ndarray' object cannot be interpreted as an integer")
    return x.__index__()


def to_device(host: Any, dtype: Any = None, order: str = "K") -> ndarray:
    """A copy of host data on the device (one host-to-device transfer); big-endian host
    data arrives in native byte order, as CuPy converts it."""
    arr = np.asarray(host, dtype=dtype)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    STATE.h2d += 1
    return _adopt_copy(arr, order)


def _adopt_copy(arr: np.ndarray, order: str = "K") -> ndarray:
    dt = check_dtype(arr.dtype)
    if order == "K" or order == "A":
        order = "F" if (arr.flags.f_contiguous and not arr.flags.c_contiguous) else "C"
    out = empty(arr.shape, dt, order)
    np.copyto(out._a, arr, casting="unsafe")
    return out


def adopt(arr: np.ndarray) -> ndarray:
    """A NumPy result as a device array: a view when it views device memory already,
    else a copy into a fresh allocation (where the GPU would have written it)."""
    alloc = memory.owner_of(arr)
    if alloc is None:
        return _adopt_copy(arr)
    owner = alloc.owner() if alloc.owner is not None else None
    if owner is not None and owner._a is arr:
        return owner
    return ndarray._make(arr, alloc)


def wrap(res: Any) -> Any:
    """A NumPy function's result in CuPy's terms: arrays (and NumPy scalars, as 0-d
    arrays) on the device, tuples and lists of them element by element."""
    if isinstance(res, np.ndarray):
        return adopt(res)
    if isinstance(res, np.generic):
        return _adopt_copy(np.asarray(res))
    if isinstance(res, tuple):
        return tuple(wrap(r) for r in res)
    if isinstance(res, list):
        return [wrap(r) for r in res]
    return res


def unwrap(x: Any, host_ok: bool = False) -> Any:
    """A device array's NumPy view; NumPy arrays refused unless ``host_ok``; lists and
    tuples element by element."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        if host_ok:
            return x
        raise _unsupported(x)
    if isinstance(x, (list, tuple)) and x:
        return type(x)(unwrap(y, host_ok) for y in x)
    return x


def is_scalar(x: Any) -> bool:
    """A scalar CuPy takes in a ufunc or kernel (``_scalar.scalar_type_set``)."""
    return type(x) in (int, float, bool, complex) or isinstance(x, np.generic)


def quiet() -> Any:
    """CuPy never warns about floating-point errors (no errstate on the device)."""
    return np.errstate(all="ignore")


# ---- indexing -----------------------------------------------------------------------
def _index_items(key: Any) -> list:
    return list(key) if isinstance(key, tuple) else [key]


def _prepare_index(a: np.ndarray, key: Any) -> tuple:
    """CuPy's index rules on a NumPy view: device arrays as NumPy views, lists and NumPy
    arrays accepted (copied to the device by CuPy), integer arrays wrapped around."""
    items = _index_items(key)
    out = []
    for s in items:
        if isinstance(s, ndarray):
            s = s._a
        elif isinstance(s, (list, tuple, np.ndarray)):
            STATE.h2d += 1  # CuPy copies host index arrays to the device
            s = np.asarray(s)
            if s.size == 0 and s.dtype.kind == "f":
                s = s.astype(np.int32)  # an empty list means no indices, not a mask
        elif isinstance(s, (bool, np.bool_)):
            s = np.asarray(s)
        if isinstance(s, np.ndarray) and s.dtype.kind not in "biu":
            raise IndexError(f"arrays used as indices must be of integer or boolean type "
                             f"(actual: {s.dtype.type})")
        out.append(s)
    n_bool = sum(isinstance(s, np.ndarray) and s.dtype.kind == "b" and s.ndim > 0
                 for s in out)
    if n_bool > 1:
        raise NotImplementedError("multiple boolean arrays in an index are not supported "
                                  "(cupy.ndarray.__getitem__)")
    # which axis of ``a`` each item indexes: wrap integer arrays around that axis
    consumed = sum(0 if s is None or s is Ellipsis else
                   (s.ndim if isinstance(s, np.ndarray) and s.dtype.kind == "b" else 1)
                   for s in out)
    axis = 0
    for i, s in enumerate(out):
        if s is None:
            continue
        if s is Ellipsis:
            axis += a.ndim - consumed
            continue
        if isinstance(s, np.ndarray) and s.dtype.kind == "b":
            axis += s.ndim
            continue
        if isinstance(s, np.ndarray) and s.dtype.kind in "iu" and axis < a.ndim:
            dim = a.shape[axis]
            if dim > 0 and s.size:
                out[i] = np.mod(s, dim)
            elif s.size:
                raise IndexError("cannot do a non-empty take from an empty axes.")
        axis += 1
    return tuple(out)


def _has_advanced(key: tuple) -> bool:
    return any(isinstance(s, np.ndarray) and s.ndim > 0 for s in key)


def getitem(x: ndarray, key: Any) -> ndarray:
    k = _prepare_index(x._a, key)
    if any(isinstance(s, np.ndarray) and s.dtype.kind == "b" and s.ndim > 0 for s in k):
        synchronize("a boolean mask index (the count of selected elements)")
    res = x._a[k]
    if isinstance(res, np.generic):  # CuPy returns a 0-d view, never a scalar
        res = x._a[k + ((Ellipsis,) if Ellipsis not in k else ())]
    return adopt(res) if isinstance(res, np.ndarray) else wrap(res)


def setitem(x: ndarray, key: Any, value: Any) -> None:
    """``x[key] = value`` as ``_scatter_op`` does it: a device array is copied; host data
    is ``fill``-ed through a basic index (a scalar only: ValueError for a non-scalar,
    OverflowError for a number the dtype cannot hold) and copied to the device first
    through an advanced one; a boolean mask costs a synchronisation."""
    k = _prepare_index(x._a, key)
    target = x._a
    advanced = _has_advanced(k)
    if any(isinstance(s, np.ndarray) and s.dtype.kind == "b" and s.ndim > 0 for s in k):
        synchronize("a boolean mask assignment (the count of selected elements)")
    if isinstance(value, ndarray):
        v = value._a
    elif not advanced:
        v = np.asarray(value, dtype=target.dtype)  # ndarray.fill's conversion
        if v.shape != ():
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
    else:
        if isinstance(value, (np.ndarray, list, tuple)):
            STATE.h2d += 1  # cupy.array(value, dtype=a.dtype): a copy to the device
        v = np.array(value, dtype=target.dtype)
    with quiet():
        if not advanced:
            target[k] = v
            return
        # positions written, in NumPy's order; a repeated one gets a random winner
        pos = np.arange(target.size, dtype=np.int64).reshape(target.shape)[k]
        flat = pos.reshape(-1)
        if flat.size > 1 and np.unique(flat).size < flat.size:
            vb = np.broadcast_to(np.asarray(v, dtype=target.dtype), pos.shape).reshape(-1)
            order = STATE.rng.permutation(flat.size)
            target[np.unravel_index(flat[order], target.shape)] = vb[order]
        else:
            target[k] = v


# ---- the array ------------------------------------------------------------------------
class Flags:
    """``ndarray.flags``: ``c_contiguous``, ``f_contiguous`` and ``owndata`` only (CuPy has
    no ``writeable``), read-only, also by key."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, c: bool, f: bool, own: bool):
        object.__setattr__(self, "c_contiguous", c)
        object.__setattr__(self, "f_contiguous", f)
        object.__setattr__(self, "owndata", own)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"attribute '{name}' of 'cupy._core.flags.Flags' objects is "
                             f"not writable")

    def __getitem__(self, name: str) -> bool:
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
               "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(f"{name} is not defined for cupy.ndarray.flags")
        return bool(getattr(self, key))

    def __repr__(self) -> str:
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : "
                f"{self.f_contiguous}\n  OWNDATA : {self.owndata}")


class ndarray:  # noqa: N801 (CuPy's name)
    """``cupy.ndarray`` of the CuPy stand-in (see the module docstring)."""

    __slots__ = ("_a", "_alloc", "_base", "__weakref__")
    __array_priority__ = 100.0
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, memptr: Any = None,
                 strides: Any = None, order: str = "C"):
        dt = check_dtype(dtype)
        shape = _shape_tuple(shape)
        if memptr is None:
            alloc = memory.allocate(int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
            a = _device_view(alloc, shape, dt, "F" if order == "F" else "C")
        else:
            alloc = memptr.mem._alloc
            if strides is None and order == "F":
                strides = _f_strides(shape, dt.itemsize)
            a = np.ndarray(shape, dt, buffer=alloc.raw, offset=memptr.ptr - alloc.ptr,
                           strides=strides)
        self._init(a, alloc)

    @classmethod
    def _make(cls, a: np.ndarray, alloc: memory.Allocation) -> ndarray:
        self = cls.__new__(cls)
        self._init(a, alloc)
        return self

    def _init(self, a: np.ndarray, alloc: memory.Allocation) -> None:
        self._a, self._alloc = a, alloc
        owner = alloc.owner() if alloc.owner is not None else None
        if owner is None:  # the first array on this memory owns it
            alloc.owner = weakref.ref(self)
            self._base = None
        else:
            self._base = owner

    # ---- attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._a.shape

    @shape.setter
    def shape(self, value: Any) -> None:
        view = self._a.view()
        view.shape = _shape_tuple(value)  # AttributeError where it would need a copy
        self._a = view

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    @property
    def itemsize(self) -> int:
        return self._a.itemsize

    @property
    def nbytes(self) -> int:
        return self._a.nbytes

    @property
    def strides(self) -> tuple:
        return self._a.strides

    @property
    def flags(self) -> Flags:
        return Flags(self._a.flags.c_contiguous, self._a.flags.f_contiguous,
                     self._base is None)

    @property
    def base(self) -> Optional[ndarray]:
        return self._base

    @property
    def data(self) -> memory.MemoryPointer:
        ptr = int(self._a.ctypes.data) if self._a.size else 0
        mem = memory.Memory(self._alloc)
        return memory.MemoryPointer(mem, ptr - mem.ptr if ptr else 0)

    @property
    def device(self) -> Any:
        return memory.make_device(self._alloc.device_id)

    @property
    def T(self) -> ndarray:
        return adopt(self._a.T)

    @property
    def mT(self) -> ndarray:
        if self.ndim < 2:
            raise ValueError("matrix transpose with ndim < 2 is undefined")
        return adopt(np.swapaxes(self._a, -1, -2))

    @property
    def real(self) -> ndarray:
        return adopt(self._a.real)

    @real.setter
    def real(self, value: Any) -> None:
        self._a.real = unwrap(value)

    @property
    def imag(self) -> ndarray:
        if self.dtype.kind != "c":  # CuPy gives a fresh zero array, not a view
            return wrap(np.zeros_like(self._a))
        return adopt(self._a.imag)

    @imag.setter
    def imag(self, value: Any) -> None:
        self._a.imag = unwrap(value)

    @property
    def flat(self) -> Any:
        raise NotImplementedError("the CuPy stand-in does not model cupy.ndarray.flat")

    @property
    def cstruct(self) -> Any:
        raise NotImplementedError("the CuPy stand-in does not model cupy.ndarray.cstruct")

    @property
    def __cuda_array_interface__(self) -> dict:
        ptr = int(self._a.ctypes.data) if self._a.size else 0
        return {"shape": self.shape, "typestr": self.dtype.str, "descr": self.dtype.descr,
                "stream": 1, "version": 3,
                "strides": None if self._a.flags.c_contiguous else self.strides,
                "data": (ptr, False)}

    # ---- host copies --------------------------------------------------------------
    def get(self, stream: Any = None, order: str = "C", out: Any = None,
            blocking: bool = True) -> np.ndarray:
        synchronize("ndarray.get")
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            if out.dtype != self.dtype:
                raise TypeError(f"{self.dtype} array cannot be obtained from "
                                f"{out.dtype} array")
            if out.shape != self.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, actual "
                                 f"shape: {out.shape}")
            np.copyto(out, self._a)
            return out
        if order == "A":
            order = "F" if self._a.flags.f_contiguous and not self._a.flags.c_contiguous \
                else "C"
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: Any, stream: Any = None) -> None:
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: "
                             f"{arr.shape}")
        STATE.h2d += 1
        np.copyto(self._a, arr)

    def _host(self, what: str) -> np.ndarray:
        synchronize(what)
        return np.array(self._a, copy=True)

    def item(self) -> Any:
        return self._host("ndarray.item").item()

    def tolist(self) -> Any:
        return self._host("ndarray.tolist").tolist()

    def tobytes(self, order: str = "C") -> bytes:
        return self._host("ndarray.tobytes").tobytes(order)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    def __bool__(self) -> bool:
        if self.size == 0:  # CuPy still answers False, with NumPy 1's deprecation
            warnings.warn("The truth value of an empty array is ambiguous. Returning False, "
                          "but in future this will result in an error. Use `array.size > "
                          "0` to check that an array is not empty.", DeprecationWarning,
                          stacklevel=2)
            return False
        return bool(self._host("ndarray.__bool__"))

    def __int__(self) -> int:
        return int(self._host("ndarray.__int__"))

    def __float__(self) -> float:
        return float(self._host("ndarray.__float__"))

    def __complex__(self) -> complex:
        return complex(self._host("ndarray.__complex__"))

    def __repr__(self) -> str:
        return repr(self._host("ndarray.__repr__"))

    def __str__(self) -> str:
        return str(self._host("ndarray.__str__"))

    def __format__(self, spec: str) -> str:
        return format(self._host("ndarray.__format__"), spec)

    def __reduce__(self) -> Any:
        # CuPy pickles through cupy.array(host copy); the stand-in's module path keeps
        # unpickling working in a process that has not imported cupy yet
        return _rebuild, (self.get(order="A"),)

    def __copy__(self) -> ndarray:
        return wrap(self._a.copy(order="K"))

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self.__copy__()

    # ---- containers ---------------------------------------------------------------
    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, key: Any) -> ndarray:
        return getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        setitem(self, key, value)

    # ---- the NumPy protocols (cupy/_core/core.pyx) --------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _HOOKS["array_ufunc"](ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _HOOKS["array_function"](func, types, args, kwargs)

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None,
                   dl_device: Any = None, copy: Any = None) -> Any:
        return _HOOKS["dlpack"](self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple:
        return (2, self._alloc.device_id)  # kDLCUDA

    def toDlpack(self) -> Any:
        return self.__dlpack__()


def _f_strides(shape: tuple, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for n in shape:
        strides.append(step)
        step *= max(n, 1)
    return tuple(strides)


def _rebuild(host: np.ndarray) -> ndarray:
    return to_device(host, order="K")


# The array protocols and the operators need the ufuncs and functions; the namespace
# module fills these in when it builds ``cupy``.
_HOOKS: dict[str, Callable[..., Any]] = {}
