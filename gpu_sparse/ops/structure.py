"""Sparse structure and conversions: ``values()``, ``coalesce()``, ``to_dense()``,
``to_sparse()``, ``to_sparse_csr()``, ``to(device)`` (all differentiable) and
``to_scipy()``."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from ..backend import Array, canonical_device
from ..core.engine import is_grad_enabled
from ..core.tensor import Tensor, sparse_pattern
from ..formats import COOPattern, Layout, Pattern
from ..formats.csr import from_row_sorted_coo
from .arraymath import moved
from .derivatives import CoalesceCtx, InputCtx, ToSparseCtx, record


def _tracks(t: Tensor) -> bool:
    """Whether an op on ``t`` records a node (and so must save what its backward needs)."""
    return t.requires_grad and is_grad_enabled()


def values(s: Tensor) -> Tensor:
    """Sparse: the (nnz,) stored values as a dense tensor sharing memory with ``s``.

    Works on uncoalesced COO tensors too (duplicates as stored). Differentiable: the
    gradient flows back as a sparse gradient on ``s``'s own pattern. An optimizer updates a
    sparse leaf in place through it, inside ``no_grad()``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sparse_coo_tensor([[0, 0], [1, 1]], [1.0, 2.0], (1, 2)).values().tolist()
    [1.0, 2.0]
    """
    sparse_pattern(s, "values")
    view = Tensor(s.array, s.device, version=s.version_counter)  # in-place: one storage
    return record("values", view, [("input", s)], InputCtx(s))


def coalesce(s: Tensor) -> Tensor:
    """COO: duplicates summed, sorted row-major, explicit zeros kept; ``s`` itself when
    already coalesced. Differentiable (each input entry gets the gradient of the entry it
    was summed into).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[1, 0, 1], [0, 1, 0]], [1.0, 2.0, 3.0], (2, 2))
    >>> a.coalesce().values().tolist()
    [2.0, 4.0]
    """
    pattern = sparse_pattern(s, "coalesce", Layout.sparse_coo)
    pattern.prove("coalesce", "input")  # also an unchecked claim of coalesced order
    if pattern.coalesced:
        return s
    out_pattern, vals, inverse = pattern.coalesce(s.array, inverse=_tracks(s))
    return record("coalesce", Tensor(vals, s.device, out_pattern), [("input", s)],
                  CoalesceCtx(s, inverse))


def to_dense(s: Tensor) -> Tensor:
    """The dense matrix (duplicates summed); a dense ``s`` itself. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sparse_coo_tensor([[0, 0], [1, 1]], [1.0, 2.0], (1, 2)).to_dense().tolist()
    [[0.0, 3.0]]
    """
    if s.pattern is None:
        return s
    s.pattern.prove("to_dense", "input")
    out = Tensor(s.pattern.to_dense(s.array), s.device)
    return record("to_dense", out, [("input", s)], InputCtx(s))


def _nonzero(fn: str, d: Tensor) -> Tuple[Array, Array]:
    """Row-major (rows, cols) int64 of the nonzeros of a 2-D dense tensor."""
    if d.ndim != 2:
        raise ValueError(f"{fn}: expected a 2-D tensor, got shape {d.shape}")
    rows, cols = d.backend.xp.nonzero(d.array)
    return rows.astype(np.int64), cols.astype(np.int64)


def to_sparse_coo(t: Tensor) -> Tensor:
    """A COO tensor: from dense, its nonzeros (coalesced); from CSR, the same entries in
    the same order; a COO ``t`` itself. Differentiable.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> gs.tensor(np.array([[0.0, 2.0]])).to_sparse().indices().tolist()
    [[0], [1]]
    """
    if t.layout is Layout.sparse_coo:
        return t
    xp = t.backend.xp
    if t.pattern is None:
        rows, cols = _nonzero("to_sparse", t)
        vals = t.array[rows, cols]
        shape = (t.shape[0], t.shape[1])
        pattern = COOPattern(xp.stack([rows, cols]), shape, t.device, coalesced=True)
    else:
        t.pattern.prove("to_sparse", "input")
        rows, cols = t.pattern.rows.astype(np.int64), t.pattern.cols
        keys = rows * t.shape[1] + cols
        sorted_unique = keys.shape[0] < 2 or bool((keys[1:] > keys[:-1]).all())
        pattern = COOPattern(xp.stack([rows, cols]), t.pattern.shape, t.device,
                             coalesced=sorted_unique)
        vals = t.array.copy()
    return record("to_sparse_coo", Tensor(vals, t.device, pattern), [("input", t)],
                  ToSparseCtx(t, from_dense=t.pattern is None, inverse=None))


def to_sparse_csr(t: Tensor) -> Tensor:
    """A CSR tensor: from dense, its nonzeros; from COO, coalesced first; a CSR ``t``
    itself. Differentiable.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> gs.tensor(np.array([[0.0, 2.0], [3.0, 0.0]])).to_sparse_csr().crow_indices().tolist()
    [0, 1, 2]
    """
    if t.layout is Layout.sparse_csr:
        return t
    inverse = None
    if t.pattern is None:
        rows, cols = _nonzero("to_sparse_csr", t)
        vals = t.array[rows, cols]
        shape = (t.shape[0], t.shape[1])
        coo: Pattern = COOPattern(t.backend.xp.stack([rows, cols]), shape, t.device,
                                  coalesced=True)
    else:
        t.pattern.prove("to_sparse_csr", "input")
        coo, vals, inverse = t.pattern.coalesce(t.array, inverse=_tracks(t))
    out = Tensor(vals, t.device, from_row_sorted_coo(coo))
    return record("to_sparse_csr", out, [("input", t)],
                  ToSparseCtx(t, from_dense=t.pattern is None, inverse=inverse))


def to_layout(t: Tensor, layout: Layout) -> Tensor:
    """``t`` converted to ``layout`` (``to_dense``, ``to_sparse_coo`` or ``to_sparse_csr``;
    ``t`` itself when it has that layout). Differentiable. ValueError for a layout with
    no conversion."""
    convert = {Layout.strided: to_dense, Layout.sparse_coo: to_sparse_coo,
               Layout.sparse_csr: to_sparse_csr}.get(layout)
    if convert is None:
        raise ValueError(f"to_layout: no conversion to {layout!r}")
    return convert(t)


def to_device(t: Tensor, device: Any) -> Tensor:
    """This tensor on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``); ``t`` itself when
    it is there already. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1.0]).to("cpu").device
    'cpu'
    """
    dev = canonical_device(device, "to")
    if dev == t.device:
        return t

    def move(arr: Array) -> Array:
        return moved(arr, t.device, dev)

    pattern = None if t.pattern is None else t.pattern.moved(dev, move)
    return record("to_device", Tensor(move(t.array), dev, pattern), [("input", t)],
                  InputCtx(t))


def transpose(x: Tensor) -> Tensor:
    """The transpose of a 2-D dense tensor (``x.T``, ``x.t()``), a view of the same
    memory (one version counter). Differentiable. Sparse tensors are refused
    (TypeError).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([[1.0, 2.0]]).T.tolist()
    [[1.0], [2.0]]
    """
    if x.pattern is not None:
        raise TypeError(f"t: input is sparse ({x.layout.value}); transposing a sparse "
                        f"tensor is not supported yet")
    if x.ndim != 2:
        raise ValueError(f"t: input must be 2-D, got shape {x.shape}")
    out = Tensor(x.array.T, x.device, version=x.version_counter)
    return record("transpose", out, [("input", x)], InputCtx(x))


def to_scipy(t: Tensor) -> Any:
    """The matrix as ``scipy.sparse`` (CPU) or ``cupyx.scipy.sparse`` (CUDA), with copies
    of the arrays: COO gives ``coo_matrix``, CSR ``csr_matrix``; dense tensors are refused
    (RuntimeError). float16/bfloat16 values come out as float32 (neither SciPy nor cupyx
    sparse matrices hold half precision) and, on CUDA, integer values as float64 (cupyx
    holds none; ValueError beyond 2**53, which float64 would round). Not differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.sparse_coo_tensor([[0], [1]], [1.0], (1, 2)).to_scipy().toarray().tolist()
    [[0.0, 1.0]]
    """
    pattern = sparse_pattern(t, "to_scipy")
    pattern.prove("to_scipy", "input")
    return pattern.to_scipy(t.array)


Tensor.values = values
Tensor.coalesce = coalesce
Tensor.to_dense = to_dense
Tensor.to_sparse = to_sparse_coo
Tensor.to_sparse_coo = to_sparse_coo
Tensor.to_sparse_csr = to_sparse_csr
Tensor.to_scipy = to_scipy
Tensor.t = transpose
Tensor.T = property(transpose)
