"""Tensor-level computations shared by the ops and their gradients (no autograd here).

Everything device-specific goes through the backend primitives of
:mod:`gpu_sparse.backend`; what is written here runs unchanged on every backend.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ._device import get_backend
from .tensor import Layout, Tensor


def backend_of(t: Tensor):
    return get_backend(t.device)


# ---- construction of results ---------------------------------------------------------
def dense(device: str, arr) -> Tensor:
    return Tensor(layout=Layout.strided, shape=arr.shape, dtype=arr.dtype, device=device,
                  data=arr)


def coo(device: str, indices, values, shape, coalesced: bool = False) -> Tensor:
    return Tensor(layout=Layout.sparse_coo, shape=shape, dtype=values.dtype, device=device,
                  indices=indices, values=values, coalesced=coalesced)


def csr(device: str, crow, col, values, shape) -> Tensor:
    return Tensor(layout=Layout.sparse_csr, shape=shape, dtype=values.dtype, device=device,
                  crow=crow, col=col, values=values)


def with_values(t: Tensor, values) -> Tensor:
    """A sparse tensor with ``t``'s own index arrays (and pattern caches) and new values."""
    out = Tensor(layout=t.layout, shape=t.shape, dtype=values.dtype, device=t.device,
                 indices=t._indices, crow=t._crow, col=t._col, values=values,
                 coalesced=t._coalesced)
    out._patterns = t._patterns
    return out


def same_pattern(a: Tensor, b: Tensor) -> bool:
    """True when two sparse tensors share their index arrays (the own-pattern rule)."""
    if a.layout is not b.layout or a.layout is Layout.strided:
        return False
    if a.layout is Layout.sparse_coo:
        return a._indices is b._indices
    return a._crow is b._crow and a._col is b._col


def payload(t: Tensor):
    """The array holding a tensor's numbers: dense data or sparse values."""
    return t._data if t.layout is Layout.strided else t._values


def with_payload(t: Tensor, arr) -> Tensor:
    return dense(t.device, arr) if t.layout is Layout.strided else with_values(t, arr)


def host_values(t: Tensor) -> np.ndarray:
    return np.asarray(backend_of(t).to_numpy(payload(t)))


def replace_values(t: Tensor, host_vals: np.ndarray) -> Tensor:
    """Same layout and pattern as ``t`` with the given values (host array)."""
    return with_payload(t, backend_of(t).asarray(host_vals))


def unit_grad_like(t: Tensor, e: int, unit) -> Tensor:
    """A gradient like ``t`` (same layout and pattern) with ``unit`` at flat element e."""
    host = np.zeros(payload(t).shape, dtype=t.dtype)
    host.reshape(-1)[e] = unit
    return replace_values(t, host)


def ones_like(t: Tensor) -> Tensor:
    xp = backend_of(t).xp
    return with_payload(t, xp.ones(payload(t).shape, dtype=t.dtype))


def clone(t: Tensor) -> Tensor:
    return with_payload(t, payload(t).copy())


def scale(arr, s):
    """``s * arr`` in ``arr``'s dtype; a fresh array."""
    if s == 1:
        return arr.copy()
    return arr * arr.dtype.type(s)


# ---- sparse patterns -----------------------------------------------------------------
def coo_rows_cols(t: Tensor):
    """(rows, cols) of each stored entry in storage order (COO or CSR); integer arrays,
    int64 for COO, the cached pattern's index dtype for CSR rows."""
    if t.layout is Layout.sparse_coo:
        return t._indices[0], t._indices[1]
    # not cached: the products walk CSR rows through crow and need no row array
    return backend_of(t).csr_to_coo(row_pattern(t)[0], t._nnz()), t._col


def row_pattern(t: Tensor):
    """Cached CSR form ``(crow, col, perm)`` of a sparse tensor's pattern."""
    pat = t._patterns.get("csr")
    if pat is None:
        be = backend_of(t)
        m, n = t.shape
        if t.layout is Layout.sparse_csr:
            idx = be.index_dtype(m, n, t._nnz())
            pat = (t._crow.astype(idx, copy=False), t._col.astype(idx, copy=False), None)
        else:
            pat = be.coo_to_csr(t._indices[0], t._indices[1], m, n)
        t._patterns["csr"] = pat
    return pat


def col_pattern(t: Tensor):
    """Cached CSR form ``(crow, col, perm)`` of the transposed pattern (n x m).

    ``perm`` maps each transposed entry to its position in ``t``'s values, so ``Sᴴ @ G`` is
    a plain deterministic SpMM, never a transposed-mode one.
    """
    pat = t._patterns.get("csr_t")
    if pat is None:
        m, n = t.shape
        be = backend_of(t)
        if t.layout is Layout.sparse_csr:
            crow, col, _ = row_pattern(t)
            pat = be.csr_transpose(crow, col, m, n)
        else:
            pat = be.coo_to_csr(t._indices[1], t._indices[0], n, m)
        t._patterns["csr_t"] = pat
    return pat


# ---- products --------------------------------------------------------------------------
def spmm(s: Tensor, b, alpha=1, beta=0, c=None):
    """``alpha * S @ b + beta * c`` (c broadcastable to the result, or None)."""
    crow, col, perm = row_pattern(s)
    return backend_of(s).spmm(crow, col, s._values, b, alpha=alpha, beta=beta, c=c,
                              perm=perm)


