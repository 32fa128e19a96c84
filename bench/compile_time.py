"""``python -m bench.compile_time [--repeat 3] [--checkout PATH]``: what the CPU kernels'
compilation costs a user, cold and warm.

Cold: a fresh process with an empty kernel cache (``NUMBA_CACHE_DIR`` a new temporary
directory) imports gpu_sparse, then runs, for each dtype and layout in turn, the first
forward + backward of ``sparse.addmm`` (1000 x 1000, 5000 entries in random order, p =
16; the tensor is built and, for CSR, converted inside the timed span). Each cell is the
time that case added, so the first one pays for the kernels the others share. Warm: a
second fresh process with the same cache directory does the same; its "process" line is
the wall time of the whole process from the outside, interpreter start and import
included. Each round uses a new cache directory; the table shows medians over rounds.
"cold CPU" is the CPU time of the same spans (compilation is single-threaded), less
moved than wall time by other work on a shared machine.

``--checkout`` times another checkout's code (a worktree of an earlier commit, say) with
this script, for a before/after table.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Optional

HERE = pathlib.Path(__file__).resolve().parent.parent
DTYPES = ("float32", "float64", "complex64", "complex128")
LAYOUTS = ("coo", "csr")

# Runs in the child: timings of the import and of each case, as one JSON line.
_CHILD = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import numpy as np
import gpu_sparse as gs
out = {"import": (time.perf_counter() - t0, time.process_time() - c0)}
rng = np.random.default_rng(0)
m = n = 1000
nnz, p = 5000, 16
idx = np.stack([rng.integers(0, m, nnz), rng.integers(0, n, nnz)])
vals = rng.standard_normal(nnz)
b_host = rng.standard_normal((n, p))
c_host = rng.standard_normal((m, p))
g_host = rng.standard_normal((m, p))
for dtype in sys.argv[1].split(","):
    for layout in sys.argv[2].split(","):
        t, ct = time.perf_counter(), time.process_time()
        a = gs.sparse_coo_tensor(idx, vals, (m, n), dtype=dtype)
        a = (a.to_sparse_csr() if layout == "csr" else a).requires_grad_()
        b = gs.tensor(b_host, dtype=dtype, requires_grad=True)
        c = gs.tensor(c_host, dtype=dtype)
        gs.sparse.addmm(c, a, b, beta=0.5, alpha=2.0).backward(gs.tensor(g_host, dtype=dtype))
        assert a.grad is not None and b.grad is not None
        out[f"{dtype} {layout}"] = (time.perf_counter() - t, time.process_time() - ct)
print(json.dumps(out))
"""


def run_process(checkout: pathlib.Path, cache: str, dtypes: str, layouts: str) -> dict:
    """One fresh process: its JSON timings plus "process", the wall time seen outside."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(checkout))
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", _CHILD, dtypes, layouts], cwd=checkout,
                         env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"compile_time: the timed process failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process"] = (wall, float("nan"))
    return out


def one_round(checkout: pathlib.Path, dtypes: str, layouts: str) -> tuple:
    with tempfile.TemporaryDirectory(prefix="gpu_sparse-compile-") as cache:
        cold = run_process(checkout, cache, dtypes, layouts)
        warm = run_process(checkout, cache, dtypes, layouts)
    return cold, warm


def table(rounds: list, cases: list) -> str:
    """Markdown: cold wall and CPU seconds, warm wall seconds (medians over rounds)."""
    def med(which: int, key: str, col: int = 0) -> float:
        return statistics.median(r[which][key][col] for r in rounds)

    def total(which: int, col: int = 0) -> float:
        return statistics.median(sum(r[which][k][col] for k in cases) for r in rounds)

    def row(name: str, key: str) -> str:
        return f"| {name} | {med(0, key):.2f} | {med(0, key, 1):.2f} | {med(1, key):.2f} |"

    lines = ["| first forward + backward | cold (s) | cold CPU (s) | warm (s) |",
             "|---|---:|---:|---:|", row("import gpu_sparse", "import")]
    lines += [row(k, k) for k in cases]
    lines.append(f"| all {len(cases)} cases (import excluded) | {total(0):.2f} | "
                 f"{total(0, 1):.2f} | {total(1):.2f} |")
    lines.append(f"| whole process (start, import, all cases) | {med(0, 'process'):.2f} "
                 f"| | {med(1, 'process'):.2f} |")
    return "\n".join(lines)


def main(argv: Optional[list] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="rounds (new cache each)")
    ap.add_argument("--checkout", type=pathlib.Path, default=HERE,
                    help="the checkout whose code is timed (default: this one)")
    ap.add_argument("--dtypes", default=",".join(DTYPES))
    ap.add_argument("--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--json", action="store_true", help="print the raw rounds too")
    args = ap.parse_args(argv)
    checkout = args.checkout.resolve()
    cases = [f"{d} {lay}" for d in args.dtypes.split(",") for lay in args.layouts.split(",")]
    rounds = []
    for i in range(args.repeat):
        rounds.append(one_round(checkout, args.dtypes, args.layouts))
        print(f"round {i + 1}/{args.repeat}: cold {rounds[-1][0]['process'][0]:.1f} s, "
              f"warm {rounds[-1][1]['process'][0]:.2f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(rounds))
    print(f"checkout: {checkout}; median of {args.repeat} rounds")
    print(table(rounds, cases))


if __name__ == "__main__":
    main()
