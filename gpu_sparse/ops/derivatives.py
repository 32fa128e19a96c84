"""Every gradient formula of the library, in one table (cf. PyTorch's derivatives.yaml).

``DERIVATIVES[op][input](ctx, G)`` is the gradient of ``input`` given the upstream
gradient ``G`` (a Tensor already in the layout and on the pattern of the op's output) and
the op's typed context ``ctx``. One key per op, one line per differentiable input, each
line the formula in the tensor-level verbs defined below the table. :func:`record` is the
only way an op enters the graph, and it refuses an op that has no entry here.

Notation: ``ᴴ`` conjugate transpose, ``conj`` conjugation, ``on(S, v)`` the sparse tensor
with S's own pattern (index arrays, order, duplicates) and values ``v``,
``SDDMM(S, A, B)`` the values of ``A @ Bᴴ`` at S's stored entries, ``SpMM(S, B)`` the dense
``S @ B``, ``SpMM_H(S, B)`` the dense ``Sᴴ @ B``, ``values_at(S, X)`` the entries of X at S's
stored positions, ``sum_to(X, shape)`` the sum of a broadcast result back to ``shape``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from ..backend import Array, get_backend
from ..core.engine import Node, is_grad_enabled
from ..core.tensor import Tensor, to_layout_of
from ..formats import CSRMatrix, spgemm
from ..formats import conj as conj_array

Scalar = Any  # a Python float or complex, already checked against the dtype
Shape = Tuple[int, ...]


# ---- typed contexts: what each op saves for its backward ----------------------------
@dataclasses.dataclass(frozen=True)
class AddmmCtx:
    """``out = beta * mat + alpha * (mat1 @ mat2)``, sparse ``mat1``."""
    mat1: Tensor
    mat2: Tensor
    alpha: Scalar
    beta: Scalar
    mat_shape: Optional[Shape]  # None when there is no ``mat``


@dataclasses.dataclass(frozen=True)
class DenseAddmmCtx(AddmmCtx):
    """``out = beta * mat + alpha * (mat1 @ mat2)``, all dense."""


@dataclasses.dataclass(frozen=True)
class SpspmmCtx:
    """``out = mat1 @ mat2``, both sparse COO."""
    mat1: Tensor
    mat2: Tensor


@dataclasses.dataclass(frozen=True)
class SampledAddmmCtx:
    """``out = on(input, beta * input.values + alpha * SDDMM(input, mat1, conj(mat2)ᵀ))``."""
    input: Tensor
    mat1: Tensor
    mat2: Tensor
    alpha: Scalar
    beta: Scalar


@dataclasses.dataclass(frozen=True)
class ElementwiseCtx:
    """``out = a op b`` with broadcasting; an operand is an array or a Python scalar."""
    a: Any
    b: Any
    a_shape: Optional[Shape]  # None for a scalar operand
    b_shape: Optional[Shape]


@dataclasses.dataclass(frozen=True)
class AddCtx(ElementwiseCtx):
    """``out = a + b``."""


@dataclasses.dataclass(frozen=True)
class SubCtx(ElementwiseCtx):
    """``out = a - b``."""


@dataclasses.dataclass(frozen=True)
class MulCtx(ElementwiseCtx):
    """``out = a * b``."""


@dataclasses.dataclass(frozen=True)
class DivCtx:
    """``out = input / divisor`` for a number ``divisor``."""
    divisor: Scalar


@dataclasses.dataclass(frozen=True)
class ConjCtx:
    """``out = conj(input)``: its gradient needs nothing saved."""


@dataclasses.dataclass(frozen=True)
class InputCtx:
    """Ops whose gradient needs only the input tensor itself."""
    input: Tensor


@dataclasses.dataclass(frozen=True)
class SumCtx(InputCtx):
    """``out = sum of the elements (sparse: stored values) of input``."""


@dataclasses.dataclass(frozen=True)
class MeanCtx(InputCtx):
    """``out = mean of the elements of input``."""


@dataclasses.dataclass(frozen=True)
class ReluCtx(InputCtx):
    """``out = max(input, 0)``."""


@dataclasses.dataclass(frozen=True)
class ExpCtx(InputCtx):
    """``out = exp(input)``."""


@dataclasses.dataclass(frozen=True)
class LogCtx(InputCtx):
    """``out = log(input)``."""


@dataclasses.dataclass(frozen=True)
class LogSoftmaxCtx:
    """``out = log_softmax(input, dim)``."""
    input: Tensor
    dim: int


@dataclasses.dataclass(frozen=True)
class NllLossCtx:
    """``out = -scale * sum of input[rows[k], cols[k]]`` (the targets kept)."""
    input: Tensor
    rows: Array
    cols: Array
    scale: float


@dataclasses.dataclass(frozen=True)
class TransposeCtx(InputCtx):
    """``out = input.T`` (2-D dense)."""


@dataclasses.dataclass(frozen=True)
class ValuesCtx(InputCtx):
    """``out = the stored values of input`` (a dense view)."""


@dataclasses.dataclass(frozen=True)
class ToDenseCtx(InputCtx):
    """``out = input as a dense matrix``."""


@dataclasses.dataclass(frozen=True)
class ToDeviceCtx(InputCtx):
    """``out = input on another device``."""


@dataclasses.dataclass(frozen=True)
class CoalesceCtx:
    """``out = input`` with duplicates summed; ``inverse[k]`` is where entry k went."""
    input: Tensor
    inverse: Optional[Array]


@dataclasses.dataclass(frozen=True)
class ToSparseCtx:
    """A sparse layout conversion; ``inverse`` as for coalesce, None: same entries and
    order; ``from_dense``: the input was dense (its nonzeros were taken)."""
    input: Tensor
    from_dense: bool
    inverse: Optional[Array]


@dataclasses.dataclass(frozen=True)
class ConstructorCtx:
    """``out = sparse tensor(indices, values)``: the values tensor it copied."""
    values: Tensor


@dataclasses.dataclass(frozen=True)
class ToSparseCooCtx(ToSparseCtx):
    """``out = input as COO``."""


@dataclasses.dataclass(frozen=True)
class ToSparseCsrCtx(ToSparseCtx):
    """``out = input as CSR``."""


Formula = Callable[[Any, Tensor], Tensor]

DERIVATIVES: Dict[str, Dict[str, Formula]] = {
    # out = beta * mat + alpha * (mat1 @ mat2), mat1 sparse (COO or CSR)
    "addmm": {
        "mat": lambda c, G: dense(G, sum_to(scaled(G, conj(c.beta)), c.mat_shape)),
        "mat1": lambda c, G: on(c.mat1, SDDMM(c.mat1, G, c.mat2, alpha=conj(c.alpha))),
        "mat2": lambda c, G: dense(G, SpMM_H(c.mat1, G, alpha=conj(c.alpha))),
    },
    # out = beta * mat + alpha * (mat1 @ mat2), all dense
    "dense_addmm": {
        "mat": lambda c, G: dense(G, sum_to(scaled(G, conj(c.beta)), c.mat_shape)),
        "mat1": lambda c, G: dense(G, times(G.array @ H(c.mat2.array), conj(c.alpha))),
        "mat2": lambda c, G: dense(G, times(H(c.mat1.array) @ G.array, conj(c.alpha))),
    },
    # out = mat1 @ mat2, both sparse COO; each gradient masked to its input's own pattern
    "spspmm": {
        "mat1": lambda c, G: on(c.mat1, values_at(c.mat1, SpGEMM(csr_of(G), H_of(c.mat2)))),
        "mat2": lambda c, G: on(c.mat2, values_at(c.mat2, SpGEMM(H_of(c.mat1), csr_of(G)))),
    },
    # out = on(input, beta * input.values + alpha * values_at(input, mat1 @ mat2))
    "sampled_addmm": {
        "input": lambda c, G: on(c.input, scaled(G, conj(c.beta))),
        "mat1": lambda c, G: dense(G, SpMM(G, H(c.mat2.array), alpha=conj(c.alpha))),
        # conj(alpha) * mat1ᴴ @ G = (alpha * Gᴴ @ mat1)ᴴ
        "mat2": lambda c, G: dense(G, H(SpMM_H(G, c.mat1, alpha=c.alpha))),
    },
    "add": {
        "input": lambda c, G: dense(G, sum_to(G.array, c.a_shape)),
        "other": lambda c, G: dense(G, sum_to(G.array, c.b_shape)),
    },
    "sub": {
        "input": lambda c, G: dense(G, sum_to(G.array, c.a_shape)),
        "other": lambda c, G: dense(G, sum_to(-G.array, c.b_shape)),
    },
    "mul": {
        "input": lambda c, G: dense(G, sum_to(G.array * conj(c.b), c.a_shape)),
        "other": lambda c, G: dense(G, sum_to(G.array * conj(c.a), c.b_shape)),
    },
    "div": {
        "input": lambda c, G: dense(G, G.array / G.dtype.type(conj(c.divisor))),
    },
    "conj": {
        "input": lambda c, G: G.with_array(conj(G.array)),
    },
    # every element (sparse: every stored value) gets G
    "sum": {
        "input": lambda c, G: on(c.input, filled(c.input, G.array)),
    },
    # every element gets G / numel
    "mean": {
        "input": lambda c, G: on(c.input, filled(c.input, G.array / c.input.numel())),
    },
    "relu": {
        "input": lambda c, G: dense(G, G.array * (c.input.array > 0)),
    },
    # d exp(x) = exp(x) dx; the gradient of a real loss is G * conj(exp(x))
    "exp": {
        "input": lambda c, G: dense(G, G.array * conj(c.input.backend.xp.exp(c.input.array))),
    },
    "log": {
        "input": lambda c, G: dense(G, G.array / conj(c.input.array)),
    },
    # G - softmax(x) * sum(G, dim)
    "log_softmax": {
        "input": lambda c, G: dense(G, G.array - c.input.backend.xp.exp(
            log_softmax_array(c.input, c.dim)) * G.array.sum(axis=c.dim, keepdims=True)),
    },
    # -scale * G at each kept (i, target_i), zero elsewhere
    "nll_loss": {
        "input": lambda c, G: dense(G, scattered(c.input, c.rows, c.cols,
                                                 -c.scale * G.array.reshape(()))),
    },
    "transpose": {
        "input": lambda c, G: dense(G, G.array.T),
    },
    "values": {
        "input": lambda c, G: on(c.input, G.array),
    },
    "to_dense": {
        "input": lambda c, G: on(c.input, values_at(c.input, G)),
    },
    # duplicates summed: every input entry gets the gradient of the entry it went into
    "coalesce": {
        "input": lambda c, G: on(c.input, G.array[c.inverse]),
    },
    # from dense: G at the nonzeros taken; from CSR: the same entries in the same order
    "to_sparse_coo": {
        "input": lambda c, G: (to_layout_of(c.input, G) if c.from_dense
                               else on(c.input, G.array)),
    },
    # from dense: G at the nonzeros taken; from COO: as coalesce
    "to_sparse_csr": {
        "input": lambda c, G: (to_layout_of(c.input, G) if c.from_dense
                               else on(c.input, G.array[c.inverse])),
    },
    "to_device": {
        "input": lambda c, G: on(c.input, moved(G.array, G.device, c.input.device)),
    },
    # out = a sparse tensor holding a copy of values (nnz,) in its own entry order
    "sparse_coo_tensor": {
        "values": lambda c, G: like_values(c.values, G),
    },
    "sparse_csr_tensor": {
        "values": lambda c, G: like_values(c.values, G),
    },
}


#: The inputs whose values each gradient formula reads: backward refuses them if they
#: were changed in place after the op ran (the other formulas read patterns and shapes).
READS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "addmm": {"mat1": ("mat2",), "mat2": ("mat1",)},
    "dense_addmm": {"mat1": ("mat2",), "mat2": ("mat1",)},
    "spspmm": {"mat1": ("mat2",), "mat2": ("mat1",)},
    "sampled_addmm": {"mat1": ("mat2",), "mat2": ("mat1",)},
    "mul": {"input": ("other",), "other": ("input",)},
    "relu": {"input": ("input",)}, "exp": {"input": ("input",)},
    "log": {"input": ("input",)}, "log_softmax": {"input": ("input",)},
}

#: The context type each op saves (checked by :func:`record`).
CONTEXTS: Dict[str, type] = {
    "addmm": AddmmCtx, "dense_addmm": DenseAddmmCtx, "spspmm": SpspmmCtx,
    "sampled_addmm": SampledAddmmCtx, "add": AddCtx, "sub": SubCtx, "mul": MulCtx,
    "div": DivCtx, "conj": ConjCtx, "sum": SumCtx, "mean": MeanCtx, "relu": ReluCtx,
    "exp": ExpCtx, "log": LogCtx,
    "log_softmax": LogSoftmaxCtx, "nll_loss": NllLossCtx, "transpose": TransposeCtx,
    "values": ValuesCtx,
    "to_dense": ToDenseCtx,
    "coalesce": CoalesceCtx, "to_sparse_coo": ToSparseCooCtx,
    "to_sparse_csr": ToSparseCsrCtx, "to_device": ToDeviceCtx,
    "sparse_coo_tensor": ConstructorCtx, "sparse_csr_tensor": ConstructorCtx,
}


def record(op: str, out: Tensor, inputs: Sequence[Tuple[str, Optional[Tensor]]],
           ctx: Any) -> Tensor:
    """Make ``out`` the result of ``op`` in the graph when grad mode is on and an input
    requires grad; returns ``out``.

    ``inputs`` are ``(name, tensor or None)`` pairs whose names must be the op's entries
    in :data:`DERIVATIVES`, and ``ctx`` is the op's context type (:data:`CONTEXTS`).
    KeyError for an op without an entry or an input without a formula and TypeError for
    a context of another type, whatever the grad mode: every recorded op has its
    gradient.
    """
    formulas = DERIVATIVES.get(op)
    if formulas is None:
        raise KeyError(f"record: op {op!r} has no entry in DERIVATIVES")
    if type(ctx) is not CONTEXTS[op]:
        raise TypeError(f"record: op {op!r} saves a {CONTEXTS[op].__name__}, got "
                        f"{type(ctx).__name__}")
    for name, _ in inputs:
        if name not in formulas:
            raise KeyError(f"record: op {op!r} has no derivative formula for input "
                           f"{name!r}")
    if is_grad_enabled() and any(t is not None and t.requires_grad for _, t in inputs):
        out._attach(Node(op, inputs, ctx, formulas, READS.get(op, {})))
    return out


# ---- tensor-level verbs ------------------------------------------------------------------
def on(s: Tensor, values: Array) -> Tensor:
    """The tensor with ``s``'s own pattern (or ``s``'s device, if dense) and ``values``."""
    return s.with_array(values)


def dense(like: Tensor, arr: Array) -> Tensor:
    """A dense C-contiguous tensor on ``like``'s device (``arr`` copied only if needed)."""
    return Tensor(arr if arr.flags.c_contiguous else arr.copy(), like.device)


