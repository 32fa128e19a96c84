"""The functions of ``cupy`` (and ``cupy.linalg``) and the methods of ``cupy.ndarray``.

A name CuPy 14.2 has and NumPy has too runs NumPy's function on the device arrays'
NumPy views, after checking the call against CuPy's signature (a keyword CuPy lacks is a
TypeError) and refusing NumPy arrays among the arguments; results come back as device
arrays (NumPy scalars as 0-d arrays). The functions below differ from that rule where
CuPy differs from NumPy; a name of CuPy's with neither a NumPy twin nor a model here
raises NotImplementedError naming it.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Optional

import numpy as np

from . import core, memory, names
from .core import STATE, ndarray, synchronize, unwrap, wrap
from .ufunc import ufunc

#: Functions that take host data (they copy it to the device).
HOST_INPUT = frozenset({"array", "asarray", "asanyarray", "asnumpy", "get_array_module",
                        "isscalar", "ndim", "shape", "size", "result_type", "can_cast",
                        "promote_types", "min_scalar_type", "common_type", "issubdtype",
                        "isdtype", "iinfo", "finfo", "dtype", "broadcast_shapes",
                        "from_dlpack", "fromDlpack", "iscomplexobj", "isrealobj"})
#: Functions whose results are host values (Python bools, dtypes, shapes, strings).
HOST_RESULT = frozenset({"may_share_memory", "shares_memory", "isscalar", "ndim", "shape",
                         "size", "result_type", "can_cast", "promote_types",
                         "min_scalar_type", "common_type", "issubdtype", "isdtype",
                         "iinfo", "finfo", "dtype", "broadcast_shapes", "array_repr",
                         "array_str", "base_repr", "binary_repr", "iscomplexobj",
                         "isrealobj", "isfortran"})
#: Functions that read a count or values back to the host before they can return.
SYNCING = frozenset({"nonzero", "argwhere", "flatnonzero", "unique", "extract",
                     "compress", "bincount"})
#: Functions whose Python bool NumPy returns CuPy gives as a 0-d device array.
DEVICE_BOOL = frozenset({"array_equal", "array_equiv", "allclose"})
#: Parameters that take a device array: a list or tuple there is CuPy's TypeError.
ARRAY_PARAMS = frozenset({"a", "ar", "ary", "arr", "array", "x", "x1", "x2", "v", "m",
                          "condition", "indices", "values", "weights", "sorter", "y"})


def not_modelled(qualname: str) -> Callable[..., Any]:
    """A callable for a name CuPy has and the stand-in does not model."""

    def stub(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"the CuPy stand-in (gpu_sparse.testing) does not model "
                                  f"{qualname}; it exists in CuPy 14.2")

    stub.__name__ = qualname.rpartition(".")[2]
    stub.__qualname__ = qualname
    return stub


def fill_module(module: Any, qual: str, implemented: dict[str, Any],
                default: Optional[Callable[[str], Any]] = None) -> None:
    """Every name CuPy's module ``qual`` has: the implemented ones, else ``default(name)``,
    else a stub that says the stand-in does not model it."""
    for name in names.module(qual):
        if name == "annotations":
            continue
        value = implemented.get(name)
        if value is None and default is not None:
            value = default(name)
        setattr(module, name, value if value is not None else not_modelled(f"{qual}.{name}"))


def fill_class(cls: type, path: str, module: str) -> None:
    """CuPy's class ``path``: stubs for the public members the stand-in does not model."""
    cls.__module__ = module
    for name in names.members(path):
        if not name.startswith("_") and not hasattr(cls, name):
            setattr(cls, name, not_modelled(f"{path}.{name}"))


def _device_arrays(fn: str, tup: Any) -> list:
    arrs = []
    for x in tup:
        if not isinstance(x, ndarray):
            raise TypeError(f"Only cupy arrays can be concatenated ({fn})")
        arrs.append(x._a)
    return arrs


