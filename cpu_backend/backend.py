"""The CPU backend: NumPy/SciPy for conversions and sparse @ sparse, numba for the hot
kernels (SpMM with alpha/beta fused, transposed SpMM, SDDMM, coalescing). Implements the
ten primitives of :class:`gpu_sparse.backend.Backend` (duck-typed: this package imports
nothing from ``gpu_sparse``)."""

from __future__ import annotations

import contextlib
import functools
import weakref
from typing import Any, Iterator, Optional

import numba
import numpy as np
import scipy.sparse as sp

from . import _kernels as kernels
from ._cache import announce_first_compile

_INT32_MAX = np.iinfo(np.int32).max
# Chunks per thread: small enough to balance skewed rows, large enough to amortise.
_CHUNKS_PER_THREAD = 16


def _chunk_bounds(cost_ptr: np.ndarray, n_items: int,
                  n_chunks: Optional[int] = None) -> np.ndarray:
    """Split items 0..n_items into chunks of about equal cost (``n_chunks`` of them at
    most; default: enough to balance the threads).

    ``cost_ptr`` (n_items + 1,) is the cumulative cost of the items (a CSR row pointer plus
    one per row, say). Returns int64 bounds (n_chunks + 1,) with bounds[0] = 0 and
    bounds[-1] = n_items.
    """
    if n_chunks is None:
        n_chunks = numba.get_num_threads() * _CHUNKS_PER_THREAD
    n_chunks = max(1, min(n_items, n_chunks))
    targets = np.linspace(0, cost_ptr[-1], n_chunks + 1)
    bounds = np.searchsorted(cost_ptr, targets, side="left").astype(np.int64)
    bounds[0] = 0
    bounds[-1] = n_items
    return np.unique(bounds)


def _even_bounds(n_items: int) -> np.ndarray:
    """``_chunk_bounds`` for items of equal cost, in O(chunks) instead of O(items) and
    cached (a read-only array): the same int64 bounds as
    ``_chunk_bounds(np.arange(n_items + 1), n_items)``."""
    return _even_bounds_for(n_items, numba.get_num_threads())


@functools.lru_cache(maxsize=256)
def _even_bounds_for(n_items: int, n_threads: int) -> np.ndarray:
    n_chunks = max(1, min(n_items, n_threads * _CHUNKS_PER_THREAD))
    bounds = np.unique(np.ceil(np.linspace(0, n_items, n_chunks + 1)).astype(np.int64))
    bounds.flags.writeable = False
    return bounds


_LINE = 64  # bytes per cache line

#: Multiply-adds below which a product runs on the calling thread alone. Waking the
#: thread pool for less costs more than it saves, and its workers spin beside the
#: caller's NumPy/BLAS work between calls: a GAT epoch on Cora (about 60 products of
#: 13k nonzeros at p <= 8) took 85 ms with every product on 2 threads and 42-47 ms with
#: this threshold; the GCN epoch stayed at 3.5 ms (2 cores, medians of 3).
SERIAL_WORK = 1 << 17


@contextlib.contextmanager
def _threads_for(work: int) -> Iterator[None]:
    """Run the enclosed parallel kernel on one thread when ``work`` is small (the same
    chunks in the same order, so the same bits)."""
    threads = numba.get_num_threads()
    if work >= SERIAL_WORK or threads == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)


def _in(a: np.ndarray) -> np.ndarray:
    """``a`` as a read-only C-contiguous view (copied only when not contiguous), for a
    kernel argument the kernel only reads: numba compiles a separate specialization for a
    read-only array, and the same caller would otherwise pass writable arrays one time
    (a fresh array) and read-only ones another (a broadcast, a pattern's indices)."""
    flags = a.flags
    if not flags.c_contiguous:
        a = np.ascontiguousarray(a)
    elif not flags.writeable:
        return a
    v = a.view()
    v.flags.writeable = False
    return v


_EMPTY = {np.dtype(t): _in(np.empty(0, t)) for t in (np.int32, np.int64)}


def _rows_aligned(a: np.ndarray) -> np.ndarray:
    """``a`` C-contiguous with every row starting on a cache line, copying if needed.

    The kernels gather whole rows of dense operands; a 64-byte row (p = 16 float32) that
    straddles two cache lines costs two. NumPy aligns to 16 bytes only. Measured: SpMM at
    m = n = 2^14, nnz = 2^20, p = 16 goes from 1.55 to 1.31 ms; the copy is O(rows * p)
    against the product's O(nnz * p).
    """
    a = np.ascontiguousarray(a)
    row = a.shape[1] * a.itemsize if a.ndim == 2 else 0
    if (row == 0 or a.ctypes.data % _LINE == 0
            or (row % _LINE and _LINE % row)):
        return a
    out = _empty_aligned(a.shape, a.dtype)
    out[...] = a
    return out


