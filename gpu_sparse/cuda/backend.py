"""The CuPy backend: cuSPARSE SpMM, CUDA kernels for SDDMM, half-precision SpMM and
deterministic coalescing. Implements :class:`gpu_sparse.backend.Backend` on one GPU.

SpMM goes to cuSPARSE (CSR_ALG3, bitwise deterministic) for float32/float64/complex
values and more than one column; one column (which cuSPARSE may run as a
non-reproducible SpMV), the half dtypes, ``GPU_SPARSE_CUDA_SPMM=kernel`` and every
(value dtype, index dtype) for which cuSPARSE reports CUSPARSE_STATUS_NOT_SUPPORTED use
gpu_sparse's own kernel. Any other cuSPARSE error propagates.

Launch geometry (grid and block sizes, vector widths) and kernel instantiations come
from :mod:`gpu_sparse.cuda.launch`, the one place the kernels' compile-time numbers are
defined.
"""

from __future__ import annotations

import functools
import os
import warnings
import weakref
from typing import Any

import cupy
import numpy as np

from . import _kernels as kernels
from . import launch

# This package sits below gpu_sparse.backend (it implements, never imports, the Protocol).
Array = Any  # cupy.ndarray
CSRForm = tuple[Array, Array, Any]  # (crow, col, perm or None)

_INT32_MAX = np.iinfo(np.int32).max
_KDL_CUDA = 2  # DLPack device type of CUDA memory (dlpack.h)

# cuSPARSE generic API constants (cusparse.h); CuPy names only some of them.
_SPMM_CSR_ALG3 = 12  # bitwise deterministic; opA = NON_TRANSPOSE only
_CUDA_DTYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1,
               np.dtype(np.complex64): 4, np.dtype(np.complex128): 5}
_CUSPARSE_STATUS_NOT_SUPPORTED = 10  # cusparseStatus_t; CuSparseError.status carries it
#: Value dtypes cupyx.scipy.sparse rejects, which SpGEMM computes in float32.
_HALF_NAMES = frozenset(launch.HALF_DTYPES)


class CuSparseFallbackWarning(UserWarning):
    """cuSPARSE refused an SpMM call; gpu_sparse's own CUDA kernel is used instead."""


@functools.cache
def _bfloat16():
    """NumPy's bfloat16 dtype when CuPy can hold arrays of it, else None (decided once).

    ml_dtypes alone is not enough: CuPy supports bfloat16 only with NumPy >= 2.1.2, so
    ask CuPy itself (an allocation, no kernel)."""
    try:  # optional: ml_dtypes provides NumPy's bfloat16
        import ml_dtypes
        bf16 = np.dtype(ml_dtypes.bfloat16)
    except Exception:  # missing or broken: no bfloat16, every other dtype still works
        return None
    try:
        cupy.zeros(1, dtype=bf16)
    except Exception:  # this CuPy/NumPy pair has no bfloat16 arrays
        return None
    return bf16


def _cusparse():
    """CuPy's cuSPARSE binding; a missing cuSPARSE library becomes the install advice."""
    try:
        from cupy_backends.cuda.libs import cusparse
    except (ImportError, OSError, RuntimeError) as e:
        if not kernels.missing_toolkit(e):
            raise
        raise kernels.toolkit_error("load cuSPARSE", e) from e
    return cusparse


def _not_supported(err: BaseException, cs: Any) -> bool:
    """Whether ``err`` is cuSPARSE's CUSPARSE_STATUS_NOT_SUPPORTED (and nothing else)."""
    if not isinstance(err, cs.CuSparseError):
        return False
    status = getattr(err, "status", None)
    if status is not None:
        return int(status) == _CUSPARSE_STATUS_NOT_SUPPORTED
    return str(err).strip() == "CUSPARSE_STATUS_NOT_SUPPORTED"


