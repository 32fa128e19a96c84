"""The CuPy backend's decisions, checked without CuPy or a GPU.

A small NumPy-backed stand-in for the parts of ``cupy``, ``cupyx.scipy.sparse`` and
``cupy_backends.cuda.libs.cusparse`` the backend uses is put into ``sys.modules`` for each
test, and ``gpu_sparse.cuda.backend`` is imported fresh against it (and removed again
afterwards). The CUDA kernels are replaced by NumPy loops that record their launches, so
each test can say which path ran: the cuSPARSE fallback per (dtype, index dtype), p == 1
through our kernel, the split (two-kernel) SpMM for long rows, integer/bool coalescing,
half SpGEMM in float32, the install advice of a failing compile, and the bfloat16
decision. Where a real CuPy is importable this
module is skipped: the parity tests (tests/test_cuda_parity.py) run on the GPU instead.
"""

import ctypes
import functools
import importlib
import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import gpu_sparse.testing

from gpu_sparse.backend import get_backend

# the CuPy stand-in (gpu_sparse.testing) is no real CuPy: these tests run beside it
pytestmark = pytest.mark.skipif(importlib.util.find_spec("cupy") is not None
                                and not gpu_sparse.testing.standin_active(),
                                reason="a real CuPy is installed: the GPU tests run instead")

FRESH = ("gpu_sparse.cuda.backend", "gpu_sparse.cuda._kernels")
CUDA_DTYPES = {0: np.float32, 1: np.float64, 4: np.complex64, 5: np.complex128}
NOT_SUPPORTED, INVALID_VALUE, MATRIX_TYPE_NOT_SUPPORTED = 10, 3, 8


# ---- the stand-in --------------------------------------------------------------------
class FakeArray(np.ndarray):
    """A NumPy array that, like a cupy.ndarray, has ``.data.ptr``."""

    live: dict = {}  # data pointer -> array, for the fake cuSPARSE to read pointers back

    @property
    def data(self):
        FakeArray.live[self.ctypes.data] = self
        return types.SimpleNamespace(ptr=self.ctypes.data)


def _w(x):
    if isinstance(x, tuple):
        return tuple(_w(y) for y in x)
    if isinstance(x, np.ndarray) and not isinstance(x, FakeArray):
        return x.view(FakeArray)
    return x


class FakeCompileException(Exception):  # noqa: N818 (CuPy's name)
    pass


class FakeCuSparseError(RuntimeError):
    def __init__(self, status):
        self.status = status
        super().__init__({3: "CUSPARSE_STATUS_INVALID_VALUE",
                          8: "CUSPARSE_STATUS_MATRIX_TYPE_NOT_SUPPORTED",
                          10: "CUSPARSE_STATUS_NOT_SUPPORTED"}[status])


class State:
    """What the stand-in records, and how it is told to misbehave."""

    def __init__(self):
        self.kernel_calls = []     # expressions of launched kernels
        self.cusparse_calls = []   # (value type, index type) of every spMM
        self.cusparse_fail = {}    # (value type, index type) -> status raised by spMM
        self.sparse_dtypes = []    # value dtypes given to cupyx.scipy.sparse
        self.zeros_rejects = set()  # dtypes cupy.zeros refuses (no bfloat16 support)
        self.compile_error = None  # raised by RawModule.get_function


def _fake_cupy(state):
    cupy = types.ModuleType("cupy")
    for name in ("arange", "cumsum", "searchsorted", "nonzero", "broadcast_to",
                 "ascontiguousarray", "asarray", "empty", "array", "from_dlpack"):
        setattr(cupy, name, functools.partial(lambda f, *a, **k: _w(f(*a, **k)),
                                              getattr(np, name)))

    def zeros(shape, dtype=float, order="C"):
        if np.dtype(dtype) in state.zeros_rejects:
            raise ValueError(f"Unsupported dtype {np.dtype(dtype)}")
        return _w(np.zeros(shape, dtype, order))

    class RawModule:
        def __init__(self, *, code, options, name_expressions):
            assert isinstance(options, tuple) and code

        def get_function(self, expression):
            raise state.compile_error

    class Device:
        def __init__(self, device_id):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    cupy.zeros = zeros
    cupy.argsort = lambda a: _w(np.argsort(a, kind="stable"))
    cupy.asnumpy = lambda a: np.array(a).view(np.ndarray)
    cupy.ndarray = FakeArray
    cupy.memoize = lambda for_each_device=False: functools.cache
    cupy.RawModule = RawModule
    cupy.RawKernel = object
    cupy.cuda = types.SimpleNamespace(
        Device=Device, compiler=types.SimpleNamespace(CompileException=FakeCompileException),
        device=types.SimpleNamespace(get_cusparse_handle=lambda: 1))
    return cupy


