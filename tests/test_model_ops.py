"""The ops a model is written with (issue 10): elementwise, comparisons, where/clamp,
reductions along dims, indexing, shape ops, casts, creation, nn.init and the sparse
softmax/sum. Each against a float64 NumPy reference on seeded data, with gradcheck, on
every backend through ``device``; PyTorch as a second oracle where installed."""

import importlib
import importlib.util

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import assert_close, host, make_sparse, randn

F = gs.nn.functional
SHAPES = [(4, 3), (1, 1), (0, 3), (5,)]

# op -> (gpu_sparse function, float64/complex128 NumPy reference, real only, domain)
UNARY = {
    "neg": (gs.neg, np.negative, False, None),
    "abs": (gs.abs, np.abs, False, None),
    "sqrt": (gs.sqrt, np.sqrt, False, "positive"),
    "sigmoid": (gs.sigmoid, lambda a: 1 / (1 + np.exp(-a)), False, None),
    "tanh": (gs.tanh, np.tanh, False, None),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda a: np.where(a > 0, a, 0.2 * a),
                   True, None),
    "elu": (lambda t: F.elu(t, 1.5), lambda a: np.where(a > 0, a, 1.5 * np.expm1(a)),
            True, None),
    "square": (lambda t: t ** 2, lambda a: a ** 2, False, None),
    "rpow": (lambda t: 2.0 ** t, lambda a: 2.0 ** a, False, None),
    "rdiv": (lambda t: 1 / t, lambda a: 1 / a, False, "positive"),
    "clamp": (lambda t: gs.clamp(t, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), True, None),
}


def _data(rng, shape, dtype, domain):
    a = randn(rng, shape, dtype)
    if domain == "positive":
        a = (np.abs(a) + 0.5).astype(dtype) if np.dtype(dtype).kind == "f" else a + 3
    return a


def _ref_dtype(dtype):
    return np.complex128 if np.dtype(dtype).kind == "c" else np.float64


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128],
                         ids=["f32", "f64", "c128"])
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(device, rng, op, dtype, shape):
    fn, ref, real_only, domain = UNARY[op]
    if real_only and np.dtype(dtype).kind == "c":
        with pytest.raises(TypeError):
            fn(gs.tensor(randn(rng, (2,), dtype), device=device))
        return
    a = _data(rng, shape, dtype, domain)
    keep = a.copy()
    x = gs.tensor(a, device=device)
    out = fn(x)
    want = ref(a.astype(_ref_dtype(dtype)))
    assert out.shape == want.shape
    assert_close(host(out), want, dtype, scale=10)
    np.testing.assert_array_equal(host(x), keep)  # the input is left untouched
    if np.dtype(dtype).itemsize >= 8 and a.size:
        a64 = _data(rng, shape, dtype, domain)
        if op == "abs" or op == "clamp":  # keep away from the kinks
            a64 = np.where(np.abs(a64) < 0.05, 0.3, a64).astype(dtype)
            if op == "clamp":
                a64 = np.where(np.abs(np.abs(a64) - 0.6) < 0.1, 0.1, a64).astype(dtype)
        assert gs.autograd.gradcheck(fn, (gs.tensor(a64, device=device,
                                                    requires_grad=True),))


def test_activation_edges(device):
    x = gs.tensor([-1000.0, -0.0, 0.0, 1000.0, np.nan], device=device)
    np.testing.assert_array_equal(host(gs.sigmoid(x))[:4], [0.0, 0.5, 0.5, 1.0])
    assert np.isnan(host(gs.sigmoid(x))[4]) and np.isnan(host(gs.tanh(x))[4])
    np.testing.assert_array_equal(host(F.elu(x))[[0, 3]], [-1.0, 1000.0])
    assert np.isnan(host(gs.clamp(x, 0.0, 1.0))[4])  # NaN stays NaN, as PyTorch
    # PyTorch's conventions at the kinks: relu'(0) = 0, leaky_relu'(0) = slope, abs'(0) = 0
    z = gs.tensor([0.0], dtype="float64", device=device, requires_grad=True)
    for fn, want in [(gs.relu, 0.0), (lambda t: F.leaky_relu(t, 0.3), 0.3), (gs.abs, 0.0),
                     (lambda t: t ** 0, 0.0), (lambda t: gs.clamp(t, 0.0, 1.0), 1.0)]:
        z.grad = None
        fn(z).sum().backward()
        assert host(z.grad)[0] == want


