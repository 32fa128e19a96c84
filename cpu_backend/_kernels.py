"""Compiled CPU kernels (numba): SpMM, SDDMM, sorting and coalescing.

Each kernel is a contract on raw arrays, like SciPy's ``sparsetools``:

* ``bounds`` (n_chunks + 1,) int64 splits the work into chunks that the thread pool takes
  (rows for SpMM, nonzeros for SDDMM). Every output element is computed by exactly one
  thread in a fixed order, so results are bitwise the same for any thread count.
* Index arrays are int32 or int64; value arrays and scalars share one dtype
  (float32, float64, complex64, complex128); dense operands are C-contiguous.

Kernels are compiled on first use for each dtype combination and cached on disk
(``__pycache__`` beside this file, or a per-user directory when that one is read-only:
``_cache.py``), so later processes load them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._cache import kernel_cache

# a disk cache only where numba has somewhere to write (a read-only install must import)
_CACHE = CACHED = kernel_cache()

# Reassociation lets LLVM vectorise the dot product of SDDMM; the order is still fixed at
# compile time, so results stay deterministic run to run. No nnan/ninf: NaN must propagate.
_DOT_MATH = {"reassoc", "contract"}


@njit(inline="always")
def _value(vals, conj, k):
    v = vals[k]
    return np.conj(v) if conj else v


@njit(parallel=True, cache=_CACHE, nogil=True)
def spmm_csr(bounds, crow, col, vals, conj, b, alpha, beta, c, use_c, out):
    """out[i, :] = alpha * sum_k op(vals[k]) * b[col[k], :] + beta * c[i, :].

    I bounds[t+1]      row chunks
    I crow[n_rows+1]   row pointer
    I col[nnz]         column of each entry
    T vals[nnz]        values in CSR order (the caller gathers them through perm first)
    T b[n, p]          dense right operand
    T c[n_rows, p]     addend when use_c (must not be out)
    T out[n_rows, p]   result; row i accumulates in place, then gets alpha and beta * c

    Eight nonzeros per pass over the output row: eight independent row gathers in flight
    and an eighth of the row's loads and stores (measured 1.3-1.4x over one at a time at
    p = 16 and 128). The summation order is fixed, so results are deterministic.
    """
    p = b.shape[1]
    for t in prange(bounds.shape[0] - 1):
        for i in range(bounds[t], bounds[t + 1]):
            for l in range(p):
                out[i, l] = 0
            k = crow[i]
            e = crow[i + 1]
            while k + 7 < e:
                v0 = _value(vals, conj, k)
                v1 = _value(vals, conj, k + 1)
                v2 = _value(vals, conj, k + 2)
                v3 = _value(vals, conj, k + 3)
                v4 = _value(vals, conj, k + 4)
                v5 = _value(vals, conj, k + 5)
                v6 = _value(vals, conj, k + 6)
                v7 = _value(vals, conj, k + 7)
                j0 = col[k]
                j1 = col[k + 1]
                j2 = col[k + 2]
                j3 = col[k + 3]
                j4 = col[k + 4]
                j5 = col[k + 5]
                j6 = col[k + 6]
                j7 = col[k + 7]
                for l in range(p):
                    out[i, l] += (((v0 * b[j0, l] + v1 * b[j1, l])
                                   + (v2 * b[j2, l] + v3 * b[j3, l]))
                                  + ((v4 * b[j4, l] + v5 * b[j5, l])
                                     + (v6 * b[j6, l] + v7 * b[j7, l])))
                k += 8
            while k < e:
                v0 = _value(vals, conj, k)
                j0 = col[k]
                for l in range(p):
                    out[i, l] += v0 * b[j0, l]
                k += 1
            if use_c:
                for l in range(p):
                    out[i, l] = alpha * out[i, l] + beta * c[i, l]
            else:
                for l in range(p):
                    out[i, l] = alpha * out[i, l]


@njit(inline="always", fastmath=_DOT_MATH)
def _dot(a, i, b, j, p, conj_b, zero):
    """sum_l a[i, l] * op(b[j, l]), op = conj when conj_b."""
    s = zero
    if conj_b:
        for l in range(p):
            s += a[i, l] * np.conj(b[j, l])
    else:
        for l in range(p):
            s += a[i, l] * b[j, l]
    return s


@njit(parallel=True, cache=_CACHE, nogil=True, fastmath=_DOT_MATH)
def sddmm_coo(bounds, rows, cols, a, b, conj_b, alpha, beta, c, use_c, zero, out):
    """out[k] = alpha * sum_l a[rows[k], l] * op(b[cols[k], l]) + beta * c[k].

    I bounds[t+1]  nonzero chunks
    I rows[nnz], cols[nnz]
    T a[m, p], b[n, p]
    T c[nnz]       addend when use_c
    T zero         0 in the value dtype (types the accumulator)
    T out[nnz]
    """
    p = a.shape[1]
    for t in prange(bounds.shape[0] - 1):
        for k in range(bounds[t], bounds[t + 1]):
            s = _dot(a, rows[k], b, cols[k], p, conj_b, zero)
            out[k] = alpha * s + beta * c[k] if use_c else alpha * s


@njit(parallel=True, cache=_CACHE, nogil=True, fastmath=_DOT_MATH)
def sddmm_csr(bounds, crow, cols, a, b, conj_b, alpha, beta, c, use_c, zero, out):
    """sddmm_coo with the row of each entry given by the CSR row pointer crow[m+1];
    bounds are row chunks. Row a[i, :] stays in cache across the row's entries."""
    p = a.shape[1]
    for t in prange(bounds.shape[0] - 1):
        for i in range(bounds[t], bounds[t + 1]):
            for k in range(crow[i], crow[i + 1]):
                s = _dot(a, i, b, cols[k], p, conj_b, zero)
                out[k] = alpha * s + beta * c[k] if use_c else alpha * s


