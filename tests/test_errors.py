"""Every bad input of API.md's Errors section: exception type, message naming function and
argument, and inputs left untouched."""

import subprocess
import sys

import numpy as np
import pytest

import gpu_sparse as gs
from tests.helpers import cpu_only_env, host, make_sparse, randn


@pytest.fixture
def operands(device, rng):
    a, idx, vals = make_sparse(rng, "coo", 4, 3, 6, np.float32, device)
    b = gs.tensor(randn(rng, (3, 2), np.float32), device=device)
    c = gs.tensor(randn(rng, (4, 2), np.float32), device=device)
    return a, b, c


def snapshot(*ts):
    return [host(t).copy() for t in ts]


def unchanged(ts, snaps):
    return all(np.array_equal(host(t), s, equal_nan=True) for t, s in zip(ts, snaps))


@pytest.mark.parametrize("case,exc,pattern", [
    ("inner", ValueError, r"addmm: mat1 has 3 columns but mat2 has 5 rows"),
    ("mat_shape", ValueError, r"addmm: mat of shape \(3, 2\) cannot be broadcast"),
    ("mat2_sparse", ValueError, r"addmm: mat2 must be a strided"),
    ("mat1_dense", ValueError, r"addmm: mat1 must be a sparse"),
    ("mat2_3d", ValueError, r"addmm: mat2 must be a 2-D matrix"),
    ("mixed_dtype", TypeError, r"addmm: expected one dtype.*mat is float32 and mat2 is "
                               r"float64"),
    ("int_values", TypeError, r"addmm: mat1 must have a floating point or complex dtype"),
    ("complex_alpha", TypeError, r"addmm: alpha is complex"),
    ("complex_beta", TypeError, r"addmm: beta is complex"),
    ("alpha_str", TypeError, r"addmm: alpha must be a number"),
    ("not_tensor", TypeError, r"addmm: mat2 must be a gpu_sparse Tensor, got ndarray"),
])
def test_addmm_errors(device, rng, operands, case, exc, pattern):
    a, b, c = operands
    snaps = snapshot(a, b, c)
    args, kw = [c, a, b], {}
    if case == "inner":
        args[2] = gs.tensor(randn(rng, (5, 2), np.float32), device=device)
    elif case == "mat_shape":
        args[0] = gs.tensor(randn(rng, (3, 2), np.float32), device=device)
    elif case == "mat2_sparse":
        args[2] = make_sparse(rng, "coo", 3, 2, 2, np.float32, device)[0]
    elif case == "mat1_dense":
        args[1] = gs.tensor(randn(rng, (4, 3), np.float32), device=device)
    elif case == "mat2_3d":
        args[2] = gs.tensor(randn(rng, (3, 2, 1), np.float32), device=device)
    elif case == "mixed_dtype":
        args[0] = gs.tensor(randn(rng, (4, 2), np.float32), device=device)
        args[2] = gs.tensor(randn(rng, (3, 2), np.float64), device=device)
    elif case == "int_values":
        args[1] = gs.sparse_coo_tensor([[0], [0]], np.array([1], np.int64), (4, 3),
                                       device=device)
    elif case == "complex_alpha":
        kw = {"alpha": 1 + 2j}
    elif case == "complex_beta":
        kw = {"beta": 1j}
    elif case == "alpha_str":
        kw = {"alpha": "2"}
    elif case == "not_tensor":
        args[2] = randn(rng, (3, 2), np.float32)
    with pytest.raises(exc, match=pattern):
        gs.sparse.addmm(*args, **kw)
    assert unchanged([a, b, c], snaps)


