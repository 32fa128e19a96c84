"""The autograd engine: modes, autograd.grad, gradcheck catching wrong gradients."""

import numpy as np
import pytest

import gpu_sparse as gs
from gpu_sparse.ops.derivatives import DERIVATIVES, InputCtx, record
from tests.helpers import assert_close, host, make_sparse, randn


def test_no_grad_and_enable_grad(device):
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    with gs.no_grad():
        y = x * 2.0
        with gs.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert gs.is_grad_enabled()


def test_autograd_grad_does_not_touch_grad(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 4, 3, 6, np.float64, device, requires_grad=True)
    B = randn(rng, (3, 2), np.float64)
    b = gs.tensor(B, device=device, requires_grad=True)
    out = gs.sparse.mm(a, b)
    ga, gb = gs.autograd.grad(out.sum(), (a, b))
    assert a.grad is None and b.grad is None
    assert ga.layout is gs.sparse_coo and ga.nnz == 6
    assert_close(host(ga), B.sum(axis=1)[idx[1]], np.float64)
    with pytest.raises(RuntimeError, match="grad: one of the differentiated tensors"):
        gs.autograd.grad(b.sum(), (a,))


def test_gradient_accumulates_dense(device):
    x = gs.tensor([1.0, 2.0], dtype=np.float64, device=device, requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), [5.0, 7.0])


def test_second_backward_raises_unless_retained(device):
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(host(x.grad), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_user_gradient_is_not_aliased(device):
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    g = gs.tensor([1.0, 1.0], device=device)
    (x + 0.0).backward(g)
    (x + 0.0).backward(g)
    np.testing.assert_allclose(host(g), [1.0, 1.0])
    np.testing.assert_allclose(host(x.grad), [2.0, 2.0])


def test_gradcheck_catches_a_wrong_formula(device, rng, monkeypatch):
    a, _, _ = make_sparse(rng, "coo", 3, 3, 4, np.complex128, device, requires_grad=True)
    b = gs.tensor(randn(rng, (3, 2), np.complex128), device=device, requires_grad=True)
    fn = (lambda a, b: gs.sparse.addmm(gs.zeros(3, 2, dtype=np.complex128, device=device),
                                       a, b, alpha=1 + 1j))
    assert gs.autograd.gradcheck(fn, (a, b))
    good = DERIVATIVES["addmm"].formulas["mat1"]

    def forgets_conj(c, g):  # PyTorch 2.13's mistake: alpha instead of conj(alpha)
        c2 = type(c)(**{**vars(c), "alpha": np.conj(c.alpha)})
        return good(c2, g)

    monkeypatch.setitem(DERIVATIVES["addmm"].formulas, "mat1", forgets_conj)
    with pytest.raises(gs.GradcheckError, match=r"inputs\[0\]"):
        gs.autograd.gradcheck(fn, (a, b))
    assert gs.autograd.gradcheck(fn, (a, b), raise_exception=False) is False


def test_gradcheck_needs_double(device):
    x = gs.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(TypeError, match="gradcheck: inputs\\[0\\] has dtype float32"):
        gs.autograd.gradcheck(lambda x: x * x, (x,))


def test_requires_grad_rules(device):
    with pytest.raises(RuntimeError, match="only floating point"):
        gs.tensor([1, 2], device=device, requires_grad=True)
    x = gs.tensor([1.0], device=device, requires_grad=True)
    y = x * 2.0
    assert not y.is_leaf
    with pytest.raises(RuntimeError, match="requires_grad_: you can only change"):
        y.requires_grad = False
    d = y.detach()
    assert d.is_leaf and not d.requires_grad


def test_deep_graph_is_iterative(device):
    x = gs.tensor([1.0], dtype=np.float64, device=device, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    assert host(x.grad)[0] == 1.0


def test_record_refuses_an_op_without_a_table_entry(device):
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    out = gs.tensor([0.0], device=device)
    with pytest.raises(KeyError, match="'no_such_op' has no entry in DERIVATIVES"):
        record("no_such_op", out, [("input", x)], InputCtx(x))
    with pytest.raises(KeyError, match="no derivative formula for input 'other'"):
        record("values", out, [("other", x)], InputCtx(x))
    with pytest.raises(TypeError, match="'sum' saves a SumCtx, got InputCtx"):
        record("sum", out, [("input", x)], InputCtx(x))
    with gs.no_grad():  # refused whatever the grad mode
        with pytest.raises(KeyError):
            record("no_such_op", out, [("input", x)], InputCtx(x))
    assert out.grad_fn is None and not out.requires_grad


def test_recorded_nodes_name_their_table_entry(device, rng):
    a, _, _ = make_sparse(rng, "coo", 3, 3, 5, np.float64, device, requires_grad=True)
    b = gs.tensor(randn(rng, (3, 2), np.float64), device=device, requires_grad=True)
    out = gs.sparse.mm(a, b)
    assert out.grad_fn.op in DERIVATIVES and out.grad_fn.op == "addmm"
    assert repr(out.grad_fn) == "<AddmmBackward>"
    for t in (out.sum(), a.values(), a.coalesce(), a.to_dense(), a.to_sparse_csr(),
              out * 2.0, out - out, out + 1.0, gs.sparse.mm(a, a.to_sparse().detach())):
        assert t.grad_fn is None or t.grad_fn.op in DERIVATIVES


def test_pass_through_grads_do_not_alias(device):
    x = gs.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = gs.tensor([3.0, 4.0], device=device, requires_grad=True)
    (x + y).sum().backward()  # the same upstream array reaches both leaves
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), [4.0, 4.0])
    np.testing.assert_allclose(host(y.grad), [1.0, 1.0])


def test_every_record_of_the_table_is_whole():
    """One record per op: a frozen dataclass context, a formula per input, and ``reads``
    naming only inputs of the op (an empty mapping when no formula reads saved values)."""
    import dataclasses

    from gpu_sparse.ops.derivatives import Derivative, PerInput
    assert len(DERIVATIVES) >= 49
    for op, entry in DERIVATIVES.items():
        assert isinstance(entry, Derivative), op
        assert dataclasses.is_dataclass(entry.ctx), op
        assert entry.ctx.__dataclass_params__.frozen, op
        if isinstance(entry.formulas, PerInput):
            continue
        names = set(entry.formulas)
        assert names and all(callable(f) for f in entry.formulas.values()), op
        assert set(entry.reads) <= names, op
        assert all(set(r) <= names for r in entry.reads.values()), op
