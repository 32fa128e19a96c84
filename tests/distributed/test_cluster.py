"""gpu_sparse.distributed on a real multi-process LocalCluster (4 workers, one thread
each): a 2-layer GCN forward + backward bitwise equal to one device, and the bytes each
worker sends for an SpMM forward + backward equal to the communication model (±2 %)."""

import faulthandler

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

import dask
import scipy.sparse as sp
from distributed import Client, LocalCluster

import gpu_sparse as gs
from gpu_sparse import distributed as gd
from tests.helpers import host_array, randn

W = 4


@pytest.fixture(scope="module")
def client():
    # the workers' transfer logs keep the last `low-level-log-length` entries (1000 by
    # default); the byte counts below sum them, so they must keep every transfer
    with dask.config.set({"distributed.admin.low-level-log-length": 1_000_000}):
        cluster = LocalCluster(n_workers=W, threads_per_worker=1, processes=True,
                               dashboard_address=None, worker_dashboard_address=None)
    c = Client(cluster, timeout="60s")
    try:
        c.wait_for_workers(W, timeout=60)
        yield c
    finally:
        c.close(timeout=30)
        cluster.close(timeout=30)


@pytest.fixture(autouse=True)
def watchdog():
    """A hung cluster ends the run with every thread's traceback instead of hanging CI."""
    faulthandler.dump_traceback_later(180, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _same(a, b):
    a, b = host_array(a), host_array(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()


def _gcn(A, X, params, T):
    w1, b1, w2, b2 = params
    h = gs.sparse.addmm(b1, A, X @ w1).relu()
    out = gs.sparse.addmm(b2, A, h @ w2)
    return out, (out * T).sum()


def test_two_layer_gcn_bitwise(client, device, rng):
    n, k, hid, c = 96, 8, 6, 3
    a = sp.random(n, n, density=0.06, format="coo", random_state=np.random.RandomState(3))
    a = (a + a.T).tocoo()  # an uncoalesced symmetric pattern (duplicates kept)
    x = randn(rng, (n, k), np.float64)
    t = randn(rng, (n, c), np.float64)
    shapes = [(k, hid), (hid,), (hid, c), (1, c)]
    vals = [randn(rng, s, np.float64) for s in shapes]

    def params():
        return [gs.tensor(v, device=device, requires_grad=True) for v in vals]

    # one device first (it also compiles the kernels the workers load from the disk cache)
    pl = params()
    Al = gs.from_scipy(a).to(device).requires_grad_()
    Xl = gs.tensor(x, device=device, requires_grad=True)
    out_l, loss_l = _gcn(Al, Xl, pl, gs.tensor(t, device=device))
    loss_l.backward()

    pd = params()
    Ad = gd.from_tensor(gs.from_scipy(a).to(device), n_blocks=W).requires_grad_()
    assert Ad._runner.client is client and len(set(Ad.owners())) == W
    Xd = gd.from_numpy(x, row_bounds=Ad.row_bounds, device=device).requires_grad_()
    Td = gd.from_numpy(t, row_bounds=Ad.row_bounds, device=device)
    out_d, loss_d = _gcn(Ad, Xd, pd, Td)
    loss_d.backward()

    _same(out_d.compute().numpy(), out_l.detach().numpy())
    _same(loss_d.detach().numpy(), loss_l.detach().numpy())
    _same(Xd.grad.compute().numpy(), Xl.grad.numpy())
    ga = Ad.grad.compute()
    _same(ga.indices().numpy(), Al.grad.indices().numpy())
    _same(ga.values().numpy(), Al.grad.values().numpy())
    for d, l in zip(pd, pl):
        _same(d.grad.numpy(), l.grad.numpy())


def _moved(client):
    """(bytes sent, bytes received) by each worker so far."""
    logs = client.run(lambda dask_worker: (dask_worker.transfer_incoming_log.maxlen,
                                            len(dask_worker.transfer_incoming_log)))
    assert all(n < cap for cap, n in logs.values()), logs  # no entry dropped yet
    return client.run(lambda dask_worker: (
        dask_worker.transfer_outgoing_bytes_total,
        sum(e["total"] for e in dask_worker.transfer_incoming_log)))


def _model(S, p, itemsize):
    """Bytes each worker receives for S @ B forward and backward (grads of S and B): each
    chunk of B its row blocks touch and each chunk of G its column blocks of the Sᵀ copy
    touch, unless it owns them. The owner of each row block keeps the gathered B for grad
    S, so B moves once: two all-gathers in all. (Which holder sends a chunk is Dask's
    choice once a replica exists, so the model is per receiver; the totals agree.)"""
    st = S._structure
    def owner(b):
        return S._runner.owner(b, S.n_blocks)

    need = set()
    for b, touched in enumerate(st.touched):
        need |= {("B", j, owner(b)) for j in touched if owner(j) != owner(b)}
    for j, touched in enumerate(st.col_touched):
        need |= {("G", b, owner(j)) for b in touched if owner(b) != owner(j)}
    rows = {"B": np.diff(st.col_bounds), "G": np.diff(S.row_bounds)}
    sent = {}
    for name, k, w in need:
        sent[w] = sent.get(w, 0) + int(rows[name][k]) * p * itemsize
    return sent


@pytest.mark.parametrize("kind", ["random", "banded"])
def test_bytes_sent_match_the_model(client, device, rng, kind):
    n, p = 4096, 16
    if kind == "random":
        a = sp.random(n, n, density=8 / n, format="csr", random_state=np.random.RandomState(5))
    else:
        a = sp.diags([np.ones(n - abs(o)) for o in (-3, 0, 3)], [-3, 0, 3], format="csr")
    S = gd.from_scipy(a.astype(np.float64), n_blocks=W).requires_grad_()
    B = gd.from_numpy(randn(rng, (n, p), np.float64), row_bounds=S.row_bounds,
                      device=device).requires_grad_()
    G = gd.from_numpy(randn(rng, (n, p), np.float64), row_bounds=S.row_bounds,
                      device=device)
    before = _moved(client)
    out = gs.sparse.mm(S, B)
    out.persist()
    out.backward(G)
    S.grad.persist()
    B.grad.persist()
    after = _moved(client)
    model = _model(S, p, 8)
    full = (W - 1) * n * p * 8
    total = sum(after[w][0] - before[w][0] for w in after)
    assert total == sum(after[w][1] - before[w][1] for w in after)
    for w in after:
        got = after[w][1] - before[w][1]
        want = model.get(w, 0)
        assert abs(got - want) <= 0.02 * max(want, 1), (kind, w, got, want)
    if kind == "random":
        assert total == pytest.approx(2 * full, rel=0.02)  # two all-gathers
    else:
        # touched chunks only: a block's neighbours, 6 of the 12 chunk moves at W = 4
        assert total == pytest.approx(0.5 * 2 * full, rel=0.02)


def test_tiled_bytes_match_the_model_and_bits_repeat(client, device, rng):
    """The tiled form (budget 0: one task per chunk) moves the chunks a row block touches
    once per worker, as the gathering form does, and gives the same bits twice, close to
    the bitwise path."""
    n, p = 2048, 8
    a = sp.random(n, n, density=6 / n, format="csr", random_state=np.random.RandomState(7))
    b = randn(rng, (n, p), np.float64)
    g = randn(rng, (n, p), np.float64)
    S = gd.from_scipy(a, n_blocks=W)
    runs = []
    for budget in (0, 0, None):
        B = gd.from_numpy(b, row_bounds=S.row_bounds, device=device).requires_grad_()
        G = gd.from_numpy(g, row_bounds=S.row_bounds, device=device)
        before = _moved(client)
        with gd.memory_budget(budget):
            out = gs.sparse.mm(S, B)
        out.persist()  # grad B does not wait for the forward: count its moves too
        out.backward(G)
        B.grad.persist()
        after = _moved(client)
        if budget == 0:
            model = _model(S, p, 8)  # S needs no grad: B forward, G for grad B
            for w in after:
                got = after[w][1] - before[w][1]
                assert abs(got - model.get(w, 0)) <= 0.02 * max(model.get(w, 0), 1), (w, got)
        runs.append([out.compute().numpy(), B.grad.compute().numpy()])
    for x, y, z in zip(*runs):
        _same(x, y)
        np.testing.assert_allclose(x, z, rtol=1e-12, atol=1e-12 * np.abs(z).max())


def test_from_futures_on_the_cluster(client, rng):
    """Blocks made on the workers (Futures of client.submit / scatter) become a tensor
    whose product and gradients are bitwise those of one device; a block made on another
    worker moves to its owner."""
    n, p = 200, 4
    a = sp.random(n, n, density=0.05, format="coo", random_state=np.random.RandomState(1))
    a = a.tocsr()
    cuts = [0, 30, 110, 110, n]
    futs = [client.submit(lambda lo, hi: a[lo:hi].tocoo(), lo, hi, pure=False)
            for lo, hi in zip(cuts[:-1], cuts[1:])]
    b, G = randn(rng, (n, p), np.float64), randn(rng, (n, p), np.float64)
    S = gd.from_futures(futs).requires_grad_()
    B = gd.from_futures([client.scatter(b[lo:hi]) for lo, hi in zip(cuts[:-1], cuts[1:])]
                        ).requires_grad_()
    assert S.row_bounds == tuple(cuts) and B.row_bounds == tuple(cuts)
    assert all(set(client.who_has(S.blocks)[f.key]) == {w}
               for f, w in zip(S.blocks, S.owners()))
    out = gs.sparse.mm(S, B)
    out.backward(G)
    sl = S.compute().detach().requires_grad_()
    bl = gs.tensor(b, requires_grad=True)
    ref = gs.sparse.mm(sl, bl)
    ref.backward(gs.tensor(G))
    _same(out.compute().numpy(), ref.detach().numpy())
    _same(S.grad.compute().values().numpy(), sl.grad.values().numpy())
    _same(B.grad.compute().numpy(), bl.grad.numpy())
    other = Client(client.cluster, set_as_default=False)
    try:
        with pytest.raises(TypeError, match=r"from_futures: blocks\[0\] is a Future of"):
            gd.from_futures([other.scatter(b)])
    finally:
        other.close()


def test_backward_submits_everything_then_waits_once(client, rng, monkeypatch):
    """No gradient node waits for another: backward submits every task, then one wait
    covers all the distributed leaves' gradient blocks (none come back here)."""
    from gpu_sparse.distributed import _runner
    n, p = 300, 4
    a = sp.random(n, n, density=0.03, format="csr", random_state=np.random.RandomState(9))
    S = gd.from_scipy(a, n_blocks=W).requires_grad_()
    B = gd.from_numpy(randn(rng, (n, p), np.float64), row_bounds=S.row_bounds
                      ).requires_grad_()
    M = gd.from_numpy(randn(rng, (n, p), np.float64), row_bounds=S.row_bounds
                      ).requires_grad_()
    out = gs.sparse.addmm(M, S, B) * 2.0 - M
    G = gd.from_numpy(randn(rng, (n, p), np.float64), row_bounds=S.row_bounds)
    waits, gets = [], []
    real_wait, real_get = _runner.wait, _runner.Runner.get
    monkeypatch.setattr(_runner, "wait", lambda fs: (waits.append(len(fs)), real_wait(fs)))
    monkeypatch.setattr(_runner.Runner, "get",
                        lambda self, hs: (gets.append(1), real_get(self, hs))[1])
    out.backward(G, retain_graph=True)
    assert gets == [] and waits == [3 * W]
    assert all(f.status == "finished" for t in (S, B, M) for f in t.grad.blocks)
    first = [t.grad.compute() for t in (S, B, M)]
    for t in (S, B, M):
        t.grad = None
    loss = (out * G).sum()  # a local loss: the same, from the distributed sum's node
    del waits[:], gets[:]
    loss.backward()
    assert gets == [] and waits == [3 * W]
    for t, f in zip((S, B, M), first):
        _same(t.grad.compute().array, f.array)
