"""Elementwise ops on dense tensors: ``+ - * / **``, unary minus, ``abs``, ``conj``,
the activations (``relu``, ``leaky_relu``, ``elu``, ``sigmoid``, ``tanh``), ``exp``,
``log``, ``sqrt``, ``clamp``, ``where``, the comparisons (bool results, no gradient), and
the in-place updates an optimizer step uses (``add_ sub_ mul_ copy_ zero_``)."""

from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple, Union

import numpy as np

from ..core import validate
from ..core.dispatch import dispatchable
from ..core.engine import is_grad_enabled
from ..core.tensor import Tensor
from ..formats import conj as conj_array
from .arraymath import elu_array, sigmoid_array
from .derivatives import (ClampCtx, ElementwiseCtx, EmptyCtx, InputCtx, SlopeCtx, WhereCtx,
                          record)

Operand = Union[Tensor, float, complex]


def _operand(fn: str, x: Any, like: Tensor, name: str) -> Operand:
    """A dense tensor operand or a validated scalar."""
    if isinstance(x, Tensor):
        if x.pattern is not None:
            raise TypeError(f"{fn}: {name} is sparse ({x.layout.value}); elementwise "
                            "arithmetic takes dense tensors (use to_dense() or values())")
        return x
    if isinstance(x, numbers.Number) or (isinstance(x, np.ndarray) and x.ndim == 0):
        return validate.scalar(fn, name, x, like.dtype)
    raise TypeError(f"{fn}: {name} must be a Tensor or a number, got {type(x).__name__}")


def result_dtype(fn: str, dtype: np.dtype, scalar: Any) -> np.dtype:
    """The dtype of ``tensor op scalar``: the tensor's, except that an integer or bool
    tensor with a float scalar computes in float32, a bool tensor with an integer in
    int64, and true division of integers in float32 (PyTorch's promotion, so that
    ``ints * 0.5`` and ``ints / 2`` are not silently truncated)."""
    if dtype.kind not in "bui":
        return dtype
    if fn == "div" or isinstance(scalar, (float, np.floating)):
        return np.dtype(np.float32)
    if scalar is None or isinstance(scalar, (bool, np.bool_)):
        return dtype
    if isinstance(scalar, (int, np.integer)):
        return np.dtype(np.int64) if dtype.kind == "b" else dtype
    return dtype  # complex: refused by the scalar check below


def _apply(fn: str, xa: Any, xb: Any) -> Any:
    if fn == "add":
        return xa + xb
    if fn == "sub":
        return xa - xb
    if fn == "mul":
        return xa * xb
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # IEEE results
        return xa / xb if fn == "div" else xa ** xb


Operands = Tuple[Any, Any, Optional[Tensor], Optional[Tensor], np.dtype, Any]


def _operands(fn: str, a: Any, b: Any, like: Tensor) -> Operands:
    """Two operands (at least one, ``like``, a dense tensor; the other a dense tensor or
    a number) checked, with the result dtype PyTorch's promotion gives a number beside an
    integer or bool tensor: ``(a, b, ta, tb, dtype, number)``, ``ta``/``tb`` the tensors
    or None, ``a``/``b`` the validated values."""
    raw = b if not isinstance(b, Tensor) else a if not isinstance(a, Tensor) else None
    if isinstance(raw, np.ndarray):
        raw = raw.item() if raw.ndim == 0 else None  # an array operand is refused below
    dt = result_dtype(fn, like.dtype, raw)
    like_dt = like if dt == like.dtype else Tensor(like.array.astype(dt), like.device)
    a = _operand(fn, a, like_dt, "input")
    b = _operand(fn, b, like_dt, "other")
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None:
        validate.same_device(fn, input=ta, other=tb)
        validate.same_dtype(fn, input=ta, other=tb)
    return a, b, ta, tb, dt, raw


