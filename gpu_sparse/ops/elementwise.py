"""Elementwise arithmetic on dense tensors (enough to write a loss): ``+ - * /``, unary
minus, ``conj``, ``sum``, and the in-place updates an optimizer step uses
(``add_ sub_ mul_ copy_ zero_``)."""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

from ..core import validate
from ..core.dispatch import dispatchable
from ..core.engine import is_grad_enabled
from ..core.tensor import Tensor
from ..formats import conj as conj_array
from .derivatives import (AddCtx, ConjCtx, DivCtx, ExpCtx, LogCtx, MeanCtx, MulCtx,
                          ReluCtx, SubCtx, SumCtx, record)

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


def _result_dtype(dtype: np.dtype, scalar: Any) -> np.dtype:
    """The dtype of ``tensor op scalar``: the tensor's, except that an integer or bool
    tensor with a float scalar computes in float32 and a bool tensor with an integer in
    int64 (PyTorch's promotion, so that ``ints * 0.5`` is not silently truncated)."""
    if scalar is None or dtype.kind not in "bui" or isinstance(scalar, (bool, np.bool_)):
        return dtype
    if isinstance(scalar, (int, np.integer)):
        return np.dtype(np.int64) if dtype.kind == "b" else dtype
    if isinstance(scalar, (float, np.floating)):
        return np.dtype(np.float32)
    return dtype  # complex: refused by the scalar check below


def _binary(fn: str, a: Any, b: Any) -> Tensor:
    like = a if isinstance(a, Tensor) else b
    raw = b if not isinstance(b, Tensor) else a if not isinstance(a, Tensor) else None
    if isinstance(raw, np.ndarray):
        raw = raw.item() if raw.ndim == 0 else None  # an array operand is refused below
    dt = _result_dtype(like.dtype, raw)
    like_dt = like if dt == like.dtype else Tensor(like.array.astype(dt), like.device)
    a = _operand(fn, a, like_dt, "input")
    b = _operand(fn, b, like_dt, "other")
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None:
        validate.same_device(fn, input=ta, other=tb)
        validate.same_dtype(fn, input=ta, other=tb)
    xa = ta.array.astype(dt, copy=False) if ta is not None else dt.type(a)
    xb = tb.array.astype(dt, copy=False) if tb is not None else dt.type(b)
    try:
        if fn == "add":
            arr = xa + xb
        elif fn == "sub":
            arr = xa - xb
        else:
            arr = xa * xb
    except ValueError:  # only two tensors can fail to broadcast
        shapes = (ta.shape if ta is not None else (), tb.shape if tb is not None else ())
        raise ValueError(f"{fn}: shapes {shapes[0]} and {shapes[1]} cannot be broadcast "
                         "together") from None
    arr = like.backend.asarray(arr, dtype=dt)
    # the gradient multiplies by the other operand: an array, or the Python scalar itself
    # (its conj keeps the sign of a zero imaginary part, unlike a NumPy scalar's)
    ctx = _CONTEXTS[fn](a=xa if ta is not None else a, b=xb if tb is not None else b,
                        a_shape=None if ta is None else ta.shape,
                        b_shape=None if tb is None else tb.shape)
    return record(fn, Tensor(arr, like.device), [("input", ta), ("other", tb)], ctx)


_CONTEXTS = {"add": AddCtx, "sub": SubCtx, "mul": MulCtx}


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


def div(x: Tensor, divisor: Any) -> Tensor:
    """``x / divisor`` for a dense tensor and a number: IEEE true division (inf, or nan for
    0 / 0, as NumPy and PyTorch); integer tensors divide in float32. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1, 2]) / 4).tolist()
    [0.25, 0.5]
    """
    fn = "div"
    validate.tensor_arg(fn, "input", x)
    if isinstance(divisor, Tensor):
        raise TypeError("div: only division by a number is supported, got a Tensor")
    if x.pattern is not None:
        raise TypeError(f"div: input is sparse ({x.layout.value}); divide values() instead")
    if x.dtype.kind in "bui":
        x = Tensor(x.array.astype(np.float32), x.device)  # no gradient: integers had none
    d = _operand(fn, divisor, x, "other")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # IEEE results
        arr = x.array / x.dtype.type(d)
    return record(fn, Tensor(arr, x.device), [("input", x)], DivCtx(divisor=d))


