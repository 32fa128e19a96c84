"""Where CuPy differs from NumPy, the library gives the same answers on every device.

Each test here failed on ``device="cuda"`` under the CuPy stand-in (gpu_sparse.testing)
before the fix it names, and holds on the CPU too: the CUDA path of the ops, run on a
machine without a GPU. ``test_cuda_standin.py`` checks the stand-in itself."""

import numpy as np
import pytest

import gpu_sparse as gs
import gpu_sparse.testing as gt
from gpu_sparse.nn import functional as F  # noqa: N812 (PyTorch's habit)
from tests.helpers import host, random_coo


def _other(device):
    """A device other than ``device`` when one exists (else ``device`` itself)."""
    others = [d for d in gs.available_backends() if not device.startswith(d)]
    return others[0] if others else device


def test_bfloat16_tensors_build_and_cast(device):
    """ml_dtypes' bfloat16 has kind 'V': the constructors' and to()'s numeric checks
    refused it, so no public path built a bfloat16 tensor."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    x = gs.tensor(np.array([1.5, -2.0, 3.0]).astype(bf16), device=device)
    assert x.dtype == bf16 and host(x).astype(np.float32).tolist() == [1.5, -2.0, 3.0]
    y = gs.tensor([0.5, 1.0], device=device, requires_grad=True)
    z = y.to(bf16)
    assert z.dtype == bf16 and z.requires_grad  # a floating point cast: differentiable
    z.to("float32").sum().backward()
    assert host(y.grad).tolist() == [1.0, 1.0]
    s = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([2.0, 3.0]).astype(bf16), (2, 2),
                             device=device)
    assert s.dtype == bf16 and s.to("float32").to_dense().tolist() == [[0, 2], [3, 0]]
    assert gs.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), device=device).to(bf16).dtype \
        == bf16
    if bf16 in gs.backend.get_backend(x.device).supported_dtypes:
        b = gs.tensor(np.ones((2, 3)).astype(bf16), device=device)
        assert gs.sparse.mm(s, b).to("float32").tolist() == [[2.0] * 3, [3.0] * 3]


def test_a_tensor_keeps_its_device_in_constructors(device):
    """A Tensor given to a constructor without device= moved to the default device."""
    old = gs.get_default_device()
    gs.set_default_device(_other(device))
    try:
        t = gs.tensor([1.0, 2.0], device=device)
        assert gs.tensor(t).device == t.device
        vals = gs.tensor([1.0, 2.0], device=device)
        s = gs.sparse_coo_tensor([[0, 1], [1, 0]], vals, (2, 2))
        assert s.device == vals.device
        csr = gs.sparse_csr_tensor([0, 1, 2], [1, 0], vals, (2, 2))
        assert csr.device == vals.device
    finally:
        gs.set_default_device(old)


@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_softmax_segment_maximum_in_every_dtype(device, dim):
    """CuPy's maximum.at compares float64 through float32 (NaN above 3.4e38) and refuses
    float16: the segment maximum is a segmented scan of our own now."""
    idx = np.array([[0, 0, 1, 2, 2], [0, 1, 1, 0, 2]])
    vals = np.array([1e300, 1e300 - 1e290, 5.0, np.nan, -np.inf])
    s = gs.sparse_coo_tensor(idx, vals, (3, 3), device=device).coalesce()
    got = host(gs.sparse.softmax(s, dim))
    dense = np.full((3, 3), -np.inf)
    dense[idx[0], idx[1]] = vals
    with np.errstate(invalid="ignore", over="ignore"):
        top = dense.max(axis=dim, keepdims=True)
        e = np.exp(dense - top)
        want = (e / e.sum(axis=dim, keepdims=True))[idx[0], idx[1]]
    np.testing.assert_array_equal(got, want)
    assert not np.isnan(got[:2]).any() if dim == 1 else np.isnan(got[[0, 3]]).all()
    if np.dtype(np.float16) in gs.backend.get_backend(s.device).supported_dtypes:
        h = gs.sparse_coo_tensor(idx, np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float16),
                                 (3, 3), device=device).coalesce()
        w = dense.copy()
        w[idx[0], idx[1]] = [1, 2, 3, 4, 5]
        e = np.exp(w - w.max(axis=dim, keepdims=True))
        want = (e / e.sum(axis=dim, keepdims=True))[idx[0], idx[1]]
        np.testing.assert_allclose(host(gs.sparse.softmax(h, dim)).astype(np.float64), want,
                                   rtol=2e-3)


def test_integer_power_of_a_negative_tensor_exponent_raises(device):
    """CuPy gives 0 for an integer to a negative integer power, where NumPy raises."""
    base = gs.tensor([2, 3], device=device)
    with pytest.raises(ValueError, match="pow: integers to negative integer powers"):
        base ** gs.tensor([1, -1], device=device)
    assert (base ** gs.tensor([2, 0], device=device)).tolist() == [4, 1]


def test_inplace_updates_take_a_numpy_0d_operand(device):
    """CuPy's ufuncs refuse NumPy arrays, 0-d included: add_/sub_/mul_ raised there."""
    x = gs.tensor([1.0, 2.0], device=device)
    x.add_(np.array(2.0)).mul_(np.array(3.0)).sub_(np.array(1.0))
    assert x.tolist() == [8.0, 11.0]


