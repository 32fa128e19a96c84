"""Differentiable operations: validation, forward through the backend, graph recording.

Each op checks its arguments (messages name op and argument), computes its result with
the helpers of :mod:`gpu_sparse._impl`, and records a node whose backward formulas live in
:data:`gpu_sparse.derivatives.DERIVATIVES` under the op's name.
"""

from __future__ import annotations

import numbers
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import _impl as I
from . import _validate as V
from ._device import canonical_device, get_backend
from .autograd import is_grad_enabled, record
from .tensor import Layout, Tensor


def _ctx(**kw) -> SimpleNamespace:
    return SimpleNamespace(**kw)


# ---------------------------------------------------------------------------------------
# sparse x dense products


def _addmm_checks(fn: str, mat, mat1, mat2, beta, alpha, sparse_only: bool):
    if mat is not None:
        V.tensor_arg(fn, "mat", mat)
    V.tensor_arg(fn, "mat1", mat1)
    V.tensor_arg(fn, "mat2", mat2)
    V.same_device(fn, mat=mat, mat1=mat1, mat2=mat2)
    if mat1.layout is Layout.strided:
        if sparse_only:
            raise ValueError(f"{fn}: mat1 must be a sparse COO or CSR tensor, got layout "
                             f"strided (use gpu_sparse.addmm for dense mat1)")
        V.dense_2d(fn, "mat1", mat1)
    else:
        V.sparse_2d(fn, "mat1", mat1)
    V.dense_2d(fn, "mat2", mat2)
    V.inner_dims(fn, "mat1", mat1, "mat2", mat2)
    out_shape = (mat1.shape[0], mat2.shape[1])
    if mat is not None:
        V.broadcastable(fn, "mat", mat, out_shape)
    for name, t in (("mat", mat), ("mat1", mat1), ("mat2", mat2)):
        if t is not None:
            V.value_dtype(fn, name, t)
    dt = V.same_dtype(fn, mat=mat, mat1=mat1, mat2=mat2)
    beta = V.scalar(fn, "beta", beta, dt)
    alpha = V.scalar(fn, "alpha", alpha, dt)
    return out_shape, beta, alpha


def _addmm(fn: str, mat, mat1, mat2, beta, alpha, sparse_only: bool) -> Tensor:
    out_shape, beta, alpha = _addmm_checks(fn, mat, mat1, mat2, beta, alpha, sparse_only)
    be = I.backend_of(mat1)
    xp = be.xp
    use_mat = mat is not None and beta != 0
    if mat1.layout is Layout.strided:
        prod = xp.matmul(mat1._data, mat2._data)
        arr = I.scale(prod, alpha)
        if use_mat:
            arr = arr + mat._data * arr.dtype.type(beta)
        arr = xp.ascontiguousarray(xp.broadcast_to(arr, out_shape))
    else:
        c = xp.broadcast_to(mat._data, out_shape) if use_mat else None
        arr = I.spmm(mat1, mat2._data, alpha=alpha, beta=beta, c=c)
    out = I.dense(mat1.device, arr)
    ctx = _ctx(mat1=mat1, mat2=mat2, alpha=alpha, beta=beta,
               mat_shape=None if mat is None else mat.shape)
    return record("addmm", out, [("mat", mat), ("mat1", mat1), ("mat2", mat2)], ctx)


