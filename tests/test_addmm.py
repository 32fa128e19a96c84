"""sparse.addmm / addmm: forward and gradients against a float64 NumPy reference."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import (DTYPE_IDS, DTYPES, assert_close, assert_on, dense_of, host,
                           make_sparse, randn)

LAYOUTS = ["coo", "csr"]
SHAPES = [(7, 5, 3, 12), (1, 1, 1, 1), (40, 3, 2, 60), (3, 40, 5, 30), (0, 4, 3, 0),
          (4, 0, 3, 0), (4, 5, 0, 6), (6, 5, 4, 0)]
SHAPE_IDS = ["small", "1x1", "tall", "wide", "m0", "n0", "p0", "nnz0"]


def reference(mat, a_dense, b, beta, alpha):
    out = alpha * (a_dense @ b)
    if beta != 0:
        out = out + beta * mat
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_forward_and_gradients(device, rng, layout, dtype, shape):
    m, n, p, nnz = shape
    a, idx, vals = make_sparse(rng, layout, m, n, nnz, dtype, device, requires_grad=True)
    B = randn(rng, (n, p), dtype)
    C = randn(rng, (m, p), dtype)
    b = gs.tensor(B, device=device, requires_grad=True)
    c = gs.tensor(C, device=device, requires_grad=True)
    cplx = np.dtype(dtype).kind == "c"
    beta, alpha = (0.5 - 0.25j, -1.5 + 2j) if cplx else (0.5, -2.0)
    out = gs.sparse.addmm(c, a, b, beta=beta, alpha=alpha)
    assert_on(out, device)
    assert out.shape == (m, p) and out.dtype == np.dtype(dtype)
    A = dense_of(idx, vals, (m, n))
    assert_close(host(out), reference(C, A, B, beta, alpha), dtype)

    G = randn(rng, (m, p), dtype)
    out.backward(gs.tensor(G, device=device))
    # mat.grad = conj(beta) G ; mat2.grad = conj(alpha) Aᴴ G ; mat1.grad sampled G mat2ᴴ
    assert_close(host(c.grad), np.conj(beta) * G, dtype)
    assert_close(host(b.grad), np.conj(alpha) * A.conj().T @ G, dtype)
    full = np.conj(alpha) * G @ B.conj().T
    assert a.grad.layout is a.layout
    assert_close(host(a.grad), full[idx[0], idx[1]], dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128], ids=["f64", "c128"])
def test_gradcheck(device, rng, layout, dtype):
    a, _, _ = make_sparse(rng, layout, 4, 3, 6, dtype, device, requires_grad=True)
    b = gs.tensor(randn(rng, (3, 2), dtype), device=device, requires_grad=True)
    c = gs.tensor(randn(rng, (4, 2), dtype), device=device, requires_grad=True)
    cplx = np.dtype(dtype).kind == "c"
    beta, alpha = (0.3 + 0.7j, 1.1 - 0.4j) if cplx else (0.3, -1.1)
    assert gs.autograd.gradcheck(
        lambda c, a, b: gs.sparse.addmm(c, a, b, beta=beta, alpha=alpha), (c, a, b))


def test_gradcheck_broadcast_mat(device, rng):
    a, _, _ = make_sparse(rng, "coo", 3, 4, 5, np.float64, device, requires_grad=True)
    b = gs.tensor(randn(rng, (4, 2), np.float64), device=device, requires_grad=True)
    for shape in [(2,), (1, 2), (3, 1), ()]:
        c = gs.tensor(randn(rng, shape, np.float64), device=device, requires_grad=True)
        assert gs.autograd.gradcheck(lambda c, a, b: gs.sparse.addmm(c, a, b, beta=0.7),
                                     (c, a, b))


@pytest.mark.parametrize("mat_shape", [(5,), (1, 5), (4, 1), (), (1, 1)])
def test_broadcast_mat(device, rng, mat_shape):
    a, idx, vals = make_sparse(rng, "csr", 4, 3, 6, np.float64, device)
    B = randn(rng, (3, 5), np.float64)
    M = randn(rng, mat_shape, np.float64)
    mat = gs.tensor(M, device=device, requires_grad=True)
    out = gs.sparse.addmm(mat, a, gs.tensor(B, device=device), beta=-0.5, alpha=3.0)
    assert_close(host(out), -0.5 * M + 3.0 * dense_of(idx, vals, (4, 3)) @ B, np.float64)
    G = randn(rng, (4, 5), np.float64)
    out.backward(gs.tensor(G, device=device))
    expect = -0.5 * np.broadcast_to(G, (4, 5))
    lead = 2 - len(mat_shape)
    expect = expect.sum(axis=tuple(range(lead))) if lead else expect
    expect = expect.sum(axis=tuple(i for i, s in enumerate(mat_shape) if s == 1),
                        keepdims=True).reshape(mat_shape)
    assert mat.grad.shape == mat_shape
    assert_close(host(mat.grad), expect, np.float64)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("nnz", [0, 5], ids=["nnz0", "nnz5"])
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_beta_zero_ignores_nan_in_mat(device, rng, layout, nnz, bad):
    # PyTorch 2.13 returns NaN here for a COO mat1 with no stored entries; we must not.
    a, idx, vals = make_sparse(rng, layout, 4, 3, nnz, np.float32, device,
                               requires_grad=True)
    B = randn(rng, (3, 2), np.float32)
    mat = gs.tensor(np.full((4, 2), bad, np.float32), device=device, requires_grad=True)
    out = gs.sparse.addmm(mat, a, gs.tensor(B, device=device), beta=0, alpha=1.5)
    res = host(out)
    assert np.all(np.isfinite(res))
    assert_close(res, 1.5 * dense_of(idx, vals, (4, 3)) @ B, np.float32)
    out.sum().backward()
    assert np.all(host(mat.grad) == 0)


def test_alpha_zero_propagates_nan(device, rng):
    a, _, _ = make_sparse(rng, "coo", 3, 3, 4, np.float64, device, duplicates=False)
    B = randn(rng, (3, 2), np.float64)
    B[:, 0] = np.nan
    C = randn(rng, (3, 2), np.float64)
    out = host(gs.sparse.addmm(gs.tensor(C, device=device), a, gs.tensor(B, device=device),
                               beta=2.0, alpha=0.0))
    rows_with_entries = np.unique(host(a.indices())[0])
    assert np.all(np.isnan(out[rows_with_entries, 0]))
    assert_close(out[:, 1], 2.0 * C[:, 1], np.float64)


@pytest.mark.parametrize("alpha,beta", [(0.0, 1.0), (1.0, 0.0), (-1.0, -1.0), (0.0, 0.0),
                                        (2.5, -0.5)])
def test_alpha_beta_values(device, rng, alpha, beta):
    a, idx, vals = make_sparse(rng, "coo", 6, 4, 9, np.float64, device)
    B, C = randn(rng, (4, 3), np.float64), randn(rng, (6, 3), np.float64)
    out = gs.sparse.addmm(gs.tensor(C, device=device), a, gs.tensor(B, device=device),
                          beta=beta, alpha=alpha)
    assert_close(host(out), reference(C, dense_of(idx, vals, (6, 4)), B, beta, alpha),
                 np.float64)


def test_complex_alpha_gradient_is_conjugated(device, rng):
    # PyTorch 2.13 uses alpha instead of conj(alpha) for the sparse mat1 gradient.
    dtype = np.complex128
    a, idx, vals = make_sparse(rng, "coo", 3, 4, 5, dtype, device, requires_grad=True)
    B = randn(rng, (4, 2), dtype)
    b = gs.tensor(B, device=device)
    alpha = 0.5 + 2.0j
    out = gs.sparse.addmm(gs.zeros(3, 2, dtype=dtype, device=device), a, b, beta=0,
                          alpha=alpha)
    G = randn(rng, (3, 2), dtype)
    out.backward(gs.tensor(G, device=device))
    want = (np.conj(alpha) * G @ B.conj().T)[idx[0], idx[1]]
    wrong = (alpha * G @ B.conj().T)[idx[0], idx[1]]
    got = host(a.grad)
    assert_close(got, want, dtype)
    assert not np.allclose(got, wrong)


@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_non_contiguous_dense_inputs(device, rng, order):
    a, idx, vals = make_sparse(rng, "coo", 5, 6, 10, np.float64, device, requires_grad=True)
    big_b = randn(rng, (12, 8), np.float64)
    big_c = randn(rng, (10, 6), np.float64)
    if order == "C":
        B, C = np.ascontiguousarray(big_b[:6, :4]), np.ascontiguousarray(big_c[:5, :4])
    elif order == "F":
        B, C = np.asfortranarray(big_b[:6, :4]), np.asfortranarray(big_c[:5, :4])
    else:
        B, C = big_b[::2, ::2], big_c[::2, 1:5]
    b = gs.from_dlpack(B) if device == "cpu" else gs.tensor(B, device=device)
    b.requires_grad_()
    c = gs.tensor(C, device=device)
    out = gs.sparse.addmm(c, a, b, beta=1.5, alpha=-1.0)
    A = dense_of(idx, vals, (5, 6))
    assert_close(host(out), 1.5 * C - A @ B, np.float64)
    G = randn(rng, (5, 4), np.float64)
    out.backward(gs.tensor(G, device=device))
    assert_close(host(b.grad), -A.T @ G, np.float64)
    assert_close(host(a.grad), (-G @ B.T)[idx[0], idx[1]], np.float64)


def test_inputs_not_modified(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 5, 4, 8, np.float64, device, requires_grad=True)
    B, C = randn(rng, (4, 3), np.float64), randn(rng, (5, 3), np.float64)
    b, c = gs.tensor(B, device=device, requires_grad=True), gs.tensor(C, device=device)
    out = gs.sparse.addmm(c, a, b, beta=2.0, alpha=3.0)
    out.sum().backward()
    np.testing.assert_array_equal(host(a.indices()), idx)
    np.testing.assert_array_equal(host(a), vals)
    np.testing.assert_array_equal(host(b), B)
    np.testing.assert_array_equal(host(c), C)
    assert not a.is_coalesced()


def test_dense_mat1_top_level_addmm(device, rng):
    A, B, C = (randn(rng, s, np.float64) for s in [(4, 3), (3, 2), (4, 2)])
    a = gs.tensor(A, device=device, requires_grad=True)
    b = gs.tensor(B, device=device, requires_grad=True)
    c = gs.tensor(C, device=device, requires_grad=True)
    out = gs.addmm(c, a, b, beta=0.5, alpha=2.0)
    assert_close(host(out), 0.5 * C + 2 * A @ B, np.float64)
    assert gs.autograd.gradcheck(lambda c, a, b: gs.addmm(c, a, b, beta=0.5, alpha=2.0),
                                 (c, a, b))
    with pytest.raises(ValueError, match="addmm: mat1 must be a sparse"):
        gs.sparse.addmm(c, a, b)


def test_determinism_bitwise(device, rng):
    a, _, _ = make_sparse(rng, "coo", 300, 200, 3000, np.float32, device,
                          requires_grad=True)
    B, C = randn(rng, (200, 16), np.float32), randn(rng, (300, 16), np.float32)
    results = []
    for _ in range(2):
        a.grad = None
        b = gs.tensor(B, device=device, requires_grad=True)
        out = gs.sparse.addmm(gs.tensor(C, device=device), a, b, beta=0.5, alpha=2.0)
        (out * out).sum().backward()
        results.append((host(out), host(a.grad), host(b.grad)))
    for x, y in zip(*results):
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32))
