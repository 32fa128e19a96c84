"""``python -m bench.gpu_checks``: the GPU facts the CPU cannot check, as one Markdown
report (run by ``bench/gpu_session.sh`` when a GPU is lent).

1. cuSPARSE CSR_ALG3 on row-major B/C: which (dtype, index dtype, p) it accepts (our
   kernel otherwise) and whether the product matches the float64 reference.
2. Bitwise repeatability x3 of forward + backward on power-law rows at p in {1, 2, 32}.
3. The memory pool's high-water mark of one large forward + backward.
4. bfloat16 end to end (when CuPy supports it), float16 accuracy.
5. A non-default stream.

Under the CuPy stand-in (``GPU_SPARSE_CUDA_STANDIN=1``) it runs as a check of itself; its
figures then describe the stand-in's NumPy models, not a GPU.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

import gpu_sparse as gs


def _powerlaw(rng, m, n, nnz):
    w = 1.0 / np.arange(1, m + 1) ** 0.9
    rows = rng.choice(m, nnz, p=w / w.sum())
    return np.stack([rows, rng.integers(0, n, nnz)])


def check_cusparse(lines):
    from gpu_sparse.cuda import get_cuda_backend
    from gpu_sparse.cuda.backend import CuSparseFallbackWarning
    rng = np.random.default_rng(0)
    lines += ["## cuSPARSE CSR_ALG3 with row-major operands", "",
              "| dtype | index | p | path | max rel err |", "|---|---|---:|---|---:|"]
    m = n = 4096
    idx = _powerlaw(rng, m, n, 200_000)
    for dt in (np.float32, np.float64, np.complex64, np.complex128):
        for index in (np.int32, np.int64):
            for p in (1, 7, 64):
                backend = get_cuda_backend(0)
                backend._cusparse_ok.clear()
                vals = rng.standard_normal(idx.shape[1]).astype(dt)
                a = gs.sparse_coo_tensor(idx, vals, (m, n), device="cuda").coalesce()
                b_host = rng.standard_normal((n, p)).astype(dt)
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always", CuSparseFallbackWarning)
                    crow, col, _ = a.pattern.csr
                    crow, col = crow.astype(index), col.astype(index)
                    out = backend.spmm(crow, col, a.array, gs.tensor(b_host, device="cuda")
                                       .array)
                path = ("kernel (p = 1)" if p == 1 else
                        "kernel (NOT_SUPPORTED)" if w else "cuSPARSE")
                ref = a.detach().cpu().to_scipy().astype(np.complex128) @ b_host
                got = np.asarray(out.get())
                err = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-300))
                lines.append(f"| {np.dtype(dt).name} | {np.dtype(index).name} | {p} | "
                             f"{path} | {err:.2e} |")


def check_repeatability(lines):
    rng = np.random.default_rng(1)
    lines += ["", "## Bitwise repeatability (3 runs, power-law rows, float32)", "",
              "| p | layout | identical |", "|---:|---|---|"]
    m = n = 20000
    idx = _powerlaw(rng, m, n, 500_000)
    vals = rng.standard_normal(idx.shape[1]).astype(np.float32)
    for p in (1, 2, 32):
        b_host = rng.standard_normal((n, p)).astype(np.float32)
        g_host = rng.standard_normal((m, p)).astype(np.float32)
        for layout in ("coo", "csr"):
            runs = []
            for _ in range(3):
                a = gs.sparse_coo_tensor(idx, vals, (m, n), device="cuda")
                a = (a.to_sparse_csr() if layout == "csr" else a).requires_grad_()
                b = gs.tensor(b_host, device="cuda", requires_grad=True)
                out = gs.sparse.mm(a, b)
                out.backward(gs.tensor(g_host, device="cuda"))
                runs.append([x.detach().cpu().array.tobytes()
                             for x in (out, a.grad, b.grad)])
            same = all(r == runs[0] for r in runs)
            lines.append(f"| {p} | {layout} | {'yes' if same else 'NO'} |")


def check_memory(lines):
    """Bytes the pool holds at its highest through one forward + backward, against the
    inputs and outputs the product needs (the dense m x n product would be 4 TiB)."""
    import cupy
    pool = cupy.get_default_memory_pool()
    rng = np.random.default_rng(3)
    m = n = 2**20
    nnz, p = 2**21, 16
    idx = np.stack([rng.integers(0, m, nnz), rng.integers(0, n, nnz)])
    lines += ["", "## Memory pool high-water mark (m = n = 2^20, nnz = 2^21, p = 16, "
              "float32)", "", "| layout | pool high-water MiB | inputs + outputs MiB |",
              "|---|---:|---:|"]
    for layout in ("coo", "csr"):
        pool.free_all_blocks()
        base = pool.total_bytes()
        a = gs.sparse_coo_tensor(idx, rng.standard_normal(nnz).astype(np.float32), (m, n),
                                 device="cuda")
        a = (a.to_sparse_csr() if layout == "csr" else a).requires_grad_()
        b = gs.tensor(rng.standard_normal((n, p)).astype(np.float32), device="cuda",
                      requires_grad=True)
        out = gs.sparse.mm(a, b)
        out.backward(gs.ones(m, p, device="cuda"))
        cupy.cuda.get_current_stream().synchronize()
        high = pool.total_bytes() - base
        need = (nnz * (4 + 16) + 2 * n * p * 4 + 2 * m * p * 4)  # values, grads, indices
        lines.append(f"| {layout} | {high / 2**20:.1f} | {need / 2**20:.1f} |")
        del a, b, out


def check_half_and_stream(lines):
    import cupy
    rng = np.random.default_rng(2)
    lines += ["", "## Half precision and streams", ""]
    idx = _powerlaw(rng, 3000, 2000, 40_000)
    vals = rng.standard_normal(idx.shape[1])
    b_host = rng.standard_normal((2000, 64))
    # the float64 reference on the host (a cupyx matrix would refuse a NumPy operand)
    ref = gs.sparse_coo_tensor(idx, vals, (3000, 2000), device="cpu").to_scipy() @ b_host
    for name in ("float16", "bfloat16"):
        try:
            dt = np.dtype(name) if name == "float16" else np.dtype(
                __import__("ml_dtypes").bfloat16)
            a = gs.sparse_coo_tensor(idx, vals.astype(dt), (3000, 2000), device="cuda")
            out = gs.sparse.mm(a, gs.tensor(b_host.astype(dt), device="cuda"))
            got = out.cpu().array.astype(np.float64)
            err = np.abs(got - ref).max() / np.abs(ref).max()
            lines.append(f"- {name}: max rel err {err:.2e}")
        except Exception as e:  # report, do not stop the session
            lines.append(f"- {name}: {type(e).__name__}: {e}")
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        a = gs.sparse_coo_tensor(idx, vals, (3000, 2000), device="cuda")
        out = gs.sparse.mm(a, gs.tensor(b_host, device="cuda"))
        stream.synchronize()
        err = np.abs(out.cpu().array - ref).max() / np.abs(ref).max()
    lines.append(f"- non-default stream: max rel err {err:.2e}")


def main() -> None:
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    lines = [f"## GPU checks ({props['name'].decode()}, {time.strftime('%Y-%m-%d')})", ""]
    for check in (check_cusparse, check_repeatability, check_memory, check_half_and_stream):
        try:
            check(lines)
        except Exception as e:  # one failing check must not hide the others
            lines.append(f"\n**{check.__name__} failed**: {type(e).__name__}: {e}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