def test_binary_broadcasting_and_gradients(device, rng):
    A = randn(rng, (4, 3), np.float64)
    B = np.abs(randn(rng, (1, 3), np.float64)) + 0.5
    a = gs.tensor(A, device=device, requires_grad=True)
    b = gs.tensor(B, device=device, requires_grad=True)
    assert_close(host(a / b), A / B, np.float64)
    assert_close(host(b ** a), B ** A, np.float64)
    assert_close(host(b ** 3), B ** 3, np.float64)
    for fn in [lambda x, y: x / y, lambda x, y: y ** x, lambda x, y: gs.pow(y, x) * x,
               lambda x, y: gs.where(x > 0, x, y), lambda x, y: gs.clamp(x, min=-y, max=y)]:
        assert gs.autograd.gradcheck(fn, (a, b))
    c = randn(rng, (3,), np.complex128)
    ct = gs.tensor(c, device=device, requires_grad=True)
    assert gs.autograd.gradcheck(lambda t: t / (t * t + 2), (ct,))
    assert gs.autograd.gradcheck(lambda t: t ** 3, (ct,))


def test_integer_and_error_rules(device):
    i = gs.tensor([1, 2, 4], device=device)
    assert (i / 2).dtype == np.float32 and (i / i).dtype == np.float32
    assert (i ** 2).tolist() == [1, 4, 16] and (i ** 2).dtype == np.int64
    with pytest.raises(ValueError, match="pow: integers to negative integer powers"):
        i ** -1
    with pytest.raises(ValueError, match="div: shapes"):
        gs.ones(2, device=device) / gs.ones(3, device=device)
    s = gs.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), device=device)
    with pytest.raises(TypeError, match="div: other is sparse"):
        gs.ones(1, 1, device=device) / s
    with pytest.raises(TypeError, match="neg: input is sparse"):
        _ = -s
    with pytest.raises(TypeError, match="sigmoid: input must have a floating point"):
        gs.sigmoid(i)
    with pytest.raises(ValueError, match="clamp: at least one"):
        gs.clamp(gs.ones(1, device=device))


def test_comparisons(device, rng):
    A = randn(rng, (3, 4), np.float64)
    B = randn(rng, (1, 4), np.float64)
    a, b = gs.tensor(A, device=device), gs.tensor(B, device=device)
    pairs = [(a == b, A == B), (a != 0.5, A != 0.5), (a < b, A < B), (a <= 0, A <= 0),
             (a > b, A > B), (a >= B[0, 0], B[0, 0] <= A)]
    for got, want in pairs:
        assert got.dtype == np.bool_ and got.grad_fn is None
        np.testing.assert_array_equal(host(got), want)
    np.testing.assert_array_equal(host(~(a > 0) & (a < 1) | (a == 0)),
                                  ~(A > 0) & (A < 1) | (A == 0))
    assert a in [a] and len({a, b}) == 2  # hashing and lists still go by identity
    c = gs.tensor([1j], device=device)
    assert (c == 1j).tolist() == [True]
    with pytest.raises(TypeError, match="eq: other must be a Tensor or a number, got list"):
        _ = a == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="__getitem__: slice step cannot be zero"):
        a[::0]
    with pytest.raises(TypeError, match="lt: complex numbers are not ordered"):
        _ = c < 1


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_along_dims(device, rng, dim, keepdim):
    A = randn(rng, (4, 3), np.float64)
    x = gs.tensor(A, device=device)
    axis = tuple(dim) if isinstance(dim, tuple) else dim
    for op in ("sum", "mean"):
        got = getattr(x, op)(dim=dim, keepdim=keepdim)
        want = getattr(A, op)(axis=axis, keepdims=keepdim)
        assert got.shape == np.shape(want)
        assert_close(host(got), want, np.float64)
        assert gs.autograd.gradcheck(
            lambda t: getattr(t, op)(dim=dim, keepdim=keepdim) * 3,
            (gs.tensor(A, device=device, requires_grad=True),))
    assert x.sum(dim=0).tolist() == gs.sum(x, 0).tolist()
    empty = gs.zeros(0, 3, dtype="float64", device=device)
    assert empty.sum(0).tolist() == [0.0] * 3 and np.isnan(host(empty.mean()))
    with pytest.raises(IndexError, match="sum: dim 2 is out of range"):
        x.sum(2)