def conj(x: Any) -> Any:
    """Conjugate of a Python scalar or an array (real ones returned as they are)."""
    if isinstance(x, complex):
        return x.conjugate()
    if isinstance(x, (int, float)):
        return x
    return conj_array(x)


def H(arr: Array) -> Array:
    """Conjugate transpose of a 2-D array (a view when real)."""
    return conj_array(arr).T


def times(arr: Array, s: Scalar) -> Array:
    """``arr * s`` in ``arr``'s dtype (``arr`` itself for s == 1)."""
    return arr if s == 1 else arr * arr.dtype.type(s)


def scaled(g: Tensor, s: Scalar) -> Array:
    """``s * g`` as a fresh array in g's dtype (zeros for s == 0, so NaN/Inf in ``g``
    cannot leak through a zero factor)."""
    if s == 0:
        return g.backend.xp.zeros(g.array.shape, dtype=g.dtype)
    if s == 1:
        return g.array.copy()
    return times(g.array, s)


def sum_to(arr: Array, shape: Optional[Shape]) -> Array:
    """Sum a broadcast result back to ``shape`` (the gradient of broadcasting)."""
    assert shape is not None, "sum_to: the operand was a scalar (it gets no gradient)"
    if tuple(arr.shape) == tuple(shape):
        return arr
    lead = arr.ndim - len(shape)
    if lead:
        arr = arr.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and arr.shape[i] != 1)
    if axes:
        arr = arr.sum(axis=axes, keepdims=True)
    return arr.reshape(shape)