def _fake_cusparse(state):
    cs = types.ModuleType("cupy_backends.cuda.libs.cusparse")
    cs.CuSparseError = FakeCuSparseError
    cs.CUSPARSE_INDEX_32I, cs.CUSPARSE_INDEX_64I = 2, 3
    cs.CUSPARSE_INDEX_BASE_ZERO = 0
    cs.CUSPARSE_OPERATION_NON_TRANSPOSE = 0
    cs.CUSPARSE_ORDER_ROW = 2
    handles = {}

    def create_csr(rows, cols, nnz, crow, col, vals, row_t, col_t, base, vt):
        assert row_t == col_t
        handles[len(handles) + 1] = ("csr", rows, cols, crow, col, vals, row_t, vt)
        return len(handles)

    def create_dn(rows, cols, ld, ptr, vt, order):
        assert ld == cols and order == cs.CUSPARSE_ORDER_ROW
        handles[len(handles) + 1] = ("dn", rows, cols, ptr, vt)
        return len(handles)

    def scalar(ptr, vt):
        dt = np.dtype(CUDA_DTYPES[vt])
        return np.frombuffer((ctypes.c_char * dt.itemsize).from_address(ptr), dt)[0]

    def spmm(handle, op_a, op_b, alpha, mat_a, mat_b, beta, mat_c, ct, alg, buf):
        _, m, k, crow, col, vals, idx, vt = handles[mat_a]
        out = FakeArray.live[handles[mat_c][3]]
        state.cusparse_calls.append((vt, idx))
        if (vt, idx) in state.cusparse_fail:
            out[...] = np.nan  # whatever cuSPARSE may leave behind
            raise FakeCuSparseError(state.cusparse_fail[(vt, idx)])
        live = FakeArray.live
        a = sp.csr_matrix((np.asarray(live[vals]), np.asarray(live[col]),
                           np.asarray(live[crow])), shape=(m, k))
        b = np.asarray(live[handles[mat_b][3]])
        out[...] = scalar(alpha, ct) * (a @ b) + scalar(beta, ct) * np.asarray(out)

    cs.createCsr, cs.createDnMat, cs.spMM = create_csr, create_dn, spmm
    cs.spMM_bufferSize = lambda *args: 0
    cs.destroySpMat = cs.destroyDnMat = lambda handle: handles.pop(handle)
    return cs


def _fake_cupyx_sparse(state):
    mod = types.ModuleType("cupyx.scipy.sparse")

    class csr_matrix:  # noqa: N801 (cupyx's name)
        def __init__(self, m):
            self._m = m.tocsr()
            self.indptr, self.indices, self.data = (
                _w(self._m.indptr), _w(self._m.indices), _w(self._m.data))
            self.nnz, self.shape = self._m.nnz, self._m.shape

        def __matmul__(self, other):
            return csr_matrix(self._m @ other._m)

    class coo_matrix:  # noqa: N801
        def __init__(self, arg, shape):
            v, (r, c) = arg
            state.sparse_dtypes.append(v.dtype)
            if v.dtype.char not in "?fdFD":  # as cupyx's _sputils._SPARSE_DATA_KINDS
                raise ValueError("Only bool, float32, float64, complex64 and complex128 "
                                 "are supported")
            self._m = sp.coo_matrix((np.asarray(v), (np.asarray(r), np.asarray(c))),
                                    shape=shape)

        def tocsr(self):
            return csr_matrix(self._m)

    mod.coo_matrix, mod.csr_matrix = coo_matrix, csr_matrix
    return mod


