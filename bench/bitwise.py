"""``python -m bench.bitwise [--device cpu|cuda] [--compare OTHER_CHECKOUT]``: digests of the
outputs and gradients of a fixed set of cases, to show that a restructuring changed no bit.

The cases: float32 and complex128 (the real cases float32 only), COO, CSR and dense
operands: ``sparse.addmm`` (all three gradients), ``sampled_addmm``, ``sparse.mm``,
COO @ COO, ``sparse.softmax`` and ``log_softmax``, three GCN training steps (dropout from
``gs.Generator``, Adam), two GAT epochs, and a distributed forward + backward (two row
blocks, local runner). Each case prints a SHA-256 of the bytes of its results.

``--compare`` runs the same in another checkout (``git worktree add /tmp/before <commit>``)
in a fresh process and lists the cases whose bits differ; exit status 1 if any does.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import pathlib
import subprocess
import sys
from typing import Any, Callable, Dict, List

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent.parent


def _bytes(*ts: Any) -> bytes:
    out = b""
    for t in ts:
        if t is None:
            out += b"none"
            continue
        t = t.detach()
        arrs = [t.values() if t.pattern is not None else t] + (
            list(t.pattern.index_arrays().values()) if t.pattern is not None else [])
        for a in arrs:
            host = a.cpu().numpy() if hasattr(a, "cpu") else np.asarray(
                a.get() if hasattr(a, "get") else a)
            out += np.ascontiguousarray(host).tobytes()
    return out


def cases(device: str) -> Dict[str, Callable[[], bytes]]:
    import gpu_sparse as gs
    from gpu_sparse.nn import functional as F  # noqa: N812 (PyTorch's habit)

    def problem(dtype: str, seed: int):
        rng = np.random.default_rng(seed)
        m, n, k, nnz = 60, 50, 7, 400
        idx = np.stack([rng.integers(0, m, nnz), rng.integers(0, n, nnz)])
        vals = rng.standard_normal(nnz)
        if dtype == "complex128":
            vals = vals + 1j * rng.standard_normal(nnz)
        shape = {"b": (n, k), "c": (m, k), "g": (m, k), "x": (m, k), "y": (k, n)}
        dense = {name: rng.standard_normal(s) + (1j * rng.standard_normal(s)
                                                  if dtype == "complex128" else 0)
                 for name, s in shape.items()}
        return idx, vals.astype(dtype), {k2: v.astype(dtype) for k2, v in dense.items()}, \
            (m, n)

    def sparse(idx, vals, shape, layout, grad=True):
        s = gs.sparse_coo_tensor(idx, vals, shape, device=device)
        s = s.to_sparse_csr() if layout == "csr" else s
        return s.requires_grad_() if grad else s

    out: Dict[str, Callable[[], bytes]] = {}
    for dtype in ("float32", "complex128"):
        for layout in ("coo", "csr"):
            def addmm(dtype=dtype, layout=layout):
                idx, vals, d, shape = problem(dtype, 1)
                s = sparse(idx, vals, shape, layout)
                b = gs.tensor(d["b"], device=device, requires_grad=True)
                c = gs.tensor(d["c"], device=device, requires_grad=True)
                o = gs.sparse.addmm(c, s, b, beta=0.5, alpha=2.0)
                o.backward(gs.tensor(d["g"], device=device))
                return _bytes(o, s.grad, b.grad, c.grad)

            def sampled(dtype=dtype, layout=layout):
                idx, vals, d, shape = problem(dtype, 2)
                s = sparse(idx, vals, shape, layout)
                x = gs.tensor(d["x"], device=device, requires_grad=True)
                y = gs.tensor(d["y"], device=device, requires_grad=True)
                o = gs.sparse.sampled_addmm(s, x, y, beta=0.5, alpha=1.5)
                o.values().sum().backward()
                return _bytes(o, s.grad, x.grad, y.grad)

            def mm(dtype=dtype, layout=layout):
                idx, vals, d, shape = problem(dtype, 3)
                s = sparse(idx, vals, shape, layout)
                b = gs.tensor(d["b"], device=device, requires_grad=True)
                o = gs.sparse.mm(s, b)
                (o * o).sum().backward()
                return _bytes(o, s.grad, b.grad)

            out[f"addmm {dtype} {layout}"] = addmm
            out[f"sampled_addmm {dtype} {layout}"] = sampled
            out[f"sparse.mm {dtype} {layout}"] = mm

        def dense_addmm(dtype=dtype):
            _, _, d, _ = problem(dtype, 4)
            a = gs.tensor(d["x"], device=device, requires_grad=True)
            w = gs.tensor(d["y"], device=device, requires_grad=True)
            o = gs.addmm(gs.tensor(d["x"][:, :1], device=device), a, w)
            o.sum().backward()
            return _bytes(o, a.grad, w.grad)

        def spspmm(dtype=dtype):
            idx, vals, _, shape = problem(dtype, 5)
            a = sparse(idx, vals, shape, "coo")
            b = sparse(idx[::-1].copy(), vals, shape[::-1], "coo")
            o = gs.sparse.mm(a, b)
            o.values().sum().backward()
            return _bytes(o, a.grad, b.grad)

        out[f"dense addmm {dtype}"] = dense_addmm
        out[f"COO @ COO {dtype}"] = spspmm

    for dim in (0, 1):
        def softmax(dim=dim):
            idx, vals, _, shape = problem("float32", 6)
            s = sparse(idx, vals, shape, "coo", grad=False).coalesce().requires_grad_()
            o = gs.sparse.softmax(s, dim)
            q = gs.sparse.log_softmax(s, dim)
            (o.values() * q.values()).sum().backward()
            return _bytes(o, q, s.grad)
        out[f"sparse softmax dim {dim}"] = softmax

    def gcn():
        g = gs.datasets.load_cora(device=device)
        rng = np.random.default_rng(0)
        w1 = gs.tensor(rng.standard_normal((1433, 16)).astype(np.float32) * 0.05,
                       device=device, requires_grad=True)
        w2 = gs.tensor(rng.standard_normal((16, 7)).astype(np.float32) * 0.05,
                       device=device, requires_grad=True)
        t = np.full(2708, -100)
        t[g.idx_train] = g.labels[g.idx_train]
        opt = gs.optim.Adam([w1, w2], lr=0.01, weight_decay=5e-4)
        gen = gs.Generator().manual_seed(0)
        for _ in range(3):
            opt.zero_grad()
            h = F.dropout(F.relu(gs.sparse.mm(g.adj, gs.sparse.mm(g.features, w1))), 0.5,
                          generator=gen)
            loss = F.nll_loss(F.log_softmax(gs.sparse.mm(g.adj, h @ w2), dim=1), t)
            loss.backward()
            opt.step()
        return _bytes(w1, w2, loss)

    def gat():
        from gpu_sparse.examples.gat import train_gat
        g = gs.datasets.load_cora(device=device)
        r = train_gat(g, seed=0, epochs=2)
        return json.dumps({k: v for k, v in r.items() if "second" not in k},
                          sort_keys=True).encode()

    def distributed():
        from gpu_sparse import distributed as gd
        idx, vals, d, shape = problem("float32", 7)
        s = sparse(idx, vals, shape, "coo", grad=False)
        sd = gd.from_tensor(s, n_blocks=2).requires_grad_()
        bd = gd.from_numpy(d["b"], row_bounds=sd._structure.col_bounds,
                           device=device).requires_grad_()
        o = gs.sparse.mm(sd, bd)
        o.backward(gs.tensor(d["g"], device=device))
        return _bytes(o.compute(), sd.grad.compute(), bd.grad.compute())

    def distributed_addmm(layout, build, tiled):
        from gpu_sparse import distributed as gd
        idx, vals, d, shape = problem("float64", 8)
        s = sparse(idx, vals, shape, layout, grad=False)
        if build == "tensor":
            sd = gd.from_tensor(s, row_bounds=(0, 25, 25, 60))
        else:  # local SciPy row blocks in s's own format
            sp_s = s.cpu().to_scipy()  # host blocks, moved by device=
            sp_csr = sp_s.tocsr()
            parts = [sp_csr[a:b] if layout == "csr" else sp_csr[a:b].tocoo()
                     for a, b in ((0, 25), (25, 25), (25, 60))]
            sd = gd.from_futures(parts, device=device)
        sd.requires_grad_()
        bd = gd.from_numpy(d["b"], row_bounds=sd._structure.col_bounds,
                           device=device).requires_grad_()
        cd = gd.from_numpy(d["c"], row_bounds=sd.row_bounds, device=device).requires_grad_()
        with gd.memory_budget(1 if tiled else None):
            o = gs.sparse.addmm(cd, sd, bd, beta=0.5, alpha=2.0)
            o.backward(gs.tensor(d["g"], device=device))
        return _bytes(o.compute(), sd.grad.compute(), bd.grad.compute(), cd.grad.compute())

    out["GCN 3 steps"] = gcn
    out["GAT 2 epochs"] = gat
    out["distributed mm"] = distributed
    for layout in ("coo", "csr"):
        for build in ("tensor", "futures"):
            for tiled in (False, True):
                out[f"distributed addmm {layout} {build}{' tiled' if tiled else ''}"] = \
                    functools.partial(distributed_addmm, layout, build, tiled)
    return out


def digests(device: str) -> Dict[str, str]:
    res = {}
    for name, fn in cases(device).items():
        try:
            res[name] = hashlib.sha256(fn()).hexdigest()[:16]
        except ImportError as e:  # the distributed case without Dask
            res[name] = f"skipped ({e})"
    return res


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bitwise", description=__doc__)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compare", default=None, help="another checkout to compare with")
    ap.add_argument("--json", action="store_true", help="print the digests as JSON")
    args = ap.parse_args(argv)
    mine = digests(args.device)
    if args.compare is None:
        print(json.dumps(mine, indent=1) if args.json else
              "\n".join(f"{v}  {k}" for k, v in mine.items()))
        return 0
    other = pathlib.Path(args.compare).resolve()
    env = dict(os.environ, PYTHONPATH=str(other))
    res = subprocess.run([sys.executable, "-m", "bench.bitwise", "--device", args.device,
                          "--json"], cwd=other, env=env, capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        sys.exit(f"bench.bitwise in {other} failed:\n{res.stderr[-3000:]}")
    theirs = json.loads(res.stdout)
    differ = [k for k in mine if theirs.get(k) != mine[k]]
    for k in mine:
        print(f"{'same' if k not in differ else 'DIFFERS'}  {k}  ({mine[k]} vs "
              f"{theirs.get(k)})")
    print(f"{len(mine) - len(differ)} of {len(mine)} cases bitwise equal to {other}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
