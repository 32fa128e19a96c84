"""Matrix makers, float64 NumPy references and the per-dtype tolerance table."""

from __future__ import annotations

import os

import numpy as np

import gpu_sparse as gs

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
DTYPE_IDS = ["f32", "f64", "c64", "c128"]

# One tolerance table per dtype (relative, absolute), for O(10)-term sums of N(0,1) data.
TOL = {
    np.dtype(np.float32): (2e-5, 2e-5),
    np.dtype(np.complex64): (2e-5, 2e-5),
    np.dtype(np.float64): (1e-12, 1e-12),
    np.dtype(np.complex128): (1e-12, 1e-12),
}


def randn(rng, shape, dtype):
    dtype = np.dtype(dtype)
    a = rng.standard_normal(shape)
    if dtype.kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def random_coo(rng, m, n, nnz, dtype, duplicates=True, unsorted=True):
    """(indices (2, nnz) int64, values (nnz,)) with repeats and shuffled order."""
    if m == 0 or n == 0:
        nnz = 0
    rows = rng.integers(0, max(m, 1), nnz)
    cols = rng.integers(0, max(n, 1), nnz)
    if duplicates and nnz >= 4:
        rows[: nnz // 4] = rows[nnz // 4: 2 * (nnz // 4)]
        cols[: nnz // 4] = cols[nnz // 4: 2 * (nnz // 4)]
    idx = np.stack([rows, cols]).astype(np.int64)
    if not unsorted and nnz:
        order = np.lexsort((idx[1], idx[0]))
        idx = idx[:, order]
    elif nnz:
        idx = idx[:, rng.permutation(nnz)]
    return idx, randn(rng, nnz, dtype)


def dense_of(idx, vals, shape):
    """float64/complex128 dense reference, duplicates summed."""
    out = np.zeros(shape, dtype=np.complex128 if np.iscomplexobj(vals) else np.float64)
    np.add.at(out, (idx[0], idx[1]), vals)
    return out


def coo_to_csr_host(idx, vals, m):
    """CSR arrays of a COO (stable by row: duplicates and column order kept)."""
    order = np.argsort(idx[0], kind="stable")
    crow = np.zeros(m + 1, dtype=np.int64)
    np.add.at(crow, idx[0] + 1, 1)
    return np.cumsum(crow), idx[1][order], vals[order], order


def make_sparse(rng, layout, m, n, nnz, dtype, device, requires_grad=False, **kw):
    """A sparse tensor and its (indices, values) in storage order (COO coordinates)."""
    idx, vals = random_coo(rng, m, n, nnz, dtype, **kw)
    if layout == "coo":
        t = gs.sparse_coo_tensor(idx, vals, (m, n), device=device,
                                 requires_grad=requires_grad)
        return t, idx, vals
    crow, col, v, order = coo_to_csr_host(idx, vals, m)
    t = gs.sparse_csr_tensor(crow, col, v, (m, n), device=device,
                             requires_grad=requires_grad)
    return t, idx[:, order], v


def host(t):
    """Host numpy copy of a dense tensor, or of a sparse tensor's values."""
    t = t.detach()
    if t.layout is gs.strided:
        arr = t.numpy()
    else:
        arr = t.values().numpy()
    return np.array(arr.get() if hasattr(arr, "get") else arr)


def host_array(a):
    """A host NumPy copy of a NumPy or CuPy array (``np.asarray`` refuses device arrays)."""
    return np.array(a.get() if hasattr(a, "get") else a)


def assert_on(t, device):
    """The result really came from the backend asked for (no silent NumPy fallback)."""
    assert t.device == device or t.device.startswith(device + ":"), (t.device, device)
    arr = t.array
    expect = "numpy" if device == "cpu" else "cupy"
    assert type(arr).__module__.split(".")[0] == expect, type(arr)


def assert_close(actual, expected, dtype, scale=1.0):
    rtol, atol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * max(scale, 1.0))


def cpu_only_env(**extra):
    """The environment for a child process that must see no CUDA device: this one's,
    without the CuPy stand-in switch (``GPU_SPARSE_CUDA_STANDIN``)."""
    env = {k: v for k, v in os.environ.items() if k != "GPU_SPARSE_CUDA_STANDIN"}
    env.update(extra)
    return env