@njit(cache=_CACHE, nogil=True)
def is_sorted(keys):
    """True when keys[k] <= keys[k+1] for every k."""
    for k in range(keys.shape[0] - 1):
        if keys[k] > keys[k + 1]:
            return False
    return True


@njit(inline="always")
def _key_pointer(keys, n_keys, like):
    """CSR pointer (n_keys + 1,) of integer keys in [0, n_keys): ptr[i] = #keys < i."""
    ptr = np.zeros(n_keys + 1, like.dtype)
    for k in range(keys.shape[0]):
        ptr[keys[k] + 1] += 1
    for i in range(n_keys):
        ptr[i + 1] += ptr[i]
    return ptr


@njit(cache=_CACHE, nogil=True)
def counting_sort(keys, n_keys, like):
    """Stable sort of integer keys in [0, n_keys): returns (ptr[n_keys+1], perm[nnz]).

    ptr is the CSR row pointer of the keys; perm lists input positions in sorted order,
    equal keys in input order. Both have the dtype of ``like`` (int32 or int64).
    """
    nnz = keys.shape[0]
    ptr = _key_pointer(keys, n_keys, like)
    pos = ptr[:-1].copy()
    perm = np.empty(nnz, like.dtype)
    for k in range(nnz):
        r = keys[k]
        perm[pos[r]] = k
        pos[r] += 1
    return ptr, perm


@njit(cache=_CACHE, nogil=True)
def csr_transpose(crow, col, n_cols, like):
    """CSR pattern of the transpose: (crow_t[n_cols+1], col_t[nnz], perm_t[nnz]).

    A stable counting sort by column that writes each entry's row straight from crow,
    so no row array is materialised; perm_t[q] is the position in the original values of
    transposed entry q. Outputs have the dtype of ``like``.
    """
    nnz = col.shape[0]
    ptr = _key_pointer(col, n_cols, like)
    pos = ptr[:-1].copy()
    rows_t = np.empty(nnz, like.dtype)
    perm = np.empty(nnz, like.dtype)
    for i in range(crow.shape[0] - 1):
        for k in range(crow[i], crow[i + 1]):
            j = col[k]
            q = pos[j]
            rows_t[q] = i
            perm[q] = k
            pos[j] = q + 1
    return ptr, rows_t, perm


@njit(parallel=True, cache=_CACHE, nogil=True)
def gather(src, perm, out):
    """out[k] = src[perm[k]] (out may have a narrower integer dtype than src)."""
    for k in prange(perm.shape[0]):
        out[k] = src[perm[k]]


@njit(parallel=True, cache=_CACHE, nogil=True)
def sort_within_rows(ptr, perm, keys):
    """Stable sort of each row segment [ptr[i], ptr[i+1]) of ``keys`` (the columns in
    row order), permuting ``perm`` alongside, in place. Insertion sort for short rows (the
    common case), a merge sort for long ones."""
    for i in prange(ptr.shape[0] - 1):
        s = ptr[i]
        e = ptr[i + 1]
        if e - s < 2:
            continue
        if e - s <= 64:
            for q in range(s + 1, e):
                kq = keys[q]
                pq = perm[q]
                r = q - 1
                while r >= s and keys[r] > kq:
                    keys[r + 1] = keys[r]
                    perm[r + 1] = perm[r]
                    r -= 1
                keys[r + 1] = kq
                perm[r + 1] = pq
            continue
        order = np.argsort(keys[s:e], kind="mergesort")
        seg_k = keys[s:e][order]
        seg_p = perm[s:e][order]
        keys[s:e] = seg_k
        perm[s:e] = seg_p


