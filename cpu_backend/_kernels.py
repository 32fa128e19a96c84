"""Compiled CPU kernels (numba): SpMM, SDDMM, sorting and coalescing.

Each kernel is a contract on raw arrays, like SciPy's ``sparsetools``:

* ``bounds`` (n_chunks + 1,) int64 splits the work into chunks that the thread pool takes
  (rows for SpMM, nonzeros for SDDMM). Every output element is computed by exactly one
  thread in a fixed order, so results are bitwise the same for any thread count.
* Index arrays are int32 or int64; value arrays and scalars share one dtype
  (float32, float64, complex64, complex128); dense operands are C-contiguous.

Kernels are compiled on first use for each dtype combination and cached on disk
(``__pycache__`` beside this file, or a per-user directory when that one is read-only:
``_cache.py``), so later processes load them. What a first call compiles is kept small,
since a user waits for it (``python -m bench.compile_time``):

* ``parallel=True`` (numba's parfors, about 1 s more per kernel and dtype than a serial
  loop) only where threads pay on every product: SpMM, SDDMM and the value gather. The
  sorting and coalescing kernels run once per pattern and are serial.
* No conjugation flags: the caller conjugates the operand (an exact operation, so the
  results are the same bits); a runtime flag would compile both branches into every
  complex kernel.
* One SDDMM for both layouts, and value-only work split from index-only work
  (``merge_pattern`` once for all dtypes, then ``sum_runs`` per dtype).
* The backend passes every input array as a read-only C-contiguous view, so that a
  writable and a read-only argument do not compile two specializations.
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


@njit(parallel=True, cache=_CACHE, nogil=True)
def spmm_csr(bounds, crow, col, vals, b, alpha, beta, c, use_c, out):
    """out[i, :] = alpha * sum_k vals[k] * b[col[k], :] + beta * c[i, :].

    I bounds[t+1]      row chunks
    I crow[n_rows+1]   row pointer
    I col[nnz]         column of each entry
    T vals[nnz]        values in CSR order (the caller gathers them through perm and
                       conjugates them first)
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
                v0 = vals[k]
                v1 = vals[k + 1]
                v2 = vals[k + 2]
                v3 = vals[k + 3]
                v4 = vals[k + 4]
                v5 = vals[k + 5]
                v6 = vals[k + 6]
                v7 = vals[k + 7]
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
                v0 = vals[k]
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


@njit(parallel=True, cache=_CACHE, nogil=True, fastmath=_DOT_MATH)
def sddmm(bounds, crow, col, rows, cols, a, b, alpha, beta, c, use_c, zero, out):
    """out[k] = alpha * sum_l a[i, l] * b[j, l] + beta * c[k] at each entry k = (i, j).

    I bounds[t+1]              nonzero chunks
    I crow[m+1], col[nnz]      CSR: the entries of row i are crow[i]..crow[i+1]
    J rows[nnz], cols[nnz]     COO: entry k is (rows[k], cols[k]); used when crow is empty
    T a[m, p], b[n, p]         b already conjugated by the caller for a @ bᴴ
    T c[nnz]                   addend when use_c
    T zero                     0 in the value dtype (types the accumulator)
    T out[nnz]

    Both layouts in one parallel loop, so that one compilation per dtype serves both (the
    unused pair is passed empty; each parallel loop costs about 1 s of compilation). A
    CSR chunk finds its first row by bisection, then runs row by row.
    """
    p = a.shape[1]
    is_csr = crow.shape[0] > 0
    for t in prange(bounds.shape[0] - 1):
        k0 = bounds[t]
        k1 = bounds[t + 1]
        if is_csr:
            # bisection for the row of entry k0: the last i with crow[i] <= k0
            i = np.int64(0)
            hi = np.int64(crow.shape[0] - 1)
            while i < hi:
                mid = (i + hi + 1) // 2
                if crow[mid] <= k0:
                    i = mid
                else:
                    hi = mid - 1
            k = k0
            while k < k1:
                e = min(np.int64(crow[i + 1]), k1)
                for q in range(k, e):  # row a[i, :] stays in registers across the row
                    j = col[q]
                    s = zero
                    for l in range(p):
                        s += a[i, l] * b[j, l]
                    out[q] = alpha * s + beta * c[q] if use_c else alpha * s
                k = e
                i += 1
        else:
            for k in range(k0, k1):
                i = rows[k]
                j = cols[k]
                s = zero
                for l in range(p):
                    s += a[i, l] * b[j, l]
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


