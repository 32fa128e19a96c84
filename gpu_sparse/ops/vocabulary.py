"""The vocabulary of the gradient table (:mod:`.derivatives`): tensor-level verbs in which
each formula is written.

``on(S, v)`` the sparse tensor with S's own pattern (index arrays, order, duplicates) and
values ``v``; ``dense(G, a)`` a dense tensor on G's device; ``SDDMM(S, A, B)`` the values
of ``A @ Bᴴ`` at S's stored entries; ``SpMM(S, B)`` the dense ``S @ B``; ``SpMM_H(S, B)``
the dense ``Sᴴ @ B``; ``values_at(S, X)`` the entries of X at S's stored positions;
``sum_to(X, shape)`` the sum of a broadcast result back to ``shape``; ``conj``, ``H``
(conjugate transpose), ``times``/``scaled`` (scalar factors), ``masked`` (selected, not
multiplied).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..backend import Array
from ..core.tensor import Tensor, to_layout_of
from ..formats import conj as conj_array
from .arraymath import moved

Scalar = Any  # a Python float or complex, already checked against the dtype
Shape = Tuple[int, ...]


def on(s: Tensor, values: Array) -> Tensor:
    """The tensor with ``s``'s own pattern (or ``s``'s device, if dense) and ``values``."""
    return s.with_array(values)


def dense(like: Tensor, arr: Array) -> Tensor:
    """A dense C-contiguous tensor on ``like``'s device (``arr`` copied only if needed)."""
    return Tensor(arr if arr.flags.c_contiguous else arr.copy(), like.device)


def conj(x: Any) -> Any:
    """Conjugate of a Python scalar or an array (real ones returned as they are)."""
    if isinstance(x, complex):
        return x.conjugate()
    if isinstance(x, (int, float)):
        return x
    return conj_array(x)


def H(arr: Array) -> Array:
    """Conjugate transpose of a 2-D array (a view when real)."""
    return conj_array(arr).T


def times(arr: Array, s: Scalar) -> Array:
    """``arr * s`` in ``arr``'s dtype (``arr`` itself for s == 1)."""
    return arr if s == 1 else arr * arr.dtype.type(s)


def scaled(g: Tensor, s: Scalar) -> Array:
    """``s * g`` as a fresh array in g's dtype (zeros for s == 0, so NaN/Inf in ``g``
    cannot leak through a zero factor)."""
    if s == 0:
        return g.backend.xp.zeros(g.array.shape, dtype=g.dtype)
    if s == 1:
        return g.array.copy()
    return times(g.array, s)


def sum_to(arr: Array, shape: Optional[Shape]) -> Array:
    """Sum a broadcast result back to ``shape`` (the gradient of broadcasting)."""
    assert shape is not None, "sum_to: the operand was a scalar (it gets no gradient)"
    if tuple(arr.shape) == tuple(shape):
        return arr
    lead = arr.ndim - len(shape)
    if lead:
        arr = arr.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and arr.shape[i] != 1)
    if axes:
        arr = arr.sum(axis=axes, keepdims=True)
    return arr.reshape(shape)


def masked(G: Tensor, mask: Array) -> Array:
    """``G`` where ``mask``, else 0 (selected, not multiplied: an inf or NaN in ``G``
    outside the mask gives 0, as PyTorch's masked gradients do)."""
    return G.backend.xp.where(mask, G.array, G.dtype.type(0))


def SpMM(s: Tensor, b: Array, alpha: Scalar = 1) -> Array:
    """``alpha * S @ b`` for sparse ``s`` and a dense array ``b``."""
    assert s.pattern is not None
    return s.pattern.spmm(s.array, b, alpha=alpha)


def SpMM_H(s: Tensor, b: Tensor, alpha: Scalar = 1) -> Array:
    """``alpha * Sᴴ @ b`` for sparse ``s`` and dense ``b``."""
    assert s.pattern is not None
    return s.pattern.spmm_h(s.array, b.array, alpha=alpha)


def SDDMM(s: Tensor, a: Tensor, b: Tensor, alpha: Scalar = 1) -> Array:
    """``alpha * (a @ bᴴ)`` at ``s``'s stored entries (nnz,), in ``s``'s order."""
    assert s.pattern is not None
    return s.pattern.sddmm(a.array, b.array, alpha=alpha)


def values_at(s: Tensor, x: Tensor) -> Array:
    """The entries of ``x`` (dense or sparse) at ``s``'s stored positions (nnz,)."""
    return to_layout_of(s, x).array


def like_values(values: Tensor, g: Tensor) -> Tensor:
    """The array of ``g`` as the gradient of the dense tensor ``values``: on its device,
    in its dtype (a constructor may have moved and cast the values)."""
    arr = moved(g.array, g.device, values.device)
    return Tensor(arr.astype(values.dtype, copy=False), values.device)


def scattered(like: Tensor, rows: Array, cols: Array, value: Array) -> Array:
    """Zeros shaped like ``like`` with ``value`` added at each (rows[k], cols[k])."""
    out = like.backend.xp.zeros(like.array.shape, dtype=like.dtype)
    out[rows, cols] += value  # (i, target_i) pairs are distinct: one per row
    return out


def cast_to(g: Array, dtype: np.dtype) -> Array:
    """``g`` in ``dtype`` (the real part when ``dtype`` is real and ``g`` complex)."""
    if g.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        g = g.real
    return g.astype(dtype)


__all__ = ["H", "SDDMM", "Scalar", "Shape", "SpMM", "SpMM_H", "cast_to", "conj", "dense",
           "like_values", "masked", "on", "scaled", "scattered", "sum_to", "times",
           "values_at"]
