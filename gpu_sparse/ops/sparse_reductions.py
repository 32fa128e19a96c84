"""Reductions over the stored entries of a sparse matrix: ``sparse.sum`` and
``sparse.softmax`` / ``sparse.log_softmax`` (``torch.sparse``'s semantics: the missing
entries act as -inf, so each row's softmax is over its stored values only, and an empty
row stays empty).

Segment sums go through the pattern's SpMM with a vector of ones (a fixed summation
order per row, so results are deterministic on both devices); segment maxima, which do
not depend on order, through ``maximum.at``.
"""

from __future__ import annotations

from typing import Any

from ..core import validate
from ..core.engine import is_grad_enabled
from ..core.tensor import Tensor, sparse_pattern
from .arraymath import segment_softmax, segment_sum
from .derivatives import DimCtx, SparseSoftmaxCtx, record
from .reductions import dim_arg, dims_arg
from .reductions import sum as sum_all
from .structure import coalesce, to_layout, to_sparse_coo


def _coalesced(fn: str, s: Tensor) -> Tensor:
    """``s`` with its duplicates summed (differentiably), in its own layout."""
    pattern = sparse_pattern(s, fn)
    pattern.prove(fn, "input")
    if pattern.coalesced:
        return s
    return to_layout(coalesce(to_sparse_coo(s)), s.layout)  # back to its own layout


def sum(s: Tensor, dim: Any = None) -> Tensor:
    """Sum of a sparse matrix's stored values: all of them (``dim`` None or ``(0, 1)``:
    a 0-d tensor), or along ``dim`` = 0 (one per column, shape (n,)) or 1 (one per row,
    shape (m,)), as ``torch.sparse.sum``. The result is dense (PyTorch returns a 1-D
    sparse tensor for one dim; gpu_sparse has 2-D sparse tensors only). Differentiable
    w.r.t. the values: each stored entry gets the gradient of its row's (column's) sum.

    Errors: RuntimeError for a dense input (as PyTorch), IndexError for a dim out of
    range.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> s = gs.sparse_coo_tensor([[0, 0, 1], [0, 1, 1]], [1.0, 2.0, 3.0], (2, 2))
    >>> gs.sparse.sum(s).item(), gs.sparse.sum(s, dim=1).tolist()
    (6.0, [3.0, 3.0])
    """
    fn = "sparse.sum"
    pattern = sparse_pattern(s, fn)
    dims = dims_arg(fn, s, dim)
    if dims is None or len(dims) == 2:
        return sum_all(s)
    pattern.prove(fn, "input")
    d = dims[0]
    out = s.backend.xp.ascontiguousarray(segment_sum(s, s.array, d))
    return record("sparse_sum", Tensor(out, s.device), [("input", s)], DimCtx(s, d))


def _softmax(fn: str, s: Tensor, dim: Any, log: bool) -> Tensor:
    validate.tensor_arg(fn, "input", s)
    sparse_pattern(s, fn)
    if s.dtype.kind != "f":
        raise TypeError(f"{fn}: values must be floating point, got {s.dtype}")
    d = dim_arg(fn, s, dim)
    sc = _coalesced(fn, s)
    vals = segment_softmax(sc, d, log)
    key = "sparse_log_softmax" if log else "sparse_softmax"
    out = sc.with_array(vals)
    if not (is_grad_enabled() and sc.requires_grad):
        return out
    return record(key, out, [("input", sc)], SparseSoftmaxCtx(sc, d, vals.copy()))


def softmax(s: Tensor, dim: int) -> Tensor:
    """Softmax over the stored entries of each row (``dim=1``) or column (``dim=0``) of
    a sparse COO or CSR matrix, as ``torch.sparse.softmax``: missing entries act as
    -inf, an empty row stays empty, duplicates are summed first (the result is
    coalesced, in the input's layout). Stable: each row's maximum is subtracted first.
    Differentiable w.r.t. the values: ``s * (G - sum(G * s))`` per row.

    Shapes: ``s`` (m, n) with nnz stored values -> (m, n) with the coalesced pattern.
    Errors: RuntimeError for a dense input, TypeError for non-floating values,
    IndexError for a dim out of range.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> s = gs.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 1.0, 5.0], (2, 3))
    >>> gs.sparse.softmax(s, dim=1).values().tolist()
    [0.5, 0.5, 1.0]
    """
    return _softmax("sparse.softmax", s, dim, False)


def log_softmax(s: Tensor, dim: int) -> Tensor:
    """The logarithm of :func:`softmax`, computed stably, as
    ``torch.sparse.log_softmax``. Differentiable: ``G - exp(out) * sum(G)`` per row.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> s = gs.sparse_coo_tensor([[0, 0], [0, 2]], [1.0, 1.0], (1, 3))
    >>> [round(v, 4) for v in gs.sparse.log_softmax(s, dim=1).values().tolist()]
    [-0.6931, -0.6931]
    """
    return _softmax("sparse.log_softmax", s, dim, True)


__all__ = ["log_softmax", "softmax", "sum"]