class CuPyBackend:
    """CuPy implementation of the backend primitives on one GPU."""

    name = "cuda"
    xp = cupy

    def __init__(self, device_id: int):
        self._device_id = device_id
        dts = [np.float32, np.float64, np.complex64, np.complex128, np.float16]
        with self._device():
            bf16 = _bfloat16()
        self.supported_dtypes = tuple(np.dtype(d) for d in dts) + ((bf16,) if bf16 else ())
        mode = os.environ.get("GPU_SPARSE_CUDA_SPMM", "cusparse").lower()
        self._use_cusparse = mode != "kernel"
        # (value dtype, index dtype) -> False once cuSPARSE said NOT_SUPPORTED for it
        self._cusparse_ok: dict[tuple[np.dtype, np.dtype], bool] = {}
        # id(crow) -> (weakref to crow, row of each entry), for CSR SDDMM
        self._rows_cache: dict[int, tuple[Any, Array]] = {}
        # id(crow) -> (weakref to crow, nnz, row segments or None), for SpMM's long rows
        self._segments_cache: dict[int, tuple[Any, int, Any]] = {}

    def _device(self):
        return cupy.cuda.Device(self._device_id)

    @property
    def sparse_module(self) -> Any:
        """``cupyx.scipy.sparse``, imported on first use."""
        import cupyx.scipy.sparse
        return cupyx.scipy.sparse

    # ---- arrays -----------------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None, copy: bool = False) -> Array:
        with self._device():
            if (not isinstance(data, (cupy.ndarray, np.ndarray))
                    and hasattr(data, "__dlpack_device__")):
                kind, _ = data.__dlpack_device__()
                if int(kind) == _KDL_CUDA:
                    data = cupy.from_dlpack(data)  # zero-copy view of the producer's memory
                else:
                    data = np.from_dlpack(data)
            if not isinstance(data, cupy.ndarray):
                data = np.asarray(data)
            if copy:
                # cupy.array copies onto the current device, host data in one transfer.
                # CuPy allocations are 256-byte aligned, so C-contiguous rows start on 16
                # bytes whenever the vector width divides p (launch.vec_width).
                return cupy.array(data, dtype=dtype, order="C", copy=True)
            return cupy.asarray(data, dtype=dtype)

    def to_numpy(self, a: Array) -> Any:
        return cupy.asnumpy(a)

    def index_dtype(self, n_rows: int, n_cols: int, nnz: int, existing: bool = False
                    ) -> Any:
        # index bytes are bandwidth here: narrow existing arrays too (cached per pattern)
        fits = max(n_rows, n_cols, nnz) <= _INT32_MAX
        return np.dtype(np.int32) if fits else np.dtype(np.int64)

    # ---- conversions ------------------------------------------------------------
    def coo_to_csr(self, rows: Array, cols: Array, n_rows: int, n_cols: int) -> CSRForm:
        with self._device():
            idx = self.index_dtype(n_rows, n_cols, rows.shape[0])
            nnz = rows.shape[0]
            if nnz < 2 or bool((rows[1:] >= rows[:-1]).all()):
                perm, srows = None, rows
                col = cols.astype(idx)
            else:
                perm = cupy.argsort(rows)  # stable: duplicates keep their order
                srows = rows[perm]
                col = cols[perm].astype(idx)
                perm = perm.astype(idx)
            crow = cupy.searchsorted(srows, cupy.arange(n_rows + 1, dtype=srows.dtype),
                                     side="left").astype(idx)
            return crow, col, perm

    def csr_transpose(self, crow: Array, col: Array, n_rows: int, n_cols: int
                      ) -> CSRForm:
        with self._device():
            rows = self._csr_rows(crow, col.shape[0])
            crow_t, col_t, perm_t = self.coo_to_csr(col, rows, n_cols, n_rows)
            if perm_t is None:  # columns already sorted: the identity, made explicit
                perm_t = cupy.arange(col.shape[0], dtype=crow_t.dtype)
            return crow_t, col_t, perm_t

    def _pattern_rows(self, crow: Array, nnz: int) -> Array:
        """:meth:`_csr_rows` kept per row-pointer array (weakly, as long as the pattern
        that owns ``crow`` lives), so a CSR SDDMM does not expand rows on every call."""
        key = id(crow)
        hit = self._rows_cache.get(key)
        if hit is not None and hit[0]() is crow and hit[1].shape[0] == nnz:
            return hit[1]
        rows = self._csr_rows(crow, nnz)
        if len(self._rows_cache) > 64:  # drop entries whose pattern is gone
            self._rows_cache = {k: v for k, v in self._rows_cache.items()
                                if v[0]() is not None}
        self._rows_cache[key] = (weakref.ref(crow), rows)
        return rows

    def _csr_rows(self, crow: Array, nnz: int) -> Array:
        """Row index (nnz,) of each entry of a CSR pattern, in ``crow``'s dtype."""
        with self._device():
            k = cupy.arange(nnz, dtype=crow.dtype)
            return (cupy.searchsorted(crow, k, side="right") - 1).astype(crow.dtype)

    def coalesce(self, rows: Array, cols: Array, values: Array, shape: tuple[int, int],
                 inverse: bool = True) -> tuple[Array, Array, Array, Array | None]:
        with self._device():
            nnz = rows.shape[0]
            rows = rows.astype(np.int64, copy=False)
            cols = cols.astype(np.int64, copy=False)
            if nnz == 0:
                inv = cupy.zeros(0, np.int64) if inverse else None
                return rows.copy(), cols.copy(), values.copy(), inv
            keys = rows * shape[1] + cols
            if nnz == 1 or bool((keys[1:] > keys[:-1]).all()):
                inv = cupy.arange(nnz, dtype=np.int64) if inverse else None
                return rows.copy(), cols.copy(), values.copy(), inv
            order = cupy.argsort(keys)  # stable
            sk = keys[order]
            first = cupy.empty(nnz, dtype=bool)
            first[0] = True
            first[1:] = sk[1:] != sk[:-1]
            starts = cupy.nonzero(first)[0].astype(np.int64)
            n_seg = int(starts.shape[0])
            inv = None
            if inverse:
                inv = cupy.empty(nnz, dtype=np.int64)
                inv[order] = cupy.cumsum(first, dtype=np.int64) - 1
            ukeys = sk[starts]
            out = self._segment_sum(values, order.astype(np.int64), starts, n_seg, nnz)
            return ukeys // shape[1], ukeys % shape[1], out, inv

    def _segment_sum(self, values: Array, order: Array, starts: Array, n_seg: int,
                     nnz: int) -> Array:
        """Sums of ``values[order]`` over the runs beginning at ``starts``, each in input
        order: the segment-sum kernel for the kernels' dtypes, prefix sums for integers
        (exact modulo 2**bits, so the order cannot matter, as on the CPU) and a logical
        or for bool (what NumPy's add gives on bool)."""
        dt = values.dtype
        if dt.name in launch.VALUE_TYPES:
            out = cupy.empty(n_seg, dtype=dt)
            ker = kernels.get_kernel(launch.segment_sum_kernel(dt))
            ker((launch.segment_blocks(n_seg),), launch.BLOCK,
                (order, starts, np.int64(n_seg), np.int64(nnz),
                 cupy.ascontiguousarray(values), out))
            return out
        if dt.kind not in "biu":
            raise TypeError(f"no CUDA coalesce for dtype {dt}")
        # uint64 wraps by definition (signed overflow would not), and the low bits of a
        # sum modulo 2**64 are the sum in the narrower dtype
        wide = np.dtype(np.int64) if dt.kind == "b" else np.dtype(np.uint64)
        csum = cupy.cumsum(values[order].astype(wide), dtype=wide)
        ends = cupy.empty(n_seg, dtype=np.int64)
        ends[:-1] = starts[1:] - 1
        ends[-1] = nnz - 1
        seg = csum[ends]
        seg[1:] -= csum[starts[1:] - 1]
        return seg != 0 if dt.kind == "b" else seg.astype(dt)

    def to_dense(self, rows: Array, cols: Array, values: Array, shape: tuple[int, int]
                 ) -> Array:
        with self._device():
            out = cupy.zeros(shape, dtype=values.dtype)
            if rows.shape[0]:
                r, c, v, _ = self.coalesce(rows, cols, values, shape, inverse=False)
                out[r, c] = v  # unique positions: no write order to depend on
            return out

    # ---- products ---------------------------------------------------------------
    def spmm(self, crow: Array, col: Array, values: Array, b: Array, *,
             alpha: Any = 1, beta: Any = 0, c: Array | None = None,
             perm: Array | None = None, conj: bool = False) -> Array:
        with self._device():
            dt = values.dtype
            n_rows = crow.shape[0] - 1
            p = b.shape[1]
            b = cupy.ascontiguousarray(b)
            use_c = c is not None
            if use_c:
                out = cupy.array(cupy.broadcast_to(c, (n_rows, p)), dtype=dt, order="C")
            else:
                out = cupy.zeros((n_rows, p), dtype=dt)
            nnz = col.shape[0]
            if n_rows == 0 or p == 0:
                return out
            if nnz == 0:
                if use_c:
                    out *= dt.type(beta)
                return out
            combo = (dt, np.dtype(crow.dtype))
            # p == 1: cuSPARSE may run SpMV, whose default CSR algorithm is not
            # reproducible; our kernel is deterministic for every p
            if (self._use_cusparse and p > 1 and dt in _CUDA_DTYPE
                    and self._cusparse_ok.get(combo, True)):
                cs = _cusparse()
                vals = values if perm is None else values[perm]
                if conj and dt.kind == "c":
                    # conjugate the fresh gathered copy in place: one pass, no second copy
                    vals = cupy.conj(vals, out=vals) if perm is not None else vals.conj()
                try:
                    _cusparse_spmm(cs, crow, col, cupy.ascontiguousarray(vals), b, out,
                                   alpha, beta if use_c else 0, dt)
                    self._cusparse_ok[combo] = True
                    return out
                except Exception as e:
                    if not _not_supported(e, cs):
                        raise
                    # cuSPARSE refuses this combination: our kernel computes the same
                    # product, deterministically too, from now on for this combination
                    self._cusparse_ok[combo] = False
                    warnings.warn(f"cuSPARSE SpMM does not support values of {dt} with "
                                  f"{combo[1]} indices ({e}); using gpu_sparse's CUDA "
                                  f"kernel for them from now on", CuSparseFallbackWarning,
                                  stacklevel=2)
                    if use_c:  # cuSPARSE may have written into out
                        out = cupy.array(cupy.broadcast_to(c, (n_rows, p)), dtype=dt,
                                         order="C")
            self._spmm_kernel(crow, col, values, perm, conj, b, out, alpha, beta, use_c)
            return out

    def _spmm_kernel(self, crow, col, values, perm, conj, b, out, alpha, beta, use_c):
        """``out = alpha * op(S) @ b + beta * out`` with gpu_sparse's kernels (``out``
        holds ``c`` when ``use_c``; the kernels read it before writing).

        One pass (``gpu_sparse_spmm_csr``) unless the pattern has a row long enough for
        ``launch.spmm_split``; then every row is cut into segments of
        ``launch.SPMM_SEGMENT`` nonzeros, summed separately into a scratch buffer in the
        accumulator dtype and added in segment order (``gpu_sparse_spmm_csr_partial``,
        ``gpu_sparse_spmm_csr_combine``). Both paths are bitwise deterministic, and the
        choice depends on the pattern only (:meth:`_spmm_segments`)."""
        dt = values.dtype
        n_rows, p = out.shape
        acc = launch.acc_dtype(dt)
        col = col.astype(crow.dtype, copy=False)
        vals = cupy.ascontiguousarray(values)
        # perm comes in the pattern's index dtype already: no per-call copy
        perm_arg = perm.astype(crow.dtype, copy=False) if perm is not None else crow
        flags = (np.int32(perm is not None), np.int32(bool(conj)))
        segments = self._spmm_segments(crow, col.shape[0])
        if segments is None:
            vec = launch.vec_width(dt, p, launch.aligned(b.data.ptr, out.data.ptr))
            ker = kernels.get_kernel(launch.spmm_kernel(dt, crow.dtype, vec))
            ker((launch.spmm_blocks(n_rows, p, vec),), launch.BLOCK,
                (crow, col, vals, perm_arg, b, out, out, np.int64(n_rows), np.int32(p),
                 acc.type(alpha), acc.type(beta), *flags, np.int32(use_c)))
            return
        seg_off, seg_row, n_seg = segments
        # the partial sums are written element by element: only b's loads are vectors
        vec = launch.vec_width(dt, p, launch.aligned(b.data.ptr))
        partial = cupy.empty((n_seg, p), dtype=acc)
        ker = kernels.get_kernel(launch.spmm_partial_kernel(dt, crow.dtype, vec))
        ker((launch.spmm_partial_blocks(n_seg, p, vec),), launch.BLOCK,
            (crow, col, vals, perm_arg, b, seg_off, seg_row, partial, np.int64(n_seg),
             np.int32(p), *flags))
        ker = kernels.get_kernel(launch.spmm_combine_kernel(dt, crow.dtype))
        ker((launch.spmm_combine_blocks(n_rows, p),), launch.BLOCK,
            (seg_off, partial, out, out, np.int64(n_rows), np.int32(p), acc.type(alpha),
             acc.type(beta), np.int32(use_c)))

    def _spmm_segments(self, crow: Array, nnz: int) -> tuple[Array, Array, int] | None:
        """The split SpMM's segments of a CSR pattern, or None when ``launch.spmm_split``
        says one pass suffices: ``(seg_off, seg_row, n_seg)``, ``seg_off`` (n_rows + 1,)
        the exclusive cumulative sum of ``launch.spmm_segments`` of each row and
        ``seg_row`` (n_seg,) the row of each segment, in ``crow``'s dtype.

        Computed on the device (the longest row costs one reduction and a transfer) and
        kept per row-pointer array, weakly, as :meth:`_pattern_rows` keeps rows."""
        cache = self._segments_cache
        key = id(crow)
        hit = cache.get(key)
        if hit is not None and hit[0]() is crow and hit[1] == nnz:
            return hit[2]
        with self._device():
            lengths = crow[1:] - crow[:-1]
            longest = int(lengths.max()) if lengths.shape[0] else 0
            segments = None
            if launch.spmm_split(longest):
                seg = launch.SPMM_SEGMENT
                seg_off = cupy.zeros(crow.shape[0], dtype=crow.dtype)
                # ceil(n / seg), 0 for an empty row; never above n (no int32 overflow)
                seg_off[1:] = cupy.cumsum((lengths - 1) // seg + 1, dtype=crow.dtype)
                n_seg = int(seg_off[-1])
                segments = (seg_off, self._csr_rows(seg_off, n_seg), n_seg)
        if len(cache) > 64:  # drop entries whose pattern is gone
            cache = {k: v for k, v in cache.items() if v[0]() is not None}
            self._segments_cache = cache
        cache[key] = (weakref.ref(crow), nnz, segments)
        return segments

    def sddmm(self, rows: Array | None, cols: Array, a: Array, b: Array, *,
              alpha: Any = 1, beta: Any = 0, c: Array | None = None,
              conj_b: bool = False, crow: Array | None = None) -> Array:
        with self._device():
            dt = a.dtype
            nnz = cols.shape[0]
            out = cupy.empty(nnz, dtype=dt)
            p = a.shape[1]
            if nnz == 0:
                return out
            if p == 0:
                out[...] = 0
                if c is not None:
                    out += c * dt.type(beta)
                return out
            if rows is None:
                # the row of each entry depends on the pattern only: kept per row pointer
                rows = self._pattern_rows(crow, nnz)
            a = cupy.ascontiguousarray(a)
            b = cupy.ascontiguousarray(b)
            # the core may pass indices already in index_dtype (cached per pattern): then
            # these casts are free
            idx = self.index_dtype(a.shape[0], b.shape[0], nnz)
            rows = rows.astype(idx, copy=False)
            cols = cols.astype(idx, copy=False)
            vec = launch.vec_width(dt, p, launch.aligned(a.data.ptr, b.data.ptr))
            ker = kernels.get_kernel(launch.sddmm_kernel(dt, idx, vec))
            acc = launch.acc_dtype(dt)
            use_c = c is not None
            c_arg = cupy.ascontiguousarray(c) if use_c else out
            ker((launch.sddmm_blocks(nnz),), launch.BLOCK,
                (rows, cols, a, b, c_arg, out, np.int64(nnz), np.int32(p), acc.type(alpha),
                 acc.type(beta), np.int32(use_c), np.int32(bool(conj_b))))
            return out

    def spgemm(self, a: tuple[Array, Array, Array], a_shape: tuple[int, int],
               b: tuple[Array, Array, Array], b_shape: tuple[int, int]
               ) -> tuple[Array, Array, Array]:
        """SpGEMM through ``cupyx.scipy.sparse`` (cuSPARSE). That module accepts only
        bool/float32/float64/complex64/complex128 values, so float16 and bfloat16 operands
        are computed in float32 (duplicates summed and products accumulated in float32)
        and the result values rounded back to the half dtype once."""
        import cupyx.scipy.sparse as csp
        with self._device():
            out_dt = None
            if a[2].dtype.name in _HALF_NAMES or b[2].dtype.name in _HALF_NAMES:
                out_dt = a[2].dtype
                f32 = np.dtype(np.float32)
                a = (a[0], a[1], a[2].astype(f32))
                b = (b[0], b[1], b[2].astype(f32))
            mats = []
            for (crow, col, vals), shape in ((a, a_shape), (b, b_shape)):
                rows = self._csr_rows(crow, col.shape[0])
                r, c, v, _ = self.coalesce(rows, col, vals, shape, inverse=False)
                mats.append(csp.coo_matrix((v, (r, c)), shape=shape).tocsr())
            prod = mats[0] @ mats[1]
            rows = self._csr_rows(prod.indptr, prod.nnz)
            r, c, v, _ = self.coalesce(rows, prod.indices, prod.data, prod.shape,
                                       inverse=False)
            if out_dt is not None:
                v = v.astype(out_dt)
            return r, c, v


def _cusparse_spmm(cs, crow, col, vals, b, out, alpha, beta, dt):
    """out = alpha * A @ b + beta * out through cuSPARSE's generic SpMM (CSR_ALG3);
    ``cs`` is CuPy's binding (:func:`_cusparse`)."""
    n_rows, p = out.shape
    k = b.shape[0]
    idx = cs.CUSPARSE_INDEX_32I if crow.dtype == np.int32 else cs.CUSPARSE_INDEX_64I
    col = col.astype(crow.dtype, copy=False)
    vt = _CUDA_DTYPE[dt]
    handle = cupy.cuda.device.get_cusparse_handle()
    nt = cs.CUSPARSE_OPERATION_NON_TRANSPOSE
    al = np.array(alpha, dtype=dt)  # host pointer mode; kept alive through the call
    be = np.array(beta, dtype=dt)
    mat_a = cs.createCsr(n_rows, k, col.shape[0], crow.data.ptr, col.data.ptr,
                         vals.data.ptr, idx, idx, cs.CUSPARSE_INDEX_BASE_ZERO, vt)
    mat_b = mat_c = None
    try:
        mat_b = cs.createDnMat(k, p, p, b.data.ptr, vt, cs.CUSPARSE_ORDER_ROW)
        mat_c = cs.createDnMat(n_rows, p, p, out.data.ptr, vt, cs.CUSPARSE_ORDER_ROW)
        size = cs.spMM_bufferSize(handle, nt, nt, al.ctypes.data, mat_a, mat_b,
                                  be.ctypes.data, mat_c, vt, _SPMM_CSR_ALG3)
        buf = cupy.empty(max(int(size), 1), dtype=np.uint8)
        cs.spMM(handle, nt, nt, al.ctypes.data, mat_a, mat_b, be.ctypes.data, mat_c, vt,
                _SPMM_CSR_ALG3, buf.data.ptr)
    finally:
        cs.destroySpMat(mat_a)
        if mat_b is not None:
            cs.destroyDnMat(mat_b)
        if mat_c is not None:
            cs.destroyDnMat(mat_c)
