"""Matrix products: ``sparse.addmm``, ``addmm``, ``sparse.mm``, ``mm``/``matmul``/``@``
and ``sparse.sampled_addmm`` (SDDMM).

Each op checks its arguments (messages name op and argument), computes its result with
the verbs of the operand's sparse pattern, and records itself under its key of
:data:`~gpu_sparse.ops.derivatives.DERIVATIVES`, where its gradients are.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ..core import validate
from ..core.dispatch import dispatchable
from ..core.tensor import Tensor
from ..formats import Layout
from .arraymath import SpGEMM, csr_of
from .derivatives import AddmmCtx, SampledAddmmCtx, SpspmmCtx, record


def _addmm_checks(fn: str, mat: Optional[Tensor], mat1: Tensor, mat2: Tensor, beta: Any,
                  alpha: Any, sparse_only: bool) -> Tuple[Tuple[int, int], Any, Any]:
    if mat is not None:
        validate.tensor_arg(fn, "mat", mat)
    validate.tensor_arg(fn, "mat1", mat1)
    validate.tensor_arg(fn, "mat2", mat2)
    validate.same_device(fn, mat=mat, mat1=mat1, mat2=mat2)
    if mat1.layout is Layout.strided:
        if sparse_only:
            raise ValueError(f"{fn}: mat1 must be a sparse COO or CSR tensor, got layout "
                             f"strided (use gpu_sparse.addmm for dense mat1)")
        validate.dense_2d(fn, "mat1", mat1)
    else:
        validate.sparse_2d(fn, "mat1", mat1)
    validate.dense_2d(fn, "mat2", mat2)
    validate.inner_dims(fn, "mat1", mat1, "mat2", mat2)
    out_shape = (mat1.shape[0], mat2.shape[1])
    if mat is not None:
        validate.broadcastable(fn, "mat", mat, out_shape)
    for name, t in (("mat", mat), ("mat1", mat1), ("mat2", mat2)):
        if t is not None:
            validate.value_dtype(fn, name, t)
    dt = validate.same_dtype(fn, mat=mat, mat1=mat1, mat2=mat2)
    beta = validate.scale_factor(fn, "beta", beta, dt)
    alpha = validate.scale_factor(fn, "alpha", alpha, dt)
    return out_shape, beta, alpha


def _addmm(fn: str, mat: Optional[Tensor], mat1: Tensor, mat2: Tensor, beta: Any,
           alpha: Any, sparse_only: bool) -> Tensor:
    out_shape, beta, alpha = _addmm_checks(fn, mat, mat1, mat2, beta, alpha, sparse_only)
    xp = mat1.backend.xp
    use_mat = mat is not None and beta != 0
    mat_shape = None if mat is None else mat.shape
    inputs = [("mat", mat), ("mat1", mat1), ("mat2", mat2)]
    if mat1.pattern is None:  # dense @ dense
        arr = xp.matmul(mat1.array, mat2.array)
        if alpha != 1:
            arr *= arr.dtype.type(alpha)
        if use_mat:
            assert mat is not None
            arr = arr + mat.array * arr.dtype.type(beta)
        arr = xp.ascontiguousarray(xp.broadcast_to(arr, out_shape))
        return record("dense_addmm", Tensor(arr, mat1.device), inputs,
                      AddmmCtx(mat1, mat2, alpha, beta, mat_shape))
    c = xp.broadcast_to(mat.array, out_shape) if use_mat else None  # type: ignore[union-attr]
    arr = mat1.pattern.spmm(mat1.array, mat2.array, alpha=alpha, beta=beta, c=c)
    return record("addmm", Tensor(arr, mat1.device), inputs,
                  AddmmCtx(mat1, mat2, alpha, beta, mat_shape))


@dispatchable
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

    Raises
    ------
    TypeError for non-tensors, mixed or integer dtypes and complex scalars with real
    tensors; ValueError for layouts and shapes that do not fit; RuntimeError for tensors
    on different devices.

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
    validate.tensor_arg("addmm", "mat", mat)  # required, as in PyTorch
    return _addmm("addmm", mat, mat1, mat2, beta, alpha, sparse_only=True)


@dispatchable
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
    validate.tensor_arg("addmm", "mat", mat)
    return _addmm("addmm", mat, mat1, mat2, beta, alpha, sparse_only=False)


@dispatchable
def sparse_mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``mat1 @ mat2`` with sparse ``mat1``.

    * sparse (COO or CSR) @ dense -> dense, gradients as :func:`sparse.addmm` with
      ``beta = 0, alpha = 1``;
    * sparse COO @ sparse COO -> sparse COO (coalesced) with the structural pattern:
      every (i, j) reached by a pair of stored entries, whatever the values (entries that
      cancel to 0 stay, as in PyTorch); each input's gradient is masked to its own
      pattern, with its own indices.

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
    validate.tensor_arg(fn, "mat1", mat1)
    validate.tensor_arg(fn, "mat2", mat2)
    if mat1.layout is Layout.strided:
        raise ValueError("mm: mat1 must be a sparse COO or CSR tensor, got layout strided "
                         "(use gpu_sparse.mm for dense operands)")
    if mat2.layout is not Layout.strided:
        return _spspmm(mat1, mat2)
    return _addmm(fn, None, mat1, mat2, 0.0, 1.0, sparse_only=True)


def _spspmm(a: Tensor, b: Tensor) -> Tensor:
    fn = "mm"
    validate.same_device(fn, mat1=a, mat2=b)
    for name, t in (("mat1", a), ("mat2", b)):
        if t.layout is not Layout.sparse_coo:
            raise ValueError(f"mm: sparse @ sparse needs COO operands, but {name} has "
                             f"layout {t.layout.value} (convert with to_sparse())")
        validate.sparse_2d(fn, name, t)
        validate.value_dtype(fn, name, t)
    validate.same_dtype(fn, mat1=a, mat2=b)
    validate.inner_dims(fn, "mat1", a, "mat2", b)
    out = SpGEMM(csr_of(a), csr_of(b))
    return record("spspmm", out, [("mat1", a), ("mat2", b)], SpspmmCtx(mat1=a, mat2=b))


@dispatchable
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

    Raises
    ------
    The errors of :func:`gpu_sparse.sparse.addmm`, and ValueError when ``input``'s shape
    is not that of ``mat1 @ mat2``.

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
    validate.tensor_arg(fn, "input", input)
    validate.tensor_arg(fn, "mat1", mat1)
    validate.tensor_arg(fn, "mat2", mat2)
    validate.same_device(fn, input=input, mat1=mat1, mat2=mat2)
    validate.sparse_2d(fn, "input", input)
    validate.dense_2d(fn, "mat1", mat1)
    validate.dense_2d(fn, "mat2", mat2)
    validate.inner_dims(fn, "mat1", mat1, "mat2", mat2)
    if (mat1.shape[0], mat2.shape[1]) != tuple(input.shape):
        raise ValueError(f"{fn}: input has shape {input.shape} but mat1 @ mat2 has shape "
                         f"{(mat1.shape[0], mat2.shape[1])}")
    for name, t in (("input", input), ("mat1", mat1), ("mat2", mat2)):
        validate.value_dtype(fn, name, t)
    dt = validate.same_dtype(fn, input=input, mat1=mat1, mat2=mat2)
    beta = validate.scale_factor(fn, "beta", beta, dt)
    alpha = validate.scale_factor(fn, "alpha", alpha, dt)
    assert input.pattern is not None
    xp = input.backend.xp
    c = input.array if beta != 0 else None
    # mat1 @ mat2 = mat1 @ (mat2ᵀ)ᵀ: the kernel reads rows of both operands
    vals = input.pattern.sddmm(mat1.array, xp.ascontiguousarray(mat2.array.T), alpha=alpha,
                               beta=beta, c=c, conj_b=False)
    ctx = SampledAddmmCtx(input=input, mat1=mat1, mat2=mat2, alpha=alpha, beta=beta)
    return record("sampled_addmm", input.with_array(vals),
                  [("input", input), ("mat1", mat1), ("mat2", mat2)], ctx)


@dispatchable
def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product dispatching on layouts: sparse @ dense, sparse COO @ sparse COO
    (see :func:`gpu_sparse.sparse.mm`) or dense @ dense. Differentiable.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> gs.mm(gs.tensor(np.eye(2)), gs.tensor(np.ones((2, 1)))).numpy().tolist()
    [[1.0], [1.0]]
    """
    validate.tensor_arg("mm", "mat1", mat1)
    validate.tensor_arg("mm", "mat2", mat2)
    if mat1.layout is not Layout.strided:
        return sparse_mm(mat1, mat2)
    if mat2.layout is not Layout.strided:
        raise ValueError("mm: dense @ sparse is not supported yet; mat2 has layout "
                         f"{mat2.layout.value}: compute (mat2ᵀ @ mat1ᵀ)ᵀ, building mat2ᵀ as "
                         "sparse_coo_tensor(mat2.indices()[[1, 0]], mat2.values(), "
                         "mat2.shape[::-1]) (COO)")
    return _addmm("mm", None, mat1, mat2, 0.0, 1.0, sparse_only=False)


@dispatchable
def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for 2-D tensors; the same as :func:`mm`.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> (gs.tensor(np.eye(2)) @ gs.tensor(np.ones((2, 1)))).numpy().tolist()
    [[1.0], [1.0]]
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: operands must be gpu_sparse Tensors, got "
                        f"{type(a).__name__} and {type(b).__name__}")
    return mm(a, b)


def _rmatmul(self: Tensor, other: Any) -> Tensor:
    return matmul(other, self)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _rmatmul