def _binary(fn: str, a: Any, b: Any) -> Tensor:
    like = a if isinstance(a, Tensor) else b
    a, b, ta, tb, dt, raw = _operands(fn, a, b, like)
    if fn == "pow" and dt.kind in "iu" and not isinstance(b, Tensor) and raw is not None \
            and raw < 0:
        raise ValueError(f"pow: integers to negative integer powers are not allowed "
                         f"(exponent {raw}); use a floating point tensor")
    if fn == "pow" and dt.kind == "i" and tb is not None and bool((tb.array < 0).any()):
        # checked before computing: CuPy gives 0 where NumPy raises
        raise ValueError("pow: integers to negative integer powers are not allowed; use a "
                         "floating point tensor")
    xa = ta.array.astype(dt, copy=False) if ta is not None else dt.type(a)
    xb = tb.array.astype(dt, copy=False) if tb is not None else dt.type(b)
    shapes = (ta.shape if ta is not None else (), tb.shape if tb is not None else ())
    try:
        arr = _apply(fn, xa, xb)
    except ValueError as e:
        if fn == "pow" and "negative integer powers" in str(e):
            raise ValueError("pow: integers to negative integer powers are not allowed; "
                             "use a floating point tensor") from None
        raise ValueError(f"{fn}: shapes {shapes[0]} and {shapes[1]} cannot be broadcast "
                         "together") from None
    except (TypeError, OverflowError) as e:  # NumPy's refusals (bool - bool, uint8 + 300)
        raise type(e)(f"{fn}: cannot apply it to {like.dtype} operands "
                      f"({shapes[0]}, {shapes[1]}): {e}") from None
    arr = like.backend.asarray(arr, dtype=dt)
    # the gradient multiplies by the other operand: an array, or the Python scalar itself
    # (its conj keeps the sign of a zero imaginary part, unlike a NumPy scalar's)
    ctx = ElementwiseCtx(a=xa if ta is not None else a, b=xb if tb is not None else b,
                         a_shape=None if ta is None else ta.shape,
                         b_shape=None if tb is None else tb.shape)
    return record(fn, Tensor(arr, like.device), [("input", ta), ("other", tb)], ctx)


@dispatchable
def add(a: Any, b: Any) -> Tensor:
    """``a + b`` (dense tensors or scalars, broadcasting). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1.0, 2.0]) + 1).tolist()
    [2.0, 3.0]
    """
    return _binary("add", a, b)


@dispatchable
def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` (dense tensors or scalars, broadcasting). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (1 - gs.tensor([1.0, 2.0])).tolist()
    [0.0, -1.0]
    """
    return _binary("sub", a, b)


@dispatchable
def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` elementwise (dense tensors or scalars, broadcasting). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1.0, 2.0]) * gs.tensor([3.0, 4.0])).tolist()
    [3.0, 8.0]
    """
    return _binary("mul", a, b)


def div(a: Any, b: Any) -> Tensor:
    """``a / b`` elementwise (dense tensors or numbers, broadcasting): IEEE true
    division (inf, or nan for 0 / 0, as NumPy and PyTorch); integer tensors divide in
    float32. Differentiable w.r.t. both tensors: ``G / conj(b)`` and
    ``-G * conj(a / b²)``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1, 2]) / 4).tolist()
    [0.25, 0.5]
    >>> (1 / gs.tensor([2.0, 4.0])).tolist()
    [0.5, 0.25]
    """
    return _binary("div", a, b)


def pow(a: Any, b: Any) -> Tensor:
    """``a ** b`` elementwise (dense tensors or numbers, broadcasting), as
    ``torch.pow``. Differentiable w.r.t. both tensors: ``G * conj(b * a ** (b - 1))``
    (zero where ``b == 0``) and ``G * conj(a ** b * log(a))`` (zero where ``a == 0`` and
    ``b >= 0``), PyTorch's conventions. ValueError for integer tensors to negative
    integer powers.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1.0, 2.0, 3.0]) ** 2).tolist()
    [1.0, 4.0, 9.0]
    """
    return _binary("pow", a, b)


def _truediv(self: Tensor, other: Any) -> Tensor:
    return div(self, other)


def _rtruediv(self: Tensor, other: Any) -> Tensor:
    return div(other, self)


def _rpow(self: Tensor, other: Any) -> Tensor:
    return pow(other, self)


def conj(x: Tensor) -> Tensor:
    """Complex conjugate (the tensor itself for real tensors). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1 + 2j]).conj().tolist()
    [(1-2j)]
    """
    validate.tensor_arg("conj", "input", x)
    if x.dtype.kind != "c":
        return x
    return record("conj", x.with_array(conj_array(x.array)), [("input", x)], EmptyCtx())


def _dense_unary(fn: str, x: Tensor, real_only: bool = False) -> None:
    validate.tensor_arg(fn, "input", x)
    if x.pattern is not None:
        raise TypeError(f"{fn}: input is sparse ({x.layout.value}); apply it to values()")
    if x.dtype.kind not in "fc" or (real_only and x.dtype.kind == "c"):
        want = "floating point" if real_only else "floating point or complex"
        raise TypeError(f"{fn}: input must have a {want} dtype, got {x.dtype}")


@dispatchable
def relu(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise for a real dense tensor (PyTorch's ``relu``; NaN stays
    NaN). Differentiable: the gradient passes where ``x > 0``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.relu(gs.tensor([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 2.0]
    """
    _dense_unary("relu", x, real_only=True)
    arr = x.backend.xp.maximum(x.array, x.dtype.type(0))
    return record("relu", Tensor(arr, x.device), [("input", x)], InputCtx(x))