def _unwrap_args(args: tuple, kwargs: dict, host_ok: bool) -> tuple[tuple, dict, Any]:
    out = kwargs.get("out")
    if out is not None and not isinstance(out, ndarray):
        raise TypeError(f"Output arguments must be cupy.ndarray, got {type(out)}")
    a = tuple(unwrap(x, host_ok) for x in args)
    kw = {k: unwrap(v, host_ok) for k, v in kwargs.items()}
    return a, kw, out


def numpy_function(qualname: str, np_func: Callable[..., Any], entry: Optional[dict],
                   ) -> Callable[..., Any]:
    """CuPy's ``qualname`` as NumPy's ``np_func`` on device arrays (module docstring)."""
    short = qualname.rpartition(".")[2]
    check = names.checker(qualname, entry)
    sig = names.signature(entry)
    host_ok = short in HOST_INPUT
    host_result = short in HOST_RESULT
    syncs = short in SYNCING

    def f(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        if sig is not None and not host_ok:
            for name, value in sig.bind(*args, **kwargs).arguments.items():
                if name in ARRAY_PARAMS and isinstance(value, (list, tuple)):
                    raise TypeError(f"{qualname}: Unsupported type {type(value)} for "
                                    f"{name} (CuPy takes device arrays)")
        a, kw, out = _unwrap_args(args, kwargs, host_ok)
        if syncs:
            synchronize(qualname)
        with core.quiet():
            res = np_func(*a, **kw)
        if out is not None:
            return out
        if short in DEVICE_BOOL:
            return wrap(np.asarray(res))
        return res if host_result else wrap(res)

    f.__name__ = short
    f.__qualname__ = qualname
    f.__doc__ = f"CuPy stand-in of {qualname} (NumPy's {getattr(np_func, '__name__', '')})."
    return f


# ---- creation -----------------------------------------------------------------------
def array(obj: Any, dtype: Any = None, copy: Any = True, order: str = "K",
          subok: bool = False, ndmin: int = 0, *, blocking: bool = False) -> ndarray:
    """``copy``: True always copies; for a device array None copies when a cast, a layout
    or another device asks for it and False raises ValueError then (NumPy 2's meaning);
    host data is always copied (CuPy ignores ``copy`` there)."""
    if isinstance(obj, ndarray):
        dt = core.check_dtype(obj.dtype if dtype is None else dtype)
        same = dt == obj.dtype and _order_ok(obj, order) and \
            obj._alloc.device_id == memory.current_device_id()  # else a copy over here
        if copy is not True and same:
            return _ndmin(obj, ndmin)
        if copy is False:
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        return _ndmin(obj.astype(dt, order=order, copy=True), ndmin)
    # host data is copied whatever copy says (CuPy's _array_default ignores it)
    if hasattr(obj, "__cuda_array_interface__") and not isinstance(obj, np.ndarray):
        return array(_from_cai(obj), dtype, copy, order, subok, ndmin)
    host = np.array(obj, dtype=dtype, order=order if order in "CFAK" else "K", ndmin=ndmin,
                    copy=True)
    return core.to_device(host, order=order)


def _order_ok(a: ndarray, order: Any) -> bool:
    if order in (None, "K", "A"):
        return True
    return a._a.flags.c_contiguous if order == "C" else a._a.flags.f_contiguous


def _ndmin(a: ndarray, ndmin: int) -> ndarray:
    return a.reshape((1,) * (ndmin - a.ndim) + a.shape) if ndmin > a.ndim else a


def _from_cai(obj: Any) -> ndarray:
    iface = obj.__cuda_array_interface__
    ptr = iface["data"][0]
    dt = np.dtype(iface["typestr"])
    shape = tuple(iface["shape"])
    n = int(np.prod(shape, dtype=np.int64))
    alloc = memory.find(ptr, max(n * dt.itemsize, 1)) if ptr else None
    if alloc is None and n:
        raise ValueError("the CuPy stand-in can only view __cuda_array_interface__ memory "
                         "of its own arrays")
    if alloc is None:
        return core.empty(shape, dt)
    view = np.ndarray(shape, dt, buffer=alloc.raw, offset=ptr - alloc.ptr,
                      strides=iface.get("strides"))
    return core.adopt(view)


def asarray(a: Any, dtype: Any = None, order: Any = None, *, copy: Any = None,
            blocking: bool = False) -> ndarray:
    return array(a, dtype, copy=copy, order=order or "K")


def asanyarray(a: Any, dtype: Any = None, order: Any = None, *, copy: Any = None,
               blocking: bool = False) -> ndarray:
    return asarray(a, dtype, order, copy=copy, blocking=blocking)


def _device_only(fn: str, a: Any) -> ndarray:
    if not isinstance(a, ndarray):
        raise TypeError(f"Argument 'a' has incorrect type (expected "
                        f"cupy._core.core._ndarray_base, got {type(a).__name__}) ({fn})")
    return a


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    a = _device_only("cupy.ascontiguousarray", a)
    dt = a.dtype if dtype is None else core.check_dtype(dtype)
    if a.ndim == 0:  # 1-D at least, as CuPy's and NumPy's
        a = a.reshape((1,))
    if a._a.flags.c_contiguous and dt == a.dtype:
        return a
    return a.astype(dt, order="C", copy=True)


def asfortranarray(a: Any, dtype: Any = None) -> ndarray:
    a = _device_only("cupy.asfortranarray", a)
    dt = a.dtype if dtype is None else core.check_dtype(dtype)
    if a.ndim == 0:
        a = a.reshape((1,))
    if a._a.flags.f_contiguous and dt == a.dtype:
        return a
    return a.astype(dt, order="F", copy=True)


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, *,
            blocking: bool = True) -> np.ndarray:
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    if hasattr(a, "__cuda_array_interface__"):
        return _from_cai(a).get(stream=stream, order=order, out=out)
    if out is not None:
        out[...] = a
        return out
    return np.asarray(a, order=order)