def test_max_min_amax_ties_and_indices(device, rng):
    A = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]])
    x = gs.tensor(A, device=device, requires_grad=True)
    r = x.max(dim=1)
    assert r.values.tolist() == [3.0, 2.0] and r.indices.tolist() == [1, 0]
    assert r.indices.dtype == np.int64 and r.indices.grad_fn is None
    r.values.sum().backward()  # the gradient goes to the returned index only
    np.testing.assert_array_equal(host(x.grad), [[0, 1, 0], [1, 0, 0]])
    x.grad = None
    gs.amax(x, dim=1).sum().backward()  # shared evenly among ties
    np.testing.assert_array_equal(host(x.grad), [[0, 0.5, 0.5], [1, 0, 0]])
    x.grad = None
    x.max().backward()
    np.testing.assert_array_equal(host(x.grad), [[0, 0.5, 0.5], [0, 0, 0]])
    assert x.min(dim=0, keepdim=True).indices.tolist() == [[0, 1, 1]]
    assert gs.amin(x, dim=(0, 1)).item() == -1.0 and x.argmax().item() == 1
    assert x.argmin(dim=1).tolist() == [0, 1]
    B = randn(rng, (3, 5), np.float64)
    for fn in [lambda t: t.max(dim=0).values, lambda t: gs.amax(t, 1, keepdim=True),
               lambda t: t.min(dim=-1).values, lambda t: t.max()]:
        assert gs.autograd.gradcheck(fn, (gs.tensor(B, device=device, requires_grad=True),))
    n = gs.tensor([1.0, np.nan, 2.0], device=device)
    assert np.isnan(n.max().item()) and n.max(dim=0).indices.item() == 1
    with pytest.raises(IndexError, match="max: dim 0 has size 0"):
        gs.zeros(0, 2, device=device).max(dim=0)
    with pytest.raises(RuntimeError, match="max: the input has no elements"):
        gs.zeros(0, device=device).max()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax(device, rng, dim):
    A = randn(rng, (4, 5), np.float64) * 40  # large values: the stable form matters
    x = gs.tensor(A, device=device)
    z = A - A.max(axis=dim, keepdims=True)
    want = np.exp(z) / np.exp(z).sum(axis=dim, keepdims=True)
    assert_close(host(gs.softmax(x, dim)), want, np.float64)
    assert_close(host(F.softmax(x, dim=dim)), want, np.float64)
    assert_close(host(x.log_softmax(dim)), np.log(want), np.float64, scale=100)
    assert gs.autograd.gradcheck(lambda t: gs.softmax(t, dim) * t,
                                 (gs.tensor(A / 40, device=device, requires_grad=True),))


def test_indexing_values_and_gradients(device, rng):
    A = randn(rng, (5, 4), np.float64)
    x = gs.tensor(A, device=device)
    keys = [1, -1, slice(1, 4), (slice(None), 2), (slice(None, None, -2),),
            [3, 0, 3, 3], np.array([4, 1]), (np.array([0, 2, 2]), np.array([1, 1, 1])),
            A > 0, (Ellipsis, None, 1), (slice(1, 3), [0, 0, 3]), np.array([], dtype=int)]
    for key in keys:
        got = x[key]
        want = A[key]
        assert got.shape == want.shape, key
        assert_close(host(got), want, np.float64)
        xr = gs.tensor(A, device=device, requires_grad=True)
        (xr[key] * 3).sum().backward()
        g = np.zeros_like(A)
        np.add.at(g, key, 3.0)
        np.testing.assert_array_equal(host(xr.grad), g)
        if want.size:
            assert gs.autograd.gradcheck(lambda t, key=key: t[key] * t[key],
                                         (gs.tensor(A, device=device, requires_grad=True),))
    idx = gs.tensor([2, 2, 0], device=device)  # a Tensor index, with repeats
    xr = gs.tensor(A, device=device, requires_grad=True)
    xr[idx].sum().backward()
    np.testing.assert_array_equal(host(xr.grad)[:, 0], [1, 0, 2, 0, 0])
    assert [host(r).tolist() for r in x] == A.tolist()  # iteration along dim 0
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(x.sum())
    y = x[0]
    y.add_(1)  # results own their memory
    np.testing.assert_array_equal(host(x), A)


