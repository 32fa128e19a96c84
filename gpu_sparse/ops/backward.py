"""Named backward helpers (cf. PyTorch's ``FunctionsManual.cpp``): the gradients that one
line of the table (:mod:`.derivatives`) does not say, each taking only the values it needs
(never an op's context), so that any layer can call them: the table's formulas do, and so
does the Dask layer for its blocks.

``G`` is the upstream gradient, a Tensor in the layout and on the pattern of the op's
output; results are Tensors (``*_grad`` of the products) or arrays.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..backend import Array
from ..core.tensor import Tensor
from ..formats import COOPattern
from .arraymath import (H_of, SpGEMM, csr_of, log_softmax_array, segment_of, segment_sum,
                        sigmoid_array)
from .vocabulary import (SDDMM, H, Scalar, Shape, SpMM, SpMM_H, conj, dense, on, scaled,
                         sum_to, times, values_at)


# ---- products ---------------------------------------------------------------------------
def addmm_mat_grad(G: Tensor, beta: Scalar, mat_shape: Optional[Shape]) -> Tensor:
    """``mat`` of ``beta * mat + alpha * (mat1 @ mat2)``: ``conj(beta) G`` summed back to
    ``mat``'s (broadcast) shape (zeros for beta == 0: NaN in G cannot leak)."""
    return dense(G, sum_to(scaled(G, conj(beta)), mat_shape))


def addmm_mat1_grad(mat1: Tensor, G: Tensor, mat2: Tensor, alpha: Scalar) -> Tensor:
    """Sparse ``mat1``: ``conj(alpha) (G mat2ᴴ)`` sampled at mat1's own entries."""
    return on(mat1, SDDMM(mat1, G, mat2, alpha=conj(alpha)))


def addmm_mat2_grad(mat1: Tensor, G: Tensor, alpha: Scalar) -> Tensor:
    """``mat2`` under a sparse ``mat1``: ``conj(alpha) mat1ᴴ G``."""
    return dense(G, SpMM_H(mat1, G, alpha=conj(alpha)))


def dense_mm_mat1_grad(G: Tensor, mat2: Tensor, alpha: Scalar) -> Tensor:
    """Dense ``mat1``: ``conj(alpha) G mat2ᴴ``."""
    return dense(G, times(G.array @ H(mat2.array), conj(alpha)))


def dense_mm_mat2_grad(mat1: Tensor, G: Tensor, alpha: Scalar) -> Tensor:
    """Dense ``mat2`` under a dense ``mat1``: ``conj(alpha) mat1ᴴ G``."""
    return dense(G, times(H(mat1.array) @ G.array, conj(alpha)))


def spspmm_mat1_grad(G: Tensor, mat1: Tensor, mat2: Tensor) -> Tensor:
    """COO @ COO, ``mat1``: ``G mat2ᴴ`` at mat1's own entries."""
    return on(mat1, values_at(mat1, SpGEMM(csr_of(G), H_of(mat2))))


def spspmm_mat2_grad(G: Tensor, mat1: Tensor, mat2: Tensor) -> Tensor:
    """COO @ COO, ``mat2``: ``mat1ᴴ G`` at mat2's own entries."""
    return on(mat2, values_at(mat2, SpGEMM(H_of(mat1), csr_of(G))))


def sampled_input_grad(input: Tensor, G: Tensor, beta: Scalar) -> Tensor:
    """``input`` of ``sampled_addmm``: ``conj(beta) G`` on input's own entries."""
    return on(input, scaled(G, conj(beta)))


def sampled_mat1_grad(G: Tensor, mat2: Tensor, alpha: Scalar) -> Tensor:
    """``mat1`` of ``sampled_addmm``: ``conj(alpha) G mat2ᴴ`` (G sparse)."""
    return dense(G, SpMM(G, H(mat2.array), alpha=conj(alpha)))


def sampled_mat2_grad(G: Tensor, mat1: Tensor, alpha: Scalar) -> Tensor:
    """``mat2`` of ``sampled_addmm``: ``conj(alpha) mat1ᴴ G = (alpha Gᴴ mat1)ᴴ``."""
    return dense(G, H(SpMM_H(G, mat1, alpha=alpha)))


# ---- elementwise ------------------------------------------------------------------------
def pow_base_grad(G: Tensor, a: Any, b: Any) -> Array:
    """``b * a ** (b - 1)``, zero where ``b == 0`` (d a^b / d a)."""
    xp = G.backend.xp
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = b * a ** (b - 1)
    return xp.where(xp.asarray(b) == 0, G.dtype.type(0), d) if not isinstance(
        b, (int, float, complex)) or b == 0 else d