def sparse_addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0,
                 alpha: Any = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with sparse ``mat1`` (PyTorch's
    ``torch.sparse.addmm``).

    Parameters
    ----------
    mat : dense Tensor broadcastable to (m, p)
        Ignored when ``beta == 0``: NaN/Inf in it do not reach the result.
    mat1 : sparse COO or CSR Tensor, (m, n)
        Uncoalesced COO (duplicates, any order) is fine; duplicates are summed.
    mat2 : dense Tensor, (n, p); any strides (C, Fortran, non-contiguous views)
    beta, alpha : numbers; complex only with complex tensors

    Returns
    -------
    dense Tensor (m, p)

    Gradients
    ---------
    ``mat.grad = conj(beta) * G`` summed to ``mat.shape``; ``mat2.grad = conj(alpha) *
    mat1ᴴ @ G``; ``mat1.grad`` is sparse with mat1's own indices (same order, duplicates
    kept) and values ``conj(alpha) * (G @ mat2ᴴ)[i, j]``, computed by sampling (memory
    O(nnz + m*p + n*p)).

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([2.0, 3.0]), (2, 2),
    ...                          requires_grad=True)
    >>> b = gs.tensor(np.ones((2, 3)), requires_grad=True)
    >>> c = gs.tensor(np.zeros((2, 3)))
    >>> out = gs.sparse.addmm(c, a, b, beta=0.5, alpha=2.0)
    >>> out.detach().numpy()[:, 0].tolist()
    [4.0, 6.0]
    >>> out.sum().backward()
    >>> a.grad.values().numpy().tolist()
    [6.0, 6.0]
    """
    return _addmm("addmm", mat, mat1, mat2, beta, alpha, sparse_only=True)


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0,
          alpha: Any = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` for sparse or dense ``mat1``.

    The same as :func:`gpu_sparse.sparse.addmm` but also takes a dense ``mat1`` (then the
    dense gradient ``conj(alpha) * G @ mat2ᴴ``).

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> out = gs.addmm(gs.tensor(np.ones((2, 2))), gs.tensor(np.eye(2)),
    ...                gs.tensor(np.full((2, 2), 3.0)), beta=1, alpha=2)
    >>> out.numpy().tolist()
    [[7.0, 7.0], [7.0, 7.0]]
    """
    return _addmm("addmm", mat, mat1, mat2, beta, alpha, sparse_only=False)


