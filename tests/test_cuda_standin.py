"""The CuPy stand-in (gpu_sparse.testing) behaves like CuPy 14.2 where a port to the GPU
breaks: its names and signatures, device memory apart from host memory, CuPy's semantics,
checked kernel launches, a checking cuSPARSE, the memory pool. Runs in the
``GPU_SPARSE_CUDA_STANDIN=1`` pass of the suite (``.ci/run``); the refusal to shadow a
real CuPy is checked from any pass."""

import json
import operator
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import gpu_sparse as gs
import gpu_sparse.testing as gt
from gpu_sparse.cuda import launch
from tests.helpers import cpu_only_env

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMES = json.loads((ROOT / "gpu_sparse/testing/_standin/cupy14.json").read_text())
active = pytest.mark.skipif(not gt.standin_active(),
                            reason="the stand-in's own tests run in the "
                                   "GPU_SPARSE_CUDA_STANDIN=1 pass of .ci/run")


@pytest.fixture
def cp():
    import cupy
    return cupy


# ---- switching it on ------------------------------------------------------------------
def test_the_stand_in_never_shadows_a_real_cupy(tmp_path):
    fake = tmp_path / "cupy"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    env = cpu_only_env(GPU_SPARSE_CUDA_STANDIN="1",
                       PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    res = subprocess.run([sys.executable, "-c", "import gpu_sparse"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode != 0
    assert "never shadows a real GPU stack" in res.stderr and str(fake) in res.stderr


def test_the_variable_switches_it_on_in_a_fresh_process():
    code = ("import gpu_sparse as gs, numpy as np\n"
            "t = gs.tensor([1.0, 2.0], device='cuda')\n"
            "try:\n    np.asarray(t.array)\nexcept TypeError:\n    print('refused')\n"
            "print(gs.available_backends(), type(t.array).__module__)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=cpu_only_env(GPU_SPARSE_CUDA_STANDIN="1"), timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split("\n")[:2] == ["refused", "('cpu', 'cuda') cupy"]


def test_the_plugin_serves_a_users_suite(tmp_path):
    """A user's suite with gpu_sparse's pytest plugin: the stand-in is on before a test
    module's top-level `import cupy`, and `device` runs each test on both devices."""
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["gpu_sparse.testing.pytest_plugin"]\n')
    (tmp_path / "test_user.py").write_text(
        "try:\n    import cupy\nexcept ImportError:\n    cupy = None\n"
        "import gpu_sparse as gs\n\n"
        "def test_step(device):\n"
        "    x = gs.tensor([1.0, 2.0], device=device)\n"
        "    assert (x * 2).sum().item() == 6.0\n"
        "    if device == 'cuda':\n"
        "        assert cupy is not None and type(x.array) is cupy.ndarray\n")
    env = cpu_only_env(GPU_SPARSE_CUDA_STANDIN="1", PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path)], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "2 passed" in res.stdout


# ---- names and signatures -------------------------------------------------------------
def _public(obj):
    return {n for n in dir(obj) if not n.startswith("_")}


@active
@pytest.mark.parametrize("module", sorted(NAMES["modules"]))
def test_each_module_holds_exactly_cupys_public_names(module):
    import importlib
    mod = importlib.import_module(module)
    want = set(NAMES["modules"][module]) - {"annotations"}
    if module == "cupy_backends.cuda.libs":
        want.add("cusparse")  # CuPy's loads on first access (its __getattr__)
    assert _public(mod) - {"annotations"} == want


@active
@pytest.mark.parametrize("cls", ["cupy.ndarray", "cupy.ufunc"])
def test_classes_hold_exactly_cupys_members(cls, cp):
    obj = cp.ndarray if cls == "cupy.ndarray" else cp.ufunc
    want = {n for n in NAMES["classes"][cls] if not n.startswith("_")}
    got = _public(obj) | ({n for n in vars(cp.add) if not n.startswith("_")}
                          if cls == "cupy.ufunc" else set())
    assert want <= got and not (_public(obj) - want), (want - got, _public(obj) - want)


@active
def test_a_name_or_keyword_cupy_lacks_raises(cp):
    a = cp.arange(6.0).reshape(2, 3)
    assert NAMES["cupy_version"] == "14.2.0"
    with pytest.raises(AttributeError):
        cp.block  # noqa: B018 (NumPy has it, CuPy 14.2 does not)
    with pytest.raises(AttributeError):
        a.setflags  # noqa: B018
    with pytest.raises(TypeError, match="like"):
        cp.zeros(3, like=a)
    with pytest.raises(TypeError, match="initial"):
        a.max(initial=0)
    with pytest.raises(TypeError, match="where"):
        cp.add(a, a, where=a > 0)
    with pytest.raises(TypeError, match="stable"):
        cp.argsort(a, stable=True)
    with pytest.raises(NotImplementedError, match="cupy.fft"):
        cp.fft.fft(a)
    with pytest.raises(ValueError, match="kind can only be None or 'stable'"):
        cp.sort(a, kind="quicksort")


# ---- device memory ----------------------------------------------------------------------
@active
def test_no_implicit_conversion(cp):
    a = cp.arange(3.0)
    for convert in (np.asarray, np.array, lambda x: x.__array__()):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
            convert(a)
    t = gs.tensor([1.0, 2.0], device="cuda")
    with pytest.raises(TypeError):
        np.asarray(t.array)
    with pytest.raises(TypeError):
        float(a)  # not a scalar: NumPy's own refusal, as CuPy's float(self.get())
    with pytest.raises(ValueError, match="truth value"):
        bool(a)
    with pytest.raises(TypeError):
        operator.index(a[0])  # CuPy's ndarray has no __index__
    assert float(a[2]) == 2.0 and int(a[1]) == 1 and bool(a[1])


@active
def test_numpy_arrays_are_refused_where_cupy_wants_device_arrays(cp):
    a = cp.ones(3)
    for bad in (lambda: a + np.ones(3), lambda: np.ones(3) + a,
                lambda: cp.add(a, [1.0, 2.0, 3.0]), lambda: cp.maximum(a, np.array(1.0)),
                lambda: cp.where(a > 0, np.ones(3), a), lambda: cp.concatenate([a, np.ones(2)]),
                lambda: cp.ascontiguousarray(np.ones(3))):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(TypeError, match="Unsupported type"):
        a += np.array(1.0)
    a += np.float64(1.0)  # NumPy scalars are scalars
    assert a.get().tolist() == [2.0, 2.0, 2.0]
    assert cp.asarray(np.ones(2)).get().tolist() == [1.0, 1.0]  # explicit copies work
    s = np.sum(a)  # NumPy functions dispatch to CuPy's ...
    assert isinstance(s, cp.ndarray) and s.shape == () and float(s) == 6.0
    with pytest.raises(TypeError, match="no implementation found"):
        np.block([a, a])  # ... only where CuPy has them


@active
def test_device_memory_is_apart_from_host_memory(cp):
    a = cp.arange(4.0)
    h = a.get()
    h[0] = 99.0
    assert float(a[0]) == 0.0
    b = cp.asnumpy(a)
    assert isinstance(b, np.ndarray) and b.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert a.data.ptr % 256 == 0 and a[1:].data.ptr == a.data.ptr + 8
    view = a[1:3]
    view[...] = 7.0
    assert a.get().tolist() == [0.0, 7.0, 7.0, 3.0] and view.base is a
    iface = a.__cuda_array_interface__
    assert iface["data"][0] == a.data.ptr and iface["shape"] == (4,) and iface["version"] == 3
    z = cp.empty(3)
    assert np.isnan(z.get()).all()  # fresh device memory is garbage, not zeros
    assert cp.empty(0).data.ptr == 0


@active
def test_dlpack_shares_device_memory(cp):
    t = gs.tensor(np.arange(6.0).reshape(2, 3), device="cuda")
    y = cp.from_dlpack(t)
    assert y.data.ptr == t.array.data.ptr and y.get().tolist() == host_list(t)
    assert t.__dlpack_device__() == (2, 0)
    assert gs.from_dlpack(cp.arange(3.0)).device == "cuda:0"
    with pytest.raises((BufferError, RuntimeError, TypeError)):
        np.from_dlpack(t.array)  # host consumers refuse GPU memory


def host_list(t):
    return t.cpu().numpy().tolist()


@active
def test_memory_pool_rounds_caches_and_limits(cp):
    pool = cp.get_default_memory_pool()
    pool.free_all_blocks()
    used, total = pool.used_bytes(), pool.total_bytes()
    a = cp.empty(100, dtype=cp.float32)  # 400 bytes: one 512-byte unit
    assert pool.used_bytes() == used + 512
    del a
    assert pool.used_bytes() == used and pool.total_bytes() == total + 512
    assert pool.n_free_blocks() >= 1
    pool.free_all_blocks()
    assert pool.total_bytes() == used
    pool.set_limit(size=pool.total_bytes() + 1024)
    try:
        with pytest.raises(cp.cuda.memory.OutOfMemoryError):
            cp.empty(4096, dtype=cp.uint8)
        del_me = cp.empty(1024, dtype=cp.uint8)
        del del_me  # cached, not in use: CuPy frees it and tries again
        cp.empty(512, dtype=cp.uint8)
    finally:
        pool.set_limit(size=0)


# ---- CuPy's semantics ---------------------------------------------------------------------
@active
def test_cupy_semantics_where_they_differ_from_numpy(cp):
    a = cp.arange(3)
    assert a[[1, 4]].get().tolist() == [1, 1]  # out-of-bounds indices wrap around
    with pytest.raises(IndexError):
        a[5]
    r = a.sum()
    assert isinstance(r, cp.ndarray) and r.shape == ()  # 0-d arrays, not NumPy scalars
    v = a[0]
    v[...] = 10
    assert int(a[0]) == 10  # full integer indexing is a view
    f = cp.asarray([np.nan, np.inf, -np.inf, 3e9, -2.7])
    assert f.astype(cp.int32).get().tolist() == [0, 2**31 - 1, -2**31, 2**31 - 1, -2]
    assert f.astype(cp.uint8).get().tolist() == [0, 255, 0, 255, 0]
    p = cp.asarray([2, 1, -1, -1]) ** cp.asarray([-1, -3, -3, -2])
    assert p.get().tolist() == [0, 1, -1, 1]  # NumPy raises
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(cp.asarray(1.0) / cp.asarray(0.0)) == np.inf  # no RuntimeWarning
    big = cp.full(2, -np.inf)
    cp.maximum.at(big, cp.asarray([0, 0, 1]), cp.asarray([1e39, 1.0, np.nan]))
    assert big.get().tolist() == [np.inf, -np.inf]  # float64 via fmaxf: inf, NaN ignored
    with pytest.raises(TypeError, match="maximum.at only supports"):
        cp.maximum.at(cp.zeros(2, cp.float16), cp.asarray([0]), 1.0)
    with pytest.raises(TypeError, match="add.at only supports"):
        cp.add.at(cp.zeros(2, cp.complex64), cp.asarray([0]), 1.0)
    x = cp.asarray([1.0, 2.0])
    assert x.conj() is x  # CuPy's conj() of a real array is the array itself
    assert not np.array_equal(cp.random.default_rng(0).random(4).get(),
                              np.random.default_rng(0).random(4))
    with pytest.raises(TypeError, match="keys must be a cupy.ndarray"):
        cp.lexsort((x, x))


@active
def test_promotion_follows_nep50_as_numpy_2_except_cupys_own_loops(cp):
    """CuPy 14 promotes as NumPy 2 (NEP 50: Python scalars weak, NumPy scalars and 0-d
    arrays strong); where its loops differ (integer powers) the library checks first."""
    i32, f32 = cp.asarray([1, 2], cp.int32), cp.asarray([1.0], cp.float32)
    assert (i32 + 1).dtype == np.int32 and (i32 + 1.5).dtype == np.float64
    assert (f32 + 1.0).dtype == np.float32 and (f32 + np.float64(1.0)).dtype == np.float64
    assert (f32 + cp.asarray(1.0)).dtype == np.float64  # a 0-d array is not weak
    assert (i32 / i32).dtype == np.float64 and (cp.asarray([True]) + 1).dtype == np.int64
    for dev in ("cpu", "cuda"):  # the library's own rule, the same on both devices
        x = gs.tensor([1, 2], dtype="int32", device=dev)
        assert (x * 0.5).dtype == np.float32 and (x / 2).dtype == np.float32
        assert (x + 1).dtype == np.int32
        with pytest.raises(ValueError, match="negative integer powers"):
            x ** gs.tensor([-1, 1], dtype="int32", device=dev)


@active
def test_float_atomics_and_scatters_have_no_fixed_order(cp):
    winners = set()
    sums = set()
    vals = cp.asarray(np.random.default_rng(0).standard_normal(64).astype(np.float32) * 1e4)
    for _ in range(20):
        z = cp.zeros(2)
        z[cp.asarray([0, 0, 0, 1])] = cp.asarray([1.0, 2.0, 3.0, 4.0])
        winners.add(float(z[0]))
        acc = cp.zeros(1, cp.float32)
        cp.add.at(acc, cp.zeros(64, cp.int64), vals)
        sums.add(float(acc[0]))
    assert len(winners) > 1 and winners <= {1.0, 2.0, 3.0}
    assert len(sums) > 1


@active
def test_synchronisations_are_counted_and_can_be_forbidden(cp):
    import cupyx
    st = gt.state()
    a = cp.arange(3.0)
    before = st.syncs
    float(a[0]), a.get(), bool(a[1])
    a[a > 0]
    assert st.syncs == before + 4
    b = a * 2  # device work alone: no synchronisation
    assert st.syncs == before + 4
    with cupyx.allow_synchronize(False):
        with pytest.raises(cupyx.DeviceSynchronized):
            float(b[0])


@active
def test_what_cupy_refuses_and_counts(cp):
    a = cp.arange(6.0)
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[:] = np.ones(6)  # host data through a basic index: CuPy fills, scalars only
    with pytest.raises(ValueError, match="non-scalar"):
        a[1:3] = [7.0, 8.0]
    with pytest.raises(OverflowError):
        cp.zeros(2, cp.int8)[0] = 300
    a[cp.asarray([1, 2])] = np.array([7.0, 8.0])  # an advanced index copies it over
    assert a.get().tolist() == [0.0, 7.0, 8.0, 3.0, 4.0, 5.0]
    st = gt.state().reset()
    a[a > 4] = 0.0  # a boolean mask: a synchronisation
    a[[0, 1]]  # host indices: a copy to the device
    assert (st.syncs, st.h2d) == (1, 1), st
    with pytest.raises(TypeError, match="casting is not supported yet"):
        a.astype(cp.float32, casting="same_kind")
    assert cp.ascontiguousarray(cp.asarray(3.0)).shape == (1,)
    with pytest.raises(NotImplementedError, match="for v"):
        cp.searchsorted(a, np.int64(1))
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.nonzero([1, 0, 1])
    with pytest.raises(ValueError, match="Unsupported dtype"):
        cp.zeros(2, np.longdouble)
    assert cp.asarray(np.arange(3, dtype=">f8")).dtype.isnative
    t = cp.arange(6.0).reshape(2, 3).T
    with pytest.raises(AttributeError):
        t.shape = (6,)  # it would need a copy: CuPy refuses
    with pytest.warns(DeprecationWarning):
        assert not bool(cp.zeros(0))
    assert (a == None).get().tolist() == [False] * 6  # noqa: E711 (CuPy's answer)
    assert bool(a[0] == np.array(0.0))  # a 0-d NumPy array compares as its scalar


# ---- kernels -------------------------------------------------------------------------------
def _spmm(cp, dtype=np.float32, vec=4, p=8):
    kernel = launch.spmm_kernel(dtype, np.int32, vec)
    mod = cp.RawModule(code=launch.kernel_source(kernel.source),
                       options=launch.compile_options(kernel.half),
                       name_expressions=(kernel.expression,))
    return mod.get_function(kernel.expression)


def _spmm_args(cp, p=8, shift_b=False):
    a = sp.random(5, 6, density=0.5, format="csr", random_state=0, dtype=np.float32)
    b = np.random.default_rng(0).standard_normal((6, p)).astype(np.float32)
    db = cp.asarray(b) if not shift_b else cp.asarray(np.concatenate([[0.0], b.ravel()])
                                                      .astype(np.float32))[1:]
    out = cp.zeros((5, p), cp.float32)
    args = [cp.asarray(a.indptr.astype(np.int32)), cp.asarray(a.indices.astype(np.int32)),
            cp.asarray(a.data), None, db, out, out, np.int64(5), np.int32(p),
            np.float32(2.0), np.float32(0.0), np.int32(0), np.int32(0), np.int32(0)]
    return a, b, out, args


@active
def test_a_correct_launch_runs_the_kernels_model(cp):
    ker = _spmm(cp)
    a, b, out, args = _spmm_args(cp)
    ker((launch.spmm_blocks(5, 8, 4),), launch.BLOCK, tuple(args))
    np.testing.assert_allclose(out.get(), 2 * (a @ b), rtol=1e-6)
    assert gt.state().launches[launch.SPMM] >= 1


@active
def test_launches_are_checked_as_cuda_and_the_kernel_need(cp):
    from cupy.cuda.driver import CUDADriverError
    ker = _spmm(cp)
    _, _, _, args = _spmm_args(cp)
    grid = (launch.spmm_blocks(5, 8, 4),)
    with pytest.raises(TypeError, match="grid"):
        ker(list(grid), launch.BLOCK, tuple(args))
    with pytest.raises(CUDADriverError, match="INVALID_VALUE"):
        ker(grid, (2048,), tuple(args))
    with pytest.raises(TypeError, match="takes 14 arguments"):
        ker(grid, launch.BLOCK, tuple(args[:-1]))
    bad = list(args)
    bad[8] = 8  # a Python int travels as int64 to an int parameter
    with pytest.raises(TypeError, match=r"argument 8 \(p\) is a int32 value, got int64"):
        ker(grid, launch.BLOCK, tuple(bad))
    bad = list(args)
    bad[2] = cp.asarray(bad[2], dtype=cp.float64)
    with pytest.raises(TypeError, match=r"\(vals\) points to float32"):
        ker(grid, launch.BLOCK, tuple(bad))
    bad = list(args)
    bad[4] = np.ones((6, 8), np.float32)
    with pytest.raises(TypeError, match="numpy.ndarray of shape"):
        ker(grid, launch.BLOCK, tuple(bad))
    _, _, _, shifted = _spmm_args(cp, shift_b=True)  # b starts 4 bytes into its buffer
    with pytest.raises(CUDADriverError, match="MISALIGNED"):
        ker(grid, launch.BLOCK, tuple(shifted))
    bad = list(args)
    bad[1] = cp.asarray(np.full(bad[1].shape, 40, np.int32))  # columns past b's rows
    with pytest.raises(CUDADriverError, match="ILLEGAL_ADDRESS"):
        ker(grid, launch.BLOCK, tuple(bad))
    with pytest.raises(TypeError, match="options"):
        cp.RawModule(code="", options=["-DX=1"])
    with pytest.raises(TypeError, match="integers"):
        ker((float(grid[0]),), launch.BLOCK, tuple(args))
    from gpu_sparse.testing._standin.kernels import StandinLaunchError
    big = sp.random(2000, 6, density=0.5, format="csr", random_state=0, dtype=np.float32)
    many = list(args)
    many[0] = cp.asarray(big.indptr.astype(np.int32))
    many[1] = cp.asarray(big.indices.astype(np.int32))
    many[2] = cp.asarray(big.data)
    many[5] = many[6] = cp.zeros((2000, 8), cp.float32)
    many[7] = np.int64(2000)
    with pytest.raises(StandinLaunchError, match="outputs past them stay unwritten"):
        ker((1,), launch.BLOCK, tuple(many))  # one block for 2000 rows
    with pytest.raises(CUDADriverError, match="whole warps"):
        ker(grid, (100,), tuple(args))


# ---- cuSPARSE ---------------------------------------------------------------------------------
@active
def test_cusparse_checks_its_arguments(cp):
    from cupy_backends.cuda.libs import cusparse as cs
    crow = cp.asarray(np.array([0, 1, 2], np.int32))
    col = cp.asarray(np.array([1, 0], np.int32))
    vals = cp.asarray(np.array([1.0, 2.0], np.float32))
    b = cp.ones((2, 3), cp.float32)
    c = cp.zeros((3, 3), cp.float32)  # wrong number of rows
    i32, f32 = cs.CUSPARSE_INDEX_32I, 0
    with pytest.raises(TypeError):
        cs.createCsr(2, 2, 2, float(crow.data.ptr), col.data.ptr, vals.data.ptr, i32, i32,
                     0, f32)
    a = cs.createCsr(2, 2, 2, crow.data.ptr, col.data.ptr, vals.data.ptr, i32, i32, 0, f32)
    db = cs.createDnMat(2, 3, 3, b.data.ptr, f32, cs.CUSPARSE_ORDER_ROW)
    dc = cs.createDnMat(3, 3, 3, c.data.ptr, f32, cs.CUSPARSE_ORDER_ROW)
    one = np.array(1, np.float32)
    h = cp.cuda.device.get_cusparse_handle()
    with pytest.raises(cs.CuSparseError, match="INVALID_VALUE") as err:
        cs.spMM_bufferSize(h, 0, 0, one.ctypes.data, a, db, one.ctypes.data, dc, f32, 12)
    assert err.value.status == 3
    with pytest.raises(cs.CuSparseError, match="NOT_SUPPORTED"):
        cs.spMM_bufferSize(h, 1, 0, one.ctypes.data, a, db, one.ctypes.data, dc, f32, 12)
    with pytest.raises(cs.CuSparseError, match="inside live device memory"):
        cs.createDnMat(2, 3, 3, np.ones(6, np.float32).ctypes.data, f32, 2)
    bad_col = cp.asarray(np.array([1, 5], np.int32))  # column 5 of a 2-column matrix
    a2 = cs.createCsr(2, 2, 2, crow.data.ptr, bad_col.data.ptr, vals.data.ptr, i32, i32, 0,
                      f32)
    c2 = cp.zeros((2, 3), cp.float32)
    dc2 = cs.createDnMat(2, 3, 3, c2.data.ptr, f32, cs.CUSPARSE_ORDER_ROW)
    buf = cp.empty(4096, cp.uint8)
    from cupy.cuda.driver import CUDADriverError
    with pytest.raises(CUDADriverError, match="ILLEGAL_ADDRESS"):
        cs.spMM(h, 0, 0, one.ctypes.data, a2, db, one.ctypes.data, dc2, f32, 12,
                buf.data.ptr)
    cs.destroySpMat(a)
    with pytest.raises(cs.CuSparseError):
        cs.destroySpMat(a)
    with pytest.raises(TypeError, match="spMM"):
        cs.spMM(h, 0, 0)


@active
def test_not_supported_takes_the_backends_fallback(rng):
    from gpu_sparse.cuda.backend import CuSparseFallbackWarning
    st = gt.state()
    st.cusparse_not_supported.add((1, 2))  # float64 values, int32 indices
    try:
        a = gs.sparse_coo_tensor([[0, 1, 1], [1, 0, 1]], [1.0, 2.0, 3.0], (2, 2),
                                 dtype="float64", device="cuda")
        b = gs.tensor(rng.standard_normal((2, 4)), device="cuda")
        gs.backend.get_backend("cuda:0")._cusparse_ok.clear()
        with pytest.warns(CuSparseFallbackWarning, match="float64"):
            out = gs.sparse.mm(a, b)
        want = np.array([[0, 1.0], [2.0, 3.0]]) @ b.cpu().numpy()
        np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-12)
    finally:
        st.cusparse_not_supported.clear()
        gs.backend.get_backend("cuda:0")._cusparse_ok.clear()


# ---- devices, streams, events -------------------------------------------------------------------
@active
def test_devices_streams_and_events_exist(cp):
    assert cp.cuda.runtime.getDeviceCount() == 1 and cp.is_available()
    with cp.cuda.Device(0) as d:
        assert d.id == 0 and cp.cuda.runtime.getDevice() == 0
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError):
        cp.cuda.Device(1)
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        assert cp.cuda.get_current_stream() is s
    e0, e1 = cp.cuda.Event(), cp.cuda.Event()
    e0.record()
    e1.record()
    e1.synchronize()
    assert cp.cuda.get_elapsed_time(e0, e1) >= 0
    csr = __import__("cupyx.scipy.sparse", fromlist=["csr_matrix"]).csr_matrix
    with pytest.raises(ValueError, match="Only bool, float32"):
        csr((cp.ones(2, cp.float16), cp.asarray([0, 1]), cp.asarray([0, 1, 2])), shape=(2, 2))
    m = csr(sp.random(3, 3, density=0.5, format="csr", random_state=0))
    with pytest.raises(TypeError, match="Unsupported type"):
        m @ np.ones((3, 2))