def _empty_aligned(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array starting on a cache line."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _LINE, dtype=np.uint8)
    off = (-raw.ctypes.data) % _LINE
    return raw[off:off + nbytes].view(dtype).reshape(shape)


class CPUBackend:
    """NumPy/SciPy/numba implementation of :class:`gpu_sparse.backend.Backend`."""

    name = "cpu"
    xp = np
    supported_dtypes = tuple(np.dtype(t) for t in
                             (np.float32, np.float64, np.complex64, np.complex128))
    sparse_module = sp

    def __init__(self) -> None:
        self._bounds: dict = {}
        announce_first_compile(kernels.spmm_csr, kernels.CACHED)

    # ---- arrays -----------------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None, copy: bool = False) -> np.ndarray:
        mod = type(data).__module__
        if mod.startswith("cupy"):
            data = data.get()
        elif not isinstance(data, np.ndarray) and hasattr(data, "__dlpack__"):
            data = np.from_dlpack(data)
        arr = np.asarray(data, dtype=dtype)
        if not copy:
            return arr
        out = _empty_aligned(arr.shape, arr.dtype)
        out[...] = arr
        return out

    def to_numpy(self, a: np.ndarray) -> np.ndarray:
        return a

    def index_dtype(self, n_rows: int, n_cols: int, nnz: int, existing: bool = False
                    ) -> Any:
        # int64 indices cost the kernels nothing measurable; a narrowed copy would cost
        # memory (8 bytes per nonzero, measured: COO peak memory 1.86x -> 2.13x of inputs
        # and outputs at nnz = 2^20, p = 16)
        fits = max(n_rows, n_cols, nnz) <= _INT32_MAX and not existing
        return np.dtype(np.int32) if fits else np.dtype(np.int64)

    # ---- conversions ------------------------------------------------------------
    def coo_to_csr(self, rows, cols, n_rows, n_cols):
        idx = self.index_dtype(n_rows, n_cols, rows.shape[0])
        if kernels.is_sorted(_in(rows)):
            crow = np.searchsorted(rows, np.arange(n_rows + 1), side="left").astype(idx)
            return crow, cols.astype(idx), None
        ptr, perm = kernels.counting_sort(_in(rows), n_rows, np.empty(0, idx))
        col = np.empty(perm.shape[0], idx)
        kernels.gather(_in(cols), _in(perm), col)
        return ptr, col, perm

    def csr_transpose(self, crow, col, n_rows, n_cols):
        idx = self.index_dtype(n_rows, n_cols, col.shape[0])
        return kernels.csr_transpose(_in(crow), _in(col), n_cols, np.empty(0, idx))

    def coalesce(self, rows, cols, values, shape, inverse=True):
        rows = rows.astype(np.int64, copy=False)
        cols = cols.astype(np.int64, copy=False)
        nnz = rows.shape[0]
        if kernels.strictly_increasing_pairs(_in(rows), _in(cols)):
            inv = np.arange(nnz, dtype=np.int64) if inverse else None
            return rows.copy(), cols.copy(), values.copy(), inv
        # the sort in the index dtype of coo_to_csr: the same compiled kernels serve both
        idx = self.index_dtype(shape[0], shape[1], nnz)
        ptr, perm = kernels.counting_sort(_in(rows), shape[0], np.empty(0, idx))
        keys = np.empty(nnz, idx)
        kernels.gather(_in(cols), _in(perm), keys)
        kernels.sort_within_rows(ptr, perm, keys)
        r, c, starts, inv = kernels.merge_pattern(ptr, keys, perm, bool(inverse))
        v = np.empty(r.shape[0], values.dtype)
        kernels.sum_runs(_in(starts), _in(perm), _in(values), v)
        return r, c, v, (inv if inverse else None)

    def to_dense(self, rows, cols, values, shape):
        out = np.zeros(shape, dtype=values.dtype)
        kernels.scatter_add_2d(_in(rows), _in(cols), _in(values), out)
        return out

    # ---- products ---------------------------------------------------------------
    def spmm(self, crow, col, values, b, *, alpha=1, beta=0, c=None, perm=None,
             conj=False):
        dt = values.dtype
        n_rows = crow.shape[0] - 1
        p = b.shape[1]
        b = _rows_aligned(b)
        use_c = c is not None
        out = _empty_aligned((n_rows, p), dt)
        c_arg = out  # unread unless use_c
        if use_c:
            c_arg = c
            if c.shape != (n_rows, p) or c.dtype != dt or not c.flags.c_contiguous:
                # a broadcast (bias) or strided addend, materialised once
                c_arg = np.ascontiguousarray(np.broadcast_to(c, (n_rows, p)), dtype=dt)
        c_arg = _in(c_arg)
        if n_rows == 0 or p == 0:
            if use_c and p:
                out[...] = c_arg * dt.type(beta)
            return out
        bounds = self._row_bounds(crow)
        if perm is not None:
            # a streaming gather first: its random reads overlap freely, while inside
            # the product they would sit on the critical path of every row (measured
            # 2-3x faster for nnz = 2^22 at p = 16)
            gathered = np.empty(perm.shape[0], dtype=dt)
            with _threads_for(perm.shape[0]):
                kernels.gather(_in(values), _in(perm), gathered)
            if conj and dt.kind == "c":
                np.conjugate(gathered, out=gathered)
            values = gathered
        elif conj and dt.kind == "c":
            values = np.conjugate(values)
        with _threads_for((values.shape[0] + n_rows) * p):
            kernels.spmm_csr(bounds, _in(crow), _in(col), _in(values), _in(b),
                             dt.type(alpha), dt.type(beta), c_arg, use_c, out)
        return out

    def _row_bounds(self, crow):
        """Chunks of rows with about equal (nonzeros + rows), cached per row pointer."""
        key = id(crow)
        hit = self._bounds.get(key)
        if hit is not None and hit[0]() is crow:
            return hit[1]
        n_rows = crow.shape[0] - 1
        cost = crow.astype(np.int64) + np.arange(n_rows + 1, dtype=np.int64)
        bounds = _chunk_bounds(cost, n_rows)
        if len(self._bounds) > 256:
            self._bounds = {k: v for k, v in self._bounds.items() if v[0]() is not None}
        self._bounds[key] = (weakref.ref(crow), bounds)
        return bounds

    def sddmm(self, rows, cols, a, b, *, alpha=1, beta=0, c=None, conj_b=False,
              crow=None):
        dt = a.dtype
        nnz = cols.shape[0]
        out = np.empty(nnz, dtype=dt)
        if nnz == 0:
            return out
        a = _rows_aligned(a)
        if conj_b and dt.kind == "c":
            b = _rows_aligned(np.conjugate(b))  # (n, p): cheaper than a flag in the kernel
        else:
            b = _rows_aligned(b)
        use_c = c is not None
        c_arg = _in(c if use_c else out)  # unread unless use_c
        args = (_in(a), _in(b), dt.type(alpha), dt.type(beta), c_arg, use_c, dt.type(0), out)
        # the unused index pair empty, in the dtype the other layout's patterns use, so
        # that COO and CSR share one compiled kernel
        m, n = a.shape[0], b.shape[0]
        bounds = _even_bounds(nnz)  # nonzero chunks
        with _threads_for(nnz * a.shape[1]):
            if rows is None:  # CSR
                none = _EMPTY[self.index_dtype(m, n, nnz, existing=True)]
                kernels.sddmm(bounds, _in(crow), _in(cols), none, none, *args)
            else:  # COO
                none = _EMPTY[self.index_dtype(m, n, nnz)]
                kernels.sddmm(bounds, none, none, _in(rows), _in(cols), *args)
        return out

    def spgemm(self, a, a_shape, b, b_shape):
        # Our own Gustavson product: SciPy's drops entries whose value is exactly 0, so
        # its pattern (and the gradient through those entries) would depend on values.
        a_crow, a_col, a_val = a
        b_crow, b_col, b_val = b
        m, n = a_shape[0], b_shape[1]
        dt = np.result_type(a_val.dtype, b_val.dtype)
        counts = np.empty(m, np.int64)
        if m == 0:
            empty = np.empty(0, np.int64)
            return empty, empty.copy(), np.empty(0, dt)
        # chunks of rows with about equal multiply-adds; every chunk clears an n-long
        # marker, so no more chunks than the work pays for (at least one per thread)
        flops = np.zeros(a_col.shape[0] + 1, np.int64)
        np.cumsum(np.diff(b_crow)[a_col], out=flops[1:])
        cost = flops[a_crow] + np.arange(m + 1, dtype=np.int64)
        threads = numba.get_num_threads()
        n_chunks = int(min(threads * _CHUNKS_PER_THREAD, max(threads, cost[-1] // max(n, 1))))
        bounds = _chunk_bounds(cost, m, n_chunks)
        kernels.spgemm_row_counts(bounds, a_crow, a_col, b_crow, b_col, n, counts)
        ptr = np.zeros(m + 1, np.int64)
        np.cumsum(counts, out=ptr[1:])
        out_col = np.empty(ptr[-1], np.int64)
        out_val = np.empty(ptr[-1], dt)
        kernels.spgemm_fill(bounds, a_crow, a_col, a_val.astype(dt, copy=False), b_crow,
                            b_col, b_val.astype(dt, copy=False), n, ptr, out_col, out_val)
        rows = np.repeat(np.arange(m, dtype=np.int64), counts)
        return rows, out_col, out_val


BACKEND = CPUBackend()
