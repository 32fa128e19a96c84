"""``python -m bench [--device cpu|cuda] [--quick]``: gpu_sparse against PyTorch and
SciPy/NumPy, side by side in one run. Prints a Markdown table and writes it with a PNG
plot to ``bench/results/``. Every case first checks gpu_sparse's forward and gradients
against a float64 reference, so a fast wrong answer is never reported."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import numpy as np

import gpu_sparse as gs

from . import cases
from . import suite
from .report import write_report

MIB = 2**20


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def io_bytes(case: cases.Case, layout: str, itemsize: int):
    """(inputs, outputs) bytes: indices, values, B, C, G in; out, mat1 and mat2 grads out."""
    m, n, nnz, p = case.m, case.n, case.nnz, case.p
    idx = 16 * nnz if layout == "coo" else 8 * (m + 1) + 8 * nnz
    inputs = idx + itemsize * (nnz + n * p + 2 * m * p)
    outputs = itemsize * (m * p + nnz + n * p)
    return inputs, outputs


def run_family(case: cases.Case, family: str, device: str, repeats: int, quick: bool):
    """Measure one family of implementations (gpu_sparse, torch or scipy) on a case.

    Runs in a process of its own (see :func:`run_case`), so that no library's idle
    worker threads compete with another's measurement and every peak-memory reading
    starts from a clean heap."""
    rows = []
    idx, vals, B, Cm, G = cases.make_problem(case)
    itemsize = np.dtype(case.dtype).itemsize
    tol = 1e-4 if case.dtype == "float32" else 3e-2
    if case.dtype == "float32":
        ref = suite.reference(idx, vals, B, Cm, G)
    else:  # the half-precision inputs, exactly
        h = [x.astype(case.dtype).astype(np.float32) for x in (vals, B, Cm, G)]
        ref = suite.reference(idx, *h)
    gpu = device != "cpu"
    # load every kernel and library path once, so first-call memory counts data only
    warm = cases.make_problem(cases.Case(64, 256, 8, "uniform"))
    for layout in ("coo", "csr"):
        try:
            {"gpu_sparse": lambda: suite.Ours(device, layout, *warm, case.dtype),
             "torch": lambda: suite.Torch(device, layout, *warm, case.dtype),
             "scipy": lambda: suite.SciPy(*warm)}[family]().results()
        except Exception:  # a peer that cannot run this case reports it below
            pass
    if family == "gpu_sparse":
        for layout in ("coo", "csr"):
            impl = suite.Ours(device, layout, idx, vals, B, Cm, G, case.dtype)
            mem = suite.first_call_memory(impl, "cupy" if gpu else None)
            o, ga, gb = impl.results()
            errs = (suite.rel_err(o, ref[0]), suite.rel_err(ga, ref[1]), suite.rel_err(gb, ref[2]))
            if max(errs) > tol:
                raise SystemExit(f"{case.name}: gpu_sparse {layout} disagrees with the "
                                 f"float64 reference (out, mat1.grad, mat2.grad errors "
                                 f"{errs})")
            r = suite.measure(impl, repeats)
            r.update(impl="gpu_sparse", layout=layout, check=max(errs), mem=mem)
            rows.append(r)
            del impl
    elif family == "torch":
        for layout in ("coo", "csr"):
            dense_bytes = case.m * case.n * itemsize
            # PyTorch's COO backward forms the dense m x n product (grad @ mat2ᵀ)
            can_bwd = layout == "csr" or (dense_bytes <= 4 * 2**30 and not quick)
            try:
                impl = suite.Torch(device, layout, idx, vals, B, Cm, G, case.dtype)
                mem = suite.first_call_memory(impl, "torch" if gpu else None, backward=can_bwd)
                o, _, _ = impl.results()
                err = suite.rel_err(o, ref[0])
                if err > tol:
                    raise RuntimeError(f"forward disagrees with the reference ({err:.1e})")
                r = suite.measure(impl, repeats, backward=can_bwd)
                r.update(impl="torch", layout=layout, check=err, mem=mem)
                if not can_bwd:
                    r["note"] = ("backward skipped in --quick (seconds per call)" if quick
                                 else f"backward not run: needs the dense m x n product "
                                      f"({dense_bytes / 2**30:.0f} GiB)")
            except Exception as e:  # out of memory, unsupported: reported, not hidden
                r = {"impl": "torch", "layout": layout, "note": f"failed: {e}"[:120]}
            rows.append(r)
            impl = None
    else:
        impl = suite.SciPy(idx, vals, B, Cm, G)
        mem = suite.first_call_memory(impl)
        o, ga, gb = impl.results()
        err = max(suite.rel_err(o, ref[0]), suite.rel_err(ga, ref[1]), suite.rel_err(gb, ref[2]))
        r = suite.measure(impl, repeats)
        r.update(impl="scipy", layout="csr", check=err, mem=mem)
        rows.append(r)
    return rows


def run_case(case: cases.Case, device: str, repeats: int, torch, log, quick: bool = False):
    families = ["gpu_sparse"] + (["torch"] if torch is not None else []) + \
        (["scipy"] if device == "cpu" else [])
    rows = []
    for fam in families:
        arg = json.dumps({"case": dataclasses.asdict(case), "family": fam, "device": device,
                          "repeats": repeats, "quick": quick, "budget": suite.TIME_BUDGET_S})
        res = subprocess.run([sys.executable, "-m", "bench.worker", arg],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"{case.name}: the {fam} measurement failed:\n"
                             f"{res.stderr[-3000:]}")
        got = json.loads(res.stdout.strip().splitlines()[-1])
        for r in got:
            what = (f"fwd {r['fwd'] * 1e3:.2f} ms" if "fwd" in r else "") + \
                (f", fwd+bwd {r['fb'] * 1e3:.2f} ms" if "fb" in r else "") + \
                (f" ({r['note']})" if "note" in r else "")
            log(f"  {r['impl']} {r['layout']}: {what}")
        rows += got
    itemsize = np.dtype(case.dtype).itemsize
    ours = {r["layout"]: r for r in rows if r["impl"] == "gpu_sparse"}
    for r in rows:
        r["case"] = case.name
        base = ours[r["layout"]] if r["impl"] != "gpu_sparse" else None
        if base is not None:
            for k in ("fwd", "bwd", "fb"):
                if k in r and k in base:
                    r[f"ratio_{k}"] = r[k] / base[k]
        if "mem" in r:
            inp, outp = io_bytes(case, r["layout"], itemsize)
            r["mem_ratio"] = (inp + r["mem"]) / (inp + outp)
    return rows


def _distinct(arr) -> int:
    return int(np.unique(np.asarray(arr)).shape[0])


def spmm_traffic(a, p: int, itemsize: int, beta: float) -> int:
    """Compulsory bytes of ``out = alpha * A @ B + beta * C`` for a coalesced COO ``a``
    (int32 CSR indices on the GPU): every array read or written once. That is the
    values and column indices, the row pointer, each row of B that some column needs,
    C read when ``beta != 0`` and the output written. (The implementation moves more:
    it copies C into the output before cuSPARSE reads and rewrites it, 4 m p instead of
    2 m p element transfers; the model does not credit that copy, so the reported
    fraction of bandwidth is what the product needs, not what we spent.)"""
    m = a.shape[0]
    idx = a.indices().cpu().numpy()
    pattern = a.nnz * (4 + itemsize) + 4 * (m + 1)
    b_rows = _distinct(idx[1]) * p * itemsize
    c_read = m * p * itemsize if beta != 0 else 0
    return pattern + b_rows + c_read + m * p * itemsize


def sddmm_traffic(a, p: int, itemsize: int) -> int:
    """Compulsory bytes of SDDMM at ``a``'s entries: the int32 row and column of each
    entry, each row of the two dense operands that some entry needs, the output values."""
    idx = a.indices().cpu().numpy()
    dense = (_distinct(idx[0]) + _distinct(idx[1])) * p * itemsize
    return a.nnz * (8 + itemsize) + dense


def gpu_kernel_rows(case: cases.Case, repeats: int, log):
    """SpMM and SDDMM alone against the bytes-moved roofline."""
    import cupy
    idx, vals, B, Cm, G = cases.make_problem(case)
    dt = np.dtype(case.dtype)
    s = dt.itemsize
    a = gs.sparse_coo_tensor(idx, vals.astype(dt), (case.m, case.n), device="cuda")
    a = a.coalesce()
    b = cupy.asarray(B.astype(dt))
    c = cupy.asarray(Cm.astype(dt))
    g = cupy.asarray(G.astype(dt))
    p = case.p
    sync = cupy.cuda.get_current_stream().synchronize
    out = []
    spmm_bytes = spmm_traffic(a, p, s, beta=0.5)
    t = float(np.median(suite.timed(
        lambda: a.pattern.spmm(a.array, b, alpha=2.0, beta=0.5, c=c), sync, repeats)))
    out.append({"kernel": "spmm", "case": case.name, "ms": t * 1e3, "bytes": spmm_bytes})
    sddmm_bytes = sddmm_traffic(a, p, s)
    t = float(np.median(suite.timed(lambda: a.pattern.sddmm(g, b, alpha=2.0), sync,
                                    repeats)))
    out.append({"kernel": "sddmm", "case": case.name, "ms": t * 1e3, "bytes": sddmm_bytes})
    for r in out:
        r["tbps"] = r["bytes"] / (r["ms"] * 1e-3) / 1e12
        r["frac"] = r["tbps"] / 4.3
        log(f"  {r['kernel']}: {r['ms']:.3f} ms, {r['tbps']:.2f} TB/s "
            f"({100 * r['frac']:.0f}% of 4.3 TB/s)")
    return out


def machine(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    desc = f"{cpu}, {os.cpu_count()} cores"
    if device != "cpu":
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(0)
        desc = f"{props['name'].decode()} ({desc} host)"
    return desc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="a small subset, under a minute")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    torch = _torch()
    repeats = args.repeats or (3 if args.quick else 5)
    if args.quick:
        suite.TIME_BUDGET_S = 0.4
    case_list = (cases.cpu_cases(args.quick) if args.device == "cpu"
                 else cases.gpu_cases(args.quick))

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    # compile the kernels outside the measurements
    warm = cases.Case(64, 256, 8, "uniform")
    for layout in ("coo", "csr"):
        suite.Ours("cuda" if args.device == "cuda" else "cpu", layout,
                   *cases.make_problem(warm), "float32").results()
    t_start = time.time()
    rows, kernel_rows = [], []
    for case in case_list:
        log(case.name)
        rows += run_case(case, args.device, repeats, torch, log, args.quick)
        if args.device == "cuda":
            kernel_rows += gpu_kernel_rows(case, repeats, log)
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(args.device),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "versions": (f"gpu_sparse {gs.__version__}, numpy {np.__version__}, "
                     + (f"torch {torch.__version__}, " if torch else "torch not installed, ")
                     + f"python {platform.python_version()}"),
        "repeats": repeats,
        "seconds": time.time() - t_start,
    }
    path = write_report(rows, kernel_rows, meta, args.device, args.quick,
                        pathlib.Path(args.out))
    print(path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