def sparse_mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``mat1 @ mat2`` with sparse ``mat1``.

    * sparse (COO or CSR) @ dense -> dense, gradients as :func:`sparse.addmm` with
      ``beta = 0, alpha = 1``;
    * sparse COO @ sparse COO -> sparse COO (coalesced); each input's gradient is masked
      to its own pattern, with its own indices.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([2.0, 3.0]), (2, 2))
    >>> gs.sparse.mm(a, gs.tensor(np.eye(2))).numpy().tolist()
    [[0.0, 2.0], [3.0, 0.0]]
    >>> gs.sparse.mm(a, a).to_dense().numpy().tolist()
    [[6.0, 0.0], [0.0, 6.0]]
    """
    fn = "mm"
    V.tensor_arg(fn, "mat1", mat1)
    V.tensor_arg(fn, "mat2", mat2)
    if mat1.layout is Layout.strided:
        raise ValueError("mm: mat1 must be a sparse COO or CSR tensor, got layout strided "
                         "(use gpu_sparse.mm for dense operands)")
    if mat2.layout is not Layout.strided:
        return _spspmm(mat1, mat2)
    return _addmm(fn, None, mat1, mat2, 0.0, 1.0, sparse_only=True)


def _spspmm(a: Tensor, b: Tensor) -> Tensor:
    fn = "mm"
    V.same_device(fn, mat1=a, mat2=b)
    for name, t in (("mat1", a), ("mat2", b)):
        if t.layout is not Layout.sparse_coo:
            raise ValueError(f"mm: sparse @ sparse needs COO operands, but {name} has "
                             f"layout {t.layout.value} (convert with to_sparse())")
        V.sparse_2d(fn, name, t)
        V.value_dtype(fn, name, t)
    V.same_dtype(fn, mat1=a, mat2=b)
    V.inner_dims(fn, "mat1", a, "mat2", b)
    be = I.backend_of(a)
    shape = (a.shape[0], b.shape[1])
    rows, cols, vals = be.spgemm(I.csr_triple(a), a.shape, I.csr_triple(b), b.shape)
    out = I.coo(a.device, be.xp.stack([rows, cols]), vals, shape, coalesced=True)
    return record("spspmm", out, [("mat1", a), ("mat2", b)], _ctx(mat1=a, mat2=b))


def sampled_addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0,
                  alpha: Any = 1.0) -> Tensor:
    """SDDMM: ``beta * input + alpha * (mat1 @ mat2)`` at the stored entries of ``input``.

    Parameters
    ----------
    input : sparse COO or CSR Tensor, (m, n)
    mat1 : dense (m, k);  mat2 : dense (k, n)
    beta, alpha : numbers; with ``beta == 0`` NaN/Inf in ``input``'s values are ignored.

    Returns
    -------
    sparse Tensor with ``input``'s layout and own index arrays (COO in, COO out,
    duplicates kept); value ``k`` is ``beta * v_k + alpha * mat1[i_k] @ mat2[:, j_k]``.

    Gradients: ``input`` gets ``conj(beta) * G`` on its own pattern; ``mat1`` gets
    ``conj(alpha) * G_s @ mat2ᴴ`` and ``mat2`` gets ``conj(alpha) * mat1ᴴ @ G_s`` where
    ``G_s`` is the sparse upstream gradient.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> s = gs.sparse_coo_tensor([[0, 1], [1, 1]], np.array([1.0, 1.0]), (2, 2))
    >>> x = gs.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> gs.sparse.sampled_addmm(s, x, gs.tensor(np.eye(2)), beta=0).values().numpy().tolist()
    [2.0, 4.0]
    """
    fn = "sampled_addmm"
    V.tensor_arg(fn, "input", input)
    V.tensor_arg(fn, "mat1", mat1)
    V.tensor_arg(fn, "mat2", mat2)
    V.same_device(fn, input=input, mat1=mat1, mat2=mat2)
    V.sparse_2d(fn, "input", input)
    V.dense_2d(fn, "mat1", mat1)
    V.dense_2d(fn, "mat2", mat2)
    V.inner_dims(fn, "mat1", mat1, "mat2", mat2)
    if (mat1.shape[0], mat2.shape[1]) != tuple(input.shape):
        raise ValueError(f"{fn}: input has shape {input.shape} but mat1 @ mat2 has shape "
                         f"{(mat1.shape[0], mat2.shape[1])}")
    for name, t in (("input", input), ("mat1", mat1), ("mat2", mat2)):
        V.value_dtype(fn, name, t)
    dt = V.same_dtype(fn, input=input, mat1=mat1, mat2=mat2)
    beta = V.scalar(fn, "beta", beta, dt)
    alpha = V.scalar(fn, "alpha", alpha, dt)
    xp = I.backend_of(input).xp
    c = input._values if beta != 0 else None
    vals = I.sddmm_on(input, mat1._data, xp.ascontiguousarray(mat2._data.T), alpha=alpha,
                      beta=beta, c=c)
    out = I.with_values(input, vals)
    ctx = _ctx(input=input, mat1=mat1, mat2=mat2, alpha=alpha, beta=beta)
    return record("sampled_addmm", out,
                  [("input", input), ("mat1", mat1), ("mat2", mat2)], ctx)


def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product dispatching on layouts: sparse @ dense, sparse COO @ sparse COO
    (see :func:`gpu_sparse.sparse.mm`) or dense @ dense. Differentiable.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> gs.mm(gs.tensor(np.eye(2)), gs.tensor(np.ones((2, 1)))).numpy().tolist()
    [[1.0], [1.0]]
    """
    V.tensor_arg("mm", "mat1", mat1)
    V.tensor_arg("mm", "mat2", mat2)
    if mat1.layout is not Layout.strided:
        return sparse_mm(mat1, mat2)
    if mat2.layout is not Layout.strided:
        raise ValueError("mm: dense @ sparse is not supported; mat2 has layout "
                         f"{mat2.layout.value} (compute (mat2ᵀ @ mat1ᵀ)ᵀ with a sparse "
                         "transpose instead)")
    return _addmm("mm", None, mat1, mat2, 0.0, 1.0, sparse_only=False)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for 2-D tensors; the same as :func:`mm`."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: operands must be gpu_sparse Tensors, got "
                        f"{type(a).__name__} and {type(b).__name__}")
    return mm(a, b)