def empty(shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
    return core.empty(shape, dtype, order)


def empty_like(prototype: Any, dtype: Any = None, order: str = "K", subok: Any = None,
               shape: Any = None) -> ndarray:
    p = _device_only("cupy.empty_like", prototype)
    order = ("F" if p._a.flags.f_contiguous and not p._a.flags.c_contiguous else "C") \
        if order in ("K", "A") else order
    return core.empty(p.shape if shape is None else shape,
                      p.dtype if dtype is None else dtype, order)


def broadcast_to(array: Any, shape: Any) -> ndarray:
    """A writable view with zero strides, as CuPy's (CuPy has no read-only arrays)."""
    a = _device_only("cupy.broadcast_to", array)._a
    view = np.broadcast_to(a, core._shape_tuple(shape))
    return core.adopt(np.lib.stride_tricks.as_strided(a, view.shape, view.strides))


def broadcast_arrays(*args: Any) -> list:
    arrs = [_device_only("cupy.broadcast_arrays", x)._a for x in args]
    views = np.broadcast_arrays(*arrs)
    return [core.adopt(np.lib.stride_tricks.as_strided(a, v.shape, v.strides))
            for a, v in zip(arrs, views)]


# ---- sorting and searching ----------------------------------------------------------
def _kind(kind: Any) -> None:
    if kind is not None and kind != "stable":
        raise ValueError("kind can only be None or 'stable'")


def argsort(a: Any, axis: Any = -1, kind: Any = None) -> ndarray:
    _kind(kind)
    return wrap(np.argsort(_device_only("cupy.argsort", a)._a, axis=axis, kind="stable"))


def sort(a: Any, axis: Any = -1, kind: Any = None) -> ndarray:
    _kind(kind)
    return wrap(np.sort(_device_only("cupy.sort", a)._a, axis=axis, kind="stable"))


def lexsort(keys: Any) -> ndarray:
    """CuPy takes one (k, N) array whose last row is the primary key, not a tuple."""
    if not isinstance(keys, ndarray):
        raise TypeError(f"cupy.lexsort: keys must be a cupy.ndarray of shape (k, N), got "
                        f"{type(keys).__name__}")
    if keys.ndim == 1:
        return wrap(np.array(0, dtype=np.intp))  # CuPy's answer for one 1-D key
    if keys.ndim > 2:
        raise NotImplementedError("Keys with the rank of three or more is not supported "
                                  "in lexsort")
    return wrap(np.lexsort(keys._a))


def take(a: Any, indices: Any, axis: Any = None, out: Any = None) -> ndarray:
    a = _device_only("cupy.take", a)
    idx = indices._a if isinstance(indices, ndarray) else np.asarray(indices)
    n = a.size if axis is None else a.shape[axis]
    if n and idx.size:
        idx = np.mod(idx, n)  # CuPy wraps out-of-bounds indices around
    res = np.take(a._a, idx, axis=axis)
    if out is not None:
        out._a[...] = res
        return out
    return wrap(res)


def take_along_axis(a: Any, indices: Any, axis: Any) -> ndarray:
    a = _device_only("cupy.take_along_axis", a)
    idx = _device_only("cupy.take_along_axis", indices)._a
    n = a.size if axis is None else a.shape[axis]
    if n and idx.size:
        idx = np.mod(idx, n)
    return wrap(np.take_along_axis(a._a, idx, axis=axis))


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> ndarray:
    """CuPy takes ``v`` as a device array or a Python number only (search.py)."""
    a = _device_only("cupy.searchsorted", a)
    if not isinstance(v, ndarray) and type(v) not in (int, float, complex):
        raise NotImplementedError("Only int, float, complex and cupy.ndarray are supported "
                                  "for v (cupy.searchsorted)")
    srt = None if sorter is None else _device_only("cupy.searchsorted", sorter)._a
    return wrap(np.searchsorted(a._a, v._a if isinstance(v, ndarray) else v, side=side,
                                sorter=srt).astype(np.int64))


def bincount(x: Any, weights: Any = None, minlength: Any = None) -> ndarray:
    """Float weights are summed with atomicAdd in CuPy: in no fixed order."""
    x = _device_only("cupy.bincount", x)
    synchronize("cupy.bincount")
    xs = x._a
    if weights is None:
        return wrap(np.bincount(xs, minlength=minlength or 0))
    w = _device_only("cupy.bincount", weights)._a
    order = STATE.rng.permutation(xs.shape[0])
    return wrap(np.bincount(xs[order], w[order].astype(np.float64),
                            minlength=minlength or 0))


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if not isinstance(condition, ndarray):
        raise TypeError(f"Unsupported type {type(condition)}")
    if x is None and y is None:
        synchronize("cupy.where")
        return wrap(np.nonzero(condition._a))
    if (x is None) != (y is None):
        raise ValueError("Must provide both 'x' and 'y' or neither.")
    xs = [core.unwrap(v) if isinstance(v, ndarray) or core.is_scalar(v) else _bad(v)
          for v in (x, y)]
    with core.quiet():
        return wrap(np.where(condition._a, *xs))


def _bad(v: Any) -> Any:
    raise TypeError(f"Unsupported type {type(v)}")


def may_share_memory(a: Any, b: Any, max_work: Any = None) -> bool:
    if not isinstance(a, ndarray) or not isinstance(b, ndarray):
        return False
    return bool(np.may_share_memory(a._a, b._a))


def shares_memory(a: Any, b: Any, max_work: Any = None) -> bool:
    if not isinstance(a, ndarray) or not isinstance(b, ndarray):
        return False
    return bool(np.shares_memory(a._a, b._a))


def concatenate(tup: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None,
                casting: str = "same_kind") -> ndarray:
    arrs = _device_arrays("cupy.concatenate", tup)
    if not arrs:
        raise ValueError("Cannot concatenate from empty tuple")
    res = np.concatenate(arrs, axis=axis, dtype=dtype, casting=casting,
                         out=None if out is None else out._a)
    return out if out is not None else wrap(res)


def stack(tup: Any, axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> ndarray:
    arrs = _device_arrays("cupy.stack", tup)
    res = np.stack(arrs, axis=axis, dtype=dtype, casting=casting,
                   out=None if out is None else out._a)
    return out if out is not None else wrap(res)


def get_array_module(*args: Any) -> Any:
    for x in args:
        if isinstance(x, ndarray) or type(x).__module__.startswith("cupyx"):
            return _MODULES["cupy"]
    return np


def is_available() -> bool:
    return True


def show_config(*, _full: bool = False) -> None:
    print(f"CuPy Version          : {names.data()['cupy_version']} (gpu_sparse's CuPy "
          f"stand-in: no GPU, no CUDA)")


def memoize(for_each_device: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """``cupy.memoize``: a cache per (device, arguments); arguments must hash."""

    def decorator(f: Callable[..., Any]) -> Any:
        cache: dict = {}

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = ((memory.current_device_id() if for_each_device else -1), args,
                   tuple(sorted(kwargs.items())))
            if key not in cache:
                cache[key] = f(*args, **kwargs)
            return cache[key]

        _MEMOS.append(cache)
        return wrapper

    return decorator


_MEMOS: list[dict] = []


def clear_memo() -> None:
    for cache in _MEMOS:
        cache.clear()


def fuse(*args: Any, **kwargs: Any) -> Any:
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


def _from_dlpack_hook(obj: Any, *, device: Any = None, copy: Any = None) -> ndarray:
    return _MODULES["_dlpack"].from_dlpack(obj, device=device, copy=copy)


# ---- ndarray methods ----------------------------------------------------------------
_HALF = ("float16", "bfloat16")


def _half_acc(a: np.ndarray, dtype: Any) -> tuple[np.ndarray, Any]:
    """CuPy reduces float16 (and bfloat16) in float32 and rounds once."""
    if dtype is None and a.dtype.name in _HALF:
        return a.astype(np.float32), a.dtype
    return a, None


def _reduction(name: str, entry: Optional[dict]) -> Callable[..., Any]:
    check = names.checker(f"cupy.ndarray.{name}", entry)

    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        a, kw, out = _unwrap_args(args, kwargs, False)
        src, back = self._a, None
        if name in ("sum", "mean", "prod", "var", "std"):
            dtype = kw.get("dtype", a[1] if len(a) > 1 else None)
            src, back = _half_acc(src, dtype)
        with core.quiet():
            res = getattr(src, name)(*a, **kw)
        if out is not None:
            return out
        if back is not None:
            res = np.asarray(res).astype(back)
        return wrap(res)

    return method


def astype(self: ndarray, dtype: Any, order: str = "K", casting: Any = None,
           subok: Any = None, copy: bool = True) -> ndarray:
    """Casts as CUDA converts: float to integer saturates and NaN becomes 0; complex to
    real drops the imaginary part (with CuPy's ComplexWarning)."""
    if casting is not None:
        raise TypeError("casting is not supported yet")
    if subok is not None:
        raise TypeError("subok is not supported yet")
    dt = core.check_dtype(dtype)
    src = self._a
    if not copy and dt == src.dtype and _order_ok(self, order if order != "K" else None):
        return self
    if order == "A":
        order = "F" if src.flags.f_contiguous and not src.flags.c_contiguous else "C"
    with core.quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if src.dtype.kind == "c" and dt.kind not in "bc":
            if src.size:
                warnings.warn("Casting complex values to real discards the imaginary part",
                              np.exceptions.ComplexWarning, stacklevel=2)
            src = src.real
        if (src.dtype.kind == "f" or src.dtype.name == "bfloat16") and dt.kind in "iu":
            return core.adopt(_saturate(src, dt, order))
        res = src.astype(dt, order=order)
    return core.adopt(res)


def _saturate(src: np.ndarray, dt: np.dtype, order: str) -> np.ndarray:
    """CUDA's float-to-integer conversion (cvt.rzi.sat): truncate, clamp to the range,
    NaN to 0."""
    info = np.iinfo(dt)
    f = src.astype(np.float64)
    res = f.astype(dt, order=order)
    res[f >= float(info.max)] = info.max
    res[f <= float(info.min)] = info.min
    res[np.isnan(f)] = 0
    return res


def _method_sort(self: ndarray, axis: int = -1, kind: Any = None) -> None:
    _kind(kind)
    self._a.sort(axis=axis, kind="stable")


def _method_argsort(self: ndarray, axis: Any = -1, kind: Any = None) -> ndarray:
    _kind(kind)
    return wrap(self._a.argsort(axis=axis, kind="stable"))


def _method_conj(self: ndarray) -> ndarray:
    """CuPy's ``conj()`` of a real array is the array itself, not a copy."""
    return self if self.dtype.kind != "c" else wrap(np.conj(self._a))


def _method_take(self: ndarray, indices: Any, axis: Any = None, out: Any = None) -> ndarray:
    return take(self, indices, axis, out)


def _method_nonzero(self: ndarray) -> tuple:
    synchronize("cupy.ndarray.nonzero")
    return wrap(np.nonzero(self._a))


def _method_view(self: ndarray, *args: Any, **kwargs: Any) -> ndarray:
    dtype = kwargs.pop("dtype", args[0] if args else None)
    if dtype is None:
        return core.adopt(self._a.view())
    core.check_dtype(dtype)
    return core.adopt(self._a.view(dtype))


def _method_fill(self: ndarray, value: Any) -> None:
    if isinstance(value, ndarray):
        value = value._a
    elif isinstance(value, np.ndarray) and value.ndim:
        raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
    with core.quiet():
        self._a.fill(value)


def _method_copy(self: ndarray, order: str = "C") -> ndarray:
    if order == "K":
        order = "F" if self._a.flags.f_contiguous and not self._a.flags.c_contiguous \
            else "C"
    return core.adopt(self._a.copy(order=order))


def _method_reshape(self: ndarray, *shape: Any, order: str = "C", copy: Any = None
                    ) -> ndarray:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    res = self._a.reshape(core._shape_tuple(shape), order=order, copy=copy)
    return core.adopt(res)


def _method_scatter(op: str) -> Callable[..., None]:
    def method(self: ndarray, slices: Any, value: Any) -> None:
        warnings.warn(f"`ndarray.scatter_{op}` is deprecated. Please use "
                      f"`cupy.{'add' if op == 'add' else op + 'imum'}.at` instead.",
                      DeprecationWarning, stacklevel=2)
        _MODULES["cupy"].__dict__[{"add": "add", "max": "maximum",
                                   "min": "minimum"}[op]].at(self, slices, value)
    return method


def _method_reduced_view(self: ndarray, dtype: Any = None) -> ndarray:
    return self


def _method_dot(self: ndarray, b: Any, out: Any = None) -> ndarray:
    other = _device_only("cupy.ndarray.dot", b)
    res = np.dot(self._a, other._a)
    if out is not None:
        out._a[...] = res
        return out
    return wrap(res)


METHODS: dict[str, Callable[..., Any]] = {
    "astype": astype, "sort": _method_sort, "argsort": _method_argsort,
    "conj": _method_conj, "conjugate": _method_conj, "take": _method_take,
    "nonzero": _method_nonzero, "view": _method_view, "fill": _method_fill,
    "copy": _method_copy, "reshape": _method_reshape, "reduced_view": _method_reduced_view,
    "scatter_add": _method_scatter("add"), "scatter_max": _method_scatter("max"),
    "scatter_min": _method_scatter("min"), "dot": _method_dot,
}
REDUCTIONS = ("sum", "prod", "mean", "var", "std", "max", "min", "all", "any", "argmax",
              "argmin", "ptp", "cumsum", "cumprod")


def generic_method(name: str, entry: Optional[dict]) -> Callable[..., Any]:
    check = names.checker(f"cupy.ndarray.{name}", entry)

    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        a, kw, out = _unwrap_args(args, kwargs, False)
        with core.quiet():
            res = getattr(self._a, name)(*a, **kw)
        if out is not None:
            return out
        return wrap(res)

    method.__name__ = name
    return method


def install_methods() -> None:
    """Every method CuPy's ndarray has, and none it lacks (checked by the tests)."""
    for name, entry in names.members("cupy.ndarray").items():
        if name.startswith("__") or name in vars(ndarray):
            continue
        if entry["kind"] == "attribute":
            continue  # properties are defined on the class itself
        if name in METHODS:
            fn = METHODS[name]
        elif name in REDUCTIONS:
            fn = _reduction(name, entry)
        elif hasattr(np.ndarray, name):
            fn = generic_method(name, entry)
        else:
            fn = not_modelled(f"cupy.ndarray.{name}")
        setattr(ndarray, name, fn)


# ---- the NumPy protocols ------------------------------------------------------------
def array_ufunc(np_ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``ndarray.__array_ufunc__`` as CuPy's (core.pyx)."""
    cupy = _MODULES["cupy"]
    if "out" in kwargs:
        out = kwargs["out"]
        if len(out) != 1:
            raise ValueError("The 'out' parameter must have exactly one array value")
        kwargs["out"] = out[0]
    if method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
        return NotImplemented
    func = getattr(cupy, np_ufunc.__name__, None)
    if not isinstance(func, ufunc):
        return NotImplemented
    if method != "__call__":
        func = getattr(func, method)
    for x in inputs + ((kwargs["out"],) if "out" in kwargs else ()):
        if not (core.is_scalar(x) or isinstance(x, (ndarray, np.ndarray))
                or hasattr(x, "__cuda_array_interface__")):
            return NotImplemented
    if np_ufunc.__name__ in ("greater", "greater_equal", "less", "less_equal", "equal",
                             "not_equal"):
        inputs = tuple(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x
                       for x in inputs)
    return func(*inputs, **kwargs)


def array_function(func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    """``ndarray.__array_function__`` as CuPy's: CuPy's function of the same module path
    and name, or NotImplemented (NumPy then raises TypeError)."""
    module: Any = _MODULES["cupy"]
    for part in func.__module__.split(".")[1:]:
        module = getattr(module, part, None)
        if module is None:
            return NotImplemented
    cupy_func = getattr(module, func.__name__, None)
    if cupy_func is None or cupy_func is func:
        return NotImplemented
    if not all(issubclass(t, (ndarray, np.ndarray)) for t in types):
        return NotImplemented
    return cupy_func(*args, **kwargs)


#: Filled by the namespace builder: "cupy" and the other built modules.
_MODULES: dict[str, Any] = {}

OVERRIDES: dict[str, Callable[..., Any]] = {
    "array": array, "asarray": asarray, "asanyarray": asanyarray,
    "ascontiguousarray": ascontiguousarray, "asfortranarray": asfortranarray,
    "asnumpy": asnumpy, "empty": empty, "empty_like": empty_like,
    "broadcast_to": broadcast_to, "broadcast_arrays": broadcast_arrays,
    "argsort": argsort, "sort": sort, "lexsort": lexsort, "take": take,
    "take_along_axis": take_along_axis, "bincount": bincount, "where": where,
    "searchsorted": searchsorted,
    "may_share_memory": may_share_memory, "shares_memory": shares_memory,
    "concatenate": concatenate, "stack": stack, "get_array_module": get_array_module,
    "is_available": is_available, "show_config": show_config, "memoize": memoize,
    "clear_memo": clear_memo, "fuse": fuse, "from_dlpack": _from_dlpack_hook,
}


def reduction_function(name: str, entry: Optional[dict]) -> Callable[..., Any]:
    """``cupy.sum(a, ...)`` and friends: the method of ``a`` (CuPy's own route)."""
    check = names.checker(f"cupy.{name}", entry)
    method = {"amax": "max", "amin": "min"}.get(name, name)

    def f(a: Any, *args: Any, **kwargs: Any) -> Any:
        check(a, *args, **kwargs)
        return getattr(_device_only(f"cupy.{name}", a), method)(*args, **kwargs)

    f.__name__ = name
    return f
