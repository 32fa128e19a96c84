"""Kernel launches of the stand-in: CuPy's and CUDA's checks, then a NumPy model of the
kernel's contract.

``RawModule(code=...).get_function(expr)`` parses the ``__global__`` function's parameter
list from the source and binds the template arguments of ``expr``. A launch
(``kernel(grid, block, args, shared_mem=0, stream=None)``) then checks, before anything
runs:

* what CuPy checks (``cupy/cuda/function.pyx``): ``grid`` and ``block`` are tuples (a 0 in
  them becomes 1, as in CuPy), a NumPy array argument has size one (passed by value),
  every other argument is a device array, None or a scalar CuPy can pass (a Python int is
  an int64, a float a float64);
* what CUDA checks: at most 1024 threads per block (64 in z), grid limits, at most 48 KiB
  of dynamic shared memory;
* what the kernel assumes and a GPU would not check, since a mistake there reads or
  writes the wrong bytes (the stand-in raises instead): one argument per parameter, a
  device array (contiguous, on the current device) for every pointer, of the pointee's
  dtype, a scalar of exactly the parameter's type for every value parameter, vector loads
  of ``VEC`` elements on pointers aligned to ``VEC * itemsize`` bytes with rows of a
  multiple of ``VEC``, and every index it follows inside its buffer (else
  ``CUDA_ERROR_ILLEGAL_ADDRESS``).

The models are of gpu_sparse's own kernels (``gpu_sparse/cuda/kernels/*.cu``), written
from the contracts in their headers: the same result dtype, accumulation in ``acc_t``
(float32 for the half types), float32 subnormals flushed to zero (CuPy compiles with
``-ftz=true``), a fixed summation order (sequential per row, segment and run; the GPU's
order within a row differs, so products agree with the GPU to rounding, not bit for bit),
and writes to the output parameters only. ``tests/test_cuda_host.py`` runs the real
kernels on the host and holds them to the same contracts. A kernel without a model
raises NotImplementedError naming it.
"""

from __future__ import annotations

import operator
import re
from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import scipy.sparse as sp

from gpu_sparse.cuda import launch as geometry

from . import core, errors, memory
from .core import STATE, ndarray

_C_TYPES = {"float": "float32", "double": "float64", "gs_c64": "complex64",
            "gs_c128": "complex128", "__half": "float16", "__nv_bfloat16": "bfloat16",
            "int": "int32", "long long": "int64", "unsigned int": "uint32",
            "unsigned long long": "uint64", "long": "int64", "short": "int16",
            "char": "int8", "unsigned char": "uint8", "bool": "bool", "size_t": "uint64"}
_MAX_SHARED = 48 * 1024


class Param(NamedTuple):
    """One kernel parameter: its name, whether it is a pointer, the dtype name of the
    value (or pointee), and whether it is const (an input)."""

    name: str
    pointer: bool
    dtype: str
    const: bool


def _split_top(text: str, sep: str = ",") -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _resolve(ctype: str, binding: dict[str, str]) -> str:
    ctype = " ".join(ctype.split())
    m = re.fullmatch(r"acc_t\s*<\s*(\w+)\s*>", ctype)
    if m:  # gs_acc of common.cuh: float for the half types
        inner = _resolve(m.group(1), binding)
        return "float32" if inner in ("float16", "bfloat16") else inner
    ctype = binding.get(ctype, ctype)
    if ctype in _C_TYPES:
        return _C_TYPES[ctype]
    raise NotImplementedError(f"the CuPy stand-in cannot map the C type {ctype!r}")


def parse_kernel(source: str, expression: str) -> tuple[str, list[Param], dict[str, str]]:
    """(kernel name, parameters, template binding) of ``expression`` in ``source``."""
    m = re.fullmatch(r"\s*(\w+)\s*(?:<(.*)>)?\s*", expression)
    if m is None:
        raise ValueError(f"cannot parse the name expression {expression!r}")
    name, targs = m.group(1), _split_top(m.group(2) or "")
    pattern = (r"(template\s*<([^>]*)>\s*)?(?:extern\s+\"C\"\s+)?__global__\s+void\s+"
               + re.escape(name) + r"\s*\(([^)]*)\)")
    found = re.search(pattern, source)
    if found is None:
        raise errors.CUDADriverError(500, f"no __global__ function {name} in the module")
    binding = {}
    if found.group(2):
        tparams = [p.split()[-1] for p in _split_top(found.group(2))]
        if len(tparams) != len(targs):
            raise ValueError(f"{expression}: {len(targs)} template arguments for "
                             f"{len(tparams)} parameters")
        binding = dict(zip(tparams, targs))
    params = []
    for raw in _split_top(found.group(3)):
        raw = raw.replace("__restrict__", " ").replace("volatile", " ")
        pointer = "*" in raw
        const = bool(re.search(r"\bconst\b", raw))
        raw = re.sub(r"\bconst\b", " ", raw).replace("*", " ")
        tokens = raw.split()
        pname, ctype = tokens[-1], " ".join(tokens[:-1])
        params.append(Param(pname, pointer, _resolve(ctype, binding), const))
    return name, params, binding


