"""The GCN paper's recipe on Cora, trained with the library alone, reaches the accuracy
the recipe gives (80.8 % for a plain PyTorch run, mean of 5 seeds; the paper: 81.5 %)."""

import numpy as np
import pytest

import gpu_sparse as gs
from gpu_sparse.demo import train_gcn


def test_cora_is_shipped_and_preprocessed(device):
    g = gs.datasets.load_cora(device=device)
    assert g.adj.shape == (2708, 2708) and g.adj.nnz == 2 * 5278 + 2708
    assert g.features.shape == (2708, 1433) and g.n_classes == 7
    assert (len(g.idx_train), len(g.idx_val), len(g.idx_test)) == (140, 500, 1000)
    rows = g.features.to_dense().numpy().sum(axis=1)
    np.testing.assert_allclose(rows[rows > 0], 1.0, rtol=1e-5)  # row-normalised
    a = g.adj.to_scipy().toarray() if device == "cpu" else g.adj.cpu().to_scipy().toarray()
    np.testing.assert_allclose(a, a.T, rtol=1e-6)  # D^-1/2 (A + I) D^-1/2 is symmetric


def test_gcn_reaches_the_recipes_accuracy(device):
    graph = gs.datasets.load_cora(device=device)
    accs = [train_gcn(graph, seed)["test_accuracy"] for seed in range(2)]
    assert min(accs) >= 0.77 and np.mean(accs) >= 0.785, accs


def test_one_training_step_matches_pytorch():
    torch = pytest.importorskip("torch")
    g = gs.datasets.load_cora(device="cpu", dtype=np.float64)
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((1433, 16)) * 0.05
    W2 = rng.standard_normal((16, 7)) * 0.05
    t = np.full(2708, -100)
    t[g.idx_train] = g.labels[g.idx_train]

    w1 = gs.tensor(W1, device="cpu", requires_grad=True)
    w2 = gs.tensor(W2, device="cpu", requires_grad=True)
    h = gs.nn.functional.relu(gs.sparse.mm(g.adj, gs.sparse.mm(g.features, w1)))
    out = gs.nn.functional.log_softmax(gs.sparse.mm(g.adj, h @ w2), dim=1)
    gs.nn.functional.nll_loss(out, t).backward()

    a = g.adj.to_scipy().tocoo()
    x = g.features.to_scipy().tocoo()
    ta = torch.sparse_coo_tensor(np.stack([a.row, a.col]), a.data, a.shape,
                                 check_invariants=True)
    tx = torch.sparse_coo_tensor(np.stack([x.row, x.col]), x.data, x.shape,
                                 check_invariants=True)
    tw1 = torch.tensor(W1, requires_grad=True)
    tw2 = torch.tensor(W2, requires_grad=True)
    th = torch.relu(torch.sparse.mm(ta, torch.sparse.mm(tx, tw1)))
    tout = torch.log_softmax(torch.sparse.mm(ta, th @ tw2), dim=1)
    torch.nn.functional.nll_loss(tout, torch.tensor(t)).backward()
    np.testing.assert_allclose(w1.grad.numpy(), tw1.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w2.grad.numpy(), tw2.grad.numpy(), rtol=1e-9, atol=1e-12)