def exp(x: Tensor) -> Tensor:
    """``exp(x)`` elementwise for a dense tensor. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.exp(gs.tensor([0.0])).tolist()
    [1.0]
    """
    _dense_unary("exp", x)
    with np.errstate(over="ignore"):
        arr = x.backend.xp.exp(x.array)
    return record("exp", Tensor(arr, x.device), [("input", x)], InputCtx(x))


def log(x: Tensor) -> Tensor:
    """Natural logarithm elementwise for a dense tensor (``-inf`` at 0 and nan below, as
    in PyTorch for real inputs). Differentiable: ``G / conj(x)``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.log(gs.tensor([1.0])).tolist()
    [0.0]
    """
    _dense_unary("log", x)
    with np.errstate(divide="ignore", invalid="ignore"):
        arr = x.backend.xp.log(x.array)
    return record("log", Tensor(arr, x.device), [("input", x)], InputCtx(x))


def neg(x: Tensor) -> Tensor:
    """``-x`` elementwise for a dense tensor. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.neg(gs.tensor([1.0, -2.0])).tolist()
    [-1.0, 2.0]
    """
    validate.tensor_arg("neg", "input", x)
    if x.pattern is not None:
        raise TypeError(f"neg: input is sparse ({x.layout.value}); apply it to values()")
    if x.dtype.kind == "b":
        raise TypeError("neg: negation of a bool tensor is not supported (as in PyTorch); "
                        "use ~ or logical_not")
    return record("neg", Tensor(-x.array, x.device), [("input", x)], EmptyCtx())


def abs(x: Tensor) -> Tensor:
    """``|x|`` elementwise for a dense tensor (complex: the modulus, a real tensor).
    Differentiable: ``G * sgn(x)`` with ``sgn(0) = 0`` (complex: ``x / |x|``).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.abs(gs.tensor([-1.5, 2.0])).tolist()
    [1.5, 2.0]
    """
    validate.tensor_arg("abs", "input", x)
    if x.pattern is not None:
        raise TypeError(f"abs: input is sparse ({x.layout.value}); apply it to values()")
    arr = x.array.__abs__()
    return record("abs", Tensor(arr, x.device), [("input", x)], InputCtx(x))


def _unary(fn: str, x: Tensor, real_only: bool, compute: Any, ctx: Any) -> Tensor:
    _dense_unary(fn, x, real_only=real_only)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        arr = compute(x.array)
    return record(fn, Tensor(arr, x.device), [("input", x)], ctx)


