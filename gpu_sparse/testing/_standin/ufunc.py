"""``cupy.ufunc`` of the stand-in and the array operators built on it.

A ufunc takes device arrays and scalars only (``_kernel.pyx _preprocess_arg``: a NumPy
array, 0-d included, or a list is ``TypeError('Unsupported type ...')``), keywords
``out``, ``casting`` and ``dtype`` only (no ``where``, ``order`` or ``subok``), and
promotes as CuPy 14 does. CuPy 14 follows NEP 50 like NumPy 2 (Python scalars are weak,
NumPy scalars and 0-d arrays are not: ``guess_routine`` in ``_kernel.pyx``), so NumPy's
promotion is used, with CuPy's own loops where they differ:

* ``power`` of integers to a negative integer power gives 0 (1 for a base of 1, +-1 for
  a base of -1; ``integral_power`` in ``_routines_math.pyx``) where NumPy raises
  ValueError;
* ``reduce`` and ``accumulate`` exist for ``add`` and ``multiply`` only, ``reduceat`` for
  ``add`` only;
* ``at`` exists for add (int32/int64/uint32/uint64/float16/float32/float64, atomics: float
  sums in no fixed order, modelled as a random order per call), subtract (int32/uint32),
  maximum and minimum (int32/int64/uint32/uint64/float32/float64; CuPy's float64
  ``atomicMax`` compares through ``fmaxf``, so float64 values pass through float32 and
  NaN is ignored), bitwise_and/or/xor (integers); others raise NotImplementedError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import core, memory, names
from .core import STATE, ndarray

_AT_DTYPES = {
    "add": ("int32", "int64", "uint32", "uint64", "float16", "float32", "float64"),
    "subtract": ("int32", "uint32"),
    "maximum": ("int32", "int64", "uint32", "uint64", "float32", "float64"),
    "minimum": ("int32", "int64", "uint32", "uint64", "float32", "float64"),
    "bitwise_and": ("int32", "int64", "uint32", "uint64"),
    "bitwise_or": ("int32", "int64", "uint32", "uint64"),
    "bitwise_xor": ("int32", "int64", "uint32", "uint64"),
}


def _operand(x: Any, fn: str) -> Any:
    if isinstance(x, ndarray):
        if x._alloc.device_id != memory.current_device_id():
            raise ValueError(f"The device where the array resides ({x._alloc.device_id}) "
                             f"is different from the current device "
                             f"({memory.current_device_id()}). Peer access is unavailable "
                             f"between these devices.")
        return x._a
    if core.is_scalar(x):
        return x
    raise TypeError(f"Unsupported type {type(x)}")


class ufunc:  # noqa: N801 (CuPy's name)
    """``cupy.ufunc``: ``cupy.add``, ``cupy.exp``, ... (see the module docstring)."""

    def __init__(self, short: str, np_ufunc: np.ufunc, entry: dict[str, Any]):
        self._short = short
        self._np = np_ufunc
        self.name = self.__name__ = f"cupy_{short}"
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self._check = names.checker(f"cupy.{short}", entry)
        self.__doc__ = f"CuPy stand-in of cupy.{short} (NumPy's {np_ufunc.__name__})."

    @property
    def types(self) -> list[str]:
        return list(self._np.types)

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._check(*args, **kwargs)
        ins = [_operand(x, self.name) for x in args[:self.nin]]
        out = kwargs.pop("out", args[self.nin] if len(args) > self.nin else None)
        outs = out if isinstance(out, tuple) else (out,) if out is not None else ()
        for o in outs:
            if o is not None and not isinstance(o, ndarray):
                raise TypeError(f"Output arguments must be cupy.ndarray, got {type(o)}")
        np_out = tuple(o._a if o is not None else None for o in outs) or None
        if np_out is not None and len(np_out) == 1 and self.nout == 1:
            np_out = np_out[0]
        casting = kwargs.get("casting", "same_kind")
        dtype = kwargs.get("dtype")
        with core.quiet():
            res = self._compute(ins, np_out, casting, dtype)
        if outs:
            return outs[0] if len(outs) == 1 else outs
        return core.wrap(res)

    def _compute(self, ins: list, out: Any, casting: str, dtype: Any) -> Any:
        if self._short in ("power", "pow"):
            return _power(self._np, ins, out, casting, dtype)
        kw: dict[str, Any] = {"casting": casting}
        if dtype is not None:
            kw["dtype"] = dtype
        if out is not None:
            kw["out"] = out
        return self._np(*ins, **kw)

    # ---- methods ------------------------------------------------------------------
    def reduce(self, array: Any, axis: Any = 0, dtype: Any = None, out: Any = None,
               keepdims: bool = False) -> Any:
        if self._short == "add":
            return array.sum(axis, dtype, out, keepdims)
        if self._short == "multiply":
            return array.prod(axis, dtype, out, keepdims)
        raise NotImplementedError(f"`{self.name}.reduce` is not supported yet")

    def accumulate(self, array: Any, axis: Any = 0, dtype: Any = None, out: Any = None
                   ) -> Any:
        if self._short == "add":
            return array.cumsum(axis, dtype, out)
        if self._short == "multiply":
            return array.cumprod(axis, dtype, out)
        raise NotImplementedError(f"`{self.name}.accumulate` is not supported yet")

    def reduceat(self, array: Any, indices: Any, axis: Any = 0, dtype: Any = None,
                 out: Any = None) -> Any:
        if self._short != "add":
            raise NotImplementedError(f"`{self.name}.reduceat` is not supported yet")
        with core.quiet():
            res = np.add.reduceat(_operand(array, "reduceat"), _operand(indices, "reduceat"),
                                  axis=axis, dtype=dtype)
        return core.wrap(res)

    def outer(self, A: Any, B: Any, **kwargs: Any) -> Any:
        if self.nin != 2:
            raise ValueError("outer only supported for binary functions")
        return self(A[(Ellipsis,) + (None,) * B.ndim], B, **kwargs)

    def at(self, a: Any, indices: Any, b: Any = None) -> None:
        allowed = _AT_DTYPES.get(self._short)
        if allowed is None:
            raise NotImplementedError(f"`{self.name}.at` is not supported yet")
        if not isinstance(a, ndarray):
            raise TypeError(f"Unsupported type {type(a)}")
        v = b._a if isinstance(b, ndarray) else np.asarray(b)
        if isinstance(b, (np.ndarray, list)):
            STATE.h2d += 1
        v = v.astype(a.dtype, copy=False)
        if v.dtype.name not in allowed:
            raise TypeError(f"cupy.{self._short}.at only supports "
                            f"{', '.join(allowed)} as data type")
        key = core._prepare_index(a._a, indices)
        target = a._a
        if any(isinstance(s, np.ndarray) and s.dtype.kind == "b" and s.ndim > 0
               for s in key):
            core.synchronize(f"cupy.{self._short}.at with a boolean mask")
        if not core._has_advanced(key):  # no repeats possible: the plain ufunc
            with core.quiet():
                target[key] = self._np(target[key], v)
            return
        pos = np.arange(target.size, dtype=np.int64).reshape(target.shape)[key]
        vb = np.broadcast_to(v, pos.shape)
        flat, vals = pos.reshape(-1), vb.reshape(-1)
        with core.quiet():
            if self._short in ("maximum", "minimum") and target.dtype.kind == "f":
                self._at_float_extremum(target, flat, vals)
                return
            if target.dtype.kind == "f" and flat.size > 1:  # atomics: no fixed order
                order = STATE.rng.permutation(flat.size)
                flat, vals = flat[order], vals[order]
            ravel = np.unravel_index(flat, target.shape)
            self._np.at(target, ravel, vals)

    def _at_float_extremum(self, target: np.ndarray, flat: np.ndarray,
                           vals: np.ndarray) -> None:
        """atomicMax/atomicMin of CuPy's atomics.cuh: ``fmaxf``/``fminf`` of the stored
        value and the new one, both as float32 (also for float64 arrays)."""
        f = np.fmax if self._short == "maximum" else np.fmin
        uniq, inverse = np.unique(flat, return_inverse=True)
        ravel = np.unravel_index(uniq, target.shape)
        cur = target[ravel].astype(np.float32)
        f.at(cur, inverse, vals.astype(np.float32))
        target[ravel] = cur.astype(target.dtype)


def _power(np_power: np.ufunc, ins: list, out: Any, casting: str, dtype: Any) -> Any:
    kw: dict[str, Any] = {"casting": casting}
    if dtype is not None:
        kw["dtype"] = dtype
    if out is not None:
        kw["out"] = out
    base, exp = ins
    res_dt = np.result_type(base, exp) if dtype is None else np.dtype(dtype)
    if res_dt.kind not in "iu" or not np.any(np.asarray(exp) < 0):
        return np_power(base, exp, **kw)
    # CuPy's integral_power: x ** -n is 0, but 1 for x == 1 and +-1 for x == -1
    e = np.asarray(exp)
    neg = e < 0
    safe = np.where(neg, 0, e).astype(e.dtype)
    safe_exp = safe if isinstance(exp, np.ndarray) else type(exp)(safe)  # keep weak scalars
    res = np_power(base, safe_exp, **{k: v for k, v in kw.items() if k != "out"})
    b = np.asarray(base)
    special = np.where(b == 1, 1, np.where(b == -1, np.where(e % 2 == 1, -1, 1), 0))
    res = np.where(neg, special, res).astype(res.dtype)
    if out is not None:
        np.copyto(out, res, casting=casting)
        return out
    return res


# ---- operators ----------------------------------------------------------------------
def _should_use_rop(x: Any, y: Any) -> bool:
    """CuPy's ``_should_use_rop`` (core.pyx): defer to ``y`` when it opts out of NumPy's
    ufuncs (``__array_ufunc__ = None``) or, without that attribute, outranks ``x`` by
    ``__array_priority__``."""
    marker = object()
    y_ufunc = getattr(y, "__array_ufunc__", marker)
    if y_ufunc is not marker:
        return y_ufunc is None
    return getattr(x, "__array_priority__", 0) < getattr(y, "__array_priority__", 0)


def install_operators(ufuncs: dict[str, ufunc], matmul: Any) -> None:
    """Bind ``+ - * / // % ** @ & | ^ << >>``, their reflected and in-place forms, the
    comparisons and the unary operators onto :class:`ndarray`."""
    binary = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
              "floordiv": "floor_divide", "mod": "remainder", "pow": "power",
              "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
              "lshift": "left_shift", "rshift": "right_shift", "divmod": "divmod"}

    def forward(f: Any) -> Any:
        def op(self: ndarray, other: Any, *mod: Any) -> Any:
            if not isinstance(other, ndarray) and _should_use_rop(self, other):
                return NotImplemented
            return f(self, other)
        return op

    def reflected(f: Any) -> Any:
        def op(self: ndarray, other: Any, *mod: Any) -> Any:
            return f(other, self)
        return op

    def inplace(f: Any) -> Any:
        def op(self: ndarray, other: Any) -> Any:
            return f(self, other, out=self)
        return op

    for short, name in binary.items():
        f = matmul if short == "matmul" else ufuncs[name]
        setattr(ndarray, f"__{short}__", forward(f))
        setattr(ndarray, f"__r{short}__", reflected(f))
        if short != "divmod":
            setattr(ndarray, f"__i{short}__", inplace(f))
    ndarray.__matmul__ = forward(matmul)
    ndarray.__rmatmul__ = reflected(matmul)

    def compare(f: Any, short: str) -> Any:
        def op(self: ndarray, other: Any) -> Any:
            if other is None and short in ("eq", "ne"):  # CuPy: an array of the answer
                return core.wrap(np.full(self.shape, short == "ne"))
            if isinstance(other, np.ndarray) and other.ndim == 0:
                other = other.item()  # CuPy's __richcmp__ takes a 0-d NumPy as a scalar
            if not isinstance(other, (ndarray, np.ndarray)) and not core.is_scalar(other):
                return NotImplemented
            if isinstance(other, np.ndarray) and _should_use_rop(self, other):
                return NotImplemented
            return f(self, other)
        return op

    for short, name in {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                        "gt": "greater", "ge": "greater_equal"}.items():
        setattr(ndarray, f"__{short}__", compare(ufuncs[name], short))
    ndarray.__neg__ = lambda self: ufuncs["negative"](self)
    ndarray.__pos__ = lambda self: ufuncs["positive"](self)
    ndarray.__abs__ = lambda self: ufuncs["absolute"](self)
    ndarray.__invert__ = lambda self: ufuncs["invert"](self)