def log_softmax_array(x: Tensor, dim: int) -> Array:
    """``log_softmax`` of a dense tensor's array along ``dim`` (max subtracted first)."""
    xp = x.backend.xp
    z = x.array - x.array.max(axis=dim, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))


def scattered(like: Tensor, rows: Array, cols: Array, value: Array) -> Array:
    """Zeros shaped like ``like`` with ``value`` added at each (rows[k], cols[k])."""
    out = like.backend.xp.zeros(like.array.shape, dtype=like.dtype)
    out[rows, cols] += value  # (i, target_i) pairs are distinct: one per row
    return out


def filled(like: Tensor, scalar_arr: Array) -> Array:
    """An array shaped like ``like``'s array, every element the 0-d ``scalar_arr``."""
    xp = like.backend.xp
    return xp.zeros(like.array.shape, dtype=like.dtype) + scalar_arr.reshape(())


def SpMM(s: Tensor, b: Array, alpha: Scalar = 1) -> Array:
    """``alpha * S @ b`` for sparse ``s`` and a dense array ``b``."""
    assert s.pattern is not None
    return s.pattern.spmm(s.array, b, alpha=alpha)


def SpMM_H(s: Tensor, b: Tensor, alpha: Scalar = 1) -> Array:
    """``alpha * Sᴴ @ b`` for sparse ``s`` and dense ``b``."""
    assert s.pattern is not None
    return s.pattern.spmm_h(s.array, b.array, alpha=alpha)