def pow_exp_grad(G: Tensor, a: Any, b: Any) -> Array:
    """``a ** b * log(a)``, zero where ``a == 0`` and ``Re b >= 0`` (d a^b / d b)."""
    xp = G.backend.xp
    if not hasattr(a, "dtype"):  # a Python number: an array of G's dtype for xp.log
        a = xp.asarray(a, dtype=G.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = a ** b * xp.log(a)
        return xp.where((a == 0) & (xp.asarray(b).real >= 0), G.dtype.type(0), d)


def sgn(t: Tensor) -> Array:
    """``x / |x|`` with 0 at 0 (real: sign) for the array ``x`` of ``t``."""
    x, xp = t.array, t.backend.xp
    mag = x.__abs__()
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(mag == 0, x.dtype.type(0), x / mag)


def sigmoid_grad(t: Tensor) -> Array:
    """``s * (1 - s)`` for ``s = sigmoid(x)``, x the array of ``t``."""
    s = sigmoid_array(t.array, t.backend.xp)
    return s * (1 - s)


def tanh_grad(t: Tensor) -> Array:
    """``1 - tanh(x)²`` for the array x of ``t``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return 1 - t.backend.xp.tanh(t.array) ** 2


def clamp_masks(input: Tensor, lo: Any, hi: Any) -> Tuple[Array, Array, Array]:
    """Where ``clamp``'s result is its input, its lower bound and its upper bound."""
    xp = input.backend.xp
    x = input.array
    below = None if lo is None else (x < lo) | (lo != lo)  # a NaN bound is chosen
    low = x if below is None else xp.where(below, lo, x)
    to_hi = xp.zeros(x.shape, dtype=bool) if hi is None else (low > hi) | (hi != hi)
    to_lo = xp.zeros(x.shape, dtype=bool) if below is None else below & ~to_hi
    return ~to_hi & ~to_lo, to_lo, to_hi


# ---- reductions -------------------------------------------------------------------------
def kept_shape(shape: Shape, dims: Optional[Tuple[int, ...]]) -> Shape:
    """The shape of a reduction's result with its reduced dims kept as size 1."""
    shape = tuple(shape)
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def expanded(input: Tensor, dims: Optional[Tuple[int, ...]], g: Array) -> Array:
    """A reduction's gradient ``g`` broadcast back to its input's (array) shape."""
    xp = input.backend.xp
    full = xp.broadcast_to(g.reshape(kept_shape(input.array.shape, dims)), input.array.shape)
    return xp.ascontiguousarray(full).reshape(full.shape).astype(input.dtype, copy=False)


def tie_shared(input: Tensor, out_kept: Array, dims: Optional[Tuple[int, ...]], G: Tensor
               ) -> Array:
    """``G`` shared evenly among the elements equal to each extremum."""
    kept = kept_shape(input.array.shape, dims)
    x, top = input.array, out_kept.reshape(kept)
    hit = (x == top) | ((x != x) & (top != top))  # a NaN result: shared among the NaNs
    share = hit.sum(axis=dims, keepdims=True)
    xp = input.backend.xp
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(hit, G.array.reshape(kept) / share.astype(G.dtype), G.dtype.type(0))


def at_index(input: Tensor, dim: int, index: Array, G: Tensor) -> Array:
    """``G`` placed at the index each max/min along ``dim`` came from."""
    xp = input.backend.xp
    shape = tuple(input.array.shape) or (1,)
    line = xp.arange(shape[dim]).reshape((-1,) + (1,) * (len(shape) - dim - 1))
    g = xp.where(line == index, G.array.reshape(index.shape), G.dtype.type(0))
    return g.reshape(input.array.shape).astype(G.dtype, copy=False)


def softmax_grad(input: Tensor, dim: int, g: Array) -> Array:
    """``s * (g - sum(g * s, dim))`` for ``s = softmax(input, dim)``."""
    s = input.backend.xp.exp(log_softmax_array(input, dim))
    return s * (g - (g * s).sum(axis=dim, keepdims=True))


def log_softmax_grad(input: Tensor, dim: int, g: Array) -> Array:
    """``g - softmax(input) * sum(g, dim)``."""
    xp = input.backend.xp
    return g - xp.exp(log_softmax_array(input, dim)) * g.sum(axis=dim, keepdims=True)


# ---- shape --------------------------------------------------------------------------------
def index_grad(shape: Shape, key: Tuple[Any, ...], advanced: bool, G: Tensor) -> Array:
    """Zeros of the indexed ``shape`` with ``G`` summed into the positions ``key`` took:
    assigned directly when no position repeats (no integer arrays), else through a COO
    pattern of the positions (duplicates summed in entry order)."""
    xp = G.backend.xp
    out = xp.zeros(shape, dtype=G.dtype)
    if not advanced:
        out[key] = G.array
        return out
    n = out.size
    lin = xp.arange(n).reshape(shape)[key].reshape(-1)
    where = COOPattern(xp.stack([lin, xp.zeros(lin.shape, dtype=lin.dtype)]), (n, 1),
                       G.device)
    return where.to_dense(G.array.reshape(-1)).reshape(shape)


def inverse_order(order: Tuple[int, ...]) -> Tuple[int, ...]:
    """The permutation undoing ``order``."""
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return tuple(inv)


def cat_slice(g: Array, dim: int, sizes: Tuple[int, ...], stacked: bool, i: int) -> Array:
    """Input ``i``'s part of ``cat``'s (or ``stack``'s) gradient ``g``."""
    if stacked:
        return g.take(i, axis=dim)  # the dim stack inserted
    start = sum(sizes[:i])
    key = (slice(None),) * dim + (slice(start, start + sizes[i]),)
    return g[key]


# ---- sparse reductions ----------------------------------------------------------------------
def sparse_softmax_grad(input: Tensor, dim: int, out_values: Array, g: Array, log: bool
                        ) -> Array:
    """The values' gradient of ``sparse.softmax`` / ``sparse.log_softmax`` (``out_values``
    the result's values): ``s (g - segment_sum(g s))``, or ``g - exp(out) segment_sum(g)``."""
    seg = segment_of(input, dim)
    xp = input.backend.xp
    if log:
        return g - xp.exp(out_values) * segment_sum(input, g, dim)[seg]
    return out_values * (g - segment_sum(input, g * out_values, dim)[seg])