def _fake_kernel(state, kernel):
    """The launched kernel, as a NumPy loop that records the launch."""
    fake_launch = state.mod.launch

    def spmm(grid, block, args):
        crow, col, vals, perm, b, c, out, n_rows, p, alpha, beta, has_perm, conj, use_c = (
            args)
        acc = np.zeros(out.shape, np.result_type(vals.dtype, np.float32))
        for i in range(int(n_rows)):
            for k in range(crow[i], crow[i + 1]):
                v = vals[perm[k]] if has_perm else vals[k]
                acc[i] += (np.conj(v) if conj else v) * b[col[k]]
        out[...] = alpha * acc + (beta * np.asarray(c) if use_c else 0)

    def spmm_partial(grid, block, args):
        crow, col, vals, perm, b, seg_off, seg_row, partial, n_seg, p, has_perm, conj = args
        assert partial.shape == (int(n_seg), int(p))
        assert partial.dtype == fake_launch.acc_dtype(vals.dtype)  # float32 for halves
        seg = fake_launch.SPMM_SEGMENT
        for s in range(int(n_seg)):
            i = int(seg_row[s])
            k0 = int(crow[i]) + (s - int(seg_off[i])) * seg
            acc = np.zeros(int(p), partial.dtype)
            for k in range(k0, min(k0 + seg, int(crow[i + 1]))):
                v = vals[perm[k]] if has_perm else vals[k]
                acc += (np.conj(v) if conj else v) * b[col[k]]
            partial[s] = acc

    def spmm_combine(grid, block, args):
        seg_off, partial, c, out, n_rows, p, alpha, beta, use_c = args
        for i in range(int(n_rows)):
            acc = np.zeros(int(p), partial.dtype)
            for s in range(int(seg_off[i]), int(seg_off[i + 1])):  # in segment order
                acc = acc + partial[s]
            out[i] = alpha * acc + (beta * np.asarray(c[i]) if use_c else 0)

    def segment_sum(grid, block, args):
        order, starts, n_seg, nnz, vals, out = args
        ends = list(starts[1:]) + [int(nnz)]
        for s in range(int(n_seg)):
            acc = vals[order[starts[s]]]
            for q in range(starts[s] + 1, ends[s]):
                acc = acc + vals[order[q]]
            out[s] = acc

    def sddmm(grid, block, args):
        rows, cols, a, b, c, out, nnz, p, alpha, beta, use_c, conj_b = args
        for k in range(int(nnz)):
            bk = np.conj(b[cols[k]]) if conj_b else b[cols[k]]
            out[k] = alpha * (a[rows[k]] * bk).sum() + (beta * c[k] if use_c else 0)

    def launch(grid, block, args):
        assert isinstance(grid, tuple) and isinstance(block, tuple)
        state.kernel_calls.append(kernel.expression)
        name = kernel.expression.split("<")[0]
        body = (spmm_partial if name.endswith("_partial") else
                spmm_combine if name.endswith("_combine") else
                spmm if "spmm" in kernel.expression else
                sddmm if "sddmm" in kernel.expression else segment_sum)
        body(grid, block, args)

    return launch


@pytest.fixture
def fake(monkeypatch):
    """A State whose ``mod`` is gpu_sparse.cuda.backend imported against the stand-in and
    ``kernels`` its _kernels (with get_kernel replaced by the NumPy loops)."""
    import gpu_sparse.cuda as pkg

    state = State()
    FakeArray.live = {}
    libs = types.ModuleType("cupy_backends.cuda.libs")
    libs.cusparse = _fake_cusparse(state)
    scipy_ = types.ModuleType("cupyx.scipy")
    scipy_.sparse = _fake_cupyx_sparse(state)
    modules = {"cupy": _fake_cupy(state), "cupyx": types.ModuleType("cupyx"),
               "cupyx.scipy": scipy_, "cupyx.scipy.sparse": scipy_.sparse,
               "cupy_backends": types.ModuleType("cupy_backends"),
               "cupy_backends.cuda": types.ModuleType("cupy_backends.cuda"),
               "cupy_backends.cuda.libs": libs,
               "cupy_backends.cuda.libs.cusparse": libs.cusparse,
               "ml_dtypes": None}  # no bfloat16 unless a test provides it
    modules["cupyx"].scipy = scipy_
    modules["cupy_backends"].cuda = modules["cupy_backends.cuda"]
    modules["cupy_backends.cuda"].libs = libs
    saved = {name: sys.modules.get(name) for name in FRESH}
    saved_attrs = {name: vars(pkg).get(name) for name in ("backend", "_kernels")}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in FRESH:
        sys.modules.pop(name, None)
    for name in saved_attrs:  # else `from . import _kernels` finds the package's attribute
        vars(pkg).pop(name, None)
    monkeypatch.delenv("GPU_SPARSE_CUDA_SPMM", raising=False)
    try:
        state.mod = importlib.import_module("gpu_sparse.cuda.backend")
        state.kernels = sys.modules["gpu_sparse.cuda._kernels"]
        state.real_get_kernel = state.kernels.get_kernel
        monkeypatch.setattr(state.kernels, "get_kernel",
                            lambda kernel: _fake_kernel(state, kernel))
        yield state
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name, value in saved_attrs.items():
            if value is None:
                vars(pkg).pop(name, None)
            else:
                setattr(pkg, name, value)


