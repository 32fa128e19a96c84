"""The forward array math that the ops and their gradients both use: the activations'
stable forms, log-softmax, the segment reductions of sparse softmax and sum, SpGEMM and
moves between devices. Array (and sparse tensor) in, array out; no autograd here."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Array, get_backend
from ..core.tensor import Tensor
from ..formats import CSRMatrix, spgemm
from ..formats import conj as conj_array


def over(a: Any, b: Any) -> Any:
    """``a / b`` with IEEE results (inf, nan) and no warnings."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return a / b


def wide(a: Array) -> Array:
    """``a`` in float32 when it is float16 (sums and counts that overflow float16)."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def sigmoid_array(x: Array, xp: Any) -> Array:
    """``1 / (1 + exp(-x))`` without overflow (real), or directly (complex)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if x.dtype.kind == "c":
            return 1 / (1 + xp.exp(-x))
        e = xp.exp(-xp.maximum(x, -x))  # exp(-|x|) <= 1
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def elu_array(x: Array, alpha: float, xp: Any) -> Array:
    """``x`` where positive, else ``alpha * expm1(x)``."""
    neg = xp.expm1(xp.minimum(x, x.dtype.type(0))) * x.dtype.type(alpha)
    return xp.where(x > 0, x, neg).astype(x.dtype, copy=False)


def log_softmax_array(x: Tensor, dim: int) -> Array:
    """``log_softmax`` of a dense tensor's array along ``dim`` (max subtracted first; in
    float32 for float16; an empty dim gives an empty result)."""
    xp = x.backend.xp
    a = wide(x.array)
    if a.size == 0:
        return x.array.copy()
    z = a - a.max(axis=dim, keepdims=True)
    return (z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))).astype(x.dtype, copy=False)


def segment_of(s: Tensor, dim: int) -> Array:
    """The segment of each stored entry: its row (``dim`` 1) or its column (0)."""
    assert s.pattern is not None
    return s.pattern.rows if dim == 1 else s.pattern.cols


def segment_sum(s: Tensor, w: Array, dim: int) -> Array:
    """Per row (``dim`` 1) or column (0) sums of the values ``w`` on ``s``'s pattern,
    through SpMM with ones (a fixed order per segment)."""
    pattern = s.pattern
    assert pattern is not None
    m, n = pattern.shape
    xp = s.backend.xp
    if dim == 1:
        return pattern.spmm(w, xp.ones((n, 1), dtype=w.dtype)).reshape(m)
    # (conj S)ᴴ = Sᵀ: the column sums, complex values included
    return pattern.spmm_h(conj_array(w), xp.ones((m, 1), dtype=w.dtype)).reshape(n)


def segment_softmax(s: Tensor, dim: int, log: bool) -> Array:
    """Softmax (or log-softmax) of a coalesced sparse tensor's real values over each row
    (``dim`` 1) or column (0), the segment maximum subtracted first."""
    xp = s.backend.xp
    seg = segment_of(s, dim)
    v = s.array
    assert s.pattern is not None
    top = s.pattern.segment_max(v, dim)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = v - top[seg]
        e = xp.exp(z)
        total = segment_sum(s, e, dim)
        return z - xp.log(total)[seg] if log else e / total[seg]


def csr_of(s: Tensor) -> CSRMatrix:
    """A sparse tensor as CSR arrays (an SpGEMM operand)."""
    assert s.pattern is not None
    return s.pattern.csr_matrix(s.array)


def H_of(s: Tensor) -> CSRMatrix:
    """``Sᴴ`` of a sparse tensor as CSR arrays, from its cached transposed pattern."""
    assert s.pattern is not None
    return s.pattern.csr_matrix(s.array, adjoint=True)


def SpGEMM(a: CSRMatrix, b: CSRMatrix) -> Tensor:
    """Sparse @ sparse as a coalesced COO tensor."""
    pattern, vals = spgemm(a, b)
    return Tensor(vals, a.device, pattern)


def moved(arr: Array, src: str, dst: str) -> Array:
    """``arr`` carried from device ``src`` to device ``dst`` (through the host when
    either is the CPU)."""
    src_backend, dst_backend = get_backend(src), get_backend(dst)
    host_hop = src == "cpu" or dst == "cpu"
    return dst_backend.asarray(src_backend.to_numpy(arr) if host_hop else arr)


__all__ = ["H_of", "SpGEMM", "csr_of", "elu_array", "log_softmax_array", "moved", "over",
           "segment_of", "segment_softmax", "segment_sum", "sigmoid_array", "wide"]
