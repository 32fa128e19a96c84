"""``python -m bench.conversions``: coalescing and COO -> CSR against SciPy, one table.

Pairs, each doing the same job:
- coalesce (COO -> sorted COO, duplicates summed): ``t.coalesce()`` vs SciPy
  ``coo_matrix.sum_duplicates()``;
- canonical CSR (sorted, duplicates summed): ``t.to_sparse_csr()`` vs SciPy
  ``tocsr()`` + ``sum_duplicates()``;
- CSR pattern of a COO (duplicates kept, what the products cache): the backend's
  ``coo_to_csr`` vs SciPy ``tocsr()``.
"""

import datetime
import pathlib
import time

import numpy as np
import scipy.sparse as sp

import gpu_sparse as gs
from cpu_backend import BACKEND

from . import cases


def median_ms(f, repeats=7):
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e3


def main() -> int:
    rows = ["| case | op | gpu_sparse ms | SciPy ms | speedup |", "|---|---|---:|---:|---:|"]
    for case in [cases.Case(m, nnz, 16, d) for m in (2**14, 2**17) for nnz in (2**20, 2**22)
                 for d in ("uniform", "powerlaw")]:
        idx, vals, *_ = cases.make_problem(case)
        shape = (case.m, case.n)
        r, c = idx[0].copy(), idx[1].copy()

        def ours_t():
            return gs.sparse_coo_tensor(idx, vals, shape, check_invariants=False)

        def sc_coo():
            return sp.coo_matrix((vals, (r, c)), shape=shape)

        def sc_canon():
            x = sc_coo().tocsr()
            x.sum_duplicates()

        def sc_dups():
            sc_coo().sum_duplicates()

        # the check: same coalesced result
        mine = ours_t().coalesce()
        ref = sc_coo().tocsr()
        ref.sum_duplicates()
        ref = ref.tocoo()
        assert np.array_equal(mine.indices().numpy(), np.stack([ref.row, ref.col]))
        assert np.allclose(mine.values().numpy(), ref.data, rtol=1e-5, atol=1e-6)
        pairs = [("coalesce", lambda: ours_t().coalesce(), sc_dups),
                 ("canonical CSR", lambda: ours_t().to_sparse_csr(), sc_canon),
                 ("CSR pattern", lambda: BACKEND.coo_to_csr(r, c, *shape),
                  lambda: sc_coo().tocsr())]
        for name, f_ours, f_sc in pairs:
            a, b = median_ms(f_ours), median_ms(f_sc)
            rows.append(f"| {case.name.rsplit(' p=', 1)[0]} {case.dist} | {name} | {a:.1f} "
                        f"| {b:.1f} | {b / a:.2f}x |")
            print(rows[-1], flush=True)
    out = pathlib.Path(__file__).parent / "results" / \
        f"conversions-cpu-{datetime.date.today().isoformat()}.md"
    out.write_text("# Coalescing and COO -> CSR vs SciPy (cpu)\n\n"
                   "- command: `python -m bench.conversions`\n"
                   "- medians of 7 after a warm-up; both sides build their matrix from the "
                   "same (2, nnz) indices in random order; results checked equal first\n\n"
                   + "\n".join(rows) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
