"""relu, exp, log and mean: values against a float64 NumPy reference, gradcheck, and the
edges (NaN, zero, empty, complex, sparse input, in-place change after forward)."""

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import assert_close, host, make_sparse, randn

REFERENCE = {"relu": lambda a: np.maximum(a, 0), "exp": np.exp,
             "log": np.log, "mean": lambda a: np.asarray(a.mean())}


@pytest.mark.parametrize("op", ["relu", "exp", "log", "mean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_values_and_gradcheck(device, rng, op, dtype):
    if op == "relu" and np.dtype(dtype).kind == "c":
        pytest.skip("relu is real only (as in PyTorch): tested below")
    x_host = randn(rng, (4, 3), dtype)
    if op == "log":
        x_host = np.abs(x_host) + 0.5 if np.dtype(dtype).kind == "f" else x_host + 2
    x = gs.tensor(x_host, device=device)
    out = getattr(gs, op)(x)
    assert out.dtype == dtype and getattr(x, op)().shape == out.shape
    assert_close(host(out), REFERENCE[op](x_host.astype(np.complex128 if np.dtype(
        dtype).kind == "c" else np.float64)), dtype, scale=10)
    if np.dtype(dtype).itemsize >= 8 and dtype != np.complex64:
        x64 = gs.tensor(x_host, device=device, requires_grad=True)
        assert gs.autograd.gradcheck(getattr(gs, op), (x64,))


def test_edges(device):
    x = gs.tensor(np.array([np.nan, -1.0, 0.0, 2.0]), device=device)
    np.testing.assert_array_equal(host(gs.relu(x)), [np.nan, 0.0, 0.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(host(gs.log(x)), np.log([np.nan, -1.0, 0.0, 2.0]))
    assert np.isnan(gs.zeros(0, 3, dtype=np.float64, device=device).mean().item())
    y = gs.tensor(np.array([-1.0, 3.0]), device=device, requires_grad=True)
    gs.relu(y).sum().backward()
    np.testing.assert_array_equal(host(y.grad), [0.0, 1.0])
    with pytest.raises(TypeError, match="relu: input must have a floating point dtype"):
        gs.relu(gs.tensor(np.array([1j]), device=device))
    with pytest.raises(TypeError, match="mean: input must have a floating point"):
        gs.tensor(np.array([1, 2]), device=device).mean()


def test_sparse_inputs_are_refused_and_saved_inputs_checked(device, rng):
    s, _, _ = make_sparse(rng, "coo", 3, 3, 4, np.float64, device)
    for op in ("relu", "exp", "log"):
        with pytest.raises(TypeError, match=f"{op}: input is sparse"):
            getattr(gs, op)(s)
    assert_close(host(s.mean()), host(s).mean(), np.float64)  # of the stored values
    x = gs.tensor(randn(rng, 3, np.float64), device=device, requires_grad=True)
    out = gs.exp(x)
    with gs.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=r"inputs of exp \(input\) was modified"):
        out.sum().backward()
