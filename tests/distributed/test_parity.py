"""gpu_sparse.distributed on the threaded scheduler: every result and gradient bitwise
equal to one device (COO and CSR, float32/float64/complex64, beta = 0 with NaN in mat,
broadcast mat, uneven and empty blocks, nnz = 0, an uncoalesced block)."""

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("dask.distributed")

import gpu_sparse as gs
from gpu_sparse import distributed as gd
from tests.helpers import host_array, randn, random_coo

DTYPES = [np.float32, np.float64, np.complex64]
DTYPE_IDS = ["f32", "f64", "c64"]
BOUNDS = {
    "even": lambda m: None,
    "uneven_empty": lambda m: [0, 1, 1, m // 2, m],  # a one-row block and an empty one
}


def _same(a, b):
    """Bitwise equality of two arrays (NaN positions included)."""
    a, b = host_array(a), host_array(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()


def _sparse(rng, m, n, nnz, dtype, layout, device):
    idx, vals = random_coo(rng, m, n, nnz, dtype)
    t = gs.sparse_coo_tensor(idx, vals, (m, n), device=device)
    return t.to_sparse_csr() if layout == "csr" else t


def _dist(t, bounds):
    rb = bounds(t.shape[0])
    return gd.from_tensor(t, row_bounds=rb, n_blocks=None if rb else 3)


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("bounds", list(BOUNDS), ids=list(BOUNDS))
def test_addmm_and_grads_bitwise(device, rng, layout, dtype, bounds):
    m = n = 23
    p = 5
    s = _sparse(rng, m, n, 70, dtype, layout, device)
    b = randn(rng, (n, p), dtype)
    bias = randn(rng, (p,), dtype)
    G = randn(rng, (m, p), dtype)
    alpha, beta = (0.5 - 0.25j, 1.5 + 1j) if np.dtype(dtype).kind == "c" else (0.5, 1.5)

    sl = s.detach().requires_grad_()
    bl = gs.tensor(b, device=device, requires_grad=True)
    biasl = gs.tensor(bias, device=device, requires_grad=True)
    ref = gs.sparse.addmm(biasl, sl, bl, beta=beta, alpha=alpha)
    ref.backward(gs.tensor(G, device=device))

    sd = _dist(s, BOUNDS[bounds]).requires_grad_()
    bd = gd.from_tensor(gs.tensor(b, device=device), row_bounds=sd.row_bounds
                        ).requires_grad_()
    biasd = gs.tensor(bias, device=device, requires_grad=True)
    out = gs.sparse.addmm(biasd, sd, bd, beta=beta, alpha=alpha)
    assert isinstance(out, gd.DistributedTensor)
    out.backward(gs.tensor(G, device=device))

    _same(out.compute().numpy(), ref.detach().numpy())
    _same(bd.grad.compute().numpy(), bl.grad.numpy())
    _same(biasd.grad.numpy(), biasl.grad.numpy())
    gsd = sd.grad.compute()
    assert gsd.layout is s.layout
    for k, v in sl.grad.pattern.index_arrays().items():
        _same(gsd.pattern.index_arrays()[k], v)
    _same(gsd.array, sl.grad.array)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_mm_beta0_nan_distributed_mat_and_nnz0(device, rng, layout):
    dtype = np.float64
    m, n, p = 17, 11, 4
    for nnz in (40, 0):
        s = _sparse(rng, m, n, nnz, dtype, layout, device)
        b = randn(rng, (n, p), dtype)
        mat = randn(rng, (m, p), dtype)
        mat[2, 1] = np.nan
        sd = gd.from_tensor(s, n_blocks=3)
        bd = gd.from_numpy(b, row_bounds=sd._structure.col_bounds)
        md = gd.from_numpy(mat, row_bounds=sd.row_bounds)
        ref = gs.sparse.addmm(gs.tensor(mat), s, gs.tensor(b), beta=0)
        out = gs.sparse.addmm(md, sd, bd, beta=0)
        _same(out.compute().numpy(), ref.numpy())
        assert not np.isnan(out.compute().numpy()).any()
        _same(gs.sparse.mm(sd, bd).compute().numpy(), gs.sparse.mm(s, gs.tensor(b)).numpy())


def test_distributed_mat_gets_a_distributed_gradient(device, rng):
    m, n, p = 15, 9, 3
    s = _sparse(rng, m, n, 30, np.complex64, "csr", device)
    b, mat, G = (randn(rng, sh, np.complex64) for sh in ((n, p), (m, p), (m, p)))
    ml = gs.tensor(mat, device=device, requires_grad=True)
    gs.sparse.addmm(ml, s, gs.tensor(b, device=device), beta=1.5 - 2j).backward(G)
    sd = gd.from_tensor(s, row_bounds=[0, 1, 1, 8, m], col_bounds=[0, 4, 9])
    md = gd.from_numpy(mat, row_bounds=sd.row_bounds, device=device).requires_grad_()
    bd = gd.from_numpy(b, row_bounds=[0, 4, 9], device=device)
    out = gs.sparse.addmm(md, sd, bd, beta=1.5 - 2j)
    out.backward(G)
    _same(md.grad.compute().numpy(), ml.grad.numpy())
    with pytest.raises(TypeError, match="addmm: mat"):
        gs.sparse.addmm(1.0, sd, bd.detach())


def test_own_indices_on_an_uncoalesced_block(device):
    # block 0 holds (0, 1) twice, out of order with (0, 0): its gradient keeps them
    idx = np.array([[0, 2, 0, 0, 3], [1, 2, 0, 1, 3]])
    vals = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    s = gs.sparse_coo_tensor(idx, vals, (4, 4), device=device)
    b = np.arange(8.0).reshape(4, 2) + 1
    sd = gd.from_tensor(s, row_bounds=[0, 2, 4]).requires_grad_()
    bd = gd.from_numpy(b, row_bounds=[0, 2, 4])
    gs.sparse.mm(sd, bd).backward(np.ones((4, 2)))
    blk0 = sd.grad.blocks[0]
    assert blk0.indices().numpy().tolist() == [[0, 0, 0], [1, 0, 1]]
    sl = s.detach().requires_grad_()
    gs.sparse.mm(sl, gs.tensor(b)).backward(np.ones((4, 2)))
    g = sd.grad.compute()
    _same(g.indices().numpy(), sl.grad.indices().numpy())
    _same(g.values().numpy(), sl.grad.values().numpy())


@pytest.mark.parametrize("dtype", DTYPES[:2], ids=DTYPE_IDS[:2])  # relu is real only
def test_gcn_layer_pieces_bitwise(device, rng, dtype):
    """x @ w (one-row and empty blocks included), + bias, relu, *, -, sum, and
    sampled_addmm with their gradients."""
    m, k, p = 19, 6, 3
    x = randn(rng, (m, k), dtype)
    w = randn(rng, (k, p), dtype)
    bias = randn(rng, (1, p), dtype)
    rb = [0, 1, 1, 9, m]

    def run(xt, wt, bt, s):
        h = gs.relu(bt + xt @ wt) * 2.0 - xt @ wt  # Tensor + DistributedTensor too
        q = gs.sparse.sampled_addmm(s, h, gs.tensor(h_t_local, device=device), beta=0.5,
                                    alpha=2.0)
        return h, q

    s = _sparse(rng, m, m, 50, dtype, "coo", device)
    h_t_local = randn(rng, (p, m), dtype)
    wl = gs.tensor(w, device=device, requires_grad=True)
    bl = gs.tensor(bias, device=device, requires_grad=True)
    xl = gs.tensor(x, device=device, requires_grad=True)
    hl, ql = run(xl, wl, bl, s)
    loss_l = hl.sum()
    loss_l.backward(retain_graph=True)
    Gq = randn(rng, (s.nnz,), dtype)
    ql.backward(s.with_array(s.backend.asarray(Gq)))

    wd = gs.tensor(w, device=device, requires_grad=True)
    bd = gs.tensor(bias, device=device, requires_grad=True)
    xd = gd.from_tensor(gs.tensor(x, device=device), row_bounds=rb).requires_grad_()
    sd = gd.from_tensor(s, row_bounds=rb)
    hd, qd = run(xd, wd, bd, sd)
    loss_d = hd.sum()
    _same(loss_d.detach().numpy(), loss_l.detach().numpy())
    loss_d.backward(retain_graph=True)
    qd.backward(gd.from_tensor(s.with_array(s.backend.asarray(Gq)), row_bounds=rb))
    _same(hd.compute().numpy(), hl.detach().numpy())
    _same(qd.compute().values().numpy(), ql.detach().values().numpy())
    _same(xd.grad.compute().numpy(), xl.grad.numpy())
    _same(wd.grad.numpy(), wl.grad.numpy())
    _same(bd.grad.numpy(), bl.grad.numpy())


def test_errors_name_the_function_and_the_constructor(device, rng):
    s = gd.from_tensor(_sparse(rng, 8, 8, 20, np.float64, "coo", device), n_blocks=2)
    big = gs.tensor(randn(rng, (8, 3), np.float64), device=device)
    with pytest.raises(TypeError, match=r"^mm: mat2 .*from_tensor"):
        gs.sparse.mm(s, big)
    bd = gd.from_tensor(big, n_blocks=2)
    with pytest.raises(TypeError, match=r"addmm: mat .*from_tensor"):
        gs.sparse.addmm(gs.tensor(randn(rng, (8, 3), np.float64)), s, bd)
    with pytest.raises(ValueError, match="row_bounds"):
        gd.from_tensor(big, row_bounds=[0, 5, 4, 8])
    with pytest.raises(ValueError, match=r"^mm: mat2.s row_bounds"):
        gs.sparse.mm(s, gd.from_tensor(big, n_blocks=4))
    with pytest.raises(TypeError, match="from_tensor: t must be"):
        gd.from_tensor(np.ones((2, 2)))


def test_constructors_and_round_trips(device, rng):
    a = sp.random(12, 9, density=0.3, format="coo", random_state=1)
    d = gd.from_scipy(a, n_blocks=3)
    back = d.compute()
    ref = gs.from_scipy(a)
    _same(back.indices().numpy(), ref.indices().numpy())
    _same(back.values().numpy(), ref.values().numpy())
    c = gd.from_scipy(a.tocsr(), row_bounds=[0, 0, 5, 12]).compute()
    _same(c.crow_indices().numpy(), gs.from_scipy(a.tocsr()).crow_indices().numpy())
    x = randn(rng, (12, 4), np.float32)
    dx = gd.from_numpy(x, n_blocks=5)
    _same(dx.to_dask().compute(), x)
    _same(gd.from_dask(dx.to_dask()).compute().numpy(), x)
    assert dx.persist() is dx and dx.requires_grad_() is dx and dx.detach().is_leaf


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sampled_addmm_and_grads_bitwise(device, rng, layout, dtype):
    m, n, k = 21, 13, 4
    s = _sparse(rng, m, n, 60, dtype, layout, device)
    x = randn(rng, (m, k), dtype)
    y = randn(rng, (k, n), dtype)
    gv = randn(rng, (s.nnz,), dtype)
    alpha, beta = (2.0 - 1j, 0.5 + 0.5j) if np.dtype(dtype).kind == "c" else (2.0, 0.5)
    rb = [0, 1, 1, 12, m]

    sl = s.detach().requires_grad_()
    xl = gs.tensor(x, device=device, requires_grad=True)
    yl = gs.tensor(y, device=device, requires_grad=True)
    ref = gs.sparse.sampled_addmm(sl, xl, yl, beta=beta, alpha=alpha)
    ref.backward(s.with_array(s.backend.asarray(gv)))

    sd = gd.from_tensor(s, row_bounds=rb).requires_grad_()
    xd = gd.from_numpy(x, row_bounds=rb, device=device).requires_grad_()
    yd = gs.tensor(y, device=device, requires_grad=True)
    out = gs.sparse.sampled_addmm(sd, xd, yd, beta=beta, alpha=alpha)
    out.backward(gd.from_tensor(s.with_array(s.backend.asarray(gv)), row_bounds=rb))

    got = out.compute()
    assert got.layout is s.layout
    _same(got.values().numpy(), ref.detach().values().numpy())
    _same(sd.grad.compute().values().numpy(), sl.grad.values().numpy())
    _same(xd.grad.compute().numpy(), xl.grad.numpy())
    _same(yd.grad.numpy(), yl.grad.numpy())


# ---- the tiled form (opt-in: close to one device, not bitwise; deterministic) ---------
def _fwd_bwd(s, b, bias, G, rb, budget, layout):
    sd = gd.from_tensor(s, row_bounds=rb).requires_grad_()
    bd = gd.from_numpy(b, row_bounds=sd.row_bounds).requires_grad_()
    biasd = gs.tensor(bias, requires_grad=True)
    with gd.memory_budget(budget):
        out = gs.sparse.addmm(biasd, sd, bd, beta=0.5, alpha=2.0)
    assert gd.get_memory_budget() is None
    out.backward(gs.tensor(G))
    return [out.compute().numpy(), sd.grad.compute().values().numpy(),
            bd.grad.compute().numpy(), biasd.grad.numpy()]


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_tiled_close_to_untiled_and_deterministic(rng, layout, dtype):
    m = n = 29
    s = _sparse(rng, m, n, 120, dtype, layout, "cpu")
    b, G = randn(rng, (n, 6), dtype), randn(rng, (m, 6), dtype)
    bias = randn(rng, (6,), dtype)
    rb = [0, 1, 1, 12, 20, m]
    whole = _fwd_bwd(s, b, bias, G, rb, None, layout)
    tiled = _fwd_bwd(s, b, bias, G, rb, 0, layout)
    again = _fwd_bwd(s, b, bias, G, rb, 0, layout)
    rtol = 1e-12 if np.dtype(dtype) == np.float64 else 1e-6  # the float32 parts: 1e-6 scale
    for w, t, a in zip(whole, tiled, again):
        _same(t, a)  # the same bits run to run
        scale = np.abs(w).max()
        np.testing.assert_allclose(t, w, rtol=rtol, atol=rtol * 8 * scale)
    assert whole[0].tobytes() != tiled[0].tobytes()  # it really ran tiled
    # a budget above every block's gathered operand leaves the bitwise path
    big = _fwd_bwd(s, b, bias, G, rb, n * 6 * np.dtype(dtype).itemsize, layout)
    for w, t in zip(whole, big):
        _same(t, w)


def test_memory_budget_errors():
    with pytest.raises(ValueError, match="set_memory_budget: nbytes"):
        gd.set_memory_budget(-1)
    with pytest.raises(ValueError, match="memory_budget: nbytes"):
        with gd.memory_budget(1.5):
            pass
    assert gd.get_memory_budget() is None


# ---- from_futures (values here; Futures on the cluster tests) -----------------------------
@pytest.mark.parametrize("fmt", ["coo", "csr", "tensor"])
def test_from_futures_blocks_bitwise(rng, fmt):
    m, n, p = 14, 10, 3
    a = sp.random(m, n, density=0.3, format="csr", random_state=4)
    cuts = [0, 5, 5, 9, m]  # an empty block too
    def block(lo, hi):
        blk = a[lo:hi]
        return gs.from_scipy(blk).to_sparse_coo() if fmt == "tensor" else (
            blk.tocoo() if fmt == "coo" else blk)
    S = gd.from_futures([block(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:])],
                        col_bounds=[0, 4, n]).requires_grad_()
    assert S.row_bounds == tuple(cuts) and S.layout is (
        gs.sparse_csr if fmt == "csr" else gs.sparse_coo)
    local = S.compute()
    np.testing.assert_array_equal(local.to_dense().numpy(), a.toarray())
    b, G = randn(rng, (n, p), np.float64), randn(rng, (m, p), np.float64)
    Bd = gd.from_futures([b[:4], gs.tensor(b[4:])]).requires_grad_()
    assert Bd.row_bounds == (0, 4, n)
    out = gs.sparse.mm(S, Bd)
    out.backward(G)
    sl = local.detach().requires_grad_()
    bl = gs.tensor(b, requires_grad=True)
    ref = gs.sparse.mm(sl, bl)
    ref.backward(gs.tensor(G))
    _same(out.compute().numpy(), ref.detach().numpy())
    _same(S.grad.compute().values().numpy(), sl.grad.values().numpy())
    _same(Bd.grad.compute().numpy(), bl.grad.numpy())


def test_from_futures_and_sparse_from_dask_errors(rng):
    import dask.array as da
    with pytest.raises(ValueError, match="from_futures: blocks must hold"):
        gd.from_futures([])
    with pytest.raises(TypeError, match=r"from_futures: blocks\[1\] must be a 2-D"):
        gd.from_futures([np.ones((2, 3)), np.ones(3)])
    with pytest.raises(ValueError, match=r"from_futures: blocks\[1\] has 2 columns"):
        gd.from_futures([np.ones((2, 3)), np.ones((1, 2))])
    with pytest.raises(TypeError, match=r"from_futures: blocks\[1\] is float32"):
        gd.from_futures([np.ones((2, 3)), np.ones((1, 3), np.float32)])
    with pytest.raises(TypeError, match=r"from_futures: blocks\[1\] has layout"):
        gd.from_futures([sp.eye(2, 3, format="csr"), np.ones((1, 3))])
    with pytest.raises(TypeError, match="from_futures: blocks must be a sequence"):
        gd.from_futures(np.ones((2, 2)))
    a = sp.random(9, 9, density=0.4, format="csr", random_state=2)
    s = gd.from_dask(da.from_array(a, chunks=(4, 9), asarray=False))
    assert s.row_bounds == (0, 4, 8, 9) and s.layout is gs.sparse_csr
    np.testing.assert_array_equal(s.compute().to_dense().numpy(), a.toarray())


# ---- a distributed second operand: dense @ dense, sampled_addmm's mat2 -----------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_distributed_dense_at_distributed_dense_bitwise(rng, dtype):
    m, k, p = 19, 6, 3
    x, w, G = randn(rng, (m, k), dtype), randn(rng, (k, p), dtype), randn(rng, (m, p), dtype)
    xl, wl = gs.tensor(x, requires_grad=True), gs.tensor(w, requires_grad=True)
    (xl @ wl).backward(gs.tensor(G))
    xd = gd.from_numpy(x, row_bounds=[0, 1, 1, 9, m]).requires_grad_()
    wd = gd.from_numpy(w, row_bounds=[0, 2, k]).requires_grad_()
    out = xd @ wd
    out.backward(G)
    _same(out.compute().numpy(), (gs.tensor(x) @ gs.tensor(w)).numpy())
    _same(xd.grad.compute().numpy(), xl.grad.numpy())
    assert wd.grad.row_bounds == (0, 2, k)
    _same(wd.grad.compute().numpy(), wl.grad.numpy())
    with pytest.raises(TypeError, match="mm: mat2 must be dense"):
        gs.sparse.mm(xd, gd.from_scipy(sp.eye(k, 3, format="csr")))


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sampled_addmm_distributed_mat2_bitwise(rng, layout):
    dtype = np.complex64
    m, n, k = 21, 13, 4
    s = _sparse(rng, m, n, 60, dtype, layout, "cpu")
    x, y = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    gv = s.with_array(s.backend.asarray(randn(rng, (s.nnz,), dtype)))
    rb = [0, 1, 1, 12, m]
    sl = s.detach().requires_grad_()
    xl, yl = gs.tensor(x, requires_grad=True), gs.tensor(y, requires_grad=True)
    ref = gs.sparse.sampled_addmm(sl, xl, yl, beta=0.5j, alpha=2.0)
    ref.backward(gv)
    sd = gd.from_tensor(s, row_bounds=rb).requires_grad_()
    xd = gd.from_numpy(x, row_bounds=rb).requires_grad_()
    yd = gd.from_numpy(y, row_bounds=[0, 3, k]).requires_grad_()
    out = gs.sparse.sampled_addmm(sd, xd, yd, beta=0.5j, alpha=2.0)
    out.backward(gd.from_tensor(gv, row_bounds=rb))
    _same(out.compute().values().numpy(), ref.detach().values().numpy())
    _same(sd.grad.compute().values().numpy(), sl.grad.values().numpy())
    _same(xd.grad.compute().numpy(), xl.grad.numpy())
    assert yd.grad.row_bounds == (0, 3, k)
    _same(yd.grad.compute().numpy(), yl.grad.numpy())


def test_tiled_beta0_nan_mat_and_nnz0(rng):
    m, n, p = 17, 11, 4
    for nnz in (40, 0):
        s = _sparse(rng, m, n, nnz, np.float64, "csr", "cpu")
        b, mat = randn(rng, (n, p), np.float64), randn(rng, (m, p), np.float64)
        mat[2, 1] = np.nan
        sd = gd.from_tensor(s, n_blocks=3)
        bd = gd.from_numpy(b, row_bounds=sd._structure.col_bounds)
        md = gd.from_numpy(mat, row_bounds=sd.row_bounds)
        with gd.memory_budget(0):
            out = gs.sparse.addmm(md, sd, bd, beta=0).compute().numpy()
            out1 = gs.sparse.addmm(md, sd, bd, beta=1.0, alpha=0.5).compute().numpy()
        ref = gs.sparse.addmm(gs.tensor(mat), s, gs.tensor(b), beta=0).numpy()
        ref1 = gs.sparse.addmm(gs.tensor(mat), s, gs.tensor(b), alpha=0.5).numpy()
        assert not np.isnan(out).any()
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out1, ref1, rtol=1e-12, atol=1e-12)


