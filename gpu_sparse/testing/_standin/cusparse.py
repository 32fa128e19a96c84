"""``cupy_backends.cuda.libs.cusparse`` of the stand-in: the generic SpMM API.

Each function takes the arguments ``cusparse.pyx`` declares (integers for sizes, enums,
handles and pointers; a non-integer is a TypeError, as Cython's conversion) and checks what
cuSPARSE checks: known enums, dimensions that agree, pointers inside live device memory
of the size the descriptor implies, a buffer when one is needed, descriptors that exist
(destroying one twice is an error), CSR_ALG3 with a non-transposed A only, one value type
for A, B and C with a compute type cuSPARSE accepts for it. A failed check raises
:class:`~.errors.CuSparseError` with cuSPARSE's status. ``spMM`` then computes
``C = alpha op(A) op(B) + beta C`` in the compute type; ``alpha`` and ``beta`` are read
from host memory (the host pointer mode). ``STATE.cusparse_not_supported`` holds
(value type, index type) pairs for which ``spMM_bufferSize`` and ``spMM`` answer
CUSPARSE_STATUS_NOT_SUPPORTED, so tests can take the fallback path.
"""

from __future__ import annotations

import ctypes
import itertools
import operator
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import core, cuda, errors, memory, names
from .core import STATE

_VALUE = {0: "float32", 1: "float64", 2: "float16", 4: "complex64", 5: "complex128",
          14: "bfloat16"}
_INDEX = {2: np.dtype(np.int32), 3: np.dtype(np.int64)}
_ORDER_COL, _ORDER_ROW = 1, 2
_OPS = (0, 1, 2)  # non-transpose, transpose, conjugate transpose
_CSR_ALGS = {0, 4, 6, 12}  # default, CSR_ALG1, CSR_ALG2, CSR_ALG3
_COO_ALGS = {0, 1, 2, 3, 5}
_CSR_ALG3 = 12
_CUDA_R_32F = 0

_descriptors: dict[int, dict[str, Any]] = {}
_ids = itertools.count(0x1000)


def _int(x: Any, what: str) -> int:
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError(f"an integer is required for {what}, got {type(x).__name__}"
                        ) from None


def _fail(status: int, detail: str) -> errors.CuSparseError:
    return errors.CuSparseError(status, f"CuPy stand-in: {detail}")


def _device_view(ptr: int, count: int, dtype: np.dtype, what: str) -> np.ndarray:
    """``count`` values of ``dtype`` at device address ``ptr``."""
    if count == 0:
        return np.zeros(0, dtype)
    if ptr == 0:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"{what} is a null pointer")
    nbytes = count * dtype.itemsize
    alloc = memory.find(ptr, nbytes)
    if alloc is None:
        raise _fail(errors.CUSPARSE_INVALID_VALUE,
                    f"{what} ({nbytes} bytes at {ptr:#x}) is not inside live device memory")
    return np.ndarray((count,), dtype, buffer=alloc.raw, offset=ptr - alloc.ptr)


def _value_dtype(vt: int, what: str) -> np.dtype:
    name = _VALUE.get(vt)
    if name is None:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"{what}: unknown cudaDataType {vt}")
    if name == "bfloat16":
        return core.bfloat16_dtype()
    return np.dtype(name)


def _index_dtype(it: int, what: str) -> np.dtype:
    if it not in _INDEX:
        raise _fail(errors.CUSPARSE_NOT_SUPPORTED if it == 1 else errors.CUSPARSE_INVALID_VALUE,
                    f"{what}: index type {it}")
    return _INDEX[it]


def _new(desc: dict[str, Any]) -> int:
    handle = next(_ids)
    _descriptors[handle] = desc
    return handle


