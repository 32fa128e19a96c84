"""``python -m gpu_sparse.demo``: train Kipf & Welling's GCN on Cora with the library
alone (sparse products, ReLU, dropout, cross-entropy, Adam), print its test accuracy next
to the paper's, and check one ``sparse.addmm`` forward + backward on a random sparse
matrix against a float64 NumPy/SciPy reference. ``--skip-gcn`` runs the check only."""

from __future__ import annotations

import argparse
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import scipy.sparse as sp

import gpu_sparse as gs
from gpu_sparse.nn import functional


PAPER_ACCURACY = 0.815  # GCN paper (Kipf & Welling, ICLR 2017), Table 2, Cora


def train_gcn(graph: gs.datasets.Graph, seed: int = 0, epochs: int = 200,
              hidden: int = 16, lr: float = 0.01, dropout: float = 0.5,
              weight_decay: float = 5e-4, early_stop: bool = True) -> Dict[str, float]:
    """The GCN paper's recipe on ``graph`` (see ``shared/data/planetoid/README.md``):
    two graph convolutions with 16 hidden units, ReLU, dropout 0.5 on each layer's input,
    log-softmax, cross-entropy on the training nodes plus ``weight_decay`` * L2/2 on the
    first layer, Adam (lr 0.01), at most 200 epochs, early stopping when the validation
    loss rises above the mean of the previous 10. Returns the test accuracy, the epochs
    run and the seconds per epoch."""
    rng = np.random.default_rng(seed)
    device = graph.adj.device
    n, f = graph.features.shape
    c = graph.n_classes

    def glorot(fan_in: int, fan_out: int) -> gs.Tensor:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        return gs.tensor(w, device=device, requires_grad=True)

    w1, w2 = glorot(f, hidden), glorot(hidden, c)
    b1 = gs.zeros(hidden, device=device, requires_grad=True)
    b2 = gs.zeros(c, device=device, requires_grad=True)
    opt = gs.optim.Adam([w1, b1, w2, b2], lr=lr)
    x = graph.features
    crow, col, vals = x.crow_indices(), x.col_indices(), x.values().numpy()

    def targets(idx: np.ndarray) -> np.ndarray:
        t = np.full(n, -100)  # ignore_index: only these nodes count
        t[idx] = graph.labels[idx]
        return t

    train_t, val_t = targets(graph.idx_train), targets(graph.idx_val)
    keep = 1.0 - dropout

    def forward(training: bool) -> gs.Tensor:
        xd = x
        if training:  # dropout on the stored features, then on the hidden layer
            mask = (rng.random(vals.shape[0]) < keep) / keep
            xd = gs.sparse_csr_tensor(crow, col, (vals * mask).astype(np.float32),
                                      x.shape, device=device, check_invariants=False)
        h = functional.relu(gs.sparse.addmm(b1, graph.adj, gs.sparse.mm(xd, w1)))
        if training:
            kept = (rng.random(h.shape) < keep).astype(np.float32) / keep
            h = h * gs.tensor(kept, device=device)
        return functional.log_softmax(gs.sparse.addmm(b2, graph.adj, h @ w2), dim=1)

    val_losses: List[float] = []
    t0 = time.perf_counter()
    epochs_run = 0
    for _ in range(epochs):
        epochs_run += 1
        opt.zero_grad()
        loss = functional.nll_loss(forward(True), train_t) + (weight_decay / 2) * (w1 * w1).sum()
        loss.backward()
        opt.step()
        with gs.no_grad():
            val_loss = functional.nll_loss(forward(False), val_t).item()
        if early_stop and len(val_losses) >= 10 and val_loss > np.mean(val_losses[-10:]):
            break
        val_losses.append(val_loss)
    per_epoch = (time.perf_counter() - t0) / epochs_run
    with gs.no_grad():
        pred = forward(False).detach().cpu().numpy().argmax(axis=1)
    acc = float((pred[graph.idx_test] == graph.labels[graph.idx_test]).mean())
    return {"test_accuracy": acc, "epochs": float(epochs_run), "seconds_per_epoch": per_epoch}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: auto)")
    ap.add_argument("--m", type=int, default=20000)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--p", type=int, default=32)
    ap.add_argument("--nnz", type=int, default=400000)
    ap.add_argument("--seeds", type=int, default=3, help="GCN runs on Cora (default 3)")
    ap.add_argument("--skip-gcn", action="store_true", help="only the addmm check")
    args = ap.parse_args(argv)
    try:
        device = gs.backend.canonical_device(args.device, "demo")
    except (RuntimeError, ValueError, TypeError) as e:
        print(e)  # one clear line, no traceback (e.g. --device cuda without a GPU)
        return 2
    if not args.skip_gcn:
        graph = gs.datasets.load_cora(device=device)
        runs = [train_gcn(graph, seed) for seed in range(args.seeds)]
        accs = [r["test_accuracy"] for r in runs]
        print(f"GCN on Cora ({gs.backend.describe_device(device)}, {args.seeds} seeds): "
              f"test accuracy "
              f"{100 * np.mean(accs):.1f} % (range {100 * min(accs):.1f}-"
              f"{100 * max(accs):.1f} %; the paper: {100 * PAPER_ACCURACY:.1f} %), "
              f"{1e3 * np.mean([r['seconds_per_epoch'] for r in runs]):.1f} ms per epoch, "
              f"{np.mean([r['epochs'] for r in runs]):.0f} epochs")
    m, n, p, nnz = args.m, args.n, args.p, args.nnz
    rng = np.random.default_rng(0)
    idx = np.stack([rng.integers(0, m, nnz), rng.integers(0, n, nnz)])
    vals = rng.standard_normal(nnz).astype(np.float32)
    B = rng.standard_normal((n, p)).astype(np.float32)
    C = rng.standard_normal((m, p)).astype(np.float32)
    G = rng.standard_normal((m, p)).astype(np.float32)
    beta, alpha = 0.5, 2.0

    a = gs.sparse_coo_tensor(idx, vals, (m, n), device=device, requires_grad=True)
    b = gs.tensor(B, device=device, requires_grad=True)
    c = gs.tensor(C, device=device, requires_grad=True)
    g = gs.tensor(G, device=device)
    # first call compiles the kernels (cached on disk afterwards); time the second
    gs.sparse.addmm(c, a, b, beta=beta, alpha=alpha).backward(g)
    a.grad = b.grad = c.grad = None
    t0 = time.perf_counter()
    out = gs.sparse.addmm(c, a, b, beta=beta, alpha=alpha)
    out.backward(g)
    out_host = out.detach().cpu().numpy()
    assert a.grad is not None and b.grad is not None
    ga = a.grad.cpu().values().numpy()
    gb = b.grad.cpu().numpy()
    elapsed = time.perf_counter() - t0

    # float64 reference without any dense m x n matrix
    A = sp.coo_matrix((vals.astype(np.float64), (idx[0], idx[1])), shape=(m, n)).tocsr()
    B64, G64 = B.astype(np.float64), G.astype(np.float64)
    ref_out = beta * C.astype(np.float64) + alpha * (A @ B64)
    ref_ga = alpha * np.einsum("kp,kp->k", G64[idx[0]], B64[idx[1]])
    ref_gb = alpha * (A.T @ G64)
    errs = {
        "out": np.abs(out_host - ref_out).max() / np.abs(ref_out).max(),
        "mat1.grad": np.abs(ga - ref_ga).max() / np.abs(ref_ga).max(),
        "mat2.grad": np.abs(gb - ref_gb).max() / np.abs(ref_gb).max(),
    }
    print(f"gpu_sparse {gs.__version__} on {gs.backend.describe_device(device)}: "
          f"sparse.addmm with a {m} x {n} COO "
          f"matrix ({nnz} nonzeros, duplicates included) @ {n} x {p} float32")
    for k, v in errs.items():
        print(f"  max relative error of {k:9s} vs float64 NumPy/SciPy: {v:.2e}")
    print(f"  forward + backward: {elapsed * 1e3:.1f} ms")
    ok = all(v < 1e-4 for v in errs.values())
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