def test_indexing_errors(device):
    x = gs.zeros(3, 2, device=device)
    with pytest.raises(IndexError, match="index out of range for dim 0 of size 3"):
        x[[0, 3]]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        x[5]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="bool mask of shape"):
        x[np.array([True, False])]
    with pytest.raises(IndexError, match="must hold integers or bools"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match="index must be"):
        x["a"]
    with pytest.raises(TypeError, match="__getitem__: input is sparse"):
        gs.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), device=device)[0]


def test_shape_ops(device, rng):
    A = randn(rng, (2, 3, 4), np.float64)
    x = gs.tensor(A, device=device)
    checks = [(x.reshape(6, -1), A.reshape(6, -1)), (x.reshape((4, 6)), A.reshape(4, 6)),
              (x.flatten(1), A.reshape(2, 12)), (x.flatten(), A.reshape(-1)),
              (x.unsqueeze(0), A[None]), (x.unsqueeze(-1), A[..., None]),
              (x[:, :1].squeeze(), A[:, 0]), (x[:, :1].squeeze(1), A[:, 0]),
              (x.permute(2, 0, 1), A.transpose(2, 0, 1)), (x.transpose(0, 2), A.swapaxes(0, 2)),
              (gs.cat([x, x[:1]], dim=0), np.concatenate([A, A[:1]])),
              (gs.cat([x, x], dim=-1), np.concatenate([A, A], -1)),
              (gs.stack([x, x], dim=1), np.stack([A, A], 1)), (x.clone(), A)]
    for got, want in checks:
        assert got.shape == want.shape
        np.testing.assert_array_equal(host(got), want)
        assert host(got).flags.c_contiguous
    for fn in [lambda t: t.reshape(4, 6) * 2, lambda t: t.permute(1, 2, 0) ** 2,
               lambda t: gs.cat([t, t * t], dim=1), lambda t: gs.stack([t, t * 2], dim=-1),
               lambda t: t.clone() * t, lambda t: t.transpose(-1, 0)[0]]:
        assert gs.autograd.gradcheck(fn, (gs.tensor(A, device=device, requires_grad=True),))
    with pytest.raises(ValueError, match="reshape: shape \\(5, -1\\) is invalid"):
        x.reshape(5, -1)
    with pytest.raises(ValueError, match="cat: tensors\\[1\\] has shape"):
        gs.cat([x, x.reshape(4, 6)])
    with pytest.raises(TypeError, match="cat: tensors\\[1\\] must be a dense"):
        gs.cat([x, A])
    with pytest.raises(ValueError, match="stack: tensors\\[1\\] has shape"):
        gs.stack([x, x[:1]])
    with pytest.raises(ValueError, match="permute: dims"):
        x.permute(0, 0, 1)


def test_casts_and_creation(device, rng):
    A = randn(rng, (3, 2), np.float64)
    x = gs.tensor(A, device=device, requires_grad=True)
    for got, dt in [(x.float(), np.float32), (x.half(), np.float16), (x.double(), np.float64),
                    (x.to("complex128"), np.complex128), (x.to(np.float32), np.float32),
                    (x.to(device, dtype="float32"), np.float32), (x.to(x), np.float64)]:
        assert got.dtype == dt and got.device == x.device
        rtol = 1e-3 if dt == np.float16 else 1e-6
        np.testing.assert_allclose(host(got).astype(np.complex128).real, A, rtol=rtol)
    assert x.double() is x
    if device == "cpu" and importlib.util.find_spec("torch") is not None:
        torch = importlib.import_module("torch")
        assert x.to(torch.device("cpu"), torch.float32).dtype == np.float32
    assert gs.autograd.gradcheck(lambda t: t.to("complex128") * 1j, (x,))
    x.float().sum().backward()
    assert x.grad.dtype == np.float64
    s, _, _ = make_sparse(rng, "coo", 4, 3, 6, np.float64, device, requires_grad=True)
    s32 = s.to("float32")
    assert s32.layout is gs.sparse_coo and s32.dtype == np.float32
    assert gs.autograd.gradcheck(lambda t: t.to("complex128").to_dense(), (s,))
    assert gs.arange(5, device=device).tolist() == [0, 1, 2, 3, 4]
    assert gs.arange(1, 2, 0.5).dtype == np.float32 and gs.arange(3, 0, -1).tolist() == [3, 2, 1]
    assert gs.eye(2, 3, device=device).tolist() == [[1, 0, 0], [0, 1, 0]]
    a = gs.rand(3, 4, generator=gs.Generator().manual_seed(7), device=device)
    b = gs.rand(3, 4, generator=gs.Generator().manual_seed(7), device="cpu")
    np.testing.assert_array_equal(host(a), host(b))  # one seed, the same bits everywhere
    assert host(a).min() >= 0 and host(a).max() < 1 and host(a).std() > 0
    c = gs.rand(3, 4, generator=np.random.default_rng(7), device=device)  # NumPy's numbers
    np.testing.assert_array_equal(host(c), np.random.default_rng(7).random((3, 4))
                                  .astype(np.float32))
    gs.manual_seed(3)
    r1 = gs.randn(4, device=device)
    gs.manual_seed(3)
    np.testing.assert_array_equal(host(r1), host(gs.randn(4, device=device)))
    with pytest.raises(TypeError, match="rand: generator must be"):
        gs.rand(2, generator=7)
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        gs.arange(0, 1, 0)