def createCsr(rows: Any, cols: Any, nnz: Any, csrRowOffsets: Any, csrColind: Any,
              csrValues: Any, csrRowOffsetsType: Any, csrColIndType: Any, idxBase: Any,
              valueType: Any) -> int:
    m, n, k = (_int(v, w) for v, w in ((rows, "rows"), (cols, "cols"), (nnz, "nnz")))
    if min(m, n, k) < 0:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"createCsr({m}, {n}, {k}): negative")
    off_t = _index_dtype(_int(csrRowOffsetsType, "csrRowOffsetsType"), "createCsr")
    col_t = _index_dtype(_int(csrColIndType, "csrColIndType"), "createCsr")
    if _int(idxBase, "idxBase") not in (0, 1):
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"createCsr: index base {idxBase}")
    vt = _int(valueType, "valueType")
    dt = _value_dtype(vt, "createCsr")
    return _new({"kind": "csr", "rows": m, "cols": n, "nnz": k, "base": int(idxBase),
                 "offsets": _device_view(_int(csrRowOffsets, "csrRowOffsets"), m + 1, off_t,
                                         "csrRowOffsets"),
                 "colind": _device_view(_int(csrColind, "csrColind"), k, col_t, "csrColind"),
                 "values": _device_view(_int(csrValues, "csrValues"), k, dt, "csrValues"),
                 "vt": vt, "it": _int(csrRowOffsetsType, "csrRowOffsetsType")})


def createCoo(rows: Any, cols: Any, nnz: Any, cooRowInd: Any, cooColInd: Any,
              cooValues: Any, cooIdxType: Any, idxBase: Any, valueType: Any) -> int:
    m, n, k = (_int(v, w) for v, w in ((rows, "rows"), (cols, "cols"), (nnz, "nnz")))
    if min(m, n, k) < 0:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"createCoo({m}, {n}, {k}): negative")
    it = _int(cooIdxType, "cooIdxType")
    idx_t = _index_dtype(it, "createCoo")
    vt = _int(valueType, "valueType")
    dt = _value_dtype(vt, "createCoo")
    return _new({"kind": "coo", "rows": m, "cols": n, "nnz": k, "base": int(idxBase),
                 "rowind": _device_view(_int(cooRowInd, "cooRowInd"), k, idx_t, "cooRowInd"),
                 "colind": _device_view(_int(cooColInd, "cooColInd"), k, idx_t, "cooColInd"),
                 "values": _device_view(_int(cooValues, "cooValues"), k, dt, "cooValues"),
                 "vt": vt, "it": it})


def createDnMat(rows: Any, cols: Any, ld: Any, values: Any, valueType: Any,
                order: Any) -> int:
    m, n, lead = _int(rows, "rows"), _int(cols, "cols"), _int(ld, "ld")
    order = _int(order, "order")
    if order not in (_ORDER_COL, _ORDER_ROW):
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"createDnMat: order {order}")
    if min(m, n) < 0 or lead < (m if order == _ORDER_COL else n) or lead < 1:
        raise _fail(errors.CUSPARSE_INVALID_VALUE,
                    f"createDnMat({m}, {n}, ld={lead}, order={order})")
    vt = _int(valueType, "valueType")
    dt = _value_dtype(vt, "createDnMat")
    outer, inner = (n, m) if order == _ORDER_COL else (m, n)
    count = 0 if outer == 0 or inner == 0 else (outer - 1) * lead + inner
    buf = _device_view(_int(values, "values"), count, dt, "createDnMat values")
    return _new({"kind": "dn", "rows": m, "cols": n, "ld": lead, "order": order, "vt": vt,
                 "buf": buf})


def _take(handle: Any, kinds: tuple[str, ...], what: str) -> dict[str, Any]:
    desc = _descriptors.get(_int(handle, what))
    if desc is None or desc["kind"] not in kinds:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"{what}: no live descriptor {handle}")
    return desc


def destroySpMat(descr: Any) -> None:
    _take(descr, ("csr", "coo"), "destroySpMat")
    del _descriptors[int(descr)]


def destroyDnMat(descr: Any) -> None:
    _take(descr, ("dn",), "destroyDnMat")
    del _descriptors[int(descr)]


