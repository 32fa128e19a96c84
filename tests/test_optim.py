"""SGD and Adam against NumPy references of PyTorch's update rules (and torch.optim itself
when PyTorch is installed), on dense and sparse leaves."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import assert_close, host, make_sparse, randn


def _loss(w, x):
    """A loss whose gradient w.r.t. w depends on w (so the steps differ)."""
    out = gs.sparse.mm(w, x) if w.layout is not gs.strided else w @ x
    return (out * out).sum()


def _numpy_grad(kind, W, idx, X):
    if kind == "dense":
        return 2 * (W @ X) @ X.T
    m, n = 5, 4
    A = np.zeros((m, n), W.dtype)
    np.add.at(A, (idx[0], idx[1]), W)
    G = 2 * (A @ X) @ X.T
    return G[idx[0], idx[1]]


@pytest.mark.parametrize("kind", ["dense", "coo", "csr"])
@pytest.mark.parametrize("opt", ["sgd", "sgd_momentum", "adam"])
def test_updates_match_the_reference(device, rng, kind, opt):
    X = randn(rng, (4, 3), np.float64)
    if kind == "dense":
        W0 = randn(rng, (5, 4), np.float64)
        w = gs.tensor(W0, device=device, requires_grad=True)
        idx = None
    else:
        w, idx, W0 = make_sparse(rng, kind, 5, 4, 9, np.float64, device, requires_grad=True)
    x = gs.tensor(X, device=device)
    if opt == "adam":
        o = gs.optim.Adam([w], lr=0.05, weight_decay=0.01)
    else:
        o = gs.optim.SGD([w], lr=0.01, momentum=0.9 if opt == "sgd_momentum" else 0.0,
                         weight_decay=0.01)
    W, buf, m, v = W0.copy(), None, 0.0, 0.0
    for t in range(1, 4):
        o.zero_grad()
        _loss(w, x).backward()
        o.step()
        g = _numpy_grad(kind, W, idx, X) + 0.01 * W
        if opt == "adam":
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            W = W - 0.05 / (1 - 0.9 ** t) * m / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        else:
            if opt == "sgd_momentum":
                buf = g.copy() if buf is None else 0.9 * buf + g
                g = buf
            W = W - 0.01 * g
    assert_close(host(w), W, np.float64, scale=10)
    assert w._version == 3 and (kind == "dense" or w.grad.pattern is w.pattern)


def test_bad_arguments(device):
    w = gs.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        gs.optim.SGD([])
    with pytest.raises(ValueError, match=r"Adam: params\[0\] must be a leaf"):
        gs.optim.Adam([w * 2])
    with pytest.raises(ValueError, match="SGD: lr must be >= 0"):
        gs.optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Adam: need 0 <= betas < 1"):
        gs.optim.Adam([w], betas=(1.0, 0.9))
    o = gs.optim.SGD([w], lr=0.1)
    o.step()  # no gradient yet: nothing moves
    assert host(w).tolist() == [1.0]


def test_same_steps_as_torch(device, rng):
    torch = pytest.importorskip("torch")
    W0 = randn(rng, (5, 4), np.float64)
    X = randn(rng, (4, 3), np.float64)
    w = gs.tensor(W0, device=device, requires_grad=True)
    tw = torch.tensor(W0, requires_grad=True)
    ours = gs.optim.Adam([w], lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)
    theirs = torch.optim.Adam([tw], lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)
    for _ in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        _loss(w, gs.tensor(X, device=device)).backward()
        ((tw @ torch.tensor(X)) ** 2).sum().backward()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(host(w), tw.detach().numpy(), rtol=1e-12, atol=1e-12)
