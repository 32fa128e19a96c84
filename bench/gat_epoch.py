"""``python -m bench.gat_epoch``: milliseconds per training epoch of the GAT example
(``gpu_sparse.examples.gat``: 8 heads of 8 features, one output head, dropout 0.6, Adam)
on Cora, gpu_sparse against the same model written with PyTorch's sparse ops, side by side
in one run.

Both build one sparse attention matrix per head and layer from per-edge scores
(``sparse_coo_tensor`` → ``sparse.softmax(dim=1)`` → dropout on the values →
``sparse.mm``), train on the 140 labelled nodes and run a validation forward each epoch.
Both check the sparse invariants of the matrices they build (gpu_sparse always does).
Medians of 3 runs of 50 epochs each, after a warm-up run; 2 threads for PyTorch.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import gpu_sparse as gs
from bench.report import epoch_table
from gpu_sparse.examples.gat import train_gat

EPOCHS = 50


def ours() -> float:
    graph = gs.datasets.load_cora(device="cpu")
    train_gat(graph, seed=0, epochs=2)  # warm-up: kernels, caches
    return statistics.median(train_gat(graph, seed=s, epochs=EPOCHS)["seconds_per_epoch"]
                             for s in range(3))


def theirs() -> float:
    import torch
    func = torch.nn.functional
    torch.manual_seed(0)
    g = gs.datasets.load_cora(device="cpu")
    a = g.adj.to_scipy().tocoo()
    x = g.features.to_scipy().tocoo()
    edges = torch.tensor(np.stack([a.row, a.col]))
    n = a.shape[0]
    feats = torch.sparse_coo_tensor(np.stack([x.row, x.col]), x.data, x.shape,
                                    check_invariants=True).coalesce()
    labels = torch.tensor(g.labels)
    train, val = torch.tensor(g.idx_train), torch.tensor(g.idx_val)

    def layer(n_in: int, f: int, heads: int, concat: bool):
        w = torch.nn.init.xavier_uniform_(torch.empty(n_in, heads * f)).requires_grad_()
        a_dst = torch.nn.init.xavier_uniform_(torch.empty(heads, f)).requires_grad_()
        a_src = torch.nn.init.xavier_uniform_(torch.empty(heads, f)).requires_grad_()
        b = torch.zeros(heads * f if concat else f, requires_grad=True)
        params = [w, a_dst, a_src, b]

        def forward(h_in: torch.Tensor, training: bool) -> torch.Tensor:
            h = torch.sparse.mm(h_in, w) if h_in.is_sparse else h_in @ w
            hh = h.reshape(n, heads, f)
            s = func.leaky_relu((hh * a_dst).sum(-1)[edges[0]] + (hh * a_src).sum(-1)[edges[1]],
                                0.2)
            outs = []
            for k in range(heads):
                att = torch.sparse.softmax(torch.sparse_coo_tensor(
                    edges, s[:, k], (n, n), is_coalesced=True, check_invariants=True), dim=1)
                if training:
                    att = torch.sparse_coo_tensor(edges, func.dropout(att.values(), 0.6),
                                                  (n, n), is_coalesced=True,
                                                  check_invariants=True)
                outs.append(torch.sparse.mm(att, hh[:, k]))
            out = torch.cat(outs, 1) if concat else torch.stack(outs).mean(0)
            return out + b

        return params, forward

    def run() -> float:
        p1, l1 = layer(x.shape[1], 8, 8, True)
        p2, l2 = layer(64, g.n_classes, 1, False)
        opt = torch.optim.Adam(p1 + p2, lr=0.005, weight_decay=5e-4)

        def forward(training: bool) -> torch.Tensor:
            xd = feats
            if training:
                xd = torch.sparse_coo_tensor(feats.indices(), func.dropout(feats.values(), 0.6),
                                             feats.shape, is_coalesced=True,
                                             check_invariants=True)
            h = func.dropout(func.elu(l1(xd, training)), 0.6, training)
            return l2(h, training)

        t0 = time.perf_counter()
        for _ in range(EPOCHS):
            opt.zero_grad()
            func.cross_entropy(forward(True)[train], labels[train]).backward()
            opt.step()
            with torch.no_grad():
                out = forward(False)
                func.cross_entropy(out[val], labels[val]).item()
                (out.argmax(1) == labels).float().mean().item()
        return (time.perf_counter() - t0) / EPOCHS

    run()
    return statistics.median(run() for _ in range(3))


def main() -> None:
    rows = [("gpu_sparse", ours())]
    try:
        import torch
        torch.set_num_threads(2)
        rows.append((f"PyTorch {torch.__version__} (COO)", theirs()))
    except ImportError:
        print("PyTorch is not installed: `pip install torch==2.13.0`", file=sys.stderr)
    print(epoch_table(rows))


if __name__ == "__main__":
    main()