def test_nn_init(device):
    w = gs.zeros(300, 200, device=device, requires_grad=True)
    v = w._version
    gs.nn.init.xavier_uniform_(w, gain=2.0, generator=gs.Generator().manual_seed(0))
    bound = 2.0 * np.sqrt(6 / 500)
    h = host(w)
    assert h.max() <= bound and h.min() >= -bound and h.max() > 0.9 * bound
    assert abs(h.std() - bound / np.sqrt(3)) < 0.02 * bound and w._version > v
    assert w.requires_grad and w.grad_fn is None
    gs.nn.init.zeros_(w)
    assert not host(w).any()
    with pytest.raises(ValueError, match="xavier_uniform_: fan in and fan out"):
        gs.nn.init.xavier_uniform_(gs.zeros(3, device=device))


# ---- sparse softmax and sum ---------------------------------------------------------
def _dense_softmax_ref(idx, vals, shape, dim, log):
    """float64 reference over the stored entries (duplicates summed), -inf elsewhere."""
    m = np.full(shape, -np.inf)
    present = np.zeros(shape, dtype=bool)
    summed = np.zeros(shape)
    np.add.at(summed, (idx[0], idx[1]), vals)
    present[idx[0], idx[1]] = True
    m[present] = summed[present]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = m - m.max(axis=dim, keepdims=True)
        e = np.exp(z)
        out = z - np.log(e.sum(axis=dim, keepdims=True)) if log else \
            e / e.sum(axis=dim, keepdims=True)
    return out, present


@pytest.mark.parametrize("layout", ["coo", "csr"])
@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_sparse_softmax(device, rng, layout, dim, log):
    m, n = 7, 5
    _, idx, vals = make_sparse(rng, layout, m, n, 16, np.float64, device)
    keep = (idx[0] != 3) & (idx[1] != 2)  # an empty row and an empty column
    idx, vals = idx[:, keep], vals[keep] * 20  # large values: the stable form matters
    t = gs.sparse_coo_tensor(idx, vals, (m, n), device=device)
    if layout == "csr":
        t = t.to_sparse_csr()
    fn = gs.sparse.log_softmax if log else gs.sparse.softmax
    out = fn(t, dim)
    assert out.layout == t.layout and out.shape == (m, n)
    want, present = _dense_softmax_ref(idx, vals, (m, n), dim, log)
    dense = host(out.to_dense())
    assert_close(dense[present], want[present], np.float64, scale=100)
    assert not dense[~present].any()  # missing entries stay missing
    assert not present[3].any() and not present[:, 2].any()
    tg = t.detach().requires_grad_()
    w = gs.tensor(randn(rng, (n, 2), np.float64), device=device)
    assert gs.autograd.gradcheck(lambda a: gs.sparse.mm(fn(a, dim), w), (tg,))