@pytest.mark.parametrize("kind,pattern", [
    ("col_out_of_range", r"sparse_csr_tensor: col_indices has column index 7 out of range"),
    ("neg_col", r"sparse_csr_tensor: col_indices has a negative column index"),
    ("not_monotone", r"sparse_csr_tensor: `crow_indices` must be non-decreasing"),
    ("last_not_nnz", r"sparse_csr_tensor: `crow_indices\[-1\] == nnz` is not satisfied"),
    ("first_not_zero", r"sparse_csr_tensor: `crow_indices\[0\] == 0` is not satisfied"),
    ("crow_length", r"sparse_csr_tensor: crow_indices has length 3 but size \(3, 4\) needs"),
    ("lengths", r"sparse_csr_tensor: col_indices has 4 entries but values has 3"),
])
def test_csr_invariants(device, kind, pattern):
    # PyTorch and SciPy return garbage for an out-of-range CSR column; we raise
    crow, col, vals, size = [0, 1, 3, 4], [1, 0, 3, 2], [1.0, 2.0, 3.0, 4.0], (3, 4)
    if kind == "col_out_of_range":
        col = [1, 0, 7, 2]
    elif kind == "neg_col":
        col = [1, -1, 3, 2]
    elif kind == "not_monotone":
        crow = [0, 3, 1, 4]
    elif kind == "last_not_nnz":
        crow = [0, 1, 3, 3]
    elif kind == "first_not_zero":
        crow = [1, 1, 3, 4]
    elif kind == "crow_length":
        crow = [0, 1, 4]
    elif kind == "lengths":
        vals = [1.0, 2.0, 3.0]
    keep = [list(crow), list(col), list(vals)]
    with pytest.raises(ValueError, match=pattern):
        gs.sparse_csr_tensor(crow, col, vals, size, device=device)
    assert [crow, col, vals] == keep


def test_csr_invariants_can_be_skipped(device):
    t = gs.sparse_csr_tensor([0, 1], [3], [1.0], (1, 2), device=device,
                             check_invariants=False)
    assert t.nnz == 1


@pytest.mark.parametrize("crow,col,size,pattern", [
    ([0, 1, 2], [0, 1], (5, 2), r"crow_indices has length 3 but size \(5, 2\) needs m \+ 1 = 6"),
    ([1, 1, 2], [0, 1], (2, 2), r"`crow_indices\[0\] == 0` is not satisfied \(got 1\)"),
    ([0, 1, 3], [0, 1], (2, 2), r"`crow_indices\[-1\] == nnz` is not satisfied"),
    ([[0, 1, 2]], [0, 1], (2, 2), r"crow_indices and col_indices must be 1-D"),
])
def test_csr_structure_is_checked_even_unchecked(device, crow, col, size, pattern):
    """check_invariants=False skips the O(nnz) scans only; the O(1) checks always run."""
    with pytest.raises(ValueError, match="sparse_csr_tensor: " + pattern):
        gs.sparse_csr_tensor(crow, col, [1.0, 2.0], size, device=device,
                             check_invariants=False)


@pytest.mark.parametrize("indices,pattern", [
    ([[0, 1, 0], [1, 0, 1]], r"indices has 3 entries but values has 2"),
    ([[0, 1]], r"indices must have shape \(2, nnz\)"),
])
def test_coo_structure_is_checked_even_unchecked(device, indices, pattern):
    with pytest.raises(ValueError, match="sparse_coo_tensor: " + pattern):
        gs.sparse_coo_tensor(indices, [1.0, 2.0], (2, 2), device=device,
                             check_invariants=False)


@pytest.mark.parametrize("kind,exc,pattern", [
    ("row_range", ValueError, r"sparse_coo_tensor: indices has row index 5 out of range"),
    ("col_range", ValueError, r"sparse_coo_tensor: indices has column index 9 out of range"),
    ("negative", ValueError, r"sparse_coo_tensor: indices has a negative row index"),
    ("shape", ValueError, r"sparse_coo_tensor: indices must have shape \(2, nnz\)"),
    ("lengths", ValueError, r"sparse_coo_tensor: indices has 2 entries but values has 3"),
    ("float_idx", TypeError, r"sparse_coo_tensor: indices must have an integer dtype"),
    ("values_2d", ValueError, r"sparse_coo_tensor: values must be 1-D"),
    ("size_overflow", ValueError, r"sparse_coo_tensor: size .* more elements than int64"),
    ("size_3d", ValueError, r"sparse_coo_tensor: size must have 2 dimensions"),
    ("not_coalesced", ValueError, r"sparse_coo_tensor: is_coalesced=True but"),
])
def test_coo_invariants(device, kind, exc, pattern):
    idx = np.array([[0, 1], [2, 3]])
    vals = np.array([1.0, 2.0])
    size, kw = (4, 4), {}
    if kind == "row_range":
        idx = np.array([[0, 5], [2, 3]])
    elif kind == "col_range":
        idx = np.array([[0, 1], [9, 3]])
    elif kind == "negative":
        idx = np.array([[0, -1], [2, 3]])
    elif kind == "shape":
        idx = np.array([[0, 1], [2, 3], [0, 0]])
    elif kind == "lengths":
        vals = np.array([1.0, 2.0, 3.0])
    elif kind == "float_idx":
        idx = idx.astype(float)
    elif kind == "values_2d":
        vals = vals.reshape(2, 1)
    elif kind == "size_overflow":
        size = (2**40, 2**40)
    elif kind == "size_3d":
        size = (4, 4, 4)
    elif kind == "not_coalesced":
        idx, kw = np.array([[1, 0], [0, 0]]), {"is_coalesced": True}
    snaps = (idx.copy(), vals.copy())
    with pytest.raises(exc, match=pattern):
        gs.sparse_coo_tensor(idx, vals, size, device=device, **kw)
    assert np.array_equal(idx, snaps[0]) and np.array_equal(vals, snaps[1])


