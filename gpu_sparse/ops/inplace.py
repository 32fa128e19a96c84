"""In-place updates outside the graph, as an optimizer step uses them (``add_ sub_ mul_
copy_ zero_``), and :func:`check_writable`, which every in-place method asks first."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..core.engine import is_grad_enabled
from ..core.tensor import Tensor

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


Tensor.add_ = add_
Tensor.sub_ = sub_
Tensor.mul_ = mul_
Tensor.copy_ = copy_
Tensor.zero_ = zero_