def test_review_fixes(device):
    """Found in review: an integer tensor plus a float number is float, as locally; a
    sparse output's local gradient must hold its own entries; keywords are bound by the
    public function's signature; .grad owns its blocks."""
    d = gd.from_numpy(np.arange(6).reshape(3, 2), n_blocks=2, device=device) + 0.5
    assert d.dtype == np.float32
    np.testing.assert_array_equal(d.compute().numpy(), np.arange(6).reshape(3, 2) + 0.5)

    s = sp.coo_matrix(([1.0, 2.0], ([0, 1], [0, 1])), (2, 2))
    other = sp.coo_matrix(([10.0, 20.0], ([0, 1], [1, 0])), (2, 2))
    S = gd.from_tensor(gs.from_scipy(s).to(device)).requires_grad_()
    X = gd.from_numpy(np.ones((2, 2)), device=device)
    out = gs.sparse.sampled_addmm(S, X, gs.tensor(np.ones((2, 2)), device=device))
    with pytest.raises(ValueError, match="backward: the gradient of a sparse output"):
        out.backward(gs.from_scipy(other).to(device))
    mine = out.compute()
    out.backward(gs.sparse_coo_tensor(mine.indices().numpy().copy(), np.array([3.0, 4.0]),
                                      (2, 2), device=device))
    np.testing.assert_array_equal(S.grad.compute().values().numpy(), [3.0, 4.0])

    A = gd.from_numpy(np.ones((4, 2)), n_blocks=2, device=device)
    assert gs.relu(x=A).compute().numpy().sum() == 8.0
    assert gs.sum(A, dim=None).item() == 8.0
    with pytest.raises(TypeError, match="sum: a DistributedTensor sums all its elements"):
        A.sum(0)
    with pytest.raises(TypeError, match="addmm: .*betta"):
        gs.sparse.addmm(X, S, gs.tensor(np.ones((2, 2)), device=device), betta=0.0)

    P = gd.from_numpy(np.ones((4, 2)), n_blocks=2, device=device).requires_grad_()
    Q = gd.from_numpy(np.ones((4, 2)), n_blocks=2, device=device).requires_grad_()
    G = gd.from_numpy(np.ones((4, 2)), n_blocks=2, device=device)
    (P + Q).backward(G)
    first = P.grad.blocks[0]
    if isinstance(first, np.ndarray):  # threaded scheduler: the values themselves
        first += 1  # a write into one leaf's gradient reaches no one else's
    np.testing.assert_array_equal(Q.grad.compute().numpy(), np.ones((4, 2)))
    np.testing.assert_array_equal(G.compute().numpy(), np.ones((4, 2)))


def test_neg_is_the_local_neg(device):
    """-x runs the local neg on each block: the same bits, the sign of a NaN included."""
    a = np.array([[1.0, np.nan], [-2.0, 3.0], [0.0, -0.0]])
    x = gd.from_numpy(a, n_blocks=2, device=device).requires_grad_()
    y = -x
    local = (-gs.tensor(a, device=device)).numpy()
    got = y.compute().numpy()
    np.testing.assert_array_equal(np.signbit(got), np.signbit(local))
    np.testing.assert_array_equal(got, local)
    (y * 2).backward(np.ones((3, 2)))
    np.testing.assert_array_equal(x.grad.compute().numpy(), -2 * np.ones((3, 2)))
