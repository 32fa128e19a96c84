"""Sparse gradients: own indices, accumulation, optimizer updates, sparse @ sparse."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import (DTYPE_IDS, DTYPES, assert_close, assert_on, dense_of, host,
                           make_sparse, randn)


def test_coo_grad_keeps_own_indices_with_duplicates(device, rng):
    # uncoalesced: PyTorch returns the coalesced pattern; we keep the leaf's own
    idx = np.array([[2, 0, 2, 1, 0, 2], [1, 3, 1, 0, 3, 1]])
    vals = randn(rng, 6, np.float64)
    a = gs.sparse_coo_tensor(idx, vals, (3, 4), device=device, requires_grad=True)
    B = randn(rng, (4, 5), np.float64)
    out = gs.sparse.mm(a, gs.tensor(B, device=device))
    G = randn(rng, (3, 5), np.float64)
    out.backward(gs.tensor(G, device=device))
    g = a.grad
    assert g.layout is gs.sparse_coo and g.nnz == 6 and not g.is_coalesced()
    np.testing.assert_array_equal(host(g.indices()), idx)
    assert_close(host(g), (G @ B.T)[idx[0], idx[1]], np.float64)


def test_csr_grad_shares_index_arrays(device, rng):
    a, idx, vals = make_sparse(rng, "csr", 6, 5, 12, np.float64, device, requires_grad=True)
    B = randn(rng, (5, 3), np.float64)
    gs.sparse.mm(a, gs.tensor(B, device=device)).sum().backward()
    g = a.grad
    assert g.layout is gs.sparse_csr
    np.testing.assert_array_equal(host(g.crow_indices()), host(a.crow_indices()))
    np.testing.assert_array_equal(host(g.col_indices()), host(a.col_indices()))
    assert_close(host(g), (np.ones((6, 3)) @ B.T)[idx[0], idx[1]], np.float64)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_grad_accumulates_in_place_and_optimizer_step(device, rng, layout):
    a, idx, vals = make_sparse(rng, layout, 5, 4, 9, np.float64, device, requires_grad=True)
    B = randn(rng, (4, 2), np.float64)
    b = gs.tensor(B, device=device)
    gs.sparse.mm(a, b).sum().backward()
    first = host(a.grad).copy()
    grad_obj, grad_vals = a.grad, a.grad.values()
    gs.sparse.mm(a, b).sum().backward()
    assert a.grad is grad_obj and a.grad.layout is a.layout
    assert_close(host(a.grad), 2 * first, np.float64)
    assert_close(host(grad_vals), 2 * first, np.float64)  # accumulated in place
    # an SGD step on the leaf's values, in place
    before = host(a).copy()
    with gs.no_grad():
        a.values().sub_(a.grad.values() * 0.1)
    assert_close(host(a), before - 0.2 * first, np.float64)
    with pytest.raises(RuntimeError, match="in-place"):
        a.values().sub_(1.0)


def test_grad_of_sparse_used_twice(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 4, 4, 7, np.float64, device, requires_grad=True)
    B, D = randn(rng, (4, 3), np.float64), randn(rng, (4, 3), np.float64)
    out = gs.sparse.mm(a, gs.tensor(B, device=device)) + \
        gs.sparse.mm(a, gs.tensor(D, device=device)) * 2.0
    out.sum().backward()
    G = np.ones((4, 3))
    assert_close(host(a.grad), (G @ (B + 2 * D).T)[idx[0], idx[1]], np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_coo_at_coo(device, rng, dtype):
    a, ia, va = make_sparse(rng, "coo", 6, 5, 10, dtype, device, requires_grad=True)
    b, ib, vb = make_sparse(rng, "coo", 5, 4, 9, dtype, device, requires_grad=True)
    out = gs.sparse.mm(a, b)
    assert out.layout is gs.sparse_coo and out.is_coalesced()
    assert_on(out, device)
    A, B = dense_of(ia, va, (6, 5)), dense_of(ib, vb, (5, 4))
    assert_close(host(out.to_dense()), A @ B, dtype)
    G = randn(rng, (6, 4), dtype)
    out.to_dense().backward(gs.tensor(G, device=device))
    # masked to the product's pattern first (the upstream of a sparse result)
    mask = np.zeros((6, 4), bool)
    oi = host(out.indices())
    mask[oi[0], oi[1]] = True
    Gm = np.where(mask, G, 0)
    assert a.grad.layout is gs.sparse_coo and a.grad.nnz == a.nnz
    np.testing.assert_array_equal(host(a.grad.indices()), ia)
    assert_close(host(a.grad), (Gm @ B.conj().T)[ia[0], ia[1]], dtype)
    assert_close(host(b.grad), (A.conj().T @ Gm)[ib[0], ib[1]], dtype)


def test_coo_at_coo_gradcheck(device, rng):
    a, _, _ = make_sparse(rng, "coo", 4, 3, 6, np.complex128, device, requires_grad=True)
    b, _, _ = make_sparse(rng, "coo", 3, 4, 6, np.complex128, device, requires_grad=True)
    assert gs.autograd.gradcheck(lambda a, b: gs.sparse.mm(a, b).to_dense(), (a, b))


def test_matmul_operator_dispatch(device, rng):
    a, ia, va = make_sparse(rng, "coo", 4, 3, 6, np.float64, device)
    B = randn(rng, (3, 2), np.float64)
    b = gs.tensor(B, device=device)
    assert_close(host(a @ b), dense_of(ia, va, (4, 3)) @ B, np.float64)
    assert_close(host(gs.matmul(a, b)), dense_of(ia, va, (4, 3)) @ B, np.float64)
    D = randn(rng, (2, 3), np.float64)
    assert_close(host(gs.tensor(D, device=device) @ b), D @ B, np.float64)
    sq, isq, vsq = make_sparse(rng, "coo", 3, 3, 5, np.float64, device)
    prod = a @ sq
    assert prod.layout is gs.sparse_coo
    assert_close(host(prod.to_dense()), dense_of(ia, va, (4, 3)) @ dense_of(isq, vsq, (3, 3)),
                 np.float64)


def test_conversions_differentiable(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 5, 4, 10, np.float64, device, requires_grad=True)
    for f in [lambda a: a.to_dense(),
              lambda a: a.coalesce().to_dense() * 2.0,
              lambda a: a.to_sparse_csr().to_dense(),
              lambda a: a.to_sparse_csr().to_sparse().to_dense(),
              lambda a: a.values() * a.values()]:
        assert gs.autograd.gradcheck(f, (a,))


def test_sampled_gradient_needs_no_dense_product(device, rng):
    # a 2^40-element mat1: any dense m x n intermediate would fail loudly
    m = n = 2**20
    a, idx, vals = make_sparse(rng, "coo", m, n, 64, np.float32, device, requires_grad=True)
    B = randn(rng, (n, 2), np.float32)
    b = gs.tensor(B, device=device, requires_grad=True)
    gs.sparse.mm(a, b).sum().backward()
    assert_close(host(a.grad), B.sum(axis=1)[idx[1]], np.float32)
