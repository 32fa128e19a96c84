"""The CuPy backend: cuSPARSE SpMM, CUDA kernels for SDDMM, half-precision SpMM and
deterministic coalescing. Implements :class:`gpu_sparse.backend.Backend`."""

from __future__ import annotations

import os
import warnings
from typing import Any

import cupy
import numpy as np

from . import _kernels as K

_INT32_MAX = np.iinfo(np.int32).max
_THREADS = 256

# cuSPARSE generic API constants (cusparse.h); CuPy names only some of them.
_SPMM_CSR_ALG3 = 12  # bitwise deterministic; opA = NON_TRANSPOSE only
_CUDA_DTYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1,
               np.dtype(np.complex64): 4, np.dtype(np.complex128): 5}


class CuSparseFallbackWarning(UserWarning):
    """cuSPARSE refused an SpMM call; gpu_sparse's own CUDA kernel is used instead."""


def _bfloat16():
    try:
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    except Exception:  # ml_dtypes missing: no bfloat16
        return None


def _vec_width(dtype, p: int, *arrays) -> int:
    """Values per 16-byte load when every row start is 16-byte aligned, else 1."""
    vec = max(1, 16 // np.dtype(dtype).itemsize)
    if vec > 1 and p % vec == 0 and all(a.data.ptr % 16 == 0 for a in arrays):
        return vec
    return 1


def _blocks(n_threads: int) -> int:
    return max(1, (n_threads + _THREADS - 1) // _THREADS)


class CuPyBackend:
    """CuPy implementation of the backend primitives on one GPU."""

    name = "cuda"
    xp = cupy

    def __init__(self, device_id: int):
        self.device_id = device_id
        dts = [np.float32, np.float64, np.complex64, np.complex128, np.float16]
        bf16 = _bfloat16()
        self.supported_dtypes = tuple(np.dtype(d) for d in dts) + ((bf16,) if bf16 else ())
        mode = os.environ.get("GPU_SPARSE_CUDA_SPMM", "cusparse").lower()
        self._use_cusparse = mode != "kernel"

    def _device(self):
        return cupy.cuda.Device(self.device_id)

    # ---- arrays -----------------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None):
        with self._device():
            if isinstance(data, cupy.ndarray):
                return cupy.asarray(data, dtype=dtype)
            if not isinstance(data, np.ndarray) and hasattr(data, "__dlpack_device__"):
                kind, _ = data.__dlpack_device__()
                if int(kind) == 2:  # kDLCUDA: zero-copy
                    return cupy.asarray(cupy.from_dlpack(data), dtype=dtype)
                data = np.from_dlpack(data)
            return cupy.asarray(np.asarray(data), dtype=dtype)

    def to_numpy(self, a):
        return cupy.asnumpy(a)

    def copy(self, a):
        with self._device():
            return cupy.ascontiguousarray(a).copy()  # CuPy allocations are 256-byte aligned

    def index_dtype(self, n_rows, n_cols, nnz):
        fits = max(n_rows, n_cols, nnz) <= _INT32_MAX
        return np.dtype(np.int32) if fits else np.dtype(np.int64)

    # ---- conversions ------------------------------------------------------------
    def narrow_indices(self, rows, cols, n_rows, n_cols):
        idx = self.index_dtype(n_rows, n_cols, rows.shape[0])
        with self._device():
            return rows.astype(idx, copy=False), cols.astype(idx, copy=False)

    def coo_to_csr(self, rows, cols, n_rows, n_cols):
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

    def csr_transpose(self, crow, col, n_rows, n_cols):
        rows = self.csr_to_coo(crow, col.shape[0])
        return self.coo_to_csr(col, rows, n_cols, n_rows)

    def csr_to_coo(self, crow, nnz):
        with self._device():
            k = cupy.arange(nnz, dtype=crow.dtype)
            return (cupy.searchsorted(crow, k, side="right") - 1).astype(crow.dtype)

    def coalesce(self, rows, cols, values, shape, inverse=True):
        with self._device():
            nnz = rows.shape[0]
            rows = rows.astype(np.int64, copy=False)
            cols = cols.astype(np.int64, copy=False)
            if nnz == 0:
                return rows.copy(), cols.copy(), values.copy(), cupy.zeros(0, np.int64)
            keys = rows * shape[1] + cols
            if nnz == 1 or bool((keys[1:] > keys[:-1]).all()):
                return (rows.copy(), cols.copy(), values.copy(),
                        cupy.arange(nnz, dtype=np.int64))
            order = cupy.argsort(keys)  # stable
            sk = keys[order]
            first = cupy.empty(nnz, dtype=bool)
            first[0] = True
            first[1:] = sk[1:] != sk[:-1]
            starts = cupy.nonzero(first)[0].astype(np.int64)
            n_seg = int(starts.shape[0])
            inverse = cupy.empty(nnz, dtype=np.int64)
            inverse[order] = cupy.cumsum(first, dtype=np.int64) - 1
            ukeys = sk[starts]
            out = cupy.empty(n_seg, dtype=values.dtype)
            ker = K.get_kernel("segment.cu", "gpu_sparse_segment_sum",
                               K.value_type_name(values.dtype))
            ker((_blocks(n_seg),), (_THREADS,),
                (order.astype(np.int64), starts, np.int64(n_seg), np.int64(nnz),
                 cupy.ascontiguousarray(values), out))
            return ukeys // shape[1], ukeys % shape[1], out, inverse

    def to_dense(self, rows, cols, values, shape):
        with self._device():
            out = cupy.zeros(shape, dtype=values.dtype)
            if rows.shape[0]:
                r, c, v, _ = self.coalesce(rows, cols, values, shape, inverse=False)
                out[r, c] = v  # unique positions: no write order to depend on
            return out

    # ---- products ---------------------------------------------------------------
    def spmm(self, crow, col, values, b, *, alpha=1, beta=0, c=None, perm=None,
             conj=False):
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
                except Exception as e:  # NOT_SUPPORTED etc.: our kernel is exact too
                    warnings.warn(f"cuSPARSE SpMM failed ({e}); using gpu_sparse's CUDA "
                                  f"kernel from now on", CuSparseFallbackWarning)
                    self._use_cusparse = False
                    if use_c:  # cuSPARSE may have written into out
                        out = cupy.array(cupy.broadcast_to(c, (n_rows, p)), dtype=dt,
                                         order="C")
            self._spmm_kernel(crow, col, values, perm, conj, b, out, alpha, beta, use_c)
            return out

    def _spmm_kernel(self, crow, col, values, perm, conj, b, out, alpha, beta, use_c):
        dt = values.dtype
        n_rows, p = out.shape
        vec = _vec_width(dt, p, b, out)
        tiles = (p + 32 * vec - 1) // (32 * vec)
        ker = K.get_kernel("spmm.cu", "gpu_sparse_spmm_csr", K.value_type_name(dt),
                           K.index_type_name(crow.dtype), str(vec))
        acc = K.acc_dtype(dt)
        perm_arg = perm.astype(crow.dtype) if perm is not None else crow
        ker((_blocks(n_rows * tiles * 32),), (_THREADS,),
            (crow, col.astype(crow.dtype, copy=False), cupy.ascontiguousarray(values),
             perm_arg, b, out, out, np.int64(n_rows), np.int32(p), acc.type(alpha),
             acc.type(beta), np.int32(perm is not None), np.int32(bool(conj)),
             np.int32(use_c)))

    def sddmm(self, rows, cols, a, b, *, alpha=1, beta=0, c=None, conj_b=False,
              crow=None):
        with self._device():
            if rows is None:
                rows = self.csr_to_coo(crow, cols.shape[0])
            dt = a.dtype
            nnz = rows.shape[0]
            out = cupy.empty(nnz, dtype=dt)
            p = a.shape[1]
            if nnz == 0:
                return out
            if p == 0:
                out[...] = 0
                if c is not None:
                    out += c * dt.type(beta)
                return out
            a = cupy.ascontiguousarray(a)
            b = cupy.ascontiguousarray(b)
            idx = self.index_dtype(a.shape[0], b.shape[0], nnz)
            rows = rows.astype(idx, copy=False)
            cols = cols.astype(idx, copy=False)
            vec = _vec_width(dt, p, a, b)
            ker = K.get_kernel("sddmm.cu", "gpu_sparse_sddmm_coo", K.value_type_name(dt),
                               K.index_type_name(idx), str(vec))
            acc = K.acc_dtype(dt)
            use_c = c is not None
            c_arg = cupy.ascontiguousarray(c) if use_c else out
            n_warps = (nnz + 31) // 32  # GS_SDDMM_CHUNK nonzeros per warp
            ker((_blocks(n_warps * 32),), (_THREADS,),
                (rows, cols, a, b, c_arg, out, np.int64(nnz), np.int32(p), acc.type(alpha),
                 acc.type(beta), np.int32(use_c), np.int32(bool(conj_b))))
            return out

    def spgemm(self, a, a_shape, b, b_shape):
        import cupyx.scipy.sparse as csp
        with self._device():
            mats = []
            for (crow, col, vals), shape in ((a, a_shape), (b, b_shape)):
                rows = self.csr_to_coo(crow, col.shape[0])
                r, c, v, _ = self.coalesce(rows, col, vals, shape)
                mats.append(csp.coo_matrix((v, (r, c)), shape=shape).tocsr())
            prod = mats[0] @ mats[1]
            rows = self.csr_to_coo(prod.indptr, prod.nnz)
            r, c, v, _ = self.coalesce(rows, prod.indices, prod.data, prod.shape)
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
