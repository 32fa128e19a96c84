"""The CuPy backend: cuSPARSE SpMM, CUDA kernels for SDDMM, half-precision SpMM and
deterministic coalescing. Implements :class:`gpu_sparse.backend.Backend` on one GPU.

Launch geometry (grid and block sizes, vector widths) and kernel instantiations come
from :mod:`gpu_sparse.cuda.launch`, the one place the kernels' compile-time numbers are
defined.
"""

from __future__ import annotations

import os
import warnings
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


class CuSparseFallbackWarning(UserWarning):
    """cuSPARSE refused an SpMM call; gpu_sparse's own CUDA kernel is used instead."""


def _bfloat16():
    try:  # optional: ml_dtypes provides NumPy's bfloat16
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    except Exception:  # missing or broken: no bfloat16, every other dtype still works
        return None


class CuPyBackend:
    """CuPy implementation of the backend primitives on one GPU."""

    name = "cuda"
    xp = cupy

    def __init__(self, device_id: int):
        self._device_id = device_id
        dts = [np.float32, np.float64, np.complex64, np.complex128, np.float16]
        bf16 = _bfloat16()
        self.supported_dtypes = tuple(np.dtype(d) for d in dts) + ((bf16,) if bf16 else ())
        mode = os.environ.get("GPU_SPARSE_CUDA_SPMM", "cusparse").lower()
        self._use_cusparse = mode != "kernel"

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
            out = cupy.empty(n_seg, dtype=values.dtype)
            ker = kernels.get_kernel(launch.segment_sum_kernel(values.dtype))
            ker((launch.segment_blocks(n_seg),), launch.BLOCK,
                (order.astype(np.int64), starts, np.int64(n_seg), np.int64(nnz),
                 cupy.ascontiguousarray(values), out))
            return ukeys // shape[1], ukeys % shape[1], out, inv

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
            if self._use_cusparse and dt in _CUDA_DTYPE:
                vals = values if perm is None else values[perm]
                if conj and dt.kind == "c":
                    vals = vals.conj()
                try:
                    _cusparse_spmm(crow, col, cupy.ascontiguousarray(vals), b, out, alpha,
                                   beta if use_c else 0, dt)
                    return out
                except Exception as e:
                    # whatever cuSPARSE or CuPy's binding raises (NOT_SUPPORTED, a missing
                    # symbol): our kernel computes the same product, deterministically too
                    warnings.warn(f"cuSPARSE SpMM failed ({e}); using gpu_sparse's CUDA "
                                  f"kernel from now on", CuSparseFallbackWarning, stacklevel=2)
                    self._use_cusparse = False
                    if use_c:  # cuSPARSE may have written into out
                        out = cupy.array(cupy.broadcast_to(c, (n_rows, p)), dtype=dt,
                                         order="C")
            self._spmm_kernel(crow, col, values, perm, conj, b, out, alpha, beta, use_c)
            return out

    def _spmm_kernel(self, crow, col, values, perm, conj, b, out, alpha, beta, use_c):
        """``out = alpha * op(S) @ b + beta * out`` with gpu_sparse's kernel (``out``
        holds ``c`` when ``use_c``; the kernel reads it before writing)."""
        dt = values.dtype
        n_rows, p = out.shape
        vec = launch.vec_width(dt, p, launch.aligned(b.data.ptr, out.data.ptr))
        ker = kernels.get_kernel(launch.spmm_kernel(dt, crow.dtype, vec))
        acc = launch.acc_dtype(dt)
        perm_arg = perm.astype(crow.dtype) if perm is not None else crow
        ker((launch.spmm_blocks(n_rows, p, vec),), launch.BLOCK,
            (crow, col.astype(crow.dtype, copy=False), cupy.ascontiguousarray(values),
             perm_arg, b, out, out, np.int64(n_rows), np.int32(p), acc.type(alpha),
             acc.type(beta), np.int32(perm is not None), np.int32(bool(conj)),
             np.int32(use_c)))

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
                rows = self._csr_rows(crow, nnz)
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
        import cupyx.scipy.sparse as csp
        with self._device():
            mats = []
            for (crow, col, vals), shape in ((a, a_shape), (b, b_shape)):
                rows = self._csr_rows(crow, col.shape[0])
                r, c, v, _ = self.coalesce(rows, col, vals, shape, inverse=False)
                mats.append(csp.coo_matrix((v, (r, c)), shape=shape).tocsr())
            prod = mats[0] @ mats[1]
            rows = self._csr_rows(prod.indptr, prod.nnz)
            r, c, v, _ = self.coalesce(rows, prod.indices, prod.data, prod.shape,
                                       inverse=False)
            return r, c, v


def _cusparse_spmm(crow, col, vals, b, out, alpha, beta, dt):
    """out = alpha * A @ b + beta * out through cuSPARSE's generic SpMM (CSR_ALG3)."""
    from cupy_backends.cuda.libs import cusparse as cs
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