def _dense(desc: dict[str, Any]) -> np.ndarray:
    """The (rows, cols) view of a dense descriptor's memory."""
    m, n, lead, buf = desc["rows"], desc["cols"], desc["ld"], desc["buf"]
    it = buf.itemsize
    if desc["order"] == _ORDER_ROW:
        return np.lib.stride_tricks.as_strided(buf, (m, n), (lead * it, it))
    return np.lib.stride_tricks.as_strided(buf, (m, n), (it, lead * it))


def _scalar(ptr: Any, dt: np.dtype, what: str) -> Any:
    ptr = _int(ptr, what)
    if ptr == 0:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"{what} is a null pointer")
    raw = (ctypes.c_char * dt.itemsize).from_address(ptr)
    return np.frombuffer(bytes(raw), dt)[0]


def _check_spmm(handle: Any, opA: Any, opB: Any, matA: Any, matB: Any, matC: Any,
                computeType: Any, alg: Any) -> tuple:
    from_handle = _int(handle, "handle")
    if from_handle not in cuda._HANDLES.values():
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"handle {from_handle} is not a "
                                                   f"cuSPARSE handle")
    op_a, op_b, alg = _int(opA, "opA"), _int(opB, "opB"), _int(alg, "alg")
    if op_a not in _OPS or op_b not in _OPS:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"operations {op_a}, {op_b}")
    a = _take(matA, ("csr", "coo"), "matA")
    b = _take(matB, ("dn",), "matB")
    c = _take(matC, ("dn",), "matC")
    if alg not in (_CSR_ALGS if a["kind"] == "csr" else _COO_ALGS):
        raise _fail(errors.CUSPARSE_NOT_SUPPORTED, f"algorithm {alg} for {a['kind']}")
    if alg == _CSR_ALG3 and (op_a != 0 or op_b == 2):
        raise _fail(errors.CUSPARSE_NOT_SUPPORTED, "CSR_ALG3 needs opA = NON_TRANSPOSE "
                                                   "and opB != CONJUGATE_TRANSPOSE")
    m, k = (a["rows"], a["cols"]) if op_a == 0 else (a["cols"], a["rows"])
    kb, n = (b["rows"], b["cols"]) if op_b == 0 else (b["cols"], b["rows"])
    if k != kb or (c["rows"], c["cols"]) != (m, n):
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"op(A) {m}x{k}, op(B) {kb}x{n}, C "
                                                   f"{c['rows']}x{c['cols']}")
    ct = _int(computeType, "computeType")
    vt = a["vt"]
    if b["vt"] != vt:
        raise _fail(errors.CUSPARSE_NOT_SUPPORTED, f"A holds type {vt}, B type {b['vt']}")
    half = vt in (2, 14)
    if (half and (ct != _CUDA_R_32F or c["vt"] not in (vt, _CUDA_R_32F))) or \
            (not half and (ct != vt or c["vt"] != vt)):
        raise _fail(errors.CUSPARSE_NOT_SUPPORTED, f"values {vt}, C {c['vt']}, compute {ct}")
    if (vt, a["it"]) in STATE.cusparse_not_supported:
        raise errors.CuSparseError(errors.CUSPARSE_NOT_SUPPORTED)
    return a, b, c, op_a, op_b, _value_dtype(ct, "computeType")


def _check_contents(a: dict[str, Any]) -> None:
    """The index arrays cuSPARSE follows without checking: a bad one reads out of bounds
    on a GPU (CUDA_ERROR_ILLEGAL_ADDRESS, or garbage); here it raises."""
    base, nnz = a["base"], a["nnz"]
    cols = a["colind"].astype(np.int64) - base
    bad = ""
    if cols.size and (cols.min() < 0 or cols.max() >= a["cols"]):
        bad = f"a column index outside [0, {a['cols']})"
    if a["kind"] == "csr":
        off = a["offsets"].astype(np.int64) - base
        if off[0] != 0 or off[-1] != nnz or (off.size > 1 and (np.diff(off) < 0).any()):
            bad = "row offsets that are not a non-decreasing 0 .. nnz"
    else:
        rows = a["rowind"].astype(np.int64) - base
        if rows.size and (rows.min() < 0 or rows.max() >= a["rows"]):
            bad = f"a row index outside [0, {a['rows']})"
    if bad:
        raise errors.CUDADriverError(errors.ILLEGAL_ADDRESS, f"cuSPARSE SpMM given {bad}")


