"""The CPU kernels' contracts where they were shaped to compile less: one SDDMM for both
layouts, conjugation by the caller, the hand-written merge sort of coalescing, and one
specialization per dtype for the products whatever arrays the callers pass."""

import json
import pathlib
import subprocess
import sys

import numba
import numpy as np
import pytest

import cpu_backend.backend as cpu
import gpu_sparse as gs
from cpu_backend import BACKEND
from cpu_backend import _kernels as kernels

from .helpers import DTYPE_IDS, DTYPES, TOL, cpu_only_env, randn

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _csr(rng, m, n, row_lengths):
    """A CSR pattern (int32) with the given entries per row, sorted distinct columns."""
    crow = np.zeros(m + 1, np.int64)
    crow[1:] = np.cumsum(row_lengths)
    col = np.concatenate([np.sort(rng.choice(n, k, replace=False)) for k in row_lengths])
    return crow.astype(np.int32), col.astype(np.int32)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("conj_b", [False, True])
def test_sddmm_csr_and_coo_agree_bitwise_and_with_numpy(dtype, conj_b):
    rng = np.random.default_rng(1)
    m, n, p = 300, 200, 7
    # empty rows, one long row and short ones: chunk bounds fall inside rows and
    # between empty rows, where the bisection must find the right row
    lengths = rng.integers(0, 4, m)
    lengths[::3] = 0
    lengths[17] = 150
    crow, col = _csr(rng, m, n, lengths)
    rows = np.repeat(np.arange(m), np.diff(crow)).astype(np.int64)
    a, b = randn(rng, (m, p), dtype), randn(rng, (n, p), dtype)
    c = randn(rng, (rows.shape[0],), dtype)
    kw = {"alpha": 2.0, "beta": 0.5, "c": c, "conj_b": conj_b}
    out_csr = BACKEND.sddmm(None, col, a, b, crow=crow, **kw)
    out_coo = BACKEND.sddmm(rows, col.astype(np.int64), a, b, **kw)
    assert np.array_equal(out_csr.view(np.uint8), out_coo.view(np.uint8))
    bb = np.conj(b) if conj_b else b
    ref = 2.0 * np.einsum("kl,kl->k", a[rows].astype(np.complex128),
                          bb[col].astype(np.complex128)) + 0.5 * c
    rtol, atol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(out_csr, ref, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=["c64", "c128"])
def test_spmm_conj_conjugates_the_values_not_the_operand(dtype):
    rng = np.random.default_rng(2)
    crow, col = _csr(rng, 40, 30, rng.integers(0, 12, 40))
    vals = randn(rng, (col.shape[0],), dtype)
    b = randn(rng, (30, 5), dtype)
    perm = rng.permutation(col.shape[0]).astype(np.int32)
    dense = np.zeros((40, 30), np.complex128)
    rows = np.repeat(np.arange(40), np.diff(crow))
    dense[rows, col] = vals[perm]
    got = BACKEND.spmm(crow, col, vals, b, alpha=1.5, perm=perm, conj=True)
    rtol, atol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(got, 1.5 * np.conj(dense) @ b, rtol=rtol, atol=atol)
    plain = BACKEND.spmm(crow, col, vals[perm], b, alpha=1.5, conj=True)  # no perm
    assert np.array_equal(plain, got)
    assert np.array_equal(vals, vals.copy())  # the caller's values untouched


@pytest.mark.parametrize("row_length", [1, 64, 65, 200, 1000])
def test_coalesce_sorts_long_rows_stably_and_sums_in_input_order(row_length):
    rng = np.random.default_rng(3)
    n_cols = max(4, row_length // 3)  # many repeats per column
    cols = rng.integers(0, n_cols, row_length)
    rows = np.full(row_length, 1)
    values = (rng.standard_normal(row_length) * 10.0 ** rng.integers(-6, 7, row_length)
              ).astype(np.float32)
    r, c, v, inv = BACKEND.coalesce(rows, cols, values, (3, n_cols))
    uniq = np.unique(cols)
    assert np.array_equal(r, np.ones(uniq.shape[0])) and np.array_equal(c, uniq)
    assert np.array_equal(c[inv], cols)
    for o, j in enumerate(uniq):  # left-to-right float32 sums, bit for bit
        ks = np.flatnonzero(cols == j)
        s = values[ks[0]]
        for k in ks[1:]:
            s = np.float32(s + values[k])
        assert v[o].tobytes() == s.tobytes()


def test_sort_within_rows_keeps_equal_keys_in_perm_order():
    rng = np.random.default_rng(4)
    keys = rng.integers(0, 5, 300).astype(np.int32)
    perm = np.arange(300, dtype=np.int32)
    ptr = np.array([0, 10, 10, 300], np.int32)
    k, p = keys.copy(), perm.copy()
    kernels.sort_within_rows(ptr, p, k)
    for s, e in [(0, 10), (10, 300)]:
        order = np.argsort(keys[s:e], kind="stable") + s
        assert np.array_equal(k[s:e], keys[order]) and np.array_equal(p[s:e], perm[order])


_SIGNATURES = """
import json, sys
import numpy as np
import gpu_sparse as gs
from cpu_backend import _kernels as K
rng = np.random.default_rng(0)
idx = np.stack([rng.integers(0, 60, 400), rng.integers(0, 50, 400)])
for layout in ("coo", "csr", "coo"):
    a = gs.sparse_coo_tensor(idx, rng.standard_normal(400), (60, 50), dtype="float32")
    a = (a.to_sparse_csr() if layout == "csr" else a).requires_grad_()
    b = gs.tensor(rng.standard_normal((50, 8)), dtype="float32", requires_grad=True)
    bias = gs.tensor(rng.standard_normal(8), dtype="float32")  # a broadcast, read-only c
    gs.sparse.addmm(bias, a, b).sum().backward()
    gs.sparse.sampled_addmm(a.detach(), gs.tensor(rng.standard_normal((60, 8)),
        dtype="float32"), gs.tensor(rng.standard_normal((8, 50)), dtype="float32"))
print(json.dumps({name: len(getattr(K, name).signatures)
                  for name in ("spmm_csr", "sddmm", "sum_runs")}))
"""


def test_one_compiled_product_per_dtype_for_both_layouts():
    """float32 COO and CSR, forward, backward and sampled_addmm, with writable and
    read-only operands: one SpMM and one SDDMM specialization (a fresh process, so that
    other tests' dtypes do not count)."""
    env = cpu_only_env(PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", _SIGNATURES], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    assert counts == {"spmm_csr": 1, "sddmm": 1, "sum_runs": 1}, counts


def test_small_products_run_on_one_thread_with_the_same_bits(rng):
    """Below SERIAL_WORK a product runs on the calling thread: the same chunks in the same
    order, so the same bits as on the whole pool; the thread count is restored."""
    idx = np.stack([rng.integers(0, 300, 4000), rng.integers(0, 200, 4000)])
    a = gs.sparse_coo_tensor(idx, rng.standard_normal(4000), (300, 200))
    b = gs.tensor(rng.standard_normal((200, 3)))
    threads = numba.get_num_threads()
    small = gs.sparse.mm(a, b).numpy()
    assert numba.get_num_threads() == threads
    old = cpu.SERIAL_WORK
    try:
        cpu.SERIAL_WORK = 0  # every product on the pool
        pooled = gs.sparse.mm(a, b).numpy()
    finally:
        cpu.SERIAL_WORK = old
    np.testing.assert_array_equal(small, pooled)