def test_setitem_repeated_positions_store_the_last_write(device):
    """A GPU scatter leaves the winner of repeated positions undefined (the stand-in
    picks one at random): every write of a position now carries the last value."""
    for _ in range(8):
        x = gs.zeros(4, device=device)
        x[[0, 1, 0, 3, 0, 1]] = gs.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], device=device)
        assert x.tolist() == [5.0, 6.0, 0.0, 4.0]
        y = gs.zeros(2, 3, device=device)
        y[[1, 1, 0], [2, 2, 0]] = 7.0
        y[gs.tensor([0, 0], device=device)] = gs.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
                                                         device=device)
        assert y.tolist() == [[4.0, 5.0, 6.0], [0.0, 0.0, 7.0]]


def test_to_scipy_of_integer_values(device):
    """cupyx holds no integer values: to_scipy raised ValueError on CUDA."""
    s = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([3, -4]), (2, 2), device=device)
    for m in (s.to_scipy(), s.to_sparse_csr().to_scipy()):
        d = m.toarray()
        d = d.get() if hasattr(d, "get") else d
        assert d.tolist() == [[0, 3], [-4, 0]]
    if device != "cpu":
        big = gs.sparse_coo_tensor([[0], [0]], np.array([2 ** 60]), (1, 1), device=device)
        with pytest.raises(ValueError, match="exceed 2\\*\\*53"):
            big.to_scipy()


def test_one_seed_draws_the_same_numbers_on_every_device(device):
    """Dropout masks and rand/randn came from the host and were copied at every call;
    now they are drawn on the device, from the same counter-based stream everywhere."""
    x = gs.ones(300, 7, device=device)
    a = F.dropout(x, 0.3, generator=gs.Generator().manual_seed(11))
    b = F.dropout(gs.ones(300, 7, device="cpu"), 0.3,
                  generator=gs.Generator().manual_seed(11))
    np.testing.assert_array_equal(host(a), host(b))
    kept = (host(a) != 0).mean()
    assert 0.65 < kept < 0.75 and set(np.unique(host(a))) == {0.0, np.float32(1 / 0.7)}
    u = host(gs.rand(4000, generator=gs.Generator().manual_seed(3), device=device,
                     dtype="float64"))
    np.testing.assert_array_equal(u, host(gs.rand(4000, generator=gs.Generator()
                                                  .manual_seed(3), dtype="float64",
                                                  device="cpu")))
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    n = host(gs.randn(20000, generator=gs.Generator().manual_seed(5), device=device,
                      dtype="float64"))
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    g = gs.Generator().manual_seed(1)
    assert host(gs.rand(3, generator=g, device=device)).tolist() != \
        host(gs.rand(3, generator=g, device=device)).tolist()  # the stream moves on


@pytest.mark.skipif(not gt.standin_active(), reason="counts the stand-in's device "
                    "synchronisations and copies (the GPU_SPARSE_CUDA_STANDIN=1 pass)")
def test_a_training_step_synchronises_nothing_after_the_first(rng):
    """Bounds checks of targets, the count of kept targets in nll_loss and dropout masks
    from the host synchronised or copied at every step."""
    st = gt.state()
    idx, vals = random_coo(rng, 300, 300, 3000, np.float32)
    a = gs.sparse_coo_tensor(idx, vals, (300, 300), device="cuda")
    x = gs.tensor(rng.standard_normal((300, 20)).astype(np.float32), device="cuda")
    w1 = gs.tensor(rng.standard_normal((20, 16)).astype(np.float32), device="cuda",
                   requires_grad=True)
    w2 = gs.tensor(rng.standard_normal((16, 5)).astype(np.float32), device="cuda",
                   requires_grad=True)
    t = rng.integers(0, 5, 300)
    t[::3] = -100
    target = gs.tensor(t, device="cuda")
    opt = gs.optim.Adam([w1, w2], lr=0.01)
    gen = gs.Generator().manual_seed(0)
    counts = []
    for _ in range(3):
        before = (st.syncs, st.h2d)
        opt.zero_grad()
        h = F.dropout(F.relu(gs.sparse.mm(a, x @ w1)), 0.5, generator=gen)
        out = F.log_softmax(gs.sparse.mm(a, h @ w2), dim=1)
        F.nll_loss(out, target).backward()
        opt.step()
        counts.append((st.syncs - before[0], st.h2d - before[1]))
    assert counts[1:] == [(0, 0), (0, 0)], counts