# ---- helpers --------------------------------------------------------------------------
def _csr(rng, m, n, nnz, dtype, index_dtype):
    rows = np.sort(rng.integers(0, m, nnz))
    cols = rng.integers(0, n, nnz)
    crow = np.searchsorted(rows, np.arange(m + 1)).astype(index_dtype)
    vals = (rng.standard_normal(nnz) + (1j * rng.standard_normal(nnz)
                                        if np.dtype(dtype).kind == "c" else 0))
    return crow, cols.astype(index_dtype), vals.astype(dtype)


def _spmm(backend, rng, dtype, index_dtype, p, with_c=False):
    """backend.spmm of a random 7 x 5 CSR matrix (with duplicates) against numpy."""
    crow, col, vals = _csr(rng, 7, 5, 20, dtype, index_dtype)
    b = rng.standard_normal((5, p)).astype(dtype)
    c = rng.standard_normal((7, p)).astype(dtype) if with_c else None
    got = backend.spmm(_w(crow), _w(col), _w(vals), _w(b), alpha=2, beta=0.5,
                       c=None if c is None else _w(c))
    want = 2 * (sp.csr_matrix((vals, col, crow), shape=(7, 5)) @ b)
    if with_c:
        want = want + 0.5 * c
    tol = 1e-5 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)
    return got


def _paths(state):
    """(cuSPARSE calls, SpMM kernel launches) so far, then forget them."""
    out = (len(state.cusparse_calls),
           sum("spmm" in expr for expr in state.kernel_calls))
    state.cusparse_calls.clear()
    state.kernel_calls.clear()
    return out


# ---- item 4: the cuSPARSE fallback ----------------------------------------------------
def test_not_supported_falls_back_for_that_combination_only(fake, rng):
    backend = fake.mod.CuPyBackend(0)
    fake.cusparse_fail[(0, 2)] = NOT_SUPPORTED  # float32 values, int32 indices
    with pytest.warns(fake.mod.CuSparseFallbackWarning, match="float32"):
        _spmm(backend, rng, np.float32, np.int32, 4, with_c=True)  # out rebuilt from c
    assert _paths(fake) == (1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per combination
        _spmm(backend, rng, np.float32, np.int32, 4, with_c=True)
        assert _paths(fake) == (0, 1)  # decided: cuSPARSE is not asked again
        for dtype, index in ((np.float32, np.int64), (np.float64, np.int32),
                             (np.complex64, np.int32)):
            _spmm(backend, rng, dtype, index, 4)
            assert _paths(fake) == (1, 0), (dtype, index)
    assert backend._cusparse_ok[(np.dtype(np.float32), np.dtype(np.int32))] is False
    assert backend._cusparse_ok[(np.dtype(np.float32), np.dtype(np.int64))] is True


@pytest.mark.parametrize("status", [INVALID_VALUE, MATRIX_TYPE_NOT_SUPPORTED])
def test_other_cusparse_errors_propagate(fake, rng, status):
    backend = fake.mod.CuPyBackend(0)
    fake.cusparse_fail[(1, 2)] = status
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FakeCuSparseError) as err:
            _spmm(backend, rng, np.float64, np.int32, 4)
    assert err.value.status == status
    assert _paths(fake) == (1, 0)  # no silent switch to the kernel
    del fake.cusparse_fail[(1, 2)]
    _spmm(backend, rng, np.float64, np.int32, 4)
    assert _paths(fake) == (1, 0)  # nor a remembered one