def _truediv(self: Tensor, other: Any) -> Tensor:
    return div(self, other)


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
    return record("conj", x.with_array(conj_array(x.array)), [("input", x)], ConjCtx())


@dispatchable
def sum(x: Tensor) -> Tensor:
    """Sum of all elements (sparse: all stored values) as a 0-d tensor. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([[1.0, 2.0], [3.0, 4.0]]).sum().item()
    10.0
    """
    validate.tensor_arg("sum", "input", x)
    arr = x.backend.asarray(x.array.sum(), dtype=x.dtype).reshape(())
    return record("sum", Tensor(arr, x.device), [("input", x)], SumCtx(x))


def mean(x: Tensor) -> Tensor:
    """Mean of all elements (sparse: of the stored values) as a 0-d tensor; nan for no
    elements, as in PyTorch. Differentiable: every element gets ``G / numel``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([[1.0, 2.0], [3.0, 5.0]]).mean().item()
    2.75
    """
    validate.tensor_arg("mean", "input", x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: input must have a floating point or complex dtype, got "
                        f"{x.dtype} (as in PyTorch)")
    with np.errstate(invalid="ignore", divide="ignore"):
        arr = x.array.sum() / x.dtype.type(x.array.size)
    arr = x.backend.asarray(arr, dtype=x.dtype).reshape(())
    return record("mean", Tensor(arr, x.device), [("input", x)], MeanCtx(x))


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
    return record("relu", Tensor(arr, x.device), [("input", x)], ReluCtx(x))


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
    return record("exp", Tensor(arr, x.device), [("input", x)], ExpCtx(x))


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
    return record("log", Tensor(arr, x.device), [("input", x)], LogCtx(x))


# ---- in-place updates (outside the graph) -------------------------------------------
def _inplace(fn: str, t: Tensor, other: Any) -> Tensor:
    if not isinstance(other, (Tensor, numbers.Number)) and not (
            isinstance(other, np.ndarray) and other.ndim == 0):
        raise TypeError(f"{fn}: other must be a Tensor or a number, got "
                        f"{type(other).__name__}")
    if t.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{fn}: a tensor that requires grad is used in an in-place "
                           "operation; wrap the update in gpu_sparse.no_grad()")
    if t.version_counter.read_only:
        raise RuntimeError(f"{fn}: this tensor views the index array of a sparse pattern, "
                           "and patterns are immutable; build a new tensor instead")
    arr = t.array
    val: Any = other
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
    """``self += other`` in place (dense, or a tensor on this one's pattern); returns self.
    RuntimeError on a tensor that requires grad unless inside ``no_grad()``."""
    return _inplace("add_", self, other)


def sub_(self: Tensor, other: Any) -> Tensor:
    """``self -= other`` in place, as :func:`add_`; e.g. an SGD step
    ``w.values().sub_(lr * w.grad.values())`` inside ``no_grad()``."""
    return _inplace("sub_", self, other)


def mul_(self: Tensor, other: Any) -> Tensor:
    """``self *= other`` in place, as :func:`add_`."""
    return _inplace("mul_", self, other)


def copy_(self: Tensor, other: Any) -> Tensor:
    """Overwrite this tensor's elements with ``other`` in place, as :func:`add_`."""
    return _inplace("copy_", self, other)


def zero_(self: Tensor) -> Tensor:
    """Set every element (sparse: every stored value) to zero in place."""
    return _inplace("zero_", self, 0)


def _radd(self: Tensor, other: Any) -> Tensor:
    return add(other, self)


def _rsub(self: Tensor, other: Any) -> Tensor:
    return sub(other, self)


def _rmul(self: Tensor, other: Any) -> Tensor:
    return mul(other, self)


def _neg(self: Tensor) -> Tensor:
    return mul(self, -1)


Tensor.__add__ = add
Tensor.__radd__ = _radd
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = _rmul
Tensor.__neg__ = _neg
Tensor.__truediv__ = _truediv
Tensor.sum = sum
Tensor.mean = mean
Tensor.relu = relu
Tensor.exp = exp
Tensor.log = log
Tensor.conj = conj
Tensor.add_ = add_
Tensor.sub_ = sub_
Tensor.mul_ = mul_
Tensor.copy_ = copy_
Tensor.zero_ = zero_