@njit(cache=_CACHE, nogil=True)
def sort_within_rows(ptr, perm, keys):
    """Stable sort of each row segment [ptr[i], ptr[i+1]) of ``keys`` (the columns in
    row order), permuting ``perm`` alongside, in place. Insertion sort for short rows (the
    common case), a bottom-up merge sort for long ones (written out: ``np.argsort``
    would add seconds to the first compilation)."""
    longest = 0
    for i in range(ptr.shape[0] - 1):
        longest = max(longest, ptr[i + 1] - ptr[i])
    tmp_k = np.empty(longest if longest > 64 else 0, keys.dtype)
    tmp_p = np.empty(longest if longest > 64 else 0, perm.dtype)
    for i in range(ptr.shape[0] - 1):
        s = ptr[i]
        e = ptr[i + 1]
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
        width = 1
        while width < e - s:
            for lo in range(s, e, 2 * width):
                mid = min(lo + width, e)
                hi = min(lo + 2 * width, e)
                x = lo
                y = mid
                o = 0
                while x < mid and y < hi:
                    if keys[y] < keys[x]:  # ties take the left run: stable
                        tmp_k[o] = keys[y]
                        tmp_p[o] = perm[y]
                        y += 1
                    else:
                        tmp_k[o] = keys[x]
                        tmp_p[o] = perm[x]
                        x += 1
                    o += 1
                while x < mid:
                    tmp_k[o] = keys[x]
                    tmp_p[o] = perm[x]
                    x += 1
                    o += 1
                for q in range(o):  # the rest of the right run is already in place
                    keys[lo + q] = tmp_k[q]
                    perm[lo + q] = tmp_p[q]
            width *= 2


@njit(cache=_CACHE, nogil=True)
def merge_pattern(ptr, keys, perm, want_inverse):
    """The pattern of a row-sorted, column-sorted matrix with runs of equal (row, column)
    merged: (rows[n], cols[n], starts[n+1], inverse), int64.

    ptr[m+1], keys[nnz] (columns, sorted within rows) and perm[nnz] (input position of
    each sorted entry) come from counting_sort + sort_within_rows. Output entry o merges
    the sorted positions starts[o]..starts[o+1] (``sum_runs`` adds their values);
    inverse[k] is the output position of input entry k (empty unless want_inverse).
    Index-only, so one compilation serves every value dtype.
    """
    m = ptr.shape[0] - 1
    nnz = keys.shape[0]
    n = 0
    for i in range(m):
        for q in range(ptr[i], ptr[i + 1]):
            if q == ptr[i] or keys[q] != keys[q - 1]:
                n += 1
    out_r = np.empty(n, np.int64)
    out_c = np.empty(n, np.int64)
    starts = np.empty(n + 1, np.int64)
    inverse = np.empty(nnz if want_inverse else 0, np.int64)
    o = -1
    for i in range(m):
        for q in range(ptr[i], ptr[i + 1]):
            if q == ptr[i] or keys[q] != keys[q - 1]:
                o += 1
                out_r[o] = i
                out_c[o] = keys[q]
                starts[o] = q
            if want_inverse:
                inverse[perm[q]] = o
    starts[n] = nnz
    return out_r, out_c, starts, inverse


@njit(cache=_CACHE, nogil=True)
def sum_runs(starts, perm, values, out):
    """out[o] = values[perm[starts[o]]] + values[perm[starts[o] + 1]] + ... up to
    starts[o+1], left to right: duplicates summed in input order (deterministic)."""
    for o in range(starts.shape[0] - 1):
        s = starts[o]
        v = values[perm[s]]
        for q in range(s + 1, starts[o + 1]):
            v += values[perm[q]]
        out[o] = v


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
