"""Unary ops on dense tensors, each built by :func:`unary` (CuPy's one
``create_math_ufunc`` in miniature): ``neg``, ``abs``, ``exp``, ``log``, ``sqrt`` and the
activations ``relu``, ``leaky_relu``, ``elu``, ``sigmoid``, ``tanh``.

Adding one is a function here (its forward as ``compute(array, xp)``, its name in
``__all__``, its Tensor method bound at the end), its record in ``ops/derivatives.py``,
and, for a method, its declaration in ``Tensor``'s ``ClassVar`` block
(``core/tensor.py``); see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from ..core import validate
from ..core.dispatch import dispatchable
from ..core.tensor import Tensor
from .arraymath import elu_array, sigmoid_array
from .derivatives import EmptyCtx, InputCtx, SlopeCtx, record

#: the ops public at the top level too (``gpu_sparse.sqrt``; ``ops/__init__.py`` and
#: ``gpu_sparse/__init__.py`` re-export this list, so a new op is added here only)
__all__ = ["neg", "abs", "relu", "exp", "log", "sqrt", "sigmoid", "tanh"]

#: the dtype kinds an op takes, as its TypeError names them
_KINDS = {"f": "floating point", "fc": "floating point or complex"}


def dense_input(fn: str, x: Any, kinds: str = "fc", refused: Optional[str] = None) -> Tensor:
    """``x`` if it is a dense Tensor whose dtype kind is one of ``kinds`` (NumPy's
    ``dtype.kind`` letters), else TypeError naming ``fn``; ``refused`` replaces the
    message for a dtype outside ``kinds``."""
    validate.tensor_arg(fn, "input", x)
    if x.pattern is not None:
        raise TypeError(f"{fn}: input is sparse ({x.layout.value}); apply it to values()")
    if x.dtype.kind not in kinds:
        raise TypeError(f"{fn}: {refused}" if refused else
                        f"{fn}: input must have a {_KINDS[kinds]} dtype, got {x.dtype}")
    return x


def unary(fn: str, x: Any, compute: Callable[[Any, Any], Any], *, kinds: str = "fc",
          refused: Optional[str] = None,
          ctx: Callable[..., Any] = InputCtx) -> Tensor:
    """The op ``fn``: ``compute(x.array, xp)`` recorded with the context ``ctx(x)``, after
    :func:`dense_input` has checked ``x`` (so a wrong input never reaches ``compute``).
    IEEE results (overflow to inf, nan) pass without NumPy warnings, as in PyTorch."""
    x = dense_input(fn, x, kinds, refused)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        arr = compute(x.array, x.backend.xp)
    return record(fn, Tensor(arr, x.device), [("input", x)], ctx(x))


def _saves_nothing(x: Tensor) -> EmptyCtx:
    return EmptyCtx()


def neg(x: Tensor) -> Tensor:
    """``-x`` elementwise for a dense tensor (integers wrap, as NumPy's). Differentiable.
    TypeError for a bool tensor (as PyTorch).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.neg(gs.tensor([1.0, -2.0])).tolist()
    [-1.0, 2.0]
    """
    return unary("neg", x, lambda a, xp: -a, kinds="iufc", ctx=_saves_nothing,
                 refused="negation of a bool tensor is not supported (as in PyTorch); "
                         "use ~ or logical_not")


def abs(x: Tensor) -> Tensor:
    """``|x|`` elementwise for a dense tensor (complex: the modulus, a real tensor).
    Differentiable: ``G * sgn(x)`` with ``sgn(0) = 0`` (complex: ``x / |x|``).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.abs(gs.tensor([-1.5, 2.0])).tolist()
    [1.5, 2.0]
    """
    return unary("abs", x, lambda a, xp: a.__abs__(), kinds="biufc")


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
    return unary("relu", x, lambda a, xp: xp.maximum(a, a.dtype.type(0)), kinds="f")


def exp(x: Tensor) -> Tensor:
    """``exp(x)`` elementwise for a dense tensor. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.exp(gs.tensor([0.0])).tolist()
    [1.0]
    """
    return unary("exp", x, lambda a, xp: xp.exp(a))


def log(x: Tensor) -> Tensor:
    """Natural logarithm elementwise for a dense tensor (``-inf`` at 0 and nan below, as
    in PyTorch for real inputs). Differentiable: ``G / conj(x)``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.log(gs.tensor([1.0])).tolist()
    [0.0]
    """
    return unary("log", x, lambda a, xp: xp.log(a))


def sqrt(x: Tensor) -> Tensor:
    """Square root elementwise for a dense tensor (nan below 0 for real inputs, as in
    PyTorch). Differentiable: ``G / (2 conj(sqrt(x)))`` (inf at 0).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sqrt(gs.tensor([4.0, 9.0])).tolist()
    [2.0, 3.0]
    """
    return unary("sqrt", x, lambda a, xp: xp.sqrt(a))


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise for a dense tensor (computed without
    overflow for large ``|x|``). Differentiable: ``G * conj(s * (1 - s))``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sigmoid(gs.tensor([0.0])).tolist()
    [0.5]
    """
    return unary("sigmoid", x, sigmoid_array)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise for a dense tensor. Differentiable:
    ``G * conj(1 - tanh(x)²)``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tanh(gs.tensor([0.0])).tolist()
    [0.0]
    """
    return unary("tanh", x, lambda a, xp: xp.tanh(a))


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
    return unary("leaky_relu", x, lambda a, xp: xp.where(a > 0, a, a * a.dtype.type(slope)),
                 kinds="f", ctx=lambda t: SlopeCtx(t, slope))


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
    return unary("elu", x, lambda a, xp: elu_array(a, a_, xp), kinds="f",
                 ctx=lambda t: SlopeCtx(t, a_))


Tensor.__neg__ = neg
Tensor.__abs__ = abs
Tensor.neg = neg
Tensor.abs = abs
Tensor.sqrt = sqrt
Tensor.sigmoid = sigmoid
Tensor.tanh = tanh
Tensor.relu = relu
Tensor.exp = exp
Tensor.log = log