# ---- the launch ---------------------------------------------------------------------
def _arg_dtype(x: Any) -> Optional[np.dtype]:
    """The dtype CuPy passes a by-value argument as (``_pointer``/``CScalar``)."""
    if isinstance(x, np.ndarray):
        return x.dtype
    if type(x) is bool:
        return np.dtype(np.bool_)
    if type(x) is int:
        return np.dtype(np.int64)
    if type(x) is float:
        return np.dtype(np.float64)
    if type(x) is complex:
        return np.dtype(np.complex128)
    if isinstance(x, np.generic):
        return x.dtype
    return None


class StandinLaunchError(RuntimeError):
    """A launch a GPU would run without an error but with a wrong result (too few
    threads for the kernel's work)."""


def _fail(expr: str, i: int, p: Param, msg: str) -> TypeError:
    return TypeError(f"CuPy stand-in: launch of {expr}: argument {i} ({p.name}) {msg} "
                     f"(on a GPU the kernel would read the wrong bytes)")


def _dim3(x: Any, what: str) -> tuple[int, int, int]:
    if not isinstance(x, tuple):
        raise TypeError(f"Argument '{what}' has incorrect type (expected tuple, got "
                        f"{type(x).__name__})")
    try:  # Cython's Py_ssize_t conversion: a float is a TypeError
        dims = (tuple(operator.index(v) for v in x) + (1, 1))[:3]
    except TypeError:
        raise TypeError(f"'{what}' must hold integers, got {x!r}") from None
    return tuple(max(1, d) for d in dims)  # type: ignore[return-value]


