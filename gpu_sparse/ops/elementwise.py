"""Elementwise arithmetic on dense tensors (enough to write a loss): ``+ - * /``, unary
minus, ``conj``, ``sum``, and the in-place updates an optimizer step uses
(``add_ sub_ mul_ copy_ zero_``)."""

from __future__ import annotations

import numbers
from typing import Any, Union

import numpy as np

from ..core import validate
from ..core.engine import is_grad_enabled
from ..core.tensor import Tensor
from ..formats import conj as conj_array
from .derivatives import AddCtx, ConjCtx, MulCtx, SubCtx, SumCtx, record

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


def _binary(fn: str, a: Any, b: Any) -> Tensor:
    like = a if isinstance(a, Tensor) else b
    a = _operand(fn, a, like, "input")
    b = _operand(fn, b, like, "other")
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None:
        validate.same_device(fn, input=ta, other=tb)
        validate.same_dtype(fn, input=ta, other=tb)
    dt = like.dtype
    xa = ta.array if ta is not None else dt.type(a)
    xb = tb.array if tb is not None else dt.type(b)
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


def add(a: Any, b: Any) -> Tensor:
    """``a + b`` (dense tensors or scalars, broadcasting). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1.0, 2.0]) + 1).tolist()
    [2.0, 3.0]
    """
    return _binary("add", a, b)


def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` (dense tensors or scalars, broadcasting). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (1 - gs.tensor([1.0, 2.0])).tolist()
    [0.0, -1.0]
    """
    return _binary("sub", a, b)


def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` elementwise (dense tensors or scalars, broadcasting). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> (gs.tensor([1.0, 2.0]) * gs.tensor([3.0, 4.0])).tolist()
    [3.0, 8.0]
    """
    return _binary("mul", a, b)


def _truediv(self: Tensor, other: Any) -> Tensor:
    if isinstance(other, Tensor):
        raise TypeError("__truediv__: only division by a scalar is supported")
    if not isinstance(other, numbers.Number):
        raise TypeError(f"__truediv__: the divisor must be a number, got "
                        f"{type(other).__name__}")
    # IEEE division by zero (inf, or nan for 0 / 0), as NumPy and PyTorch do
    divisor: Any = other
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = np.divide(1.0, np.complex128(divisor) if isinstance(divisor, complex)
                            else np.float64(divisor)).item()
    return mul(self, inverse)


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


# ---- in-place updates (outside the graph) -------------------------------------------
def _inplace(fn: str, t: Tensor, other: Any) -> Tensor:
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
    if fn == "add_":
        arr += val
    elif fn == "sub_":
        arr -= val
    elif fn == "mul_":
        arr *= val
    else:
        arr[...] = val
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
Tensor.conj = conj
Tensor.add_ = add_
Tensor.sub_ = sub_
Tensor.mul_ = mul_
Tensor.copy_ = copy_
Tensor.zero_ = zero_