def test_sparse_softmax_edges_and_torch(device, rng):
    idx = np.array([[0, 0, 2, 2, 0], [1, 3, 0, 0, 1]])  # row 1 empty, duplicates
    vals = np.array([1.0, 2.0, -1.0, 4.0, 0.5])
    s = gs.sparse_coo_tensor(idx, vals, (3, 4), device=device)
    out = gs.sparse.softmax(s, dim=1)
    assert out.is_coalesced() and out._nnz() == 3
    np.testing.assert_allclose(host(out), [np.exp(1.5) / (np.exp(1.5) + np.exp(2)),
                                           np.exp(2) / (np.exp(1.5) + np.exp(2)), 1.0])
    e = gs.sparse_coo_tensor(np.zeros((2, 0), int), np.zeros(0), (2, 2), device=device)
    assert gs.sparse.softmax(e, 0)._nnz() == 0 and gs.sparse.sum(e, 1).tolist() == [0, 0]
    with pytest.raises(RuntimeError, match="sparse.softmax: expected a sparse tensor"):
        gs.sparse.softmax(gs.ones(2, 2, device=device), 1)
    with pytest.raises(IndexError, match="sparse.softmax: dim 2 is out of range"):
        gs.sparse.softmax(s, 2)
    torch = pytest.importorskip("torch")
    ts = torch.sparse_coo_tensor(idx, vals, (3, 4), check_invariants=True)
    for dim in (0, 1):
        want = torch.sparse.softmax(ts, dim).coalesce().values().numpy()
        np.testing.assert_allclose(host(gs.sparse.softmax(s, dim)), want, rtol=1e-12)
        want = torch.sparse.log_softmax(ts, dim).coalesce().values().numpy()
        np.testing.assert_allclose(host(gs.sparse.log_softmax(s, dim)), want, rtol=1e-12)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sparse_sum(device, rng, layout):
    s, idx, vals = make_sparse(rng, layout, 6, 4, 12, np.complex128, device,
                               requires_grad=True)
    D = np.zeros((6, 4), np.complex128)
    np.add.at(D, (idx[0], idx[1]), vals)
    assert_close(host(gs.sparse.sum(s)), D.sum(), np.complex128)
    assert_close(host(gs.sparse.sum(s, (0, 1))), D.sum(), np.complex128)
    for dim in (0, 1, -1):
        got = gs.sparse.sum(s, dim)
        assert got.layout is gs.strided
        assert_close(host(got), D.sum(axis=dim), np.complex128)
        assert gs.autograd.gradcheck(lambda a, dim=dim: gs.sparse.sum(a, dim) * 2j, (s,))


def test_constructors_share_the_pattern_of_index_views(device, rng):
    s, _, _ = make_sparse(rng, "coo", 5, 4, 9, np.float64, device)
    c = s.coalesce()
    v = gs.tensor(randn(rng, (c._nnz(),), np.float64), device=device, requires_grad=True)
    t = gs.sparse_coo_tensor(c.indices(), v, c.shape, is_coalesced=True)
    assert t.pattern is c.pattern and t.is_coalesced()  # no copy, caches shared
    np.testing.assert_array_equal(host(t), host(v))
    (t.to_dense() * 2).sum().backward()
    np.testing.assert_array_equal(host(v.grad), 2.0)
    r = c.to_sparse_csr()
    u = gs.sparse_csr_tensor(r.crow_indices(), r.col_indices(), v.detach(), r.shape)
    assert u.pattern is r.pattern
    # anything else takes the usual path: another size, an unproven claim, mixed views
    assert gs.sparse_coo_tensor(c.indices(), v.detach(), (6, 4)).pattern is not c.pattern
    assert gs.sparse_coo_tensor(s.indices(), s.values().detach(), s.shape).pattern \
        is s.pattern
    with pytest.raises(ValueError):
        gs.sparse_coo_tensor(s.indices(), s.values().detach(), s.shape, is_coalesced=True)
    with pytest.raises(ValueError, match="values"):
        gs.sparse_coo_tensor(c.indices(), gs.ones(c._nnz() + 1, dtype="float64",
                                                  device=device), c.shape)
    assert gs.sparse_csr_tensor(r.crow_indices(), c.indices()[1], v.detach(),
                                r.shape).pattern is not r.pattern


