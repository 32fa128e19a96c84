"""The right answer or a clear error: in-place changes after forward, constructors that
copy and keep the graph, structural sparse @ sparse, unchecked indices that never crash,
and arguments that used to be misread. Each example is a test with the right value."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import assert_close, dense_of, host, make_sparse, random_coo, randn

# ---------------------------------------------------------------------------------------
# 1. in-place changes to a tensor saved for backward


def test_issue_example_inplace_after_forward_raises(device):
    a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([2.0, 3.0]), (2, 2), device=device,
                             requires_grad=True)
    b = gs.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), device=device)
    out = gs.sparse.mm(a, b)
    with gs.no_grad():
        b.mul_(10)
    with pytest.raises(RuntimeError, match=r"one of the inputs of addmm \(mat2\) was "
                                           r"modified in place after it was saved: "
                                           r"version 1, expected 0"):
        out.sum().backward()
    assert a.grad is None  # refused before computing anything


def _saved_input_cases(rng, device):
    """(op name, saved input's name, build(inputs) -> out, the tensor to change)."""
    dt = np.float64
    cases = []
    for layout in ("coo", "csr"):
        a, _, _ = make_sparse(rng, layout, 5, 4, 9, dt, device, requires_grad=True)
        b = gs.tensor(randn(rng, (4, 3), dt), device=device, requires_grad=True)
        c = gs.tensor(randn(rng, (5, 3), dt), device=device)
        cases.append((f"addmm-{layout}-mat2", "addmm", "mat2",
                      lambda a=a, b=b, c=c: gs.sparse.addmm(c, a, b), b))
        # mat1's values, changed through a values() view
        cases.append((f"addmm-{layout}-mat1-values", "addmm", "mat1",
                      lambda a=a, b=b, c=c: gs.sparse.addmm(c, a, b), a.values()))
        s, _, _ = make_sparse(rng, layout, 5, 4, 9, dt, device)
        x = gs.tensor(randn(rng, (5, 2), dt), device=device, requires_grad=True)
        y = gs.tensor(randn(rng, (2, 4), dt), device=device, requires_grad=True)
        cases.append((f"sampled-{layout}", "sampled_addmm", "mat2",
                      lambda s=s, x=x, y=y: gs.sparse.sampled_addmm(s, x, y), y))
    p, _, _ = make_sparse(rng, "coo", 4, 4, 6, dt, device, requires_grad=True)
    q, _, _ = make_sparse(rng, "coo", 4, 3, 6, dt, device, requires_grad=True)
    cases.append(("spspmm", "spspmm", "mat2", lambda p=p, q=q: gs.sparse.mm(p, q),
                  q.values()))
    u = gs.tensor(randn(rng, (3, 2), dt), device=device, requires_grad=True)
    v = gs.tensor(randn(rng, (3, 2), dt), device=device, requires_grad=True)
    cases.append(("mul", "mul", "other", lambda u=u, v=v: u * v, v))
    w = gs.tensor(randn(rng, (3, 4), dt), device=device, requires_grad=True)
    z = gs.tensor(randn(rng, (4, 2), dt), device=device, requires_grad=True)
    cases.append(("dense-mm", "dense_addmm", "mat1", lambda w=w, z=z: w @ z, w))
    return cases


@pytest.mark.parametrize("which", range(9))
def test_every_op_refuses_a_saved_input_changed_in_place(device, rng, which):
    name, op, arg, build, victim = _saved_input_cases(rng, device)[which]
    out = build()
    out = out.to_dense() if out.layout is not gs.strided else out
    with gs.no_grad():
        victim.add_(1.0)  # also a view: shares the storage's version counter
    with pytest.raises(RuntimeError, match=rf"inputs of {op} \({arg}\) was modified in "
                                           rf"place .* version 1, expected 0"):
        out.sum().backward()


def test_optimizer_step_after_backward_keeps_working(device, rng):
    w, idx, vals = make_sparse(rng, "coo", 6, 5, 10, np.float64, device, requires_grad=True)
    X = randn(rng, (5, 2), np.float64)
    x = gs.tensor(X, device=device)
    ref = vals.copy()
    for _ in range(3):
        w.grad = None
        gs.sparse.mm(w, x).sum().backward()
        with gs.no_grad():
            w.values().sub_(w.grad.values() * 0.1)
        ref = ref - 0.1 * X.sum(axis=1)[idx[1]]  # d(sum(W @ X))/dW[i, j] = sum_l X[j, l]
    assert_close(host(w), ref, np.float64)


def test_views_share_the_version_and_unsaved_inputs_may_change(device, rng):
    s, _, _ = make_sparse(rng, "csr", 3, 3, 4, np.float64, device)
    assert s._version == 0
    with gs.no_grad():
        s.values().mul_(2.0)
        s.detach().zero_()
    assert s._version == 2 and s.values()._version == 2
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = gs.tensor([3.0, 4.0], device=device, requires_grad=True)
    out = x + y  # the gradient of + reads neither input (as in PyTorch)
    with gs.no_grad():
        y.add_(1.0)
    out.sum().backward()
    np.testing.assert_array_equal(host(x.grad), [1.0, 1.0])


def test_index_views_cannot_be_changed_in_place(device, rng):
    a, idx, _ = make_sparse(rng, "coo", 4, 4, 5, np.float64, device)
    c = a.to_sparse_csr()
    for view in (a.indices(), c.crow_indices(), c.col_indices()):
        with pytest.raises(RuntimeError, match="patterns are immutable"):
            view.add_(1)
    np.testing.assert_array_equal(host(a.indices()), idx)


# ---------------------------------------------------------------------------------------
# 2. constructors copy their inputs and keep the graph


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_attention_path_scores_get_gradients(device, rng, layout):
    """scores -> sparse constructor -> sparse.mm -> loss -> scores.grad, against NumPy."""
    m, n, nnz = 6, 5, 14
    idx, _ = random_coo(rng, m, n, nnz, np.float64)  # duplicates, unsorted
    if layout == "csr":
        order = np.argsort(idx[0], kind="stable")
        idx = idx[:, order]
    S = randn(rng, nnz, np.float64)
    X = randn(rng, (n, 3), np.float64)
    scores = gs.tensor(S, device=device, requires_grad=True)
    x = gs.tensor(X, device=device, requires_grad=True)
    if layout == "coo":
        A = gs.sparse_coo_tensor(idx, scores, (m, n))
    else:
        crow = np.concatenate([[0], np.cumsum(np.bincount(idx[0], minlength=m))])
        A = gs.sparse_csr_tensor(crow, idx[1], scores, (m, n))
    assert A.requires_grad and not A.is_leaf
    out = gs.sparse.mm(A, x)
    loss = (out * out).sum()
    loss.backward()
    G = 2 * dense_of(idx, S, (m, n)) @ X
    ref = np.array([G[i] @ X[j] for i, j in idx.T])
    assert_close(host(scores.grad), ref, np.float64)
    assert_close(host(x.grad), dense_of(idx, S, (m, n)).T @ G, np.float64)


def test_constructor_gradcheck(device, rng):
    idx = np.array([[0, 2, 1, 2], [1, 0, 2, 0]])  # (2, 0) twice
    vals = gs.tensor(randn(rng, 4, np.complex128), device=device, requires_grad=True)
    x = gs.tensor(randn(rng, (3, 2), np.complex128), device=device)
    assert gs.autograd.gradcheck(
        lambda v: gs.sparse.mm(gs.sparse_coo_tensor(idx, v, (3, 3)), x), (vals,))


def test_constructors_copy_tensor_inputs(device, rng):
    w, _, vals = make_sparse(rng, "coo", 5, 4, 6, np.float64, device, requires_grad=True)
    snap = gs.sparse_coo_tensor(w.indices(), w.values(), w.shape)
    c = w.to_sparse_csr().detach()
    snap_csr = gs.sparse_csr_tensor(c.crow_indices(), c.col_indices(), c.values(), c.shape)
    csr_vals = host(c).copy()
    with gs.no_grad():  # an SGD-like step on w and c
        w.values().sub_(1.0)
        c.values().sub_(1.0)
    np.testing.assert_array_equal(host(snap), vals)
    np.testing.assert_array_equal(host(snap_csr), csr_vals)
    d = gs.tensor(randn(rng, 3, np.float64), device=device, requires_grad=True)
    e = gs.tensor(d)
    assert not e.requires_grad and e.is_leaf
    with gs.no_grad():
        d.add_(1.0)
    np.testing.assert_array_equal(host(e) + 1.0, host(d))


# ---------------------------------------------------------------------------------------
# 3. sparse @ sparse keeps its structural pattern


def test_issue_example_cancellation_keeps_the_entry(device):
    a = gs.sparse_coo_tensor([[0, 0], [0, 1]], np.array([1.0, 1.0]), (1, 2), device=device,
                             requires_grad=True)
    b = gs.sparse_coo_tensor([[0, 1], [0, 0]], np.array([1.0, -1.0]), (2, 1),
                             device=device, requires_grad=True)
    c = gs.sparse.mm(a, b)
    assert c.nnz == 1 and host(c).tolist() == [0.0]
    c.values().sum().backward()
    np.testing.assert_array_equal(host(a.grad), [1.0, -1.0])
    np.testing.assert_array_equal(host(b.grad), [1.0, 1.0])


def test_stored_zeros_train_through_sparse_products(device, rng):
    idx_a = np.array([[0, 1, 2, 2], [1, 0, 2, 1]])
    idx_b = np.array([[0, 1, 2, 1], [0, 2, 1, 1]])
    a = gs.sparse_coo_tensor(idx_a, np.zeros(4), (3, 3), device=device, requires_grad=True)
    B = randn(rng, 4, np.float64)
    b = gs.sparse_coo_tensor(idx_b, B, (3, 3), device=device)
    c = gs.sparse.mm(a, b)
    # the structural pattern: every (i, j) with a stored a[i, k] and a stored b[k, j]
    reach = (dense_of(idx_a, np.ones(4), (3, 3)) @ dense_of(idx_b, np.ones(4), (3, 3))) > 0
    got = np.zeros((3, 3), bool)
    ci = host(c.indices())
    got[ci[0], ci[1]] = True
    np.testing.assert_array_equal(got, reach)
    assert np.all(host(c) == 0)
    c.values().sum().backward()
    ref = np.array([dense_of(idx_b, B, (3, 3))[k].sum() for k in idx_a[1]])
    assert_close(host(a.grad), ref, np.float64)
    assert np.any(host(a.grad) != 0)  # a weight stored as zeros gets a gradient


# ---------------------------------------------------------------------------------------
# 4. check_invariants=False never reads or writes out of bounds

_CHILD = r"""
import json, sys
import numpy as np
import gpu_sparse as gs
dev, case = sys.argv[1], sys.argv[2]
def make():
    kw = dict(device=dev, check_invariants=False)
    v = np.array([1.0, 2.0])
    return {
        "coo_row": lambda: gs.sparse_coo_tensor([[0, 7], [1, 2]], v, (5, 4), **kw),
        "coo_col_huge": lambda: gs.sparse_coo_tensor([[0, 1], [1, 10**9]], v, (5, 4), **kw),
        "coo_negative": lambda: gs.sparse_coo_tensor([[0, -3], [1, 2]], v, (5, 4), **kw),
        "csr_col": lambda: gs.sparse_csr_tensor([0, 1, 2, 2, 2, 2], [0, 10**9], v, (5, 4),
                                                **kw),
        "csr_col_negative": lambda: gs.sparse_csr_tensor([0, 1, 2, 2, 2, 2], [0, -1], v,
                                                         (5, 4), **kw),
        "csr_crow_past_nnz": lambda: gs.sparse_csr_tensor([0, 5, 1, 2, 2, 2], [0, 1], v,
                                                          (5, 4), **kw),
    }[case]()
z = lambda *s: gs.zeros(*s, dtype=np.float64, device=dev)
ops = {
    "addmm": lambda a: gs.sparse.addmm(z(5, 3), a, z(4, 3)),
    "mm": lambda a: gs.sparse.mm(a, z(4, 3)),
    "sampled_addmm": lambda a: gs.sparse.sampled_addmm(a, z(5, 2), z(2, 4)),
    "to_dense": lambda a: a.to_dense(),
    "to_sparse_csr": lambda a: a.to_sparse_csr() if a.is_sparse else a.to_sparse(),
    "tolist": lambda a: a.tolist(),
    "to_scipy": lambda a: a.to_scipy(),
}
result = {}
for name, op in ops.items():
    try:
        op(make())
        result[name] = "no error"
    except ValueError as e:
        result[name] = str(e)
print(json.dumps(result))
"""


@pytest.mark.parametrize("case", ["coo_row", "coo_col_huge", "coo_negative", "csr_col",
                                  "csr_col_negative", "csr_crow_past_nnz"])
def test_unchecked_bad_indices_raise_cleanly(device, case):
    res = subprocess.run([sys.executable, "-c", _CHILD, device, case], capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, (res.returncode, res.stderr[-3000:])  # never a signal
    result = json.loads(res.stdout.strip().splitlines()[-1])
    for op, message in result.items():
        fn = op
        if op == "to_sparse_csr":
            fn = "to_sparse_csr" if case.startswith("coo") else "to_sparse"
        assert message.startswith(f"{fn}: ") and "indices" in message, (op, message)
    assert "mat1" in result["addmm"] and "input" in result["sampled_addmm"]


# ---------------------------------------------------------------------------------------
# 5. arguments that used to be misread


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_scalars_that_overflow_the_dtype_raise(device, rng, dtype):
    a, _, _ = make_sparse(rng, "coo", 4, 3, 5, dtype, device)
    b = gs.tensor(randn(rng, (3, 2), dtype), device=device)
    c = gs.tensor(randn(rng, (4, 2), dtype), device=device)
    big = 1e39 if dtype == np.float32 else 1j * 1e39
    with pytest.raises(ValueError, match=r"addmm: alpha = .* does not fit .* "
                                         + np.dtype(dtype).name):
        gs.sparse.addmm(c, a, b, alpha=big)
    with pytest.raises(ValueError, match="addmm: beta = "):
        gs.sparse.addmm(c, a, b, beta=-big)
    with pytest.raises(ValueError, match="sampled_addmm: alpha = "):
        gs.sparse.sampled_addmm(a, gs.tensor(randn(rng, (4, 2), dtype), device=device),
                                gs.tensor(randn(rng, (2, 3), dtype), device=device),
                                alpha=big)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = gs.sparse.addmm(c, a, b, alpha=float("inf"))  # explicit inf stays allowed
    assert np.isinf(host(out)).any() or np.isnan(host(out)).any()
    wide = gs.sparse.addmm(c, a, b, alpha=1e30)
    assert np.isfinite(host(wide)).all()


def test_huge_python_ints_and_elementwise_scalars(device, rng):
    a, _, _ = make_sparse(rng, "coo", 4, 3, 5, np.float32, device)
    b = gs.tensor(randn(rng, (3, 2), np.float32), device=device)
    with pytest.raises(ValueError, match="addmm: alpha = 1000.* too large"):
        gs.sparse.addmm(gs.zeros(4, 2, device=device), a, b, alpha=10**400)
    with warnings.catch_warnings():  # elementwise: IEEE overflow to inf, as in PyTorch
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(host(b * 1e39)).all()


def test_an_unchecked_claim_of_coalesced_order_is_proven(device):
    a = gs.sparse_coo_tensor([[1, 0, 0], [0, 1, 1]], np.ones(3), (2, 2), device=device,
                             is_coalesced=True, check_invariants=False)
    with pytest.raises(ValueError, match="is_coalesced=True but .*indices are not sorted"):
        gs.sparse.mm(a, gs.zeros(2, 2, dtype=np.float64, device=device))


def test_mat_is_required(device, rng):
    a, _, _ = make_sparse(rng, "coo", 4, 3, 5, np.float64, device)
    b = gs.tensor(randn(rng, (3, 2), np.float64), device=device)
    with pytest.raises(TypeError, match="addmm: mat must be a gpu_sparse Tensor, got "
                                        "NoneType"):
        gs.sparse.addmm(None, a, b)
    with pytest.raises(TypeError, match="addmm: mat must be a gpu_sparse Tensor"):
        gs.addmm(None, a, b)


@pytest.mark.parametrize("data", ["abc", None, b"xy", np.array(["a", "b"]),
                                  np.array([object(), object()]), [object()]])
def test_non_numeric_data_raises(device, data):
    with pytest.raises(TypeError, match=r"tensor: (cannot convert )?data "):
        gs.tensor(data, device=device)
    with pytest.raises(TypeError, match=r"sparse_coo_tensor: (cannot convert )?values "):
        gs.sparse_coo_tensor([[0, 1], [0, 1]], data, (2, 2), device=device)
    with pytest.raises(TypeError, match=r"sparse_csr_tensor: (cannot convert )?values "):
        gs.sparse_csr_tensor([0, 1, 2], [0, 1], data, (2, 2), device=device)


def test_uint64_index_beyond_int64_is_reported_as_given(device):
    big = np.uint64(2**63 + 5)
    with pytest.raises(ValueError, match=f"indices has index {int(big)}, beyond the int64"):
        gs.sparse_coo_tensor(np.array([[0, big], [0, 0]], np.uint64), np.ones(2), (2, 2),
                             device=device)
    with pytest.raises(ValueError, match=f"col_indices has index {int(big)}"):
        gs.sparse_csr_tensor([0, 1], np.array([big], np.uint64), np.ones(1), (1, 2),
                             device=device, check_invariants=False)


def test_division_by_zero_follows_ieee(device):
    t = gs.tensor(np.array([1.0, 0.0, -1.0]), device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = t / 0
        np.testing.assert_array_equal(host(out), [np.inf, np.nan, -np.inf])
        out.sum().backward()
    np.testing.assert_array_equal(host(t.grad), [np.inf, np.inf, np.inf])
    np.testing.assert_array_equal(host(t.detach() / 2), [0.5, 0.0, -0.5])


def test_grad_of_a_non_leaf_warns(device):
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2.0
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is not None  # leaves do not warn


# ---- more of the same classes ----------------------------------------------------------


def test_constructors_copy_whatever_array_like_they_get(device):
    class Wrapper:  # __array__ hands out its own buffer (no .base to give it away)
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    idx = np.array([[0, 1], [1, 0]])
    buf = np.array([1.0, 2.0])
    t = gs.sparse_coo_tensor(Wrapper(idx), Wrapper(buf), (2, 2), device=device,
                             dtype=np.float64)
    idx[1, 1] = 10**12  # would be out of bounds if shared
    buf[:] = 9.0
    np.testing.assert_array_equal(host(t), [1.0, 2.0])
    out = gs.sparse.mm(t, gs.tensor(np.eye(2), device=device))
    np.testing.assert_array_equal(host(out), [[0.0, 1.0], [2.0, 0.0]])


def test_moving_an_unchecked_pattern_keeps_it_unproven(device):
    bad = gs.sparse_coo_tensor([[0, 1], [1, 10**9]], np.ones(2), (2, 2), device=device,
                               check_invariants=False)
    moved = bad.pattern.moved(device, lambda a: a.copy())
    with pytest.raises(ValueError, match="column index 1000000000 out of range"):
        moved.prove("mm", "mat1")


def test_index_arguments_must_be_dense(device):
    s = gs.sparse_coo_tensor([[0, 0, 0], [0, 1, 2]], np.array([0, 1, 1]), (1, 3),
                             device=device)
    with pytest.raises(TypeError, match="sparse_csr_tensor: crow_indices must be a dense"):
        gs.sparse_csr_tensor(s, [0], np.array([1.0]), (2, 1), device=device)


def test_integer_tensors_promote_like_pytorch(device):
    t = gs.tensor(np.array([1, 2, 3]), device=device)
    assert (t / 2).dtype == np.float32 and host(t / 2).tolist() == [0.5, 1.0, 1.5]
    assert (t * 0.5).dtype == np.float32 and host(t * 0.5).tolist() == [0.5, 1.0, 1.5]
    assert (t * 2).dtype == t.dtype and host(t * 2).tolist() == [2, 4, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert host(t / 0).tolist() == [np.inf] * 3


def test_true_division_even_by_subnormals(device):
    t = gs.tensor(np.array([0.0, 1e-300, 3.0]), device=device)
    with np.errstate(over="ignore"):
        expect = np.array([0.0, 1e-300, 3.0]) / 1e-310
    np.testing.assert_array_equal(host(t / 1e-310), expect)
    np.testing.assert_array_equal(host(t / 3.0), np.array([0.0, 1e-300, 3.0]) / 3.0)


def test_scale_factors_of_other_number_types(device, rng):
    import decimal
    a, _, _ = make_sparse(rng, "coo", 2, 2, 3, np.float64, device)
    b = gs.tensor(randn(rng, (2, 2), np.float64), device=device)
    c = gs.zeros(2, 2, dtype=np.float64, device=device)
    for big in (np.longdouble("1e400"), decimal.Decimal("1e400")):
        if np.isfinite(np.longdouble("1e400")) or isinstance(big, decimal.Decimal):
            with pytest.raises(ValueError, match="addmm: alpha = .* too large"):
                gs.sparse.addmm(c, a, b, alpha=big)
    ref = host(gs.sparse.addmm(c, a, b, alpha=1.0))
    np.testing.assert_array_equal(host(gs.sparse.addmm(c, a, b, alpha=np.bool_(True))), ref)
    np.testing.assert_array_equal(host(gs.sparse.addmm(c, a, b, alpha=np.array(1.0))), ref)


def test_non_numeric_or_lossy_inputs_elsewhere(device):
    with pytest.raises(TypeError, match="from_dlpack: obj must hold numbers"):
        gs.from_dlpack(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="tensor: data is complex .* real"):
        gs.tensor(np.array([1 + 2j]), dtype=np.float64, device=device)
    with pytest.raises(TypeError, match="sparse_coo_tensor: size must hold integers"):
        gs.sparse_coo_tensor([[0], [0]], [1.0], ("2", "3"), device=device)
    with pytest.raises(TypeError, match="zeros: size must be integers"):
        gs.zeros(2.5, 2, device=device)
    t = gs.zeros(2, device=device)
    with pytest.raises(TypeError, match="copy_: other must be a Tensor or a number, got "
                                        "NoneType"):
        t.copy_(None)
    with pytest.raises(TypeError, match="add_: other must be a Tensor or a number, got str"):
        t.add_("a")
    with pytest.raises(ValueError, match="add_: cannot apply other"):
        t.add_(gs.zeros(3, device=device))
    assert host(t).tolist() == [0.0, 0.0]


def test_coalesce_proves_an_unchecked_claim(device):
    a = gs.sparse_coo_tensor([[1, 0], [0, 1]], np.ones(2), (2, 2), device=device,
                             is_coalesced=True, check_invariants=False)
    with pytest.raises(ValueError, match="coalesce: is_coalesced=True but input indices"):
        a.coalesce()