def launch(source: str, expression: str, grid: Any, block: Any, args: Any,
           shared_mem: int = 0, stream: Any = None) -> None:
    """One kernel launch: the checks of the module docstring, then its model."""
    name, params, binding = parse_kernel(source, expression)
    g, b = _dim3(grid, "grid"), _dim3(block, "block")
    if b[0] * b[1] * b[2] > 1024 or b[0] > 1024 or b[1] > 1024 or b[2] > 64:
        raise errors.CUDADriverError(errors.INVALID_VALUE, f"block {b} of {expression}")
    if g[0] > 2**31 - 1 or g[1] > 65535 or g[2] > 65535:
        raise errors.CUDADriverError(errors.INVALID_VALUE, f"grid {g} of {expression}")
    if int(shared_mem) > _MAX_SHARED:
        raise errors.CUDADriverError(errors.INVALID_VALUE,
                                     f"{shared_mem} bytes of dynamic shared memory")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    if len(args) != len(params):
        raise TypeError(f"CuPy stand-in: {expression} takes {len(params)} arguments, the "
                        f"launch passes {len(args)}")
    bound: dict[str, Any] = {}
    for i, (x, p) in enumerate(zip(args, params)):
        if isinstance(x, np.ndarray) and x.size != 1:
            raise TypeError(f"You are trying to pass a numpy.ndarray of shape {x.shape} "
                            f"as a kernel parameter. Only numpy.ndarrays of size one can "
                            f"be passed by value. If you meant to pass a pointer to "
                            f"__global__ memory, you need to pass a cupy.ndarray instead.")
        if p.pointer:
            if x is None:
                bound[p.name] = None
                continue
            if not isinstance(x, ndarray):
                raise _fail(expression, i, p, f"is a pointer ({p.dtype}*), got "
                                              f"{type(x).__name__}")
            if x.dtype.name != p.dtype:
                raise _fail(expression, i, p, f"points to {p.dtype}, got an array of "
                                              f"{x.dtype}")
            if not x._a.flags.c_contiguous:
                raise _fail(expression, i, p, "must be C-contiguous (kernels ignore "
                                              "strides)")
            if x._alloc.device_id != memory.current_device_id():
                raise errors.CUDADriverError(errors.ILLEGAL_ADDRESS,
                                             f"{p.name} lives on device "
                                             f"{x._alloc.device_id}")
            bound[p.name] = x
            continue
        dt = _arg_dtype(x)
        if dt is None:
            raise TypeError(f"Unsupported type {type(x)}")
        if isinstance(x, ndarray):
            raise _fail(expression, i, p, f"is a {p.dtype} value, got a device array")
        if dt.name != p.dtype:
            raise _fail(expression, i, p, f"is a {p.dtype} value, got {dt} (wrap scalars: "
                                          f"numpy.{p.dtype}(x))")
        bound[p.name] = np.asarray(x).reshape(()).item() if dt.kind != "V" else x
    model = MODELS.get(name)
    if model is None:
        raise NotImplementedError(f"the CuPy stand-in has no model of the kernel {name}")
    STATE.launches[name] = STATE.launches.get(name, 0) + 1
    vec = int(binding.get("VEC", 1))
    for pname in model.vector_params:
        x = bound.get(pname)
        if x is not None and vec > 1 and x.size and x.data.ptr % (vec * x.itemsize):
            raise errors.CUDADriverError(errors.MISALIGNED_ADDRESS,
                                         f"{expression}: {pname} at {x.data.ptr:#x} read "
                                         f"{vec} values at a time")
    cols = bound.get("p")
    if vec > 1 and cols is not None and cols % vec:
        raise errors.CUDADriverError(errors.MISALIGNED_ADDRESS,
                                     f"{expression}: rows of p = {cols} values read "
                                     f"{vec} at a time")
    launched = g[0] * b[0]
    if model.warps and b[0] % geometry.WARP_SIZE:
        raise errors.CUDADriverError(errors.INVALID_VALUE, f"{expression} works in whole "
                                     f"warps; block {b} is not a multiple of 32 threads")
    needed = model.threads(bound, vec)
    if launched < needed:
        raise StandinLaunchError(f"CuPy stand-in: launch of {expression} runs {launched} "
                                 f"threads (grid {g}, block {b}) where its mapping needs "
                                 f"{needed}: on a GPU the outputs past them stay unwritten")
    views = {k: (v._a.reshape(-1) if isinstance(v, ndarray) else v)
             for k, v in bound.items()}
    for p in params:  # inputs are read-only to the model
        if p.pointer and p.const and isinstance(views.get(p.name), np.ndarray):
            v = views[p.name].view()
            v.flags.writeable = False
            views[p.name] = v
    dtypes = {p.name: np.dtype(p.dtype) if p.dtype != "bfloat16" else
              bound[p.name].dtype if isinstance(bound.get(p.name), ndarray) else None
              for p in params}
    with core.quiet():
        try:
            model.run(views, dtypes, binding)
        except _OutOfBounds as e:
            raise errors.CUDADriverError(errors.ILLEGAL_ADDRESS,
                                         f"{expression}: {e}") from None


# ---- the models -------------------------------------------------------------------------
class _OutOfBounds(Exception):  # noqa: N818 (becomes CUDA's illegal address)
    pass


class Model(NamedTuple):
    run: Callable[[dict, dict, dict], None]
    #: pointer parameters read or written ``VEC`` elements at a time
    vector_params: tuple[str, ...]
    #: threads the kernel's mapping needs to reach all its work (one per row group,
    #: segment, element ...): a smaller grid leaves outputs unwritten on a GPU
    threads: Callable[[dict, int], int]
    #: whether the kernel works in whole warps (a block of a multiple of 32 threads)
    warps: bool


