"""``python -m bench.ab OTHER_CHECKOUT [--rounds 3]``: this checkout's ``sparse.addmm``
against another checkout's (a commit before a refactor, say), alternating processes
A, B, A, B, ... so that drifts of the machine hit both alike.

Each process times forward and forward + backward (medians of 25) on the --quick cases
(m = n = 2^14, nnz = 2^20, float32, p in {16, 128}, uniform and power-law rows, COO in
random order and CSR); the table shows the medians over rounds and the ratios. Create the
other checkout with ``git worktree add /tmp/before <commit>``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent.parent


def _time_cases() -> dict:
    import numpy as np

    import gpu_sparse as gs

    out = {}
    rng = np.random.default_rng(0)
    m = n = 2**14
    nnz = 2**20
    for dist in ("uniform", "powerlaw"):
        if dist == "uniform":
            rows = rng.integers(0, m, nnz)
        else:
            w = 1.0 / np.arange(1, m + 1) ** 0.9
            rows = rng.choice(m, nnz, p=w / w.sum())
        order = rng.permutation(nnz)
        idx = np.stack([rows[order], rng.integers(0, n, nnz)])
        vals = rng.standard_normal(nnz).astype(np.float32)
        for p in (16, 128):
            b_host = rng.standard_normal((n, p)).astype(np.float32)
            c = gs.tensor(rng.standard_normal((m, p)).astype(np.float32))
            g = gs.tensor(rng.standard_normal((m, p)).astype(np.float32))
            for layout in ("coo", "csr"):
                a = gs.sparse_coo_tensor(idx, vals, (m, n))
                a = (a.to_sparse_csr() if layout == "csr" else a).requires_grad_()
                b = gs.tensor(b_host, requires_grad=True)

                def fwd(a=a, b=b):
                    return gs.sparse.addmm(c, a, b, beta=0.5, alpha=2.0)

                def fwd_bwd(a=a, b=b):
                    a.grad = b.grad = None
                    fwd(a, b).backward(g)

                for f in (fwd, fwd_bwd, fwd, fwd_bwd):  # warm-up: caches, kernels
                    f()
                t_f, t_fb = [], []
                for _ in range(25):
                    t0 = time.perf_counter()
                    fwd()
                    t_f.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    fwd_bwd()
                    t_fb.append(time.perf_counter() - t0)
                out[f"{dist} p={p} {layout}"] = (1e3 * statistics.median(t_f),
                                                 1e3 * statistics.median(t_fb))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("other", type=pathlib.Path, help="the other checkout (B)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    other = args.other.resolve()
    results: dict = {"A": [], "B": []}
    for r in range(args.rounds):
        for name, tree in (("B", other), ("A", HERE)):
            print(f"round {r + 1}: {name} ({tree})", file=sys.stderr)
            results[name].append(_run_any(tree))
    print(f"A = {HERE}, B = {other}; medians over {args.rounds} rounds, ms\n")
    print("| case | fwd B | fwd A | A/B | fwd+bwd B | fwd+bwd A | A/B |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for case in results["A"][0]:
        a = [statistics.median(r[case][j] for r in results["A"]) for j in (0, 1)]
        b = [statistics.median(r[case][j] for r in results["B"]) for j in (0, 1)]
        print(f"| {case} | {b[0]:.2f} | {a[0]:.2f} | {a[0] / b[0]:.2f} | {b[1]:.2f} | "
              f"{a[1]:.2f} | {a[1] / b[1]:.2f} |")


def _run_any(tree: pathlib.Path) -> dict:
    """Time the cases with ``tree``'s gpu_sparse, using this file's timing code."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    code = (f"import importlib.util, json\n"
            f"spec = importlib.util.spec_from_file_location('ab', {str(__file__)!r})\n"
            f"ab = importlib.util.module_from_spec(spec); spec.loader.exec_module(ab)\n"
            f"print(json.dumps(ab._time_cases()))\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
