"""``python -m gpu_sparse.demo``: addmm forward + backward on a random sparse matrix on
the default device, checked against a float64 NumPy reference."""

from __future__ import annotations

import argparse
import time
from typing import Optional, Sequence

import numpy as np
import scipy.sparse as sp

import gpu_sparse as gs


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: auto)")
    ap.add_argument("--m", type=int, default=20000)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--p", type=int, default=32)
    ap.add_argument("--nnz", type=int, default=400000)
    args = ap.parse_args(argv)
    try:
        device = gs.backend.canonical_device(args.device, "demo")
    except (RuntimeError, ValueError, TypeError) as e:
        print(e)  # one clear line, no traceback (e.g. --device cuda without a GPU)
        return 2
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
    print(f"gpu_sparse {gs.__version__} on {device}: sparse.addmm with a {m} x {n} COO "
          f"matrix ({nnz} nonzeros, duplicates included) @ {n} x {p} float32")
    for k, v in errs.items():
        print(f"  max relative error of {k:9s} vs float64 NumPy/SciPy: {v:.2e}")
    print(f"  forward + backward: {elapsed * 1e3:.1f} ms")
    ok = all(v < 1e-4 for v in errs.values())
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
