"""Comparisons (``== != < <= > >=``: bool tensors without gradient), the bool
operators ``~ & |``, and the two selections that do carry a gradient, ``where`` and
``clamp``."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..core import validate
from ..core.tensor import Tensor
from .arithmetic import operand, operands
from .derivatives import ClampCtx, WhereCtx, record
from .unary import dense_input

def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """``min(max(x, min), max)`` elementwise for a real dense tensor; ``min`` and
    ``max`` are numbers or dense tensors that broadcast with ``x`` (either may be None,
    not both), as ``torch.clamp``. NaN in ``x`` stays NaN. Differentiable w.r.t. ``x``
    (where ``min <= x <= max``) and tensor bounds (where they are the result).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.clamp(gs.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0).tolist()
    [0.0, 0.5, 1.0]
    """
    fn = "clamp"
    dense_input(fn, x, "f")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    lo = None if min is None else operand(fn, min, x, "min")
    hi = None if max is None else operand(fn, max, x, "max")
    xp = x.backend.xp
    arrs = []
    for t in (lo, hi):
        if isinstance(t, Tensor):
            validate.same_device(fn, input=x, bound=t)
            validate.same_dtype(fn, input=x, bound=t)
            arrs.append(t.array)
        else:
            arrs.append(None if t is None else x.dtype.type(t))
    lo_a, hi_a = arrs
    try:
        # a NaN bound gives NaN, as PyTorch (x < nan is False, so it is chosen explicitly)
        low = x.array if lo_a is None else xp.where((x.array < lo_a) | (lo_a != lo_a), lo_a,
                                                   x.array)
        out = low if hi_a is None else xp.where((low > hi_a) | (hi_a != hi_a), hi_a, low)
    except ValueError:
        raise ValueError(f"clamp: min or max cannot be broadcast to the shape {x.shape} of "
                         "input") from None
    out = xp.ascontiguousarray(out).reshape(out.shape)  # (0-d stays 0-d)
    if tuple(out.shape) != x.shape:
        raise ValueError(f"clamp: min or max (shape {out.shape} after broadcasting) "
                         f"would change the shape {x.shape} of input")
    ins = [("input", x), ("min", lo if isinstance(lo, Tensor) else None),
           ("max", hi if isinstance(hi, Tensor) else None)]
    ctx = ClampCtx(x, lo_a, hi_a, None if not isinstance(lo, Tensor) else lo.shape,
                   None if not isinstance(hi, Tensor) else hi.shape)
    return record(fn, Tensor(out.astype(x.dtype, copy=False), x.device), ins, ctx)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (broadcasting), as
    ``torch.where``. ``condition``: a bool tensor or array; ``input``, ``other``: dense
    tensors of one dtype or numbers (at least one a tensor). Differentiable w.r.t. the
    tensors: each gets ``G`` where it was chosen.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([-1.0, 2.0])
    >>> gs.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0]
    """
    fn = "where"
    like = input if isinstance(input, Tensor) else other
    if not isinstance(like, Tensor):
        raise TypeError("where: input or other must be a Tensor")
    cond = condition.array if isinstance(condition, Tensor) else condition
    if isinstance(condition, Tensor):
        validate.same_device(fn, condition=condition, input=like)
    cond = like.backend.asarray(cond).copy()  # saved for backward: the caller's may change
    if cond.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    a, b, ta, tb, dt, _ = operands(fn, input, other, like)
    xa = ta.array.astype(dt, copy=False) if ta is not None else dt.type(a)
    xb = tb.array.astype(dt, copy=False) if tb is not None else dt.type(b)
    xp = like.backend.xp
    try:
        arr = xp.where(cond, xa, xb)
    except ValueError:
        raise ValueError("where: condition, input and other cannot be broadcast "
                         "together") from None
    arr = xp.ascontiguousarray(arr.astype(dt, copy=False)).reshape(arr.shape)
    ctx = WhereCtx(cond, None if ta is None else ta.shape, None if tb is None else tb.shape)
    return record(fn, Tensor(arr, like.device), [("input", ta), ("other", tb)], ctx)