# ---------------------------------------------------------------------------------------
# dense arithmetic (enough to write a loss)


def _operand(fn: str, x: Any, like: Tensor, name: str):
    """A tensor operand or a validated scalar."""
    if isinstance(x, Tensor):
        if x.layout is not Layout.strided:
            raise TypeError(f"{fn}: {name} is sparse ({x.layout.value}); elementwise "
                            "arithmetic takes dense tensors (use to_dense() or values())")
        return x
    if isinstance(x, numbers.Number) or (isinstance(x, np.ndarray) and x.ndim == 0):
        return V.scalar(fn, name, x, like.dtype)
    raise TypeError(f"{fn}: {name} must be a Tensor or a number, got {type(x).__name__}")


def _binary(fn: str, a: Any, b: Any, op: str) -> Tensor:
    like = a if isinstance(a, Tensor) else b
    a = _operand(fn, a, like, "input")
    b = _operand(fn, b, like, "other")
    ta = a if isinstance(a, Tensor) else None
    tb = b if isinstance(b, Tensor) else None
    if ta is not None and tb is not None:
        V.same_device(fn, input=ta, other=tb)
        V.same_dtype(fn, input=ta, other=tb)
    dt = like.dtype
    xa = ta._data if ta is not None else dt.type(a)
    xb = tb._data if tb is not None else dt.type(b)
    try:
        if op == "add":
            arr = xa + xb
        elif op == "sub":
            arr = xa - xb
        else:
            arr = xa * xb
    except ValueError:
        raise ValueError(f"{fn}: shapes {ta.shape} and {tb.shape} cannot be broadcast "
                         "together") from None
    xp = I.backend_of(like).xp
    arr = xp.asarray(arr, dtype=dt)
    out = I.dense(like.device, arr)
    ctx = _ctx(a=a, b=b, a_shape=ta.shape if ta is not None else None,
               b_shape=tb.shape if tb is not None else None)
    return record(op, out, [("input", ta), ("other", tb)], ctx)


def add(a: Any, b: Any) -> Tensor:
    """``a + b`` (dense tensors or scalars, broadcasting). Differentiable."""
    return _binary("add", a, b, "add")


