"""gpu_sparse.distributed on CUDA workers (dask-cuda's LocalCUDACluster, one worker per
GPU; under the CuPy stand-in a LocalCluster whose workers run the stand-in): blocks hold
CuPy arrays, results bitwise equal to one GPU and equal to the CPU within the dtype's
tolerance. Skipped without a GPU (or the stand-in) or, on a GPU, without dask-cuda."""

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

import scipy.sparse as sp
from distributed import Client

import gpu_sparse as gs
import gpu_sparse.testing
from gpu_sparse import distributed as gd
from tests.helpers import TOL, randn

if "cuda" not in gs.available_backends():
    pytest.skip("no CUDA device", allow_module_level=True)
if not gpu_sparse.testing.standin_active():
    dask_cuda = pytest.importorskip("dask_cuda")


@pytest.fixture(scope="module")
def client():
    if gpu_sparse.testing.standin_active():
        # worker processes inherit GPU_SPARSE_CUDA_STANDIN: their CUDA is the stand-in too
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    else:
        cluster = dask_cuda.LocalCUDACluster(n_workers=1, dashboard_address=None)
    c = Client(cluster, timeout="60s")
    try:
        yield c
    finally:
        c.close(timeout=30)
        cluster.close(timeout=30)


@pytest.mark.parametrize("fmt", ["coo", "csr"])
def test_spmm_forward_backward_on_cuda_workers(client, rng, fmt):
    n, p = 300, 8
    a = sp.random(n, n, density=0.05, format=fmt, random_state=np.random.RandomState(2),
                  dtype=np.float32)
    b = randn(rng, (n, p), np.float32)
    g = randn(rng, (n, p), np.float32)
    sl = gs.from_scipy(a).to("cuda").requires_grad_()
    bl = gs.tensor(b, device="cuda", requires_grad=True)
    out_l = gs.sparse.mm(sl, bl)
    out_l.backward(gs.tensor(g, device="cuda"))

    sd = gd.from_tensor(gs.from_scipy(a).to("cuda"), n_blocks=3).requires_grad_()
    bd = gd.from_numpy(b, row_bounds=sd.row_bounds, device="cuda").requires_grad_()
    out_d = gs.sparse.mm(sd, bd)
    out_d.backward(gs.tensor(g, device="cuda"))
    got = out_d.compute()
    assert got.is_cuda
    assert got.cpu().numpy().tobytes() == out_l.detach().cpu().numpy().tobytes()
    assert (bd.grad.compute().cpu().numpy().tobytes()
            == bl.grad.cpu().numpy().tobytes())
    assert (sd.grad.compute().values().cpu().numpy().tobytes()
            == sl.grad.values().cpu().numpy().tobytes())
    ref = gs.sparse.mm(gs.from_scipy(a), gs.tensor(b)).numpy()
    rtol, atol = TOL[np.dtype(np.float32)]
    np.testing.assert_allclose(got.cpu().numpy(), ref, rtol=rtol, atol=atol)


def test_tiled_and_from_futures_on_cuda_workers(client, rng):
    """The tiled form on CuPy blocks: the same bits twice, close to the gathering form;
    from_futures takes CuPy blocks made on the worker."""
    import cupy as cp
    n, p = 256, 8
    a = sp.random(n, n, density=0.05, format="csr", random_state=np.random.RandomState(4),
                  dtype=np.float32)
    b = randn(rng, (n, p), np.float32)
    g = randn(rng, (n, p), np.float32)
    runs = []
    for budget in (0, 0, None):
        sd = gd.from_tensor(gs.from_scipy(a).to("cuda"), n_blocks=3).requires_grad_()
        bd = gd.from_futures([client.submit(cp.asarray, b[lo:hi]) for lo, hi in
                              zip(sd.row_bounds[:-1], sd.row_bounds[1:])]).requires_grad_()
        assert bd.device.startswith("cuda")
        with gd.memory_budget(budget):
            out = gs.sparse.mm(sd, bd)
        out.backward(gs.tensor(g, device="cuda"))
        runs.append([out.compute().cpu().numpy(), sd.grad.compute().values().cpu().numpy(),
                     bd.grad.compute().cpu().numpy()])
    rtol, atol = TOL[np.dtype(np.float32)]
    for x, y, z in zip(*runs):
        assert x.tobytes() == y.tobytes()
        np.testing.assert_allclose(x, z, rtol=rtol, atol=atol)
