"""sparse.sampled_addmm (SDDMM) against a float64 NumPy reference."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import (DTYPE_IDS, DTYPES, assert_close, assert_on, dense_of, host,
                           make_sparse, randn)


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(6, 5, 3, 14), (1, 1, 1, 1), (4, 3, 0, 5),
                                   (5, 4, 3, 0), (0, 3, 2, 0)],
                         ids=["small", "1x1", "k0", "nnz0", "m0"])
def test_forward_and_gradients(device, rng, layout, dtype, shape):
    m, n, k, nnz = shape
    s, idx, vals = make_sparse(rng, layout, m, n, nnz, dtype, device, requires_grad=True)
    X, Y = randn(rng, (m, k), dtype), randn(rng, (k, n), dtype)
    x = gs.tensor(X, device=device, requires_grad=True)
    y = gs.tensor(Y, device=device, requires_grad=True)
    cplx = np.dtype(dtype).kind == "c"
    beta, alpha = (0.25 + 1j, 2 - 0.5j) if cplx else (0.25, -2.0)
    out = gs.sparse.sampled_addmm(s, x, y, beta=beta, alpha=alpha)
    assert_on(out, device)
    assert out.layout is s.layout and out.nnz == s.nnz
    if layout == "coo":
        np.testing.assert_array_equal(host(out.indices()), idx)
    full = X @ Y
    assert_close(host(out), beta * vals + alpha * full[idx[0], idx[1]], dtype)

    Gv = randn(rng, nnz, dtype)
    out.values().backward(gs.tensor(Gv, device=device))
    Gs = dense_of(idx, Gv, (m, n))
    assert_close(host(s.grad), np.conj(beta) * Gv, dtype)
    assert_close(host(x.grad), np.conj(alpha) * Gs @ Y.conj().T, dtype)
    assert_close(host(y.grad), np.conj(alpha) * X.conj().T @ Gs, dtype)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_gradcheck(device, rng, layout):
    s, _, _ = make_sparse(rng, layout, 4, 3, 7, np.complex128, device, requires_grad=True)
    x = gs.tensor(randn(rng, (4, 2), np.complex128), device=device, requires_grad=True)
    y = gs.tensor(randn(rng, (2, 3), np.complex128), device=device, requires_grad=True)
    assert gs.autograd.gradcheck(
        lambda s, x, y: gs.sparse.sampled_addmm(s, x, y, beta=0.5j, alpha=1 - 1j),
        (s, x, y))


def test_beta_zero_ignores_nan_values(device, rng):
    idx = np.array([[0, 1, 1], [1, 0, 2]])
    s = gs.sparse_coo_tensor(idx, np.array([np.nan, np.inf, -np.inf]), (2, 3),
                             device=device)
    X, Y = randn(rng, (2, 4), np.float64), randn(rng, (4, 3), np.float64)
    out = gs.sparse.sampled_addmm(s, gs.tensor(X, device=device), gs.tensor(Y, device=device),
                                  beta=0.0)
    assert_close(host(out), (X @ Y)[idx[0], idx[1]], np.float64)


def test_fortran_and_strided_operands(device, rng):
    s, idx, vals = make_sparse(rng, "coo", 5, 6, 11, np.float64, device)
    X = np.asfortranarray(randn(rng, (5, 3), np.float64))
    Y = randn(rng, (6, 12), np.float64)[::2, ::2]  # (3, 6), strided
    out = gs.sparse.sampled_addmm(s, gs.tensor(X, device=device), gs.tensor(Y, device=device))
    assert_close(host(out), vals + (X @ Y)[idx[0], idx[1]], np.float64)