def SDDMM(s: Tensor, a: Tensor, b: Tensor, alpha: Scalar = 1) -> Array:
    """``alpha * (a @ bᴴ)`` at ``s``'s stored entries (nnz,), in ``s``'s order."""
    assert s.pattern is not None
    return s.pattern.sddmm(a.array, b.array, alpha=alpha)


def values_at(s: Tensor, x: Tensor) -> Array:
    """The entries of ``x`` (dense or sparse) at ``s``'s stored positions (nnz,)."""
    return to_layout_of(s, x).array


def csr_of(s: Tensor) -> CSRMatrix:
    """A sparse tensor as CSR arrays (an SpGEMM operand)."""
    assert s.pattern is not None
    return s.pattern.csr_matrix(s.array)


def H_of(s: Tensor) -> CSRMatrix:
    """``Sᴴ`` of a sparse tensor as CSR arrays, from its cached transposed pattern."""
    assert s.pattern is not None
    return s.pattern.csr_matrix(s.array, adjoint=True)


def SpGEMM(a: CSRMatrix, b: CSRMatrix) -> Tensor:
    """Sparse @ sparse as a coalesced COO tensor."""
    pattern, vals = spgemm(a, b)
    return Tensor(vals, a.device, pattern)


def like_values(values: Tensor, g: Tensor) -> Tensor:
    """The array of ``g`` as the gradient of the dense tensor ``values``: on its device,
    in its dtype (a constructor may have moved and cast the values)."""
    arr = moved(g.array, g.device, values.device)
    return Tensor(arr.astype(values.dtype, copy=False), values.device)


def moved(arr: Array, src: str, dst: str) -> Array:
    """``arr`` carried from device ``src`` to device ``dst`` (through the host when
    either is the CPU)."""
    src_backend, dst_backend = get_backend(src), get_backend(dst)
    host_hop = src == "cpu" or dst == "cpu"
    return dst_backend.asarray(src_backend.to_numpy(arr) if host_hop else arr)
