"""``python -m bench.gcn_epoch``: seconds per training epoch of the GCN paper's recipe on
Cora (forward, backward, Adam step and a validation forward), gpu_sparse against PyTorch
on the same graph, same model and same number of epochs, side by side in one run.

PyTorch runs the recipe with a sparse COO adjacency and sparse COO features
(``torch.sparse.mm``), the usual way, and with CSR ones (that run skips the dropout on the
feature values, so it does slightly less work than the others). Medians of 3 runs of 100
epochs each, no early stopping, after a warm-up run.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import gpu_sparse as gs
from bench.report import epoch_table
from gpu_sparse.demo import train_gcn

EPOCHS = 100


def ours() -> float:
    graph = gs.datasets.load_cora(device="cpu")
    train_gcn(graph, seed=0, epochs=2, early_stop=False)  # warm-up: kernels, caches
    return statistics.median(train_gcn(graph, seed=s, epochs=EPOCHS, early_stop=False)
                             ["seconds_per_epoch"] for s in range(3))


def theirs(layout: str) -> float:
    import torch
    torch.manual_seed(0)
    g = gs.datasets.load_cora(device="cpu")
    a = g.adj.to_scipy().tocoo()
    x = g.features.to_scipy().tocoo()
    adj = torch.sparse_coo_tensor(np.stack([a.row, a.col]), a.data, a.shape,
                                  check_invariants=True).coalesce()
    feats = torch.sparse_coo_tensor(np.stack([x.row, x.col]), x.data, x.shape,
                                    check_invariants=True).coalesce()
    if layout == "csr":
        adj, feats = adj.to_sparse_csr(), feats.to_sparse_csr()
    labels = torch.tensor(g.labels)
    train, val = torch.tensor(g.idx_train), torch.tensor(g.idx_val)

    def run() -> float:
        w1 = torch.nn.init.xavier_uniform_(torch.empty(1433, 16)).requires_grad_()
        w2 = torch.nn.init.xavier_uniform_(torch.empty(16, 7)).requires_grad_()
        b1 = torch.zeros(16, requires_grad=True)
        b2 = torch.zeros(7, requires_grad=True)
        opt = torch.optim.Adam([w1, b1, w2, b2], lr=0.01)

        def forward(training: bool) -> torch.Tensor:
            xd = feats
            if training and layout == "coo":
                xd = torch.sparse_coo_tensor(feats.indices(), torch.nn.functional.dropout(
                    feats.values(), 0.5), feats.shape)
            h = torch.relu(torch.sparse.mm(adj, torch.sparse.mm(xd, w1)) + b1)
            h = torch.nn.functional.dropout(h, 0.5, training)
            return torch.log_softmax(torch.sparse.mm(adj, h @ w2) + b2, dim=1)

        t0 = time.perf_counter()
        for _ in range(EPOCHS):
            opt.zero_grad()
            out = forward(True)
            loss = (torch.nn.functional.nll_loss(out[train], labels[train])
                    + 5e-4 / 2 * (w1 * w1).sum())
            loss.backward()
            opt.step()
            with torch.no_grad():
                torch.nn.functional.nll_loss(forward(False)[val], labels[val]).item()
        return (time.perf_counter() - t0) / EPOCHS

    run()
    return statistics.median(run() for _ in range(3))


def main() -> None:
    rows = [("gpu_sparse (CSR adjacency and features)", ours())]
    try:
        import torch
        torch.set_num_threads(2)
        for layout in ("coo", "csr"):
            rows.append((f"PyTorch {torch.__version__} ({layout.upper()})", theirs(layout)))
    except ImportError:
        print("PyTorch is not installed: `pip install torch==2.13.0`", file=sys.stderr)
    print(epoch_table(rows))


if __name__ == "__main__":
    main()
