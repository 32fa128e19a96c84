"""Tensor construction, metadata, conversions and interop."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import gpu_sparse as gs
from tests.helpers import (assert_close, assert_on, cpu_only_env, dense_of, host, make_sparse,
                           randn)


def test_python_floats_become_float32(device):
    t = gs.tensor([[1.0, 2.0]], device=device)
    assert t.dtype == np.float32 and t.layout is gs.strided and t.shape == (1, 2)
    assert gs.tensor([1 + 2j], device=device).dtype == np.complex64
    assert gs.tensor(np.ones(3, np.float64), device=device).dtype == np.float64
    s = gs.sparse_coo_tensor([[0], [1]], [2.0], device=device)
    assert s.dtype == np.float32 and s.shape == (1, 2)
    assert_on(t, device)


def test_tensor_copies_its_data(device):
    a = np.arange(4.0)
    t = gs.tensor(a, device=device)
    a[0] = 100
    assert host(t)[0] == 0


def test_metadata(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 5, 4, 6, np.float64, device)
    assert a.layout is gs.sparse_coo and a.is_sparse and not a.is_sparse_csr
    assert a.ndim == 2 and a.shape == (5, 4) and a.nnz == 6 and a._nnz() == 6
    assert a.is_leaf and a.grad is None and a.grad_fn is None and not a.requires_grad
    np.testing.assert_array_equal(host(a.indices()), idx)
    assert a.indices().dtype == np.int64
    c = a.to_sparse_csr()
    assert c.is_sparse_csr and c.crow_indices().dtype == np.int64
    assert c.col_indices().dtype == np.int64
    assert gs.sparse_coo == gs.Layout.sparse_coo


def test_size_inferred_and_empty(device):
    t = gs.sparse_coo_tensor(np.array([[0, 3], [1, 0]]), np.array([1.0, 2.0]),
                             device=device)
    assert t.shape == (4, 2)
    e = gs.sparse_coo_tensor(np.zeros((2, 0), np.int64), np.zeros(0), device=device)
    assert e.shape == (0, 0) and e.nnz == 0
    c = gs.sparse_csr_tensor([0, 0, 0], [], np.zeros(0), device=device)
    assert c.shape == (2, 0)


def test_coalesce_semantics(device):
    idx = np.array([[1, 0, 1, 0, 1], [2, 1, 0, 1, 2]])
    vals = np.array([1.0, 2.0, 3.0, 0.0, 4.0])
    t = gs.sparse_coo_tensor(idx, vals, (2, 3), device=device)
    assert not t.is_coalesced()
    np.testing.assert_array_equal(host(t), vals)  # values() works uncoalesced
    c = t.coalesce()
    assert c.is_coalesced() and c.coalesce() is c
    np.testing.assert_array_equal(host(c.indices()), [[0, 1, 1], [1, 0, 2]])
    np.testing.assert_array_equal(host(c), [2.0, 3.0, 5.0])
    # explicit zeros are kept
    z = gs.sparse_coo_tensor([[0, 1], [0, 1]], [0.0, 1.0], (2, 2), device=device)
    assert z.coalesce().nnz == 2


def test_coalesce_large_random_matches_scipy(device, rng):
    m, n, nnz = 300, 200, 20000
    idx = np.stack([rng.integers(0, m, nnz), rng.integers(0, n, nnz)])
    vals = rng.standard_normal(nnz)
    c = gs.sparse_coo_tensor(idx, vals, (m, n), device=device).coalesce()
    ref = sp.coo_matrix((vals, (idx[0], idx[1])), shape=(m, n)).tocsr()
    ref.sum_duplicates()
    ref = ref.tocoo()
    np.testing.assert_array_equal(host(c.indices()), np.stack([ref.row, ref.col]))
    np.testing.assert_allclose(host(c), ref.data, rtol=1e-13)


def test_scipy_roundtrip(device, rng):
    m = sp.random(6, 5, density=0.4, format="csr", random_state=1, dtype=np.float64)
    if device != "cpu":
        import cupyx.scipy.sparse as csp
        m = csp.csr_matrix(m)
    t = gs.from_scipy(m)  # a cupyx matrix stays on its GPU; SciPy's goes to the default
    assert t.layout is gs.sparse_csr
    assert t.device.startswith(device if device != "cpu" else gs.get_default_device())
    t = gs.from_scipy(m, device=device)
    assert t.device.startswith(device)
    back = t.to_scipy()
    np.testing.assert_allclose(_dense(back), _dense(m))
    coo = gs.from_scipy(m.tocoo(), device=device)
    assert coo.layout is gs.sparse_coo and coo.device.startswith(device)
    np.testing.assert_allclose(_dense(coo.to_scipy()), _dense(m))
    with pytest.raises(TypeError, match="from_scipy: m must be a scipy.sparse"):
        gs.from_scipy(np.eye(2))


def _dense(m):
    d = m.toarray()
    return d.get() if hasattr(d, "get") else d


def test_to_dense_and_to_sparse(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 5, 6, 12, np.complex64, device)
    D = dense_of(idx, vals, (5, 6))
    assert_close(host(a.to_dense()), D, np.complex64)
    assert_close(host(a.to_sparse_csr().to_dense()), D, np.complex64)
    assert_close(host(a.to_sparse_csr().to_sparse().to_dense()), D, np.complex64)
    d = gs.tensor(D.astype(np.complex64), device=device)
    s = d.to_sparse()
    assert s.layout is gs.sparse_coo and s.is_coalesced()
    assert_close(host(s.to_dense()), D, np.complex64)
    assert_close(host(d.to_sparse_csr().to_dense()), D, np.complex64)


def test_dlpack_zero_copy_cpu():
    a = np.arange(6.0).reshape(2, 3)
    t = gs.from_dlpack(a)
    assert np.shares_memory(t.numpy(), a)
    back = np.from_dlpack(t)
    assert np.shares_memory(back, a)


def test_torch_dlpack_roundtrip():
    torch = pytest.importorskip("torch")
    x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    t = gs.from_dlpack(x)
    assert np.shares_memory(t.numpy(), x.numpy())
    y = torch.from_dlpack(t)
    assert torch.equal(x, y)


def test_numpy_refuses_requires_grad(device):
    t = gs.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="numpy: can't call numpy"):
        t.numpy()
    assert host(t)[0] == 1.0


def test_arithmetic_and_item(device, rng):
    X, Y = randn(rng, (3, 4), np.float64), randn(rng, (4,), np.float64)
    x, y = gs.tensor(X, device=device, requires_grad=True), gs.tensor(Y, device=device,
                                                                       requires_grad=True)
    out = ((x * y - 2.0) + 1.5 * x - y / 2.0).sum()
    assert abs(out.item() - (X * Y - 2 + 1.5 * X - Y / 2).sum()) < 1e-12
    assert gs.autograd.gradcheck(lambda x, y: (x * y - 2.0 + 1.5 * x - y / 2.0 + (-x)),
                                 (x, y))
    assert gs.autograd.gradcheck(lambda x: 3.0 - x * x, (x,))


def test_complex_arithmetic_gradcheck(device, rng):
    x = gs.tensor(randn(rng, (2, 3), np.complex128), device=device, requires_grad=True)
    y = gs.tensor(randn(rng, (2, 3), np.complex128), device=device, requires_grad=True)
    assert gs.autograd.gradcheck(lambda x, y: x * y.conj() + (1 + 2j) * x, (x, y))


def test_zeros_randn(device):
    z = gs.zeros(3, 2, dtype=np.float64, device=device)
    assert z.shape == (3, 2) and np.all(host(z) == 0)
    gs.manual_seed(3)
    r1 = host(gs.randn(4, 5, device=device))
    gs.manual_seed(3)
    r2 = host(gs.randn(4, 5, device=device))
    assert np.array_equal(r1, r2) and r1.std() > 0.1 and r1.dtype == np.float32


def test_default_device_and_backends():
    assert gs.available_backends()[0] == "cpu"
    prev = gs.get_default_device()
    try:
        gs.set_default_device("cpu")
        assert gs.tensor([1.0]).device == "cpu"
    finally:
        gs.set_default_device(prev)


@pytest.mark.parametrize("env,expect", [("cpu", "cpu"), ("auto", None)])
def test_env_default_device(env, expect):
    code = "import gpu_sparse as gs; print(gs.get_default_device())"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "GPU_SPARSE_DEVICE": env}, check=True)
    got = res.stdout.strip()
    if expect is None:
        expect = "cuda:0" if "cuda" in gs.available_backends() else "cpu"
    assert got == expect


def test_import_without_cupy_says_cpu_only():
    code = ("import sys; sys.modules['cupy'] = None\n"
            "import gpu_sparse as gs; print(gs.available_backends())")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert res.stdout.strip() == "('cpu',)"


def test_to_device_roundtrip(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 4, 3, 5, np.float64, "cpu", requires_grad=True)
    moved = a.to(device)
    assert moved.device.startswith(device)
    back = moved.cpu()
    np.testing.assert_array_equal(host(back.indices()), idx)
    b = gs.tensor(randn(rng, (3, 2), np.float64), device=device)
    gs.sparse.mm(moved, b).sum().backward()
    assert a.grad.device == "cpu" and a.grad.nnz == 5
    assert_close(host(a.grad), host(b).sum(axis=1)[idx[1]], np.float64)


def test_repr(device, rng):
    a, _, _ = make_sparse(rng, "csr", 3, 3, 4, np.float32, device, requires_grad=True)
    r = repr(a)
    assert "crow_indices" in r and "sparse_csr" in r and "requires_grad=True" in r
    assert "tensor(" in repr(gs.tensor([1.0], device=device))


def test_sparse_tensors_pickle_and_copy(device, rng):
    import copy
    import pickle
    for layout in ("coo", "csr"):
        a, _, vals = make_sparse(rng, layout, 5, 4, 7, np.float64, device, requires_grad=True)
        b = gs.tensor(randn(rng, (4, 3), np.float64), device=device, requires_grad=True)
        gs.sparse.mm(a, b).sum().backward()  # fills the pattern's cached CSR forms
        for t in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
            assert t.layout is a.layout and t.shape == a.shape and t.device == a.device
            np.testing.assert_array_equal(host(t), vals)
            np.testing.assert_array_equal(host(t.grad), host(a.grad))
            assert t.grad.pattern is t.pattern  # the own-pattern rule survives


def test_patterns_are_immutable(device, rng):
    a, _, _ = make_sparse(rng, "coo", 4, 4, 6, np.float64, device)
    with pytest.raises(AttributeError, match="patterns are immutable"):
        a.pattern.shape = (5, 5)
    c = a.to_sparse_csr()
    with pytest.raises(AttributeError, match="patterns are immutable"):
        c.pattern.crow = c.pattern.crow
    if device == "cpu":  # NumPy arrays carry a writeable flag; the index views are read-only
        for idx in (a.indices(), c.crow_indices(), c.col_indices()):
            with pytest.raises(ValueError, match="read-only"):
                idx.numpy()[..., 0] = 1


def test_a_gradient_with_equal_indices_lines_up_entry_by_entry(device, rng):
    """A sparse gradient or update built on the same indices (another pattern object)
    applies entry by entry, duplicates included, as one on the pattern itself."""
    idx = np.array([[0, 1, 0], [1, 0, 1]])  # (0, 1) twice
    s = gs.sparse_coo_tensor(idx, np.array([1.0, 2.0, 3.0]), (2, 2), device=device,
                             requires_grad=True)
    out = gs.sparse.sampled_addmm(s, gs.zeros(2, 1, dtype=np.float64, device=device),
                                  gs.zeros(1, 2, dtype=np.float64, device=device))
    g = gs.sparse_coo_tensor(idx.copy(), np.array([1.0, 2.0, 3.0]), (2, 2),
                             device=device)
    assert g.pattern is not out.pattern  # (index views would share out's pattern)
    out.backward(g)
    np.testing.assert_array_equal(host(s.grad), [1.0, 2.0, 3.0])
    w = s.detach()
    with gs.no_grad():
        w.add_(gs.sparse_coo_tensor(w.indices(), np.array([10.0, 20.0, 30.0]), (2, 2),
                                    device=device))
    np.testing.assert_array_equal(host(w), [11.0, 22.0, 33.0])
    other = gs.sparse_coo_tensor(np.array([[1, 1, 0], [1, 0, 1]]), np.ones(3), (2, 2),
                                 device=device)
    with pytest.raises(ValueError, match="share this tensor's pattern"):
        with gs.no_grad():
            w.add_(other)


def test_dtype_names_torch_dtypes_and_from_scipy_dtype(device):
    assert gs.tensor([1.0], dtype="float64", device=device).dtype == np.float64
    assert gs.zeros(2, dtype="complex64", device=device).dtype == np.complex64
    with pytest.raises(TypeError, match="tensor: dtype must be a NumPy dtype, its name or a "
                                        "PyTorch dtype, got 'floaty'"):
        gs.tensor([1.0], dtype="floaty", device=device)
    adj = sp.eye(3, dtype=np.int64, format="csr")
    t = gs.from_scipy(adj, dtype=np.float32)
    assert t.dtype == np.float32 and t.to_dense().tolist() == np.eye(3).tolist()
    torch = pytest.importorskip("torch")
    assert gs.tensor([1.0], dtype=torch.float64, device=device).dtype == np.float64


def test_repr_of_empty_tensors_shows_the_shape(device):
    assert "size=(0, 3)" in repr(gs.zeros(0, 3, device=device))


def test_demo_without_the_device_says_one_line(capsys):
    from gpu_sparse import demo
    if "cuda" in gs.available_backends():  # a GPU or the stand-in: a child without CuPy
        code = ("import sys; sys.modules['cupy'] = None\n"
                "from gpu_sparse import demo; sys.exit(demo.main(['--device', 'cuda']))")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=300, env=cpu_only_env())
        assert res.returncode == 2, res.stderr[-3000:]
        out = res.stdout.strip().splitlines()
    else:
        assert demo.main(["--device", "cuda"]) == 2
        out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no CUDA GPU is usable" in out[0]


def test_warmup_compiles_and_reports(capsys):
    from gpu_sparse import warmup
    assert warmup.main(["--dtypes", "float64", "--layouts", "coo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cpu float64 coo: ") and out.strip().endswith(" s")


def test_first_compile_is_announced_once(caplog):
    import logging

    from cpu_backend import _cache, _kernels
    with caplog.at_level(logging.WARNING, logger="gpu_sparse"):
        _cache.announce_first_compile(_kernels.spmm_csr, cached=False)
    assert "compiling the CPU kernels on first use" in caplog.text
    assert "gpu_sparse.warmup" in caplog.text


def test_numpy_protocol(device):
    t = gs.tensor(np.array([1.0, 2.0]), device=device)
    if device != "cpu":
        with pytest.raises(TypeError, match="__array__: a CUDA tensor does not convert"):
            np.asarray(t)
        return
    a = np.asarray(t)
    assert np.shares_memory(a, t.numpy()) and a.tolist() == [1.0, 2.0]
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert not np.shares_memory(np.array(t), t.numpy())
    out = np.float64(2.0) * t  # operators stay Tensor methods (differentiable)
    assert isinstance(out, gs.Tensor) and out.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(gs.tensor([1.0], device="cpu", requires_grad=True))
    with pytest.raises(TypeError, match="add: input must be a Tensor or a number"):
        np.ones(2) + t


def test_full_ones_and_likes(device):
    assert gs.ones(2, 3, device=device).tolist() == [[1.0] * 3] * 2
    assert gs.ones((2,), dtype="float64", device=device).dtype == np.float64
    f = gs.full((2, 1), 2.5, device=device)
    assert f.dtype == np.float32 and f.tolist() == [[2.5], [2.5]]
    assert gs.full(2, 1j, device=device).dtype == np.complex64
    x = gs.tensor(np.ones((3, 2), np.complex128), device=device)
    z = gs.zeros_like(x)
    assert z.shape == (3, 2) and z.dtype == np.complex128 and z.device == x.device
    o = gs.ones_like(x, dtype=np.float32, requires_grad=True)
    assert o.dtype == np.float32 and o.requires_grad and o.tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(TypeError, match="full: fill_value is complex"):
        gs.full(2, 1j, dtype=np.float32, device=device)
    with pytest.raises(TypeError, match="zeros_like: input must be a gpu_sparse Tensor"):
        gs.zeros_like(np.ones(2))