_COMPARE = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__",
            "gt": "__gt__", "ge": "__ge__"}


def _compare(fn: str, a: Tensor, b: Any) -> Any:
    if isinstance(b, (list, tuple, np.ndarray)) and not (
            isinstance(b, np.ndarray) and b.ndim == 0):
        raise TypeError(f"{fn}: other must be a Tensor or a number, got "
                        f"{type(b).__name__} (wrap arrays with gpu_sparse.tensor)")
    if not isinstance(b, (Tensor, numbers.Number)) and not isinstance(b, np.ndarray):
        return NotImplemented  # another type's reflected comparison may apply
    if a.pattern is not None or (isinstance(b, Tensor) and b.pattern is not None):
        raise TypeError(f"{fn}: comparisons take dense tensors (use to_dense() or "
                        "values())")
    if fn not in ("eq", "ne") and (a.dtype.kind == "c" or isinstance(b, complex) or (
            isinstance(b, Tensor) and b.dtype.kind == "c")):
        raise TypeError(f"{fn}: complex numbers are not ordered")
    if isinstance(b, Tensor):
        validate.same_device(fn, input=a, other=b)
        other = b.array
    else:
        other = b.item() if isinstance(b, np.ndarray) else b
    try:
        arr = getattr(a.array, _COMPARE[fn])(other)
    except ValueError:
        raise ValueError(f"{fn}: shapes {a.shape} and {getattr(b, 'shape', ())} cannot be "
                         "broadcast together") from None
    return Tensor(a.backend.asarray(arr), a.device)


def eq(a: Tensor, b: Any) -> Tensor:
    """``a == b`` elementwise (dense tensors or a number, broadcasting): a bool tensor
    without gradient. ``!=``, ``<``, ``<=``, ``>``, ``>=`` likewise (:func:`ne`,
    :func:`lt`, :func:`le`, :func:`gt`, :func:`ge`); complex tensors take only ``==``
    and ``!=`` (TypeError).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1.0, 2.0]) == 2).tolist()
    [False, True]
    """
    return _compare("eq", a, b)


def ne(a: Tensor, b: Any) -> Tensor:
    """``a != b`` elementwise, as :func:`eq`."""
    return _compare("ne", a, b)


def lt(a: Tensor, b: Any) -> Tensor:
    """``a < b`` elementwise, as :func:`eq`."""
    return _compare("lt", a, b)


def le(a: Tensor, b: Any) -> Tensor:
    """``a <= b`` elementwise, as :func:`eq`."""
    return _compare("le", a, b)


def gt(a: Tensor, b: Any) -> Tensor:
    """``a > b`` elementwise, as :func:`eq`."""
    return _compare("gt", a, b)


def ge(a: Tensor, b: Any) -> Tensor:
    """``a >= b`` elementwise, as :func:`eq`."""
    return _compare("ge", a, b)


def _invert(self: Tensor) -> Tensor:
    if self.dtype.kind != "b" or self.pattern is not None:
        raise TypeError(f"~: takes a dense bool tensor, got {self.layout.value} "
                        f"{self.dtype}")
    return Tensor(~self.array, self.device)


def _logical(fn: str, a: Tensor, b: Any) -> Any:
    if not isinstance(b, Tensor):
        return NotImplemented
    if a.dtype.kind != "b" or b.dtype.kind != "b":
        raise TypeError(f"{fn}: takes bool tensors, got {a.dtype} and {b.dtype}")
    validate.same_device(fn, input=a, other=b)
    return Tensor(a.array & b.array if fn == "&" else a.array | b.array, a.device)


def _and(a: Tensor, b: Any) -> Tensor:
    return _logical("&", a, b)


def _or(a: Tensor, b: Any) -> Tensor:
    return _logical("|", a, b)


Tensor.__eq__ = eq
Tensor.__ne__ = ne
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__invert__ = _invert
Tensor.__and__ = _and
Tensor.__or__ = _or
Tensor.clamp = clamp