def test_kernel_switch_skips_cusparse(fake, rng, monkeypatch):
    monkeypatch.setenv("GPU_SPARSE_CUDA_SPMM", "kernel")
    backend = fake.mod.CuPyBackend(0)
    _spmm(backend, rng, np.float32, np.int32, 8, with_c=True)
    assert _paths(fake) == (0, 1)


# ---- item 5: p == 1 -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_one_column_never_calls_cusparse(fake, rng, dtype):
    backend = fake.mod.CuPyBackend(0)
    _spmm(backend, rng, dtype, np.int32, 1, with_c=True)
    _spmm(backend, rng, dtype, np.int64, 1)
    assert _paths(fake) == (0, 2)
    _spmm(backend, rng, dtype, np.int32, 2)
    assert _paths(fake) == (1, 0)


# ---- item 2: integer and bool coalesce / to_dense ------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint64,
                                   np.bool_])
def test_integer_and_bool_coalesce_match_the_cpu(fake, rng, dtype):
    backend, cpu = fake.mod.CuPyBackend(0), get_backend("cpu")
    shape, nnz = (4, 5), 40  # many duplicates
    rows, cols = rng.integers(0, 4, nnz), rng.integers(0, 5, nnz)
    info = np.iinfo(dtype) if np.dtype(dtype).kind != "b" else None
    if info is None:
        vals = rng.random(nnz) < 0.3
    else:  # extremes, so that sums wrap around
        vals = rng.integers(info.min, info.max, nnz, dtype=dtype, endpoint=True)
    want = cpu.coalesce(rows, cols, vals, shape)
    got = backend.coalesce(_w(rows), _w(cols), _w(vals), shape)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(np.asarray(g), w)
    dense = backend.to_dense(_w(rows), _w(cols), _w(vals), shape)
    assert dense.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(dense), cpu.to_dense(rows, cols, vals, shape))
    assert fake.kernel_calls == []  # no kernel exists for these dtypes


def test_float_coalesce_still_uses_the_segment_kernel(fake, rng):
    backend, cpu = fake.mod.CuPyBackend(0), get_backend("cpu")
    rows, cols = rng.integers(0, 3, 30), rng.integers(0, 3, 30)
    vals = rng.standard_normal(30)
    got = backend.coalesce(_w(rows), _w(cols), _w(vals), (3, 3))
    np.testing.assert_array_equal(np.asarray(got[2]), cpu.coalesce(rows, cols, vals,
                                                                   (3, 3))[2])
    assert fake.kernel_calls == ["gpu_sparse_segment_sum<double>"]


# ---- item 1: half SpGEMM --------------------------------------------------------------
def test_half_spgemm_computes_in_float32(fake, rng):
    backend = fake.mod.CuPyBackend(0)
    a = _csr(rng, 6, 5, 14, np.float16, np.int32)
    b = _csr(rng, 5, 4, 12, np.float16, np.int32)
    r, c, v = backend.spgemm(tuple(map(_w, a)), (6, 5), tuple(map(_w, b)), (5, 4))
    assert v.dtype == np.float16
    assert fake.sparse_dtypes and set(fake.sparse_dtypes) == {np.dtype(np.float32)}
    a32 = sp.csr_matrix((a[2].astype(np.float32), a[1], a[0]), shape=(6, 5))
    b32 = sp.csr_matrix((b[2].astype(np.float32), b[1], b[0]), shape=(5, 4))
    want = (a32 @ b32).tocoo()
    want.sum_duplicates()  # row-major, as the backend returns it
    np.testing.assert_array_equal(np.asarray(r), want.row)
    np.testing.assert_array_equal(np.asarray(c), want.col)
    np.testing.assert_array_equal(np.asarray(v), want.data.astype(np.float16))


# ---- item 6b: what to install ---------------------------------------------------------
def _kernel(fake):
    return fake.mod.launch.segment_sum_kernel(np.float16)