def _acc(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dt.name in ("float16", "bfloat16") else dt


def _ftz(x: np.ndarray) -> np.ndarray:
    """-ftz=true: float32 subnormals (inputs and results) become zero of the same sign."""
    if x.dtype == np.float32 or x.dtype == np.complex64:
        tiny = np.finfo(np.float32).tiny
        if x.dtype == np.complex64:
            re, im = _ftz(x.real.copy()), _ftz(x.imag.copy())
            return (re + 1j * im).astype(np.complex64)
        sub = (x != 0) & (np.abs(x) < tiny)
        if sub.any():
            x = x.copy()
            x[sub] = np.copysign(np.float32(0), x[sub])
    return x


def _take(buf: Optional[np.ndarray], idx: np.ndarray, what: str,
          width: Optional[int] = None) -> np.ndarray:
    """``buf[idx]``, or with ``width`` rows ``idx`` of ``buf`` viewed as rows of ``width``
    values; an index outside the buffer raises."""
    if buf is None:
        raise _OutOfBounds(f"{what} is a null pointer")
    rows = buf.shape[0] if width is None else (buf.shape[0] // width if width else 0)
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        bad = idx[(idx < 0) | (idx >= rows)][0]
        raise _OutOfBounds(f"{what}[{int(bad)}] read past its {rows} rows")
    view = buf if width is None else buf[:rows * width].reshape(rows, width)
    return view[idx]


def _rows_of(crow: np.ndarray, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(entry positions, row of each) of a row pointer read for ``n`` rows."""
    if crow is None or crow.shape[0] < n + 1:
        raise _OutOfBounds(f"{what} holds fewer than {n + 1} offsets")
    ptr = crow[:n + 1].astype(np.int64)
    lengths = np.maximum(np.diff(ptr), 0)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    starts = np.repeat(ptr[:-1] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    pos = np.arange(rows.shape[0], dtype=np.int64) + starts
    return pos, rows


def _values(v: dict, pos: np.ndarray, use_perm: int, conj: int, acc: np.dtype
            ) -> np.ndarray:
    k = _take(v["perm"], pos, "perm") if use_perm else pos
    vals = _take(v["vals"], k.astype(np.int64), "vals").astype(acc)
    if conj and acc.kind == "c":
        vals = np.conj(vals)
    return _ftz(vals)


def _product(rows: np.ndarray, n_rows: int, cols: np.ndarray, vals: np.ndarray,
             b: np.ndarray, p: int, acc: np.dtype) -> np.ndarray:
    """(n_rows, p) sums of ``vals * b[cols]`` by row, each in entry order, in ``acc``."""
    if b is None:
        raise _OutOfBounds("b is a null pointer")
    b_rows = b.shape[0] // p
    if cols.size and (cols.min() < 0 or cols.max() >= b_rows):
        raise _OutOfBounds(f"b read at row {int(cols.max())} of {b_rows}")
    bmat = _ftz(b[:b_rows * p].reshape(b_rows, p).astype(acc))
    mat = sp.csr_matrix((vals, cols, np.searchsorted(rows, np.arange(n_rows + 1))),
                        shape=(n_rows, b_rows))
    return _ftz(np.asarray(mat @ bmat, dtype=acc).reshape(n_rows, p))


def _store(out: np.ndarray, res: np.ndarray, what: str) -> None:
    if out is None or out.shape[0] < res.size:
        raise _OutOfBounds(f"{what} holds fewer than {res.size} values")
    out[:res.size] = _ftz(res).reshape(-1).astype(out.dtype)


def _spmm_csr(v: dict, dt: dict, binding: dict) -> None:
    n_rows, p = int(v["n_rows"]), int(v["p"])
    if p <= 0 or n_rows <= 0:
        return
    acc = _acc(dt["vals"])
    pos, rows = _rows_of(v["crow"], n_rows, "crow")
    cols = _take(v["col"], pos, "col").astype(np.int64)
    res = v["alpha"] * _product(rows, n_rows, cols, _values(v, pos, v["use_perm"],
                                                            v["conj"], acc),
                                v["b"], p, acc)
    if v["use_c"]:
        res = res + v["beta"] * _ftz(_take(v["c"], np.arange(n_rows), "c", p).astype(acc))
    _store(v["out"], res.astype(acc), "out")


def _spmm_partial(v: dict, dt: dict, binding: dict) -> None:
    n_seg, p = int(v["n_seg"]), int(v["p"])
    if p <= 0 or n_seg <= 0:
        return
    acc = _acc(dt["vals"])
    seg_row = _take(v["seg_row"], np.arange(n_seg), "seg_row").astype(np.int64)
    first = _take(v["seg_off"], seg_row, "seg_off").astype(np.int64)
    k0 = _take(v["crow"], seg_row, "crow").astype(np.int64) + \
        (np.arange(n_seg) - first) * geometry.SPMM_SEGMENT
    k1 = np.minimum(k0 + geometry.SPMM_SEGMENT,
                    _take(v["crow"], seg_row + 1, "crow").astype(np.int64))
    seg_ptr = np.concatenate([[0], np.cumsum(np.maximum(k1 - k0, 0))])
    lengths = np.diff(seg_ptr)
    segs = np.repeat(np.arange(n_seg), lengths)
    pos = np.arange(segs.shape[0]) + np.repeat(k0 - seg_ptr[:-1], lengths)
    cols = _take(v["col"], pos, "col").astype(np.int64)
    res = _product(segs, n_seg, cols, _values(v, pos, v["use_perm"], v["conj"], acc),
                   v["b"], p, acc)
    _store(v["partial"], res, "partial")


def _spmm_combine(v: dict, dt: dict, binding: dict) -> None:
    n_rows, p = int(v["n_rows"]), int(v["p"])
    if p <= 0 or n_rows <= 0:
        return
    acc = dt["partial"]
    pos, rows = _rows_of(v["seg_off"], n_rows, "seg_off")
    part = _take(v["partial"], pos, "partial", p)
    res = np.zeros((n_rows, p), acc)
    order = np.argsort(rows, kind="stable")
    _sequential_sums(res, rows[order], part[order])
    res = v["alpha"] * res
    if v["use_c"]:
        res = res + v["beta"] * _ftz(_take(v["c"], np.arange(n_rows), "c", p).astype(acc))
    _store(v["out"], _ftz(res.astype(acc)), "out")


def _sequential_sums(out: np.ndarray, groups: np.ndarray, vals: np.ndarray) -> None:
    """``out[g] = vals[first] + vals[second] + ...`` for each group ``g`` (sorted), added
    one after the other in order, as one thread of the kernels adds them."""
    if not groups.size:
        return
    starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    lengths = np.diff(np.concatenate([starts, [groups.size]]))
    ids = groups[starts]
    acc = vals[starts].copy()
    for t in range(1, int(lengths.max())):
        live = lengths > t
        acc[live] = _ftz(acc[live] + vals[starts[live] + t])
    out[ids] = acc


def _segment_sum(v: dict, dt: dict, binding: dict) -> None:
    n_seg, nnz = int(v["n_seg"]), int(v["nnz"])
    if n_seg <= 0:
        return
    acc = _acc(dt["vals"])
    starts = _take(v["starts"], np.arange(n_seg), "starts").astype(np.int64)
    ends = np.concatenate([starts[1:], [nnz]])
    lengths = np.maximum(ends - starts, 0)
    pos = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + \
        np.arange(int(lengths.sum()))
    order = _take(v["order"], pos, "order").astype(np.int64)
    vals = _ftz(_take(v["vals"], order, "vals").astype(acc))
    res = np.zeros(n_seg, acc)
    groups = np.repeat(np.arange(n_seg), lengths)
    _sequential_sums(res, groups, vals)
    _store(v["out"], res, "out")


def _sddmm(v: dict, dt: dict, binding: dict) -> None:
    nnz, p = int(v["nnz"]), int(v["p"])
    if nnz <= 0:
        return
    acc = _acc(dt["a"])
    rows = _take(v["rows"], np.arange(nnz), "rows").astype(np.int64)
    cols = _take(v["cols"], np.arange(nnz), "cols").astype(np.int64)
    res = np.empty(nnz, acc)
    step = max(1, (1 << 22) // max(p, 1))
    for s in range(0, nnz, step):
        a = _ftz(_take(v["a"], rows[s:s + step], "a", p).astype(acc))
        b = _ftz(_take(v["b"], cols[s:s + step], "b", p).astype(acc))
        if v["conj_b"] and acc.kind == "c":
            b = np.conj(b)
        res[s:s + step] = _ftz(np.einsum("ij,ij->i", a, b))
    res = v["alpha"] * res
    if v["use_c"]:
        res = res + v["beta"] * _ftz(_take(v["c"], np.arange(nnz), "c").astype(acc))
    _store(v["out"], res.astype(acc), "out")


def _rows_threads(n: str) -> Callable[[dict, int], int]:
    """Threads of a warp-per-row-group product over ``v[n]`` units (launch.py)."""
    def threads(v: dict, vec: int) -> int:
        units, p = int(v[n]), int(v["p"])
        if units <= 0 or p <= 0:
            return 0
        return geometry.spmm_warps(units, p, vec) * geometry.WARP_SIZE
    return threads


MODELS: dict[str, Model] = {
    geometry.SPMM: Model(_spmm_csr, ("b", "c", "out"), _rows_threads("n_rows"), True),
    geometry.SPMM_PARTIAL: Model(_spmm_partial, ("b",), _rows_threads("n_seg"), True),
    geometry.SPMM_COMBINE: Model(_spmm_combine, (), lambda v, vec: max(
        0, int(v["n_rows"])) * max(0, int(v["p"])), False),
    geometry.SEGMENT_SUM: Model(_segment_sum, (), lambda v, vec: max(0, int(v["n_seg"])),
                                False),
    geometry.SDDMM: Model(_sddmm, ("a", "b"), lambda v, vec: geometry.sddmm_warps(
        max(0, int(v["nnz"]))) * geometry.WARP_SIZE, True),
}