def sqrt(x: Tensor) -> Tensor:
    """Square root elementwise for a dense tensor (nan below 0 for real inputs, as in
    PyTorch). Differentiable: ``G / (2 conj(sqrt(x)))`` (inf at 0).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sqrt(gs.tensor([4.0, 9.0])).tolist()
    [2.0, 3.0]
    """
    return _unary("sqrt", x, False, x.backend.xp.sqrt, InputCtx(x))


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise for a dense tensor (computed without
    overflow for large ``|x|``). Differentiable: ``G * conj(s * (1 - s))``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sigmoid(gs.tensor([0.0])).tolist()
    [0.5]
    """
    return _unary("sigmoid", x, False, lambda a: sigmoid_array(a, x.backend.xp),
                  InputCtx(x))


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise for a dense tensor. Differentiable:
    ``G * conj(1 - tanh(x)²)``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tanh(gs.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary("tanh", x, False, x.backend.xp.tanh, InputCtx(x))


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``, for a real dense tensor
    (PyTorch's ``leaky_relu``). Differentiable: ``G`` where ``x > 0``, else
    ``negative_slope * G``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.nn.functional.leaky_relu(gs.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    slope = validate.scalar("leaky_relu", "negative_slope", negative_slope, np.dtype("f8"))
    return _unary("leaky_relu", x, True,
                  lambda a: x.backend.xp.where(a > 0, a, a * a.dtype.type(slope)),
                  SlopeCtx(x, slope))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``, for a real dense tensor
    (Clevert et al., ICLR 2016; PyTorch's ``elu``). Differentiable: ``G`` where
    ``x > 0``, else ``alpha * exp(x) * G``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.nn.functional.elu(gs.tensor([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    a_ = validate.scalar("elu", "alpha", alpha, np.dtype("f8"))
    return _unary("elu", x, True, lambda a: elu_array(a, a_, x.backend.xp), SlopeCtx(x, a_))


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
    _dense_unary(fn, x, real_only=True)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    lo = None if min is None else _operand(fn, min, x, "min")
    hi = None if max is None else _operand(fn, max, x, "max")
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
    a, b, ta, tb, dt, _ = _operands(fn, input, other, like)
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


# ---- in-place updates (outside the graph) -------------------------------------------
def check_writable(fn: str, t: Tensor) -> None:
    """RuntimeError unless ``t`` may change in place: not while it requires grad with
    grad mode on, never for the read-only index views of a sparse pattern."""
    if t.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{fn}: a tensor that requires grad is used in an in-place "
                           "operation; wrap the update in gpu_sparse.no_grad()")
    if t.version_counter.read_only:
        raise RuntimeError(f"{fn}: this tensor views the index array of a sparse pattern, "
                           "and patterns are immutable; build a new tensor instead")


def _inplace(fn: str, t: Tensor, other: Any) -> Tensor:
    if not isinstance(other, (Tensor, numbers.Number)) and not (
            isinstance(other, np.ndarray) and other.ndim == 0):
        raise TypeError(f"{fn}: other must be a Tensor or a number, got "
                        f"{type(other).__name__}")
    check_writable(fn, t)
    arr = t.array
    # a NumPy 0-d array as its scalar: CuPy's ufuncs refuse NumPy arrays, 0-d included
    val: Any = other[()] if isinstance(other, np.ndarray) else other
    if isinstance(other, Tensor):
        if other.device != t.device:
            raise RuntimeError(f"{fn}: tensors are on {t.device} and {other.device}")
        if other.pattern is not None and not (t.pattern is not None
                                              and t.pattern.same_entries(other.pattern)):
            raise ValueError(f"{fn}: other must be dense or share this tensor's pattern")
        val = other.array
    try:
        if fn == "add_":
            arr += val
        elif fn == "sub_":
            arr -= val
        elif fn == "mul_":
            arr *= val
        else:
            arr[...] = val
    except (TypeError, ValueError) as e:  # NumPy/CuPy casting or broadcasting refusals
        raise type(e)(f"{fn}: cannot apply other ({getattr(other, 'dtype', type(other))}, "
                      f"shape {getattr(other, 'shape', ())}) to this tensor "
                      f"({t.dtype}, shape {t.shape}): {e}") from None
    t.version_counter.bump()  # backward refuses saved inputs changed after their op ran
    return t


def add_(self: Tensor, other: Any) -> Tensor:
    """``self += other`` in place; returns self. ``other`` is a number, a 0-d array or a
    tensor: dense (broadcast to ``self``'s shape, or to the (nnz,) values of a sparse
    ``self``), or sparse with the same entries as ``self``. Not differentiable: the update
    happens outside the graph and bumps the version counter, so a backward that saved
    ``self`` earlier refuses to run.

    Errors: TypeError for another kind of ``other`` or a dtype that cannot be cast to
    ``self``'s; ValueError for a shape that does not broadcast or a sparse ``other`` on
    other entries; RuntimeError for a tensor that requires grad (unless inside
    ``no_grad()``), for the index tensors of a pattern (read-only), and for ``other`` on
    another device.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.add_(gs.tensor([10.0, 20.0])).tolist()
    [[11.0, 22.0], [13.0, 24.0]]
    """
    return _inplace("add_", self, other)


def sub_(self: Tensor, other: Any) -> Tensor:
    """``self -= other`` in place; returns self. Arguments, errors and (no)
    differentiability as :func:`add_`; e.g. an SGD step
    ``w.values().sub_(lr * w.grad.values())`` inside ``no_grad()``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> w = gs.tensor([1.0, 2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> with gs.no_grad():
    ...     w.sub_(0.25 * w.grad).tolist()
    [0.5, 1.0]
    """
    return _inplace("sub_", self, other)


def mul_(self: Tensor, other: Any) -> Tensor:
    """``self *= other`` in place; returns self. Arguments, errors and (no)
    differentiability as :func:`add_`; a sparse ``self`` scales its stored values.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([1.0, 2.0]), (2, 2))
    >>> a.mul_(3.0).tolist()
    [[0.0, 3.0], [6.0, 0.0]]
    """
    return _inplace("mul_", self, other)


def copy_(self: Tensor, other: Any) -> Tensor:
    """Overwrite this tensor's elements (sparse: stored values) with ``other`` in place,
    broadcasting and casting to ``self``'s dtype; returns self. Arguments, errors and (no)
    differentiability as :func:`add_`.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.copy_(gs.tensor([5.0, 6.0])).tolist()
    [[5.0, 6.0], [5.0, 6.0]]
    """
    return _inplace("copy_", self, other)


def zero_(self: Tensor) -> Tensor:
    """Set every element (sparse: every stored value; the pattern stays) to zero in
    place; returns self. Errors and (no) differentiability as :func:`add_`.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([1.0, 2.0]), (2, 2))
    >>> a.zero_().nnz, a.tolist()
    (2, [[0.0, 0.0], [0.0, 0.0]])
    """
    return _inplace("zero_", self, 0)


def _radd(self: Tensor, other: Any) -> Tensor:
    return add(other, self)


def _rsub(self: Tensor, other: Any) -> Tensor:
    return sub(other, self)


def _rmul(self: Tensor, other: Any) -> Tensor:
    return mul(other, self)


Tensor.__add__ = add
Tensor.__radd__ = _radd
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = _rmul
Tensor.__neg__ = neg
Tensor.__truediv__ = _truediv
Tensor.__rtruediv__ = _rtruediv
Tensor.__pow__ = pow
Tensor.__rpow__ = _rpow
Tensor.__abs__ = abs
Tensor.__eq__ = eq
Tensor.__ne__ = ne
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__invert__ = _invert
Tensor.__and__ = _and
Tensor.__or__ = _or
Tensor.div = div
Tensor.pow = pow
Tensor.neg = neg
Tensor.abs = abs
Tensor.sqrt = sqrt
Tensor.sigmoid = sigmoid
Tensor.tanh = tanh
Tensor.clamp = clamp
Tensor.relu = relu
Tensor.exp = exp
Tensor.log = log
Tensor.conj = conj
Tensor.add_ = add_
Tensor.sub_ = sub_
Tensor.mul_ = mul_
Tensor.copy_ = copy_
Tensor.zero_ = zero_