def test_review_edges(device):
    """Edges a review found: 0-d results, integer minima, promotion in where, masked
    gradients with inf upstream, NaN in max and clamp, in-place changes of a saved result,
    float16 means, dim=(), empty softmax dims, tiny divisors."""
    x = gs.tensor([1.0, 2.0], dtype="float64", device=device, requires_grad=True)
    assert x[0].shape == () and x[-1].item() == 2.0
    x[0].backward()
    np.testing.assert_array_equal(host(x.grad), [1.0, 0.0])
    s = gs.tensor(np.array(2.0), device=device, requires_grad=True)
    s.mean().backward()
    assert s.grad.shape == () and host(s.grad) == 1.0
    assert gs.where(s > 0, s, 0.0).shape == () and gs.clamp(s, 0.0, 1.0).item() == 1.0
    assert s.permute().shape == () and s.transpose(0, 0).shape == ()
    i8 = gs.tensor(np.array([-128, 5], np.int8), device=device)
    assert i8.min(dim=0).values.item() == -128 and i8.argmin().item() == 0
    big = gs.tensor(np.array([np.iinfo(np.int64).min, 0]), device=device)
    assert big.argmin().item() == 0 and big.min(dim=0).indices.item() == 0
    cond = gs.tensor([True, False], device=device)
    assert gs.where(cond, gs.tensor([1, 2], device=device), 2.7).tolist() == \
        pytest.approx([1.0, 2.7])
    assert gs.where(cond, gs.tensor([True, True], device=device), 5).tolist() == [1, 5]
    for fn in [lambda t: gs.sqrt(gs.where(t > 0, t, 0.0)), lambda t: gs.sqrt(gs.relu(t)),
               lambda t: gs.sqrt(gs.clamp(t, min=0.0)),
               lambda t: gs.sqrt(gs.relu(gs.stack([t, t]).max(dim=0).values))]:
        y = gs.tensor([-1.0, 4.0], dtype="float64", device=device, requires_grad=True)
        fn(y).sum().backward()
        assert host(y.grad)[0] == 0.0 and host(y.grad)[1] == 0.25  # not nan
    assert ((-2) ** gs.tensor([2, 3], device=device)).tolist() == [4, -8]
    with pytest.raises(ValueError, match="pow: integers to negative integer powers"):
        gs.tensor([2], device=device) ** gs.tensor([-1], device=device)
    n = gs.tensor([1.0, np.nan, 2.0], dtype="float64", device=device, requires_grad=True)
    n.max().backward()
    np.testing.assert_array_equal(host(n.grad), [0.0, 1.0, 0.0])
    y = x.max()
    with gs.no_grad():
        y.add_(1)
    x.grad = None
    x.max().backward()
    np.testing.assert_array_equal(host(x.grad), [0.0, 1.0])
    h = gs.full((70000,), 0.5, dtype="float16", device=device, requires_grad=True)
    assert h.mean().item() == 0.5
    h.mean().backward()
    assert abs(float(host(h.grad)[0]) - 1 / 70000) < 1e-7
    assert abs(float(host(gs.softmax(gs.zeros(70000, dtype="float16", device=device),
                                     0)).max()) - 1 / 70000) < 1e-7
    m = gs.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    assert m.sum(dim=()).item() == 10.0 and m.mean(dim=[]).item() == 2.5
    assert gs.softmax(gs.zeros(3, 0, device=device), dim=1).shape == (3, 0)
    a = gs.tensor([1e-30], device=device, requires_grad=True)
    b = gs.tensor([1e-30], device=device, requires_grad=True)
    (a / b).sum().backward()
    assert np.isfinite(host(b.grad)).all() and host(b.grad)[0] == pytest.approx(-1e30)
    assert np.isnan(host(gs.clamp(gs.tensor([1.0], device=device), min=float("nan"))))[0]
    with pytest.raises(TypeError, match="sub: cannot apply it to bool"):
        gs.tensor([True], device=device) - gs.tensor([False], device=device)
    with pytest.raises(ValueError, match="arange: the step"):
        gs.arange(5, 0)


def test_setitem(device, rng):
    """x[key] = value in place: values as NumPy's, the version bumped (so a saved input
    changed this way makes backward raise), refused on tensors that require grad outside
    no_grad and on index views."""
    A = randn(rng, (4, 3), np.float64)
    x = gs.tensor(A, device=device)
    want = A.copy()
    for key, value in [((0, slice(1, None)), 5.0), (1, np.array([1.0, 2.0, 3.0])),
                       (A > 1, -1.0), (([3, 3], [0, 2]), 7.0)]:
        v = gs.tensor(value, device=device) if isinstance(value, np.ndarray) else value
        x[key] = v
        want[key] = value
    np.testing.assert_array_equal(host(x), want)
    w = gs.tensor(A, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="__setitem__: a tensor that requires grad"):
        w[0] = 1.0
    b = gs.tensor(A, device=device)
    out = (w * b).sum()
    b[0, 0] = 3.0
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()
    s = gs.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), device=device)
    with pytest.raises(RuntimeError, match="__setitem__: this tensor views the index"):
        s.indices()[0, 0] = 1
    with pytest.raises(ValueError, match="__setitem__: cannot assign"):
        x[0] = gs.ones(5, dtype="float64", device=device)
    with pytest.raises(IndexError, match="index out of range"):
        x[[9]] = 1.0