def test_backward_without_gradient_on_matrix(device, operands):
    a, b, c = operands
    b.requires_grad_()
    out = gs.sparse.addmm(c, a, b)
    with pytest.raises(RuntimeError, match="backward: grad can be implicitly created only"):
        out.backward()


def test_backward_gradient_shape(device, operands):
    a, b, c = operands
    b.requires_grad_()
    out = gs.sparse.addmm(c, a, b)
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(2, 2\)"):
        out.backward(np.ones((2, 2), np.float32))


_NO_GPU = """
import pytest, gpu_sparse as gs
assert gs.available_backends() == ("cpu",)
with pytest.raises(RuntimeError, match="no CUDA GPU"):
    gs.tensor([1.0], device="cuda")
with pytest.raises(RuntimeError, match="no CUDA GPU"):
    gs.set_default_device("cuda")
"""


def test_no_gpu_is_runtime_error():
    if "cuda" not in gs.available_backends():
        exec(_NO_GPU, {})
        return
    # a GPU (or the CuPy stand-in) here: a child process without CuPy
    res = subprocess.run([sys.executable, "-c", "import sys; sys.modules['cupy'] = None\n"
                          + _NO_GPU], capture_output=True, text=True, timeout=300,
                         env=cpu_only_env())
    assert res.returncode == 0, res.stderr[-3000:]


def test_different_devices():
    if "cuda" not in gs.available_backends():
        pytest.skip("needs a GPU")
    a = gs.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), device="cuda")
    b = gs.tensor([[1.0]], device="cpu")
    with pytest.raises(RuntimeError, match="addmm: expected all tensors on one device"):
        gs.sparse.addmm(b, a, b)


def test_sampled_addmm_errors(device, rng):
    s, _, _ = make_sparse(rng, "coo", 3, 4, 5, np.float32, device)
    x = gs.tensor(randn(rng, (3, 2), np.float32), device=device)
    y = gs.tensor(randn(rng, (2, 5), np.float32), device=device)
    with pytest.raises(ValueError, match=r"sampled_addmm: input has shape \(3, 4\) but "
                                         r"mat1 @ mat2 has shape \(3, 5\)"):
        gs.sparse.sampled_addmm(s, x, y)
    with pytest.raises(ValueError, match="sampled_addmm: input must be a sparse"):
        gs.sparse.sampled_addmm(x, x, y)


def test_sparse_at_sparse_layout_error(device, rng):
    a, _, _ = make_sparse(rng, "csr", 3, 3, 3, np.float64, device)
    b, _, _ = make_sparse(rng, "coo", 3, 3, 3, np.float64, device)
    with pytest.raises(ValueError, match="mm: sparse @ sparse needs COO operands, but mat1"):
        gs.sparse.mm(a, b)


def test_float16_not_on_cpu():
    a = gs.sparse_coo_tensor([[0], [0]], np.array([1.0], np.float16), (1, 1), device="cpu")
    b = gs.tensor(np.ones((1, 1), np.float16), device="cpu")
    with pytest.raises(TypeError, match="mm: mat1 has dtype float16, which the cpu "
                                        "backend does not compute with"):
        gs.sparse.mm(a, b)


def test_elementwise_errors(device):
    x = gs.tensor([[1.0, 2.0]], device=device)
    y = gs.tensor([[1.0, 2.0]], dtype=np.float64, device=device)
    with pytest.raises(TypeError, match="add: expected one dtype"):
        x + y
    with pytest.raises(ValueError, match="mul: shapes"):
        x * gs.tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(TypeError, match="add: other must be a Tensor or a number"):
        x + "a"
