"""``python -m bench.distributed``: ``sparse.mm`` forward + backward (grads of S and B) on
one process against a LocalCluster of 2 worker processes (``gpu_sparse.distributed``), at
2^17 x 2^17 with about 4M nonzeros and p = 64 (float32): seconds (median of repeats) and
bytes moved between workers, measured and from the communication model, for a random and
a banded matrix. Also checks that the results are bitwise those of one process.

Model: an all-gather SpMM moves (W - 1) * n * p * itemsize bytes for W workers when every
row block touches every chunk of the dense operand; with touched-chunk fetching a block
fetches only the chunks its entries reach. Forward + backward is two all-gathers (B for
``S @ B``, kept on each owner for grad S; G for ``Sᴴ @ G`` on the Sᵀ copy).

``tiled`` rows run the opt-in tiled form (``gd.memory_budget(0)``: one task per chunk of
the dense operand, partials added in chunk order on the owner); they are compared with
one process by the largest relative difference (not bitwise), and a second tiled run
must give the same bits. Tiled grad S fetches B's chunks again unless the worker still
holds the replicas from the forward, so its bytes can exceed the model.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Dict, List, Tuple

import numpy as np
import scipy.sparse as sp
from distributed import Client, LocalCluster

import gpu_sparse as gs
from gpu_sparse import distributed as gd


def matrices(n: int, nnz: int, rng: np.random.Generator) -> Dict[str, Any]:
    rows = rng.integers(0, n, nnz)
    rand = sp.coo_matrix((rng.standard_normal(nnz).astype(np.float32),
                          (rows, rng.integers(0, n, nnz))), shape=(n, n)).tocsr()
    width = nnz // n  # a band of 2 nnz / n + 1 columns, about nnz / n entries per row
    offs = rng.integers(-width, width + 1, nnz)
    cols = np.clip(rows + offs, 0, n - 1)
    band = sp.coo_matrix((rng.standard_normal(nnz).astype(np.float32), (rows, cols)),
                         shape=(n, n)).tocsr()
    return {"random": rand, "banded": band}


def one_process(a: Any, b: np.ndarray, g: np.ndarray, repeats: int
                ) -> Tuple[float, List[np.ndarray]]:
    times = []
    res: List[np.ndarray] = []
    s = gs.from_scipy(a).requires_grad_()  # kept, as on the cluster: its cached CSR forms
    for _ in range(repeats + 1):  # the first is a warm-up (kernels, cached CSR forms)
        s.grad = None
        bt = gs.tensor(b, requires_grad=True)
        t0 = time.perf_counter()
        out = gs.sparse.mm(s, bt)
        out.backward(gs.tensor(g))
        times.append(time.perf_counter() - t0)
        res = [out.detach().numpy(), s.grad.values().numpy(), bt.grad.numpy()]
    return statistics.median(times[1:]), res


def _received(client: Client) -> Dict[str, int]:
    return client.run(lambda dask_worker: sum(e["total"]
                                              for e in dask_worker.transfer_incoming_log))


def cluster(client: Client, a: Any, b: np.ndarray, g: np.ndarray, repeats: int,
            blocks: int, tiled: bool = False) -> Tuple[float, int, List[np.ndarray]]:
    s = gd.from_scipy(a, n_blocks=blocks).requires_grad_()
    times = []
    moved = []
    res: List[np.ndarray] = []
    for _ in range(repeats + 1):
        # fresh dense operands: a worker keeps the replicas it fetched while their
        # futures live, so reusing them would move nothing the second time
        s.grad = None
        bd = gd.from_numpy(b, row_bounds=s.row_bounds).requires_grad_()
        gd_ = gd.from_numpy(g, row_bounds=s.row_bounds)
        before = _received(client)
        t0 = time.perf_counter()
        with gd.memory_budget(0 if tiled else None):
            out = gs.sparse.mm(s, bd)
        out.backward(gd_)
        s.grad.persist()
        bd.grad.persist()
        times.append(time.perf_counter() - t0)
        after = _received(client)
        moved.append(sum(after[w] - before[w] for w in after))
        res = [out.compute().numpy(), s.grad.compute().values().numpy(),
               bd.grad.compute().numpy()]
    k = 1 if len(times) > 1 else 0  # the first is a warm-up when there are more
    return statistics.median(times[k:]), int(statistics.median(moved[k:])), res


def model(a: Any, workers: int, blocks: int, p: int, itemsize: int) -> int:
    """Bytes two touched-chunk all-gathers move with ``blocks`` equal row blocks, block b
    on worker b * workers // blocks."""
    s = gd.from_tensor(gs.from_scipy(a), n_blocks=blocks)
    st = s._structure

    def own(b: int) -> int:
        return b * workers // blocks

    sizes = np.diff(st.col_bounds)
    moved = 0
    for b, touched in enumerate(st.touched):
        moved += sum(int(sizes[j]) for j in touched if own(j) != own(b)) * p * itemsize
    rsizes = np.diff(s.row_bounds)
    for c, touched in enumerate(st.col_touched):
        moved += sum(int(rsizes[b]) for b in touched if own(b) != own(c)) * p * itemsize
    return moved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log2n", type=int, default=17)
    ap.add_argument("--nnz", type=int, default=4 * 2 ** 20)
    ap.add_argument("--p", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n, p, w = 2 ** args.log2n, args.p, args.workers
    rng = np.random.default_rng(0)
    mats = matrices(n, args.nnz, rng)
    b = rng.standard_normal((n, p)).astype(np.float32)
    g = rng.standard_normal((n, p)).astype(np.float32)
    local = {k: one_process(a, b, g, args.repeats) for k, a in mats.items()}
    # (matrix, row blocks): one block per worker, and a banded matrix in 8 blocks per
    # worker, where touched-chunk fetching moves only the chunks at the workers' edges
    cases = [("random", w, False), ("banded", w, False), ("banded", 8 * w, False),
             ("random", w, True), ("banded", 8 * w, True)]
    models = {c: model(mats[c[0]], w, c[1], p, 4) for c in cases}
    full = 2 * (w - 1) * n * p * 4
    with LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                      dashboard_address=None) as lc, Client(lc) as client:
        dist = {c: cluster(client, mats[c[0]], b, g, args.repeats, c[1], c[2])
                for c in cases}
        again = {c: cluster(client, mats[c[0]], b, g, 0, c[1], True)[2]
                 for c in cases if c[2]}
    print(f"n = 2^{args.log2n}, p = {p}, float32, W = {w} worker processes, "
          f"median of {args.repeats} after a warm-up")
    print("| matrix | nnz | row blocks | form | one process (s) | LocalCluster (s) | "
          "bytes moved | model (touched chunks) | model (two full all-gathers) | "
          "bitwise equal | max rel. diff | same bits twice |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|:---:|---:|:---:|")
    for c in cases:
        a = mats[c[0]]
        t1, r1 = local[c[0]]
        tw, moved, rw = dist[c]
        same = all(x.tobytes() == y.tobytes() for x, y in zip(r1, rw))
        diff = max(float(np.abs(x - y).max() / max(np.abs(x).max(), 1e-30))
                   for x, y in zip(r1, rw))
        twice = ("yes" if all(x.tobytes() == y.tobytes() for x, y in zip(rw, again[c]))
                 else "NO") if c[2] else "-"
        print(f"| {c[0]} | {a.nnz} | {c[1]} | {'tiled' if c[2] else 'gather'} | {t1:.3f} | "
              f"{tw:.3f} | {moved / 2**20:.2f} MiB | {models[c] / 2**20:.2f} MiB | "
              f"{full / 2**20:.2f} MiB | {'yes' if same else 'NO'} | {diff:.1e} | "
              f"{twice} |")


if __name__ == "__main__":
    main()
