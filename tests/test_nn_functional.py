"""log_softmax, nll_loss, cross_entropy and mse_loss against float64 NumPy references,
gradcheck, PyTorch when installed, and a GCN-style training loop without hand-written
gradients."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import assert_close, host, make_sparse, randn

F = gs.nn.functional


def _log_softmax(a, dim):
    z = a - a.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax(device, rng, dim):
    X = randn(rng, (5, 4), np.float64) * 30  # large values: the stable form matters
    x = gs.tensor(X, device=device, requires_grad=True)
    assert_close(host(F.log_softmax(x, dim=dim)), _log_softmax(X, dim), np.float64)
    assert gs.autograd.gradcheck(lambda t: F.log_softmax(t, dim=dim),
                                 (gs.tensor(X / 30, device=device, requires_grad=True),))


def test_nll_and_cross_entropy(device, rng):
    X = randn(rng, (6, 3), np.float64)
    target = np.array([0, 2, 1, 1, -100, 0])
    keep = target != -100
    lp = _log_softmax(X, 1)
    want = -lp[np.arange(6)[keep], target[keep]].mean()
    x = gs.tensor(X, device=device, requires_grad=True)
    loss = F.cross_entropy(x, target)
    assert_close(host(loss), want, np.float64)
    loss.backward()
    p = np.exp(lp)
    onehot = np.zeros_like(p)
    onehot[np.arange(6)[keep], target[keep]] = 1
    assert_close(host(x.grad), (p - onehot) * keep[:, None] / keep.sum(), np.float64)
    assert gs.autograd.gradcheck(
        lambda t: F.nll_loss(F.log_softmax(t, 1), target, reduction="sum"),
        (gs.tensor(X, device=device, requires_grad=True),))
    with pytest.raises(ValueError, match=r"nll_loss: target holds a class outside \[0, 3\)"):
        F.nll_loss(x, [0, 3, 0, 0, 0, 0])
    with pytest.raises(TypeError, match="nll_loss: target must hold integers"):
        F.nll_loss(x, np.zeros(6))
    assert np.isnan(F.nll_loss(x, np.full(6, -100)).item())


def test_mse_loss(device, rng):
    A, B = randn(rng, (3, 2), np.float64), randn(rng, (3, 2), np.float64)
    a = gs.tensor(A, device=device, requires_grad=True)
    loss = F.mse_loss(a, gs.tensor(B, device=device))
    assert_close(host(loss), ((A - B) ** 2).mean(), np.float64)
    loss.backward()
    assert_close(host(a.grad), 2 * (A - B) / A.size, np.float64)


def test_same_as_torch(rng):
    torch = pytest.importorskip("torch")
    X = randn(rng, (5, 4), np.float64)
    t = [0, 3, 1, 2, 2]
    x = gs.tensor(X, requires_grad=True)
    F.cross_entropy(x, t).backward()
    tx = torch.tensor(X, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(t)).backward()
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_a_gcn_trains_with_the_library_alone(device, rng):
    """Two GCN layers, ReLU, cross-entropy and Adam: the loss falls and the training
    nodes are fitted, with no hand-written gradient."""
    n, f, h, c = 40, 8, 16, 3
    adj, _, _ = make_sparse(rng, "csr", n, n, 160, np.float32, device)
    labels = rng.integers(0, c, n)
    feats = randn(rng, (n, f), np.float32) + np.eye(c)[labels] @ randn(rng, (c, f),
                                                                       np.float32) * 2
    x = gs.tensor(feats.astype(np.float32), device=device)
    w1 = gs.tensor(randn(rng, (f, h), np.float32) * 0.3, device=device, requires_grad=True)
    w2 = gs.tensor(randn(rng, (h, c), np.float32) * 0.3, device=device, requires_grad=True)
    opt = gs.optim.Adam([w1, w2], lr=0.05)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        hidden = F.relu(gs.sparse.mm(adj, x @ w1))
        logits = gs.sparse.mm(adj, hidden @ w2)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_dropout(device, rng):
    x = gs.tensor(randn(rng, (200, 50), np.float64), device=device, requires_grad=True)
    g1 = np.random.default_rng(3)
    out = F.dropout(x, p=0.25, generator=g1)
    keep = np.random.default_rng(3).random((200, 50)) >= 0.25
    assert_close(host(out), host(x) * keep / 0.75, np.float64)
    out.sum().backward()
    assert_close(host(x.grad), keep / 0.75, np.float64)
    assert F.dropout(x, p=0.5, training=False) is x
    assert np.all(host(F.dropout(x.detach(), p=1.0)) == 0)
    gs.manual_seed(7)
    a = host(F.dropout(x.detach(), 0.5))
    gs.manual_seed(7)
    np.testing.assert_array_equal(a, host(F.dropout(x.detach(), 0.5)))  # seeded
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\]"):
        F.dropout(x, p=1.5)


def test_transpose(device, rng):
    X = randn(rng, (3, 2), np.float64)
    x = gs.tensor(X, device=device, requires_grad=True)
    assert host(x.T).tolist() == X.T.tolist() and host(x.t()).tolist() == X.T.tolist()
    assert gs.autograd.gradcheck(lambda t: t.T @ t, (x,))
    with gs.no_grad():
        x.T.mul_(2.0)  # a view: the storage and its version are shared
    assert x._version == 1 and host(x).tolist() == (2 * X).tolist()
    s, _, _ = make_sparse(rng, "coo", 3, 3, 4, np.float64, device)
    with pytest.raises(TypeError, match="t: input is sparse"):
        _ = s.T