@njit(parallel=True, cache=_CACHE, nogil=True)
def merge_duplicates(ptr, perm, keys, values, want_inverse):
    """Sum runs of equal (row, column) of a row-sorted, column-sorted pattern.

    ptr[m+1], keys[nnz] (columns, sorted within rows) and perm[nnz] (input position of each
    sorted entry) come from counting_sort + sort_within_rows. Each output entry sums its
    duplicates in input order (deterministic). Returns (rows, cols, values, inverse), int64
    indices; inverse[k] is the output position of input entry k (empty unless
    want_inverse).
    """
    m = ptr.shape[0] - 1
    nnz = keys.shape[0]
    cnt = np.zeros(m + 1, np.int64)
    for i in prange(m):
        c = 0
        for q in range(ptr[i], ptr[i + 1]):
            if q == ptr[i] or keys[q] != keys[q - 1]:
                c += 1
        cnt[i + 1] = c
    for i in range(m):
        cnt[i + 1] += cnt[i]
    n = cnt[m]
    out_r = np.empty(n, np.int64)
    out_c = np.empty(n, np.int64)
    out_v = np.empty(n, values.dtype)
    inverse = np.empty(nnz if want_inverse else 0, np.int64)
    for i in prange(m):
        o = cnt[i] - 1
        for q in range(ptr[i], ptr[i + 1]):
            k = perm[q]
            if q == ptr[i] or keys[q] != keys[q - 1]:
                o += 1
                out_r[o] = i
                out_c[o] = keys[q]
                out_v[o] = values[k]
            else:
                out_v[o] += values[k]
            if want_inverse:
                inverse[k] = o
    return out_r, out_c, out_v, inverse


@njit(cache=_CACHE, nogil=True)
def strictly_increasing_pairs(rows, cols):
    """True when (rows, cols) is sorted row-major without repeats."""
    for k in range(rows.shape[0] - 1):
        if rows[k] > rows[k + 1]:
            return False
        if rows[k] == rows[k + 1] and cols[k] >= cols[k + 1]:
            return False
    return True


@njit(cache=_CACHE, nogil=True)
def scatter_add_2d(rows, cols, values, out):
    """out[rows[k], cols[k]] += values[k] in input order."""
    for k in range(rows.shape[0]):
        out[rows[k], cols[k]] += values[k]


@njit(parallel=True, cache=_CACHE, nogil=True)
def spgemm_row_counts(bounds, a_crow, a_col, b_crow, b_col, n_cols, counts):
    """counts[i] = number of distinct columns j reached from row i of A through B.

    I bounds[t+1]      row chunks of A
    I a_crow[m+1], a_col[nnz_a]; b_crow[n+1], b_col[nnz_b]   the CSR patterns
    int64 counts[m]    output

    Structural: (i, j) counts when some stored a[i, k] meets a stored b[k, j], whatever
    the values (Gustavson's row-by-row product with a marker array per chunk).
    """
    for t in prange(bounds.shape[0] - 1):
        mark = np.full(n_cols, -1, np.int64)
        for i in range(bounds[t], bounds[t + 1]):
            c = 0
            for ka in range(a_crow[i], a_crow[i + 1]):
                k = a_col[ka]
                for kb in range(b_crow[k], b_crow[k + 1]):
                    j = b_col[kb]
                    if mark[j] != i:
                        mark[j] = i
                        c += 1
            counts[i] = c


@njit(parallel=True, cache=_CACHE, nogil=True)
def spgemm_fill(bounds, a_crow, a_col, a_val, b_crow, b_col, b_val, n_cols, out_ptr,
                out_col, out_val):
    """The product's entries: row i's columns sorted, each value summed over k in the
    order of A's row entries, then B's (fixed, so deterministic).

    int64 out_ptr[m+1] from the counts; out_col[nnz_c] int64, out_val[nnz_c] outputs.
    """
    for t in prange(bounds.shape[0] - 1):
        pos = np.full(n_cols, -1, np.int64)  # where column j sits in the current row
        for i in range(bounds[t], bounds[t + 1]):
            start = out_ptr[i]
            n = 0
            for ka in range(a_crow[i], a_crow[i + 1]):
                k = a_col[ka]
                av = a_val[ka]
                for kb in range(b_crow[k], b_crow[k + 1]):
                    j = b_col[kb]
                    p = pos[j]
                    if p < start:  # first time in this row (earlier rows lie below)
                        pos[j] = start + n
                        out_col[start + n] = j
                        out_val[start + n] = av * b_val[kb]
                        n += 1
                    else:
                        out_val[p] += av * b_val[kb]
            if n > 1:
                order = np.argsort(out_col[start:start + n])
                out_col[start:start + n] = out_col[start:start + n][order]
                out_val[start:start + n] = out_val[start:start + n][order]