def spMM_bufferSize(handle: Any, opA: Any, opB: Any, alpha: Any, matA: Any, matB: Any,
                    beta: Any, matC: Any, computeType: Any, alg: Any) -> int:
    a = _check_spmm(handle, opA, opB, matA, matB, matC, computeType, alg)[0]
    return 4 * (a["rows"] + 1) + 64


def spMM(handle: Any, opA: Any, opB: Any, alpha: Any, matA: Any, matB: Any, beta: Any,
         matC: Any, computeType: Any, alg: Any, externalBuffer: Any) -> None:
    a, b, c, op_a, op_b, acc = _check_spmm(handle, opA, opB, matA, matB, matC,
                                           computeType, alg)
    need = 4 * (a["rows"] + 1) + 64
    if memory.find(_int(externalBuffer, "externalBuffer"), need) is None:
        raise _fail(errors.CUSPARSE_INVALID_VALUE, f"externalBuffer needs {need} bytes of "
                                                   f"device memory")
    STATE.cusparse_calls.append((a["vt"], a["it"]))
    al, be = _scalar(alpha, acc, "alpha"), _scalar(beta, acc, "beta")
    vals = a["values"].astype(acc)
    _check_contents(a)
    if a["kind"] == "csr":
        ptr = a["offsets"].astype(np.int64) - a["base"]
        mat = sp.csr_matrix((vals, a["colind"].astype(np.int64) - a["base"], ptr),
                            shape=(a["rows"], a["cols"]))
    else:
        mat = sp.coo_matrix((vals, (a["rowind"].astype(np.int64) - a["base"],
                                    a["colind"].astype(np.int64) - a["base"])),
                            shape=(a["rows"], a["cols"])).tocsr()
    if op_a:
        mat = mat.T.conj() if op_a == 2 else mat.T
    bm = _dense(b).astype(acc)
    if op_b:
        bm = bm.T.conj() if op_b == 2 else bm.T
    cm = _dense(c)
    with core.quiet():
        res = al * np.asarray(mat @ bm, dtype=acc) + (be * cm.astype(acc) if be else 0)
    cm[...] = np.asarray(res).astype(cm.dtype)


def build(module: Any) -> None:
    """Fill ``cupy_backends.cuda.libs.cusparse``: the functions above, CuSparseError,
    CuPy's constants with their values, and a stub for every other name."""
    implemented = {"createCsr": createCsr, "createCoo": createCoo,
                   "createDnMat": createDnMat, "destroySpMat": destroySpMat,
                   "destroyDnMat": destroyDnMat, "spMM_bufferSize": spMM_bufferSize,
                   "spMM": spMM, "CuSparseError": errors.CuSparseError}
    qual = "cupy_backends.cuda.libs.cusparse"
    for name, entry in names.module(qual).items():
        if name in implemented:
            fn = implemented[name]
            check = names.checker(f"{qual}.{name}", entry)
            setattr(module, name, _checked(fn, check) if callable(fn) and
                    not isinstance(fn, type) else fn)
        elif entry["kind"] == "constant":
            setattr(module, name, entry["value"])
        else:
            setattr(module, name, _stub(f"{qual}.{name}", entry))


def _checked(fn: Any, check: Any) -> Any:
    def f(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        return fn(*args, **kwargs)

    f.__name__ = fn.__name__
    f.__doc__ = fn.__doc__
    return f


def _stub(qualname: str, entry: dict) -> Any:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"the CuPy stand-in does not model {qualname}")

    stub.__name__ = qualname.rpartition(".")[2]
    return stub
