"""``python -m gpu_sparse.warmup [--dtypes float32,float64] [--layouts coo,csr]
[--device cpu]``: compile the kernels ahead of time (for a deployment image or a CI
cache), so that the first real product does not wait for them.

Runs one small forward + backward of ``sparse.addmm``, ``sparse.sampled_addmm``,
``sparse.mm`` (COO @ COO) and the conversions per dtype and layout, and prints the time
each took. CPU kernels are cached on disk by numba, CUDA kernels by CuPy.
"""

from __future__ import annotations

import argparse
import time
from typing import Optional, Sequence

import numpy as np

import gpu_sparse as gs


def warm(dtype: str, layout: str, device: str) -> float:
    """Seconds one small forward + backward of every product took (compiling included)."""
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    idx = np.stack([rng.integers(0, 64, 512), rng.integers(0, 48, 512)])
    a = gs.sparse_coo_tensor(idx, rng.standard_normal(512), (64, 48), dtype=dtype,
                             device=device)
    a = (a.to_sparse_csr() if layout == "csr" else a).requires_grad_()
    b = gs.tensor(rng.standard_normal((48, 16)), dtype=dtype, device=device,
                  requires_grad=True)
    c = gs.tensor(rng.standard_normal((64, 16)), dtype=dtype, device=device)
    gs.sparse.addmm(c, a, b, beta=0.5, alpha=2.0).sum().backward()
    x = gs.tensor(rng.standard_normal((64, 8)), dtype=dtype, device=device)
    y = gs.tensor(rng.standard_normal((8, 48)), dtype=dtype, device=device)
    gs.sparse.sampled_addmm(a.detach(), x, y).to_dense()
    coo = a.detach().to_sparse().coalesce()
    gs.sparse.mm(coo, gs.sparse_coo_tensor(idx[::-1].copy(), np.ones(512), (48, 64),
                                           dtype=dtype, device=device))
    return time.perf_counter() - t0


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dtypes", default="float32,float64,complex64,complex128")
    ap.add_argument("--layouts", default="coo,csr")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    try:
        device = gs.backend.canonical_device(args.device, "warmup")
    except (RuntimeError, ValueError, TypeError) as e:
        print(e)
        return 2
    layouts = [s.strip() for s in args.layouts.split(",")]
    dtypes = [s.strip() for s in args.dtypes.split(",")]
    bad = [s for s in layouts if s not in ("coo", "csr")]
    if bad:
        print(f"warmup: --layouts takes coo and csr, got {', '.join(bad)}")
        return 2
    supported = {np.dtype(d) for d in gs.backend.get_backend(device).supported_dtypes}
    for d in dtypes:
        try:
            ok = np.dtype(d) in supported
        except TypeError:
            ok = False
        if not ok:
            names = ", ".join(sorted(str(t) for t in supported))
            print(f"warmup: --dtypes: {d!r} is not one the {device} backend computes with "
                  f"({names})")
            return 2
    total = 0.0
    for dtype in dtypes:
        for layout in layouts:
            seconds = warm(dtype, layout, device)
            total += seconds
            print(f"{device} {dtype} {layout}: {seconds:.2f} s")
    print(f"{device} total: {total:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