def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` (dense tensors or scalars, broadcasting). Differentiable."""
    return _binary("sub", a, b, "sub")


def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` elementwise (dense tensors or scalars, broadcasting). Differentiable."""
    return _binary("mul", a, b, "mul")


def conj(x: Tensor) -> Tensor:
    """Complex conjugate (identity for real tensors). Differentiable."""
    V.tensor_arg("conj", "input", x)
    if x.dtype.kind != "c":
        return x
    out = I.with_payload(x, I.payload(x).conj())
    return record("conj", out, [("input", x)], _ctx())


def sum(x: Tensor) -> Tensor:  # noqa: A001 - the Tensor method's name
    """Sum of all elements (sparse: all stored values) as a 0-d tensor. Differentiable."""
    V.tensor_arg("sum", "input", x)
    arr = I.payload(x).sum()
    xp = I.backend_of(x).xp
    out = I.dense(x.device, xp.asarray(arr, dtype=x.dtype).reshape(()))
    return record("sum", out, [("input", x)], _ctx(x=x))


# ---------------------------------------------------------------------------------------
# sparse structure and conversions


def _tracks(t: Tensor) -> bool:
    """Whether an op on ``t`` records a node (and so must save what its backward needs)."""
    return t.requires_grad and is_grad_enabled()


def values(s: Tensor) -> Tensor:
    out = I.dense(s.device, s._values)
    return record("values", out, [("input", s)], _ctx(s=s))


def coalesce(s: Tensor) -> Tensor:
    if s._coalesced:
        return s
    be = I.backend_of(s)
    rows, cols, vals, inverse = be.coalesce(s._indices[0], s._indices[1], s._values,
                                            s.shape, inverse=_tracks(s))
    out = I.coo(s.device, be.xp.stack([rows, cols]), vals, s.shape, coalesced=True)
    return record("coalesce", out, [("input", s)], _ctx(s=s, inverse=inverse))


def to_dense(s: Tensor) -> Tensor:
    if s.layout is Layout.strided:
        return s
    out = I.dense(s.device, I.to_dense_array(s))
    return record("to_dense", out, [("input", s)], _ctx(s=s))


def _dense_nonzero(fn: str, d: Tensor):
    if d.ndim != 2:
        raise ValueError(f"{fn}: expected a 2-D tensor, got shape {d.shape}")
    xp = I.backend_of(d).xp
    rows, cols = xp.nonzero(d._data)
    return rows.astype(np.int64), cols.astype(np.int64)


def to_sparse_coo(t: Tensor) -> Tensor:
    if t.layout is Layout.sparse_coo:
        return t
    be = I.backend_of(t)
    xp = be.xp
    if t.layout is Layout.strided:
        rows, cols = _dense_nonzero("to_sparse", t)
        vals = t._data[rows, cols]
        out = I.coo(t.device, xp.stack([rows, cols]), vals, t.shape, coalesced=True)
        return record("dense_to_sparse", out, [("input", t)], _ctx(rows=rows, cols=cols))
    rows, cols = I.coo_rows_cols(t)
    rows = rows.astype(np.int64)
    keys = rows * t.shape[1] + cols
    sorted_unique = keys.shape[0] < 2 or bool(xp.all(keys[1:] > keys[:-1]))
    out = I.coo(t.device, xp.stack([rows, cols.copy()]), t._values.copy(), t.shape,
                coalesced=sorted_unique)
    return record("csr_to_coo", out, [("input", t)], _ctx(input=t))


def to_sparse_csr(t: Tensor) -> Tensor:
    if t.layout is Layout.sparse_csr:
        return t
    be = I.backend_of(t)
    m, n = t.shape
    if t.layout is Layout.strided:
        rows, cols = _dense_nonzero("to_sparse_csr", t)
        vals = t._data[rows, cols]
        crow, _, _ = be.coo_to_csr(rows, cols, m, n)
        out = I.csr(t.device, crow.astype(np.int64), cols, vals, t.shape)
        return record("dense_to_sparse", out, [("input", t)], _ctx(rows=rows, cols=cols))
    rows, cols, vals, inverse = be.coalesce(t._indices[0], t._indices[1], t._values,
                                            t.shape, inverse=_tracks(t))
    crow, _, _ = be.coo_to_csr(rows, cols, m, n)
    out = I.csr(t.device, crow.astype(np.int64), cols, vals, t.shape)
    return record("coalesce", out, [("input", t)], _ctx(s=t, inverse=inverse))


def to_device(t: Tensor, device: Any) -> Tensor:
    dev = canonical_device(device, "to")
    if dev == t.device:
        return t
    src = I.backend_of(t)
    dst = get_backend(dev)

    def move(a):
        return None if a is None else dst.asarray(src.to_numpy(a)) if dev == "cpu" or \
            t.device == "cpu" else dst.asarray(a)

    out = Tensor(layout=t.layout, shape=t.shape, dtype=t.dtype, device=dev,
                 data=move(t._data), indices=move(t._indices), crow=move(t._crow),
                 col=move(t._col), values=move(t._values), coalesced=t._coalesced)
    return record("to_device", out, [("input", t)], _ctx(src=t))