def spmm_h(s: Tensor, g, alpha=1):
    """``alpha * Sᴴ @ g`` from the cached transposed pattern."""
    crow, col, perm = col_pattern(s)
    return backend_of(s).spmm(crow, col, s._values, g, alpha=alpha, perm=perm, conj=True)


def sddmm_on(s: Tensor, a, b, alpha=1, conj_b: bool = False, beta=0, c=None):
    """``alpha * (a @ op(b)ᵀ)`` sampled at ``s``'s stored entries (+ beta * c)."""
    if s.layout is Layout.sparse_csr:
        crow = row_pattern(s)[0]
        return backend_of(s).sddmm(None, s._col, a, b, alpha=alpha, beta=beta, c=c,
                                   conj_b=conj_b, crow=crow)
    idx = s._patterns.get("coo_narrow")
    if idx is None:
        idx = backend_of(s).narrow_indices(s._indices[0], s._indices[1], *s.shape)
        s._patterns["coo_narrow"] = idx
    return backend_of(s).sddmm(idx[0], idx[1], a, b, alpha=alpha, beta=beta, c=c,
                               conj_b=conj_b)


def csr_triple(s: Tensor):
    """(crow, col, values) of ``s`` in CSR order (values gathered through perm)."""
    crow, col, perm = row_pattern(s)
    vals = s._values if perm is None else s._values[perm]
    return crow, col, vals


def to_dense_array(s: Tensor):
    rows, cols = coo_rows_cols(s)
    return backend_of(s).to_dense(rows, cols, s._values, s.shape)


def sample(g: Tensor, rows, cols):
    """Values of ``g`` (dense, COO or CSR) at positions (rows, cols); 0 where unstored."""
    be = backend_of(g)
    xp = be.xp
    if g.layout is Layout.strided:
        return g._data[rows, cols]
    if g.layout is Layout.sparse_csr:
        gr, gc = coo_rows_cols(g)
    else:
        gr, gc = g._indices[0], g._indices[1]
    kr, kc, kv, _ = be.coalesce(gr, gc, g._values, g.shape, inverse=False)
    n = g.shape[1]
    keys = kr * n + kc
    want = rows.astype(np.int64) * n + cols.astype(np.int64)
    out = xp.zeros(want.shape[0], dtype=g.dtype)
    if keys.shape[0] == 0 or want.shape[0] == 0:
        return out
    pos = xp.searchsorted(keys, want)
    pos_c = xp.minimum(pos, keys.shape[0] - 1)
    hit = keys[pos_c] == want
    out[hit] = kv[pos_c[hit]]
    return out


def project(t: Tensor, g: Tensor) -> Tensor:
    """``g`` in ``t``'s layout; for sparse ``t`` on ``t``'s own pattern (masked)."""
    if t.layout is Layout.strided:
        if g.layout is Layout.strided:
            return g
        return dense(g.device, to_dense_array(g))
    if same_pattern(t, g):
        return g
    rows, cols = coo_rows_cols(t)
    return with_values(t, sample(g, rows, cols))


def accumulate_grad(t: Tensor, existing: Optional[Tensor], g: Tensor) -> Tensor:
    g = project(t, g)
    if existing is None:
        return g
    return with_payload(existing, payload(existing) + payload(g))


def may_alias(arr, others) -> bool:
    """Whether ``arr`` may share memory with any array in ``others``."""
    if type(arr).__module__.startswith("cupy"):
        import cupy
        share = cupy.may_share_memory
    else:
        share = np.may_share_memory
    return any(type(o) is type(arr) and share(arr, o) for o in others)


def add_into_grad(grad: Tensor, g: Tensor) -> None:
    """``grad += g`` in place, projecting g onto grad's layout and pattern."""
    g = project(grad, g)
    arr = payload(grad)
    arr += payload(g)


def reduce_to_shape(arr, shape: Tuple[int, ...]):
    """Sum a broadcast result back to ``shape`` (the gradient of broadcasting)."""
    if tuple(arr.shape) == tuple(shape):
        return arr
    lead = arr.ndim - len(shape)
    if lead:
        arr = arr.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and arr.shape[i] != 1)
    if axes:
        arr = arr.sum(axis=axes, keepdims=True)
    xp = np if isinstance(arr, (np.ndarray, np.generic)) else __import__("cupy")
    return xp.asarray(arr).reshape(shape)


def to_scipy(t: Tensor):
    if t.layout is Layout.strided:
        raise RuntimeError("to_scipy: expected a sparse tensor, got layout strided")
    if t.device == "cpu":
        import scipy.sparse as sps
    else:
        import cupyx.scipy.sparse as sps
    if t.layout is Layout.sparse_coo:
        return sps.coo_matrix((t._values.copy(), (t._indices[0].copy(),
                                                  t._indices[1].copy())), shape=t.shape)
    return sps.csr_matrix((t._values.copy(), t._col.copy(), t._crow.copy()), shape=t.shape)


def inplace(t: Tensor, fn: str, other: Any, op: str) -> Tensor:
    arr = payload(t)
    if isinstance(other, Tensor):
        if other.device != t.device:
            raise RuntimeError(f"{fn}: tensors are on {t.device} and {other.device}")
        if other.layout is not Layout.strided and not same_pattern(t, other):
            raise ValueError(f"{fn}: other must be dense or share this tensor's pattern")
        val = payload(other)
    else:
        val = other
    if op == "add":
        arr += val
    elif op == "sub":
        arr -= val
    elif op == "mul":
        arr *= val
    else:
        arr[...] = val
    return t