def test_missing_header_gives_install_advice(fake):
    fake.compile_error = FakeCompileException(
        'catastrophic error: cannot open source file "cuda_fp16.h"')
    with pytest.raises(RuntimeError, match=r'gpu_sparse\[cuda13\]') as err:
        fake.real_get_kernel(_kernel(fake))
    assert "cuda_fp16.h" in str(err.value) and "gpu_sparse[cuda12]" in str(err.value)
    assert err.value.__cause__ is fake.compile_error


def test_missing_nvrtc_gives_install_advice(fake):
    fake.compile_error = RuntimeError("CuPy failed to load libnvrtc.so.13: OSError: no")
    with pytest.raises(RuntimeError, match="pip install") as err:
        fake.real_get_kernel(_kernel(fake))
    assert "libnvrtc.so.13" in str(err.value)
    assert err.value.__cause__ is fake.compile_error


def test_genuine_compile_error_keeps_the_log(fake):
    fake.compile_error = FakeCompileException('error: identifier "gs_bogus" is undefined')
    with pytest.raises(RuntimeError, match="failed to compile") as err:
        fake.real_get_kernel(_kernel(fake))
    assert 'identifier "gs_bogus" is undefined' in str(err.value)
    assert err.value.__cause__ is fake.compile_error


def test_unrelated_runtime_errors_are_not_rewritten(fake):
    fake.compile_error = RuntimeError("cudaErrorMemoryAllocation: out of memory")
    with pytest.raises(RuntimeError) as err:
        fake.real_get_kernel(_kernel(fake))
    assert err.value is fake.compile_error


def test_missing_cusparse_gives_install_advice(fake, rng, monkeypatch):
    libs = types.ModuleType("cupy_backends.cuda.libs")  # a package without cusparse
    libs.__path__ = []
    monkeypatch.setitem(sys.modules, "cupy_backends.cuda.libs", libs)
    monkeypatch.delitem(sys.modules, "cupy_backends.cuda.libs.cusparse")
    backend = fake.mod.CuPyBackend(0)
    with pytest.raises(RuntimeError, match=r"cuSPARSE.*gpu_sparse\[cuda13\]") as err:
        _spmm(backend, rng, np.float32, np.int32, 4)
    assert isinstance(err.value.__cause__, ImportError)


# ---- item 7: bfloat16 -----------------------------------------------------------------
@pytest.mark.parametrize("cupy_has_it", [True, False])
def test_bfloat16_is_advertised_only_when_cupy_supports_it(fake, monkeypatch, cupy_has_it):
    stand_in = np.dtype(np.uint16)  # plays ml_dtypes.bfloat16
    monkeypatch.setitem(sys.modules, "ml_dtypes", types.SimpleNamespace(bfloat16=stand_in))
    if not cupy_has_it:  # CuPy with NumPy < 2.1.2
        fake.zeros_rejects.add(stand_in)
    fake.mod._bfloat16.cache_clear()
    assert (stand_in in fake.mod.CuPyBackend(0).supported_dtypes) is cupy_has_it


def test_no_bfloat16_without_ml_dtypes(fake):
    fake.mod._bfloat16.cache_clear()
    dtypes = fake.mod.CuPyBackend(0).supported_dtypes
    assert np.dtype(np.float16) in dtypes and len(dtypes) == 5


# ---- item 8: what depends only on the pattern is kept ---------------------------------
def test_csr_sddmm_expands_rows_once_per_pattern(fake, rng, monkeypatch):
    backend = fake.mod.CuPyBackend(0)
    crow, col, _ = _csr(rng, 7, 5, 20, np.float64, np.int32)
    crow_w, col_w = _w(crow), _w(col)
    calls = []
    real = backend._csr_rows
    monkeypatch.setattr(backend, "_csr_rows", lambda c, n: calls.append(n) or real(c, n))
    a = rng.standard_normal((7, 3))
    b = rng.standard_normal((5, 3))
    rows = np.repeat(np.arange(7), np.diff(crow))
    want = (a[rows] * b[col]).sum(axis=1)
    for _ in range(3):
        got = backend.sddmm(None, col_w, _w(a), _w(b), crow=crow_w)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    assert len(calls) == 1


