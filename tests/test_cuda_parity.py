"""CPU vs GPU on larger random problems: same answers within dtype tolerance, bitwise
reproducible GPU runs, half precision, device moves and DLPack. Skips without a GPU."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import DTYPE_IDS, DTYPES, host, random_coo, randn

pytestmark = pytest.mark.skipif("cuda" not in gs.available_backends(),
                                reason="needs CuPy and a CUDA GPU")

PARITY_TOL = {np.dtype(np.float32): 2e-4, np.dtype(np.complex64): 2e-4,
              np.dtype(np.float64): 1e-11, np.dtype(np.complex128): 1e-11}


def _close(x, y, dtype):
    tol = PARITY_TOL[np.dtype(dtype)]
    scale = max(1.0, float(np.abs(y).max(initial=0)))
    assert np.abs(x - y).max(initial=0) <= tol * scale


def _run(device, idx, vals, B, C, G, layout, beta, alpha):
    a = gs.sparse_coo_tensor(idx, vals, (C.shape[0], B.shape[0]), device=device)
    if layout == "csr":
        a = a.to_sparse_csr()
    a.requires_grad_()
    b = gs.tensor(B, device=device, requires_grad=True)
    c = gs.tensor(C, device=device, requires_grad=True)
    out = gs.sparse.addmm(c, a, b, beta=beta, alpha=alpha)
    out.backward(gs.tensor(G, device=device))
    return host(out), host(a.grad), host(b.grad), host(c.grad)


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("p", [1, 16, 33, 128, 300])
def test_addmm_cpu_gpu_parity(rng, layout, dtype, p):
    m, n, nnz = 3000, 2000, 40000
    idx, vals = random_coo(rng, m, n, nnz, dtype)
    B, C, G = randn(rng, (n, p), dtype), randn(rng, (m, p), dtype), randn(rng, (m, p), dtype)
    cplx = np.dtype(dtype).kind == "c"
    beta, alpha = (0.5 + 0.5j, 2 - 1j) if cplx else (0.5, 2.0)
    cpu = _run("cpu", idx, vals, B, C, G, layout, beta, alpha)
    gpu = _run("cuda", idx, vals, B, C, G, layout, beta, alpha)
    for x, y in zip(gpu, cpu):
        _close(x, y, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sampled_addmm_parity(rng, dtype):
    m, n, k, nnz = 2000, 1500, 64, 30000
    idx, vals = random_coo(rng, m, n, nnz, dtype)
    X, Y = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    res = []
    for dev in ("cpu", "cuda"):
        s = gs.sparse_coo_tensor(idx, vals, (m, n), device=dev)
        res.append(host(gs.sparse.sampled_addmm(s, gs.tensor(X, device=dev),
                                                gs.tensor(Y, device=dev), beta=0.5)))
    _close(res[1], res[0], dtype)


def test_gpu_forward_backward_bitwise_reproducible(rng):
    m, n, p, nnz = 5000, 4000, 64, 200000
    idx, vals = random_coo(rng, m, n, nnz, np.float32)
    B, C, G = (randn(rng, s, np.float32) for s in [(n, p), (m, p), (m, p)])
    runs = [_run("cuda", idx, vals, B, C, G, "coo", 0.5, 2.0) for _ in range(2)]
    for x, y in zip(*runs):
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32))


def test_coalesce_parity_many_duplicates(rng):
    m, n, nnz = 50, 40, 20000  # ~10 duplicates per position
    idx, vals = random_coo(rng, m, n, nnz, np.float64)
    c_cpu = gs.sparse_coo_tensor(idx, vals, (m, n)).coalesce()
    c_gpu = gs.sparse_coo_tensor(idx, vals, (m, n), device="cuda").coalesce()
    np.testing.assert_array_equal(host(c_gpu.indices()), host(c_cpu.indices()))
    np.testing.assert_allclose(host(c_gpu), host(c_cpu), rtol=1e-12)


@pytest.mark.parametrize("p", [8, 13, 64])
def test_float16_accumulates_in_float32(rng, p):
    m, n, nnz = 1000, 800, 20000
    idx, vals = random_coo(rng, m, n, nnz, np.float32)
    B = randn(rng, (n, p), np.float32)
    a = gs.sparse_coo_tensor(idx, vals.astype(np.float16), (m, n), device="cuda",
                             requires_grad=True)
    b = gs.tensor(B.astype(np.float16), device="cuda", requires_grad=True)
    out = gs.sparse.mm(a, b)
    assert out.dtype == np.float16
    A = np.zeros((m, n))
    np.add.at(A, (idx[0], idx[1]), vals.astype(np.float16).astype(np.float64))
    ref = A @ B.astype(np.float16).astype(np.float64)
    err = np.abs(host(out).astype(np.float64) - ref).max() / np.abs(ref).max()
    assert err < 2e-3  # fp16 rounding of the result only, not of every partial sum
    out.sum().backward()
    assert a.grad.dtype == np.float16 and b.grad.dtype == np.float16


def test_device_moves_and_dlpack(rng):
    import cupy
    a = gs.tensor(randn(rng, (4, 3), np.float32))
    g = a.to("cuda")
    assert g.device == "cuda:0" and isinstance(g.array, cupy.ndarray)
    np.testing.assert_array_equal(host(g.cpu()), host(a))
    x = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    t = gs.from_dlpack(x)
    assert t.device == "cuda:0" and t.array.data.ptr == x.data.ptr
    y = cupy.from_dlpack(t)
    assert y.data.ptr == x.data.ptr
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        tt = torch.from_dlpack(t)
        assert tt.data_ptr() == x.data.ptr
        assert gs.from_dlpack(tt).array.data.ptr == x.data.ptr


def test_spspmm_structural_pattern_is_the_same_on_both_backends(rng):
    """Cancellations and stored zeros keep their entries on CPU and GPU alike."""
    m, k, n, nnz = 300, 200, 250, 3000
    ia, va = random_coo(rng, m, k, nnz, np.float64)
    ib, vb = random_coo(rng, k, n, nnz, np.float64)
    va[::7] = 0.0  # stored zeros
    vb = np.round(vb)  # integer values: many exact cancellations
    out = {}
    for device in ("cpu", "cuda"):
        a = gs.sparse_coo_tensor(ia, va, (m, k), device=device, requires_grad=True)
        b = gs.sparse_coo_tensor(ib, vb, (k, n), device=device, requires_grad=True)
        c = gs.sparse.mm(a, b)
        c.values().sum().backward()
        out[device] = (host(c.indices()), host(c), host(a.grad), host(b.grad))
    for x, y in zip(out["cuda"], out["cpu"]):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    ones_a = np.zeros((m, k))
    ones_a[ia[0], ia[1]] = 1
    ones_b = np.zeros((k, n))
    ones_b[ib[0], ib[1]] = 1
    assert out["cpu"][0].shape[1] == int(((ones_a @ ones_b) > 0).sum())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_sparse_products_and_to_scipy(rng, dtype):
    """cupyx holds no half precision: SpGEMM computes in float32, to_scipy widens."""
    if dtype == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        dt = np.dtype(ml_dtypes.bfloat16)
        if dt not in gs.backend.get_backend("cuda:0").supported_dtypes:
            pytest.skip("this CuPy has no bfloat16")
    else:
        dt = np.dtype(np.float16)
    ia, va = random_coo(rng, 40, 30, 200, np.float32)
    ib, vb = random_coo(rng, 30, 20, 200, np.float32)
    a = gs.sparse_coo_tensor(ia, va.astype(dt), (40, 30), device="cuda", requires_grad=True)
    b = gs.sparse_coo_tensor(ib, vb.astype(dt), (30, 20), device="cuda", requires_grad=True)
    c = gs.sparse.mm(a, b)
    assert c.dtype == dt
    c.values().sum().backward()
    assert a.grad.dtype == dt and b.grad.dtype == dt
    ref = (a.to_scipy().astype(np.float64) @ b.to_scipy().astype(np.float64)).toarray().get()
    got = c.to_scipy().toarray().get()
    assert a.to_scipy().dtype == np.float32
    assert np.abs(got - ref).max() <= 1e-2 * max(1.0, np.abs(ref).max())
