"""Arithmetic on dense tensors and numbers: ``+ - * / **`` with broadcasting and
PyTorch's promotion of a number beside an integer tensor, and ``conj``. The shared operand
checks (:func:`operand`, :func:`operands`) serve the comparisons, ``where`` and ``clamp``
too."""

from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple, Union

import numpy as np

from ..core import validate
from ..core.dispatch import dispatchable
from ..core.tensor import Tensor
from ..formats import conj as conj_array
from .derivatives import ElementwiseCtx, EmptyCtx, record

Operand = Union[Tensor, float, complex]


def operand(fn: str, x: Any, like: Tensor, name: str) -> Operand:
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


def operands(fn: str, a: Any, b: Any, like: Tensor) -> Operands:
    """Two operands (at least one, ``like``, a dense tensor; the other a dense tensor or
    a number) checked, with the result dtype PyTorch's promotion gives a number beside an
    integer or bool tensor: ``(a, b, ta, tb, dtype, number)``, ``ta``/``tb`` the tensors
    or None, ``a``/``b`` the validated values."""
    raw = b if not isinstance(b, Tensor) else a if not isinstance(a, Tensor) else None
    if isinstance(raw, np.ndarray):
        raw = raw.item() if raw.ndim == 0 else None  # an array operand is refused below
    dt = result_dtype(fn, like.dtype, raw)
    like_dt = like if dt == like.dtype else Tensor(like.array.astype(dt), like.device)
    a = operand(fn, a, like_dt, "input")
    b = operand(fn, b, like_dt, "other")
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None:
        validate.same_device(fn, input=ta, other=tb)
        validate.same_dtype(fn, input=ta, other=tb)
    return a, b, ta, tb, dt, raw


def _binary(fn: str, a: Any, b: Any) -> Tensor:
    like = a if isinstance(a, Tensor) else b
    a, b, ta, tb, dt, raw = operands(fn, a, b, like)
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
Tensor.__truediv__ = _truediv
Tensor.__rtruediv__ = _rtruediv
Tensor.__pow__ = pow
Tensor.__rpow__ = _rpow
Tensor.div = div
Tensor.pow = pow
Tensor.conj = conj