# ---- the split SpMM: long rows cut into segments ---------------------------------------
def _long_row_csr(rng, m, n, long_len, dtype, index_dtype):
    """A CSR pattern of m rows with ~3 nonzeros each (some empty) plus row 2 of
    ``long_len``, unsorted columns with repeats."""
    lengths = rng.integers(0, 6, m)
    lengths[2] = long_len
    crow = np.concatenate([[0], np.cumsum(lengths)]).astype(index_dtype)
    nnz = int(crow[-1])
    cols = rng.integers(0, n, nnz).astype(index_dtype)
    vals = rng.standard_normal(nnz).astype(dtype)
    return crow, cols, vals


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_long_rows_take_the_split_path(fake, rng, monkeypatch, index_dtype):
    monkeypatch.setenv("GPU_SPARSE_CUDA_SPMM", "kernel")
    backend = fake.mod.CuPyBackend(0)
    launch = fake.mod.launch
    threshold = launch.SPMM_SPLIT_SEGMENTS * launch.SPMM_SEGMENT
    m, n, p = 9, 40, 3
    lookups = []
    keep = []  # the row pointers stay alive: the cache is keyed by id(crow)
    real = backend._spmm_segments
    monkeypatch.setattr(backend, "_spmm_segments",
                        lambda c, nnz: lookups.append(id(c)) or real(c, nnz))
    for long_len, split in ((threshold - 1, False), (threshold, True),
                            (2 * threshold + 77, True)):
        crow, col, vals = _long_row_csr(rng, m, n, long_len, np.float64, index_dtype)
        b = rng.standard_normal((n, p))
        c = rng.standard_normal((m, p))
        want = 2 * (sp.csr_matrix((vals, col, crow), shape=(m, n)) @ b) + 0.5 * c
        crow_w = _w(crow)
        keep.append(crow_w)
        for _ in range(2):  # the second call reuses the cached decision
            got = backend.spmm(crow_w, _w(col), _w(vals), _w(b), alpha=2, beta=0.5,
                               c=_w(c))
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
            names = [e.split("<")[0] for e in fake.kernel_calls]
            fake.kernel_calls.clear()
            if split:
                assert names == [launch.SPMM_PARTIAL, launch.SPMM_COMBINE]
            else:
                assert names == [launch.SPMM]
        segments = backend._segments_cache[id(crow_w)][2]
        assert (segments is not None) is split
        if split:
            seg_off, seg_row, n_seg = segments
            lengths = np.diff(crow)
            counts = [launch.spmm_segments(int(x)) for x in lengths]
            np.testing.assert_array_equal(np.asarray(seg_off), np.cumsum([0] + counts))
            np.testing.assert_array_equal(np.asarray(seg_row),
                                          np.repeat(np.arange(m), counts))
            assert n_seg == sum(counts) and seg_off.dtype == np.dtype(index_dtype)
    assert len(lookups) == 6  # looked up on every call ...
    assert len(backend._segments_cache) == 3  # ... computed once per pattern


def test_split_path_with_perm_conj_and_float16(fake, rng):
    """Half values (always our kernels), entries reached through perm, conjugated: the
    segments are summed in float32, each row's in segment order."""
    backend = fake.mod.CuPyBackend(0)
    m, n, p = 5, 30, 8
    launch = fake.mod.launch
    crow, col, vals = _long_row_csr(rng, m, n, launch.SPMM_SPLIT_SEGMENTS
                                    * launch.SPMM_SEGMENT + 3, np.float16, np.int32)
    perm = rng.permutation(col.shape[0]).astype(np.int32)
    b = rng.standard_normal((n, p)).astype(np.float16)
    got = backend.spmm(_w(crow), _w(col), _w(vals), _w(b), alpha=1.5, perm=_w(perm),
                       conj=True)
    assert got.dtype == np.float16
    assert [e.split("<")[0] for e in fake.kernel_calls] == [launch.SPMM_PARTIAL,
                                                             launch.SPMM_COMBINE]
    a = sp.csr_matrix((vals[perm].astype(np.float64), col, crow), shape=(m, n))
    want = 1.5 * (a @ b.astype(np.float64))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=2e-2,
                               atol=2e-1)
