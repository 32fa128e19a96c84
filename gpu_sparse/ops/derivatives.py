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
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..backend import Array, get_backend
from ..core.engine import Node, is_grad_enabled
from ..core.tensor import Tensor, to_layout_of
from ..formats import COOPattern, CSRMatrix, spgemm
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
class DivCtx(ElementwiseCtx):
    """``out = a / b``."""


@dataclasses.dataclass(frozen=True)
class PowCtx(ElementwiseCtx):
    """``out = a ** b``."""


@dataclasses.dataclass(frozen=True)
class NegCtx:
    """``out = -input``: its gradient needs nothing saved."""


@dataclasses.dataclass(frozen=True)
class WhereCtx:
    """``out = where(cond, a, b)`` with broadcasting."""
    cond: Array
    a_shape: Optional[Shape]  # None for a scalar operand
    b_shape: Optional[Shape]


@dataclasses.dataclass(frozen=True)
class ClampCtx:
    """``out = min(max(input, lo), hi)``; a bound is an array, a scalar or None."""
    input: Tensor
    lo: Any
    hi: Any
    lo_shape: Optional[Shape]  # None unless the bound is a tensor
    hi_shape: Optional[Shape]


@dataclasses.dataclass(frozen=True)
class ConjCtx:
    """``out = conj(input)``: its gradient needs nothing saved."""


@dataclasses.dataclass(frozen=True)
class InputCtx:
    """Ops whose gradient needs only the input tensor itself."""
    input: Tensor


@dataclasses.dataclass(frozen=True)
class SumCtx:
    """``out = sum of input over dims`` (None: all elements, sparse: stored values)."""
    input: Tensor
    dims: Optional[Tuple[int, ...]]
    keepdim: bool


@dataclasses.dataclass(frozen=True)
class MeanCtx(SumCtx):
    """``out = mean of input over dims`` (``count`` elements each)."""
    count: int


@dataclasses.dataclass(frozen=True)
class ExtremumCtx(SumCtx):
    """``out = amax/amin of input over dims``; ``out_kept`` the result with the reduced
    dims kept as size 1."""
    out_kept: Array


@dataclasses.dataclass(frozen=True)
class ArgReduceCtx:
    """``out = max/min of input along dim``; ``index`` where each came from (kept dim)."""
    input: Tensor
    dim: int
    index: Array


@dataclasses.dataclass(frozen=True)
class SoftmaxCtx:
    """``out = softmax(input, dim)``."""
    input: Tensor
    dim: int


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
class AbsCtx(InputCtx):
    """``out = |input|``."""


@dataclasses.dataclass(frozen=True)
class SqrtCtx(InputCtx):
    """``out = sqrt(input)``."""


@dataclasses.dataclass(frozen=True)
class SigmoidCtx(InputCtx):
    """``out = 1 / (1 + exp(-input))``."""


@dataclasses.dataclass(frozen=True)
class TanhCtx(InputCtx):
    """``out = tanh(input)``."""


@dataclasses.dataclass(frozen=True)
class LeakyReluCtx:
    """``out = input if input > 0 else slope * input``."""
    input: Tensor
    slope: float


@dataclasses.dataclass(frozen=True)
class EluCtx:
    """``out = input if input > 0 else alpha * (exp(input) - 1)``."""
    input: Tensor
    alpha: float


@dataclasses.dataclass(frozen=True)
class LogSoftmaxCtx:
    """``out = log_softmax(input, dim)``."""
    input: Tensor
    dim: int


@dataclasses.dataclass(frozen=True)
class NllLossCtx:
    """``out = -sum of weight[k] * input[rows[k], cols[k]]`` (weight 0 for an ignored
    target, 1 / count of the others for the mean)."""
    input: Tensor
    rows: Array
    cols: Array
    weight: Array


@dataclasses.dataclass(frozen=True)
class IndexCtx:
    """``out = input[key]``; ``advanced``: the key holds integer arrays."""
    shape: Shape
    key: Tuple[Any, ...]
    advanced: bool


@dataclasses.dataclass(frozen=True)
class ReshapeCtx:
    """``out = input.reshape(...)`` of an input of ``shape``."""
    shape: Shape


@dataclasses.dataclass(frozen=True)
class PermuteCtx:
    """``out = input.permute(order)``."""
    order: Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class CatCtx:
    """``out = cat(tensors, dim)`` (``stacked``: ``stack``), ``sizes`` along dim."""
    dim: int
    sizes: Tuple[int, ...]
    stacked: bool


@dataclasses.dataclass(frozen=True)
class CloneCtx:
    """``out = a copy of input``."""
    input: Tensor


@dataclasses.dataclass(frozen=True)
class CastCtx(InputCtx):
    """``out = input in another dtype``."""


@dataclasses.dataclass(frozen=True)
class SparseSumCtx:
    """``out = the sums of a sparse input's stored values along dim``."""
    input: Tensor
    dim: int


@dataclasses.dataclass(frozen=True)
class SparseSoftmaxCtx:
    """``out = softmax (or log_softmax) of a coalesced sparse input along dim``;
    ``out_values`` a private copy of the result's values (the backward reads them)."""
    input: Tensor
    dim: int
    out_values: Array


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


class PerInput(Mapping[str, Formula]):
    """The formulas of an op with any number of inputs, named ``tensors.0``,
    ``tensors.1``, ...: ``formula(ctx, G, i)`` is the gradient of input ``i``."""

    def __init__(self, formula: Callable[[Any, Tensor, int], Tensor]):
        self.formula = formula

    def __getitem__(self, name: str) -> Formula:
        head, _, num = name.partition(".")
        if head != "tensors" or not num.isdigit():
            raise KeyError(name)
        i = int(num)
        return lambda c, G: self.formula(c, G, i)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

DERIVATIVES: Dict[str, Mapping[str, Formula]] = {
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
        "input": lambda c, G: dense(G, sum_to(over(G.array, conj(c.b)), c.a_shape)),
        "other": lambda c, G: dense(G, sum_to(-G.array * conj(over(over(c.a, c.b), c.b)),
                                              c.b_shape)),
    },
    # b a^(b-1) (0 where b == 0) and a^b log(a) (0 where a == 0, Re b >= 0), as PyTorch
    "pow": {
        "input": lambda c, G: dense(G, sum_to(G.array * conj(pow_base_grad(G, c.a, c.b)),
                                              c.a_shape)),
        "other": lambda c, G: dense(G, sum_to(G.array * conj(pow_exp_grad(G, c.a, c.b)),
                                              c.b_shape)),
    },
    "neg": {
        "input": lambda c, G: dense(G, -G.array),
    },
    # real: sign(x) (0 at 0); complex: x / |x| (0 at 0)
    "abs": {
        "input": lambda c, G: dense(G, G.array * sgn(c.input)),
    },
    "sqrt": {
        "input": lambda c, G: dense(G, over(G.array, conj(c.input.backend.xp.sqrt(c.input.array))
                                            * 2)),
    },
    "sigmoid": {
        "input": lambda c, G: dense(G, G.array * conj(sigmoid_grad(c.input))),
    },
    "tanh": {
        "input": lambda c, G: dense(G, G.array * conj(tanh_grad(c.input))),
    },
    "leaky_relu": {
        "input": lambda c, G: dense(G, G.array * c.input.backend.xp.where(
            c.input.array > 0, G.dtype.type(1), G.dtype.type(c.slope))),
    },
    "elu": {
        "input": lambda c, G: dense(G, G.array * c.input.backend.xp.where(
            c.input.array > 0, G.dtype.type(1),
            c.input.backend.xp.exp(c.input.array) * G.dtype.type(c.alpha))),
    },
    # G goes to whichever of input, lo, hi the result is (input at ties)
    "clamp": {
        "input": lambda c, G: dense(G, masked(G, clamp_masks(c)[0])),
        "min": lambda c, G: dense(G, sum_to(masked(G, clamp_masks(c)[1]), c.lo_shape)),
        "max": lambda c, G: dense(G, sum_to(masked(G, clamp_masks(c)[2]), c.hi_shape)),
    },
    "where": {
        "input": lambda c, G: dense(G, sum_to(masked(G, c.cond), c.a_shape)),
        "other": lambda c, G: dense(G, sum_to(masked(G, ~c.cond), c.b_shape)),
    },
    "conj": {
        "input": lambda c, G: G.with_array(conj(G.array)),
    },
    # every element (sparse: every stored value) gets G, broadcast over the reduced dims
    "sum": {
        "input": lambda c, G: on(c.input, expanded(c, G.array)),
    },
    "mean": {
        "input": lambda c, G: on(c.input, expanded(c, over(wide(G.array), wide(G.array).dtype.type(
            c.count)))),
    },
    # shared evenly among the elements equal to the extremum
    "amax": {
        "input": lambda c, G: dense(G, tie_shared(c, G)),
    },
    "amin": {
        "input": lambda c, G: dense(G, tie_shared(c, G)),
    },
    # to the index returned
    "max": {
        "input": lambda c, G: dense(G, at_index(c, G)),
    },
    "min": {
        "input": lambda c, G: dense(G, at_index(c, G)),
    },
    # s * (G - sum(G * s, dim))
    "softmax": {
        "input": lambda c, G: dense(G, softmax_grad(c, G.array)),
    },
    "relu": {
        "input": lambda c, G: dense(G, masked(G, c.input.array > 0)),
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
                                                 -c.weight * G.array.reshape(()))),
    },
    "transpose": {
        "input": lambda c, G: dense(G, G.array.T),
    },
    # G summed into the selected positions (repeats in a fixed order)
    "index": {
        "input": lambda c, G: dense(G, index_grad(c, G)),
    },
    "reshape": {
        "input": lambda c, G: dense(G, G.array.reshape(c.shape)),
    },
    "permute": {
        "input": lambda c, G: dense(G, G.array.transpose(inverse_order(c.order))),
    },
    # each input gets its slice of G
    "cat": PerInput(lambda c, G, i: dense(G, cat_slice(c, G.array, i))),
    "clone": {
        "input": lambda c, G: on(c.input, G.array),
    },
    # each stored entry gets the gradient of its row's (dim 1) or column's (dim 0) sum
    "sparse_sum": {
        "input": lambda c, G: on(c.input, G.array[segment_of(c.input, c.dim)]),
    },
    # s * (G - segment_sum(G * s)), s the softmax of the stored values
    "sparse_softmax": {
        "input": lambda c, G: on(c.input, sparse_softmax_grad(c, G.array, log=False)),
    },
    # G - exp(out) * segment_sum(G)
    "sparse_log_softmax": {
        "input": lambda c, G: on(c.input, sparse_softmax_grad(c, G.array, log=True)),
    },
    # cast back (complex to real: the real part)
    "to_dtype": {
        "input": lambda c, G: on(c.input, cast_to(G.array, c.input.dtype)),
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
    "div": {"input": ("other",), "other": ("input", "other")},
    "pow": {"input": ("input", "other"), "other": ("input", "other")},
    "abs": {"input": ("input",)}, "sqrt": {"input": ("input",)},
    "sigmoid": {"input": ("input",)}, "tanh": {"input": ("input",)},
    "leaky_relu": {"input": ("input",)}, "elu": {"input": ("input",)},
    "clamp": {"input": ("input", "min", "max"), "min": ("input", "min", "max"),
              "max": ("input", "min", "max")},
    "relu": {"input": ("input",)}, "exp": {"input": ("input",)},
    "log": {"input": ("input",)}, "log_softmax": {"input": ("input",)},
    "amax": {"input": ("input",)}, "amin": {"input": ("input",)},
    "softmax": {"input": ("input",)},
}

#: The context type each op saves (checked by :func:`record`).
CONTEXTS: Dict[str, type] = {
    "addmm": AddmmCtx, "dense_addmm": DenseAddmmCtx, "spspmm": SpspmmCtx,
    "sampled_addmm": SampledAddmmCtx, "add": AddCtx, "sub": SubCtx, "mul": MulCtx,
    "amax": ExtremumCtx, "amin": ExtremumCtx, "max": ArgReduceCtx,
    "min": ArgReduceCtx, "softmax": SoftmaxCtx, "div": DivCtx, "pow": PowCtx, "neg": NegCtx,
    "abs": AbsCtx, "sqrt": SqrtCtx,
    "sigmoid": SigmoidCtx, "tanh": TanhCtx, "leaky_relu": LeakyReluCtx, "elu": EluCtx,
    "clamp": ClampCtx, "where": WhereCtx, "conj": ConjCtx, "sum": SumCtx, "mean": MeanCtx,
    "relu": ReluCtx,
    "exp": ExpCtx, "log": LogCtx,
    "log_softmax": LogSoftmaxCtx, "nll_loss": NllLossCtx, "transpose": TransposeCtx,
    "index": IndexCtx, "reshape": ReshapeCtx, "permute": PermuteCtx, "cat": CatCtx,
    "clone": CloneCtx, "to_dtype": CastCtx, "sparse_sum": SparseSumCtx,
    "sparse_softmax": SparseSoftmaxCtx, "sparse_log_softmax": SparseSoftmaxCtx,
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


def over(a: Any, b: Any) -> Any:
    """``a / b`` with IEEE results (inf, nan) and no warnings."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return a / b


def pow_base_grad(G: Tensor, a: Any, b: Any) -> Array:
    """``b * a ** (b - 1)``, zero where ``b == 0`` (d a^b / d a)."""
    xp = G.backend.xp
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = b * a ** (b - 1)
    return xp.where(xp.asarray(b) == 0, G.dtype.type(0), d) if not isinstance(
        b, (int, float, complex)) or b == 0 else d


def pow_exp_grad(G: Tensor, a: Any, b: Any) -> Array:
    """``a ** b * log(a)``, zero where ``a == 0`` and ``Re b >= 0`` (d a^b / d b)."""
    xp = G.backend.xp
    if not hasattr(a, "dtype"):  # a Python number: an array of G's dtype for xp.log
        a = xp.asarray(a, dtype=G.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = a ** b * xp.log(a)
        return xp.where((a == 0) & (xp.asarray(b).real >= 0), G.dtype.type(0), d)


def sgn(t: Tensor) -> Array:
    """``x / |x|`` with 0 at 0 (real: sign) for the array ``x`` of ``t``."""
    x, xp = t.array, t.backend.xp
    mag = x.__abs__()
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(mag == 0, x.dtype.type(0), x / mag)


def sigmoid_array(x: Array, xp: Any) -> Array:
    """``1 / (1 + exp(-x))`` without overflow (real), or directly (complex)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if x.dtype.kind == "c":
            return 1 / (1 + xp.exp(-x))
        e = xp.exp(-xp.maximum(x, -x))  # exp(-|x|) <= 1
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_grad(t: Tensor) -> Array:
    """``s * (1 - s)`` for ``s = sigmoid(x)``, x the array of ``t``."""
    s = sigmoid_array(t.array, t.backend.xp)
    return s * (1 - s)


def tanh_grad(t: Tensor) -> Array:
    """``1 - tanh(x)²`` for the array x of ``t``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return 1 - t.backend.xp.tanh(t.array) ** 2


def elu_array(x: Array, alpha: float, xp: Any) -> Array:
    """``x`` where positive, else ``alpha * expm1(x)``."""
    neg = xp.expm1(xp.minimum(x, x.dtype.type(0))) * x.dtype.type(alpha)
    return xp.where(x > 0, x, neg).astype(x.dtype, copy=False)


def clamp_masks(c: Any) -> Tuple[Array, Array, Array]:
    """Where ``clamp``'s result is its input, its lower bound and its upper bound."""
    xp = c.input.backend.xp
    x = c.input.array
    below = None if c.lo is None else (x < c.lo) | (c.lo != c.lo)  # a NaN bound is chosen
    low = x if below is None else xp.where(below, c.lo, x)
    to_hi = xp.zeros(x.shape, dtype=bool) if c.hi is None else (low > c.hi) | (c.hi != c.hi)
    to_lo = xp.zeros(x.shape, dtype=bool) if below is None else below & ~to_hi
    return ~to_hi & ~to_lo, to_lo, to_hi


def masked(G: Tensor, mask: Array) -> Array:
    """``G`` where ``mask``, else 0 (selected, not multiplied: an inf or NaN in ``G``
    outside the mask gives 0, as PyTorch's masked gradients do)."""
    return G.backend.xp.where(mask, G.array, G.dtype.type(0))


def wide(a: Array) -> Array:
    """``a`` in float32 when it is float16 (sums and counts that overflow float16)."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def log_softmax_array(x: Tensor, dim: int) -> Array:
    """``log_softmax`` of a dense tensor's array along ``dim`` (max subtracted first; in
    float32 for float16; an empty dim gives an empty result)."""
    xp = x.backend.xp
    a = wide(x.array)
    if a.size == 0:
        return x.array.copy()
    z = a - a.max(axis=dim, keepdims=True)
    return (z - xp.log(xp.exp(z).sum(axis=dim, keepdims=True))).astype(x.dtype, copy=False)


def kept_shape(c: Any) -> Shape:
    """The shape of a reduction's result with its reduced dims kept as size 1."""
    shape = tuple(c.input.array.shape)
    if c.dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in c.dims else s for i, s in enumerate(shape))


def expanded(c: Any, g: Array) -> Array:
    """A reduction's gradient ``g`` broadcast back to its input's (array) shape."""
    xp = c.input.backend.xp
    full = xp.broadcast_to(g.reshape(kept_shape(c)), c.input.array.shape)
    return xp.ascontiguousarray(full).reshape(full.shape).astype(c.input.dtype, copy=False)


def tie_shared(c: Any, G: Tensor) -> Array:
    """``G`` shared evenly among the elements equal to each extremum."""
    x, top = c.input.array, c.out_kept.reshape(kept_shape(c))
    hit = (x == top) | ((x != x) & (top != top))  # a NaN result: shared among the NaNs
    share = hit.sum(axis=c.dims, keepdims=True)
    xp = c.input.backend.xp
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(hit, G.array.reshape(kept_shape(c)) / share.astype(G.dtype),
                        G.dtype.type(0))


def at_index(c: Any, G: Tensor) -> Array:
    """``G`` placed at the index each max/min along ``c.dim`` came from."""
    xp = c.input.backend.xp
    shape = tuple(c.input.array.shape) or (1,)
    line = xp.arange(shape[c.dim]).reshape((-1,) + (1,) * (len(shape) - c.dim - 1))
    g = xp.where(line == c.index, G.array.reshape(c.index.shape), G.dtype.type(0))
    return g.reshape(c.input.array.shape).astype(G.dtype, copy=False)


def softmax_grad(c: Any, g: Array) -> Array:
    """``s * (g - sum(g * s, dim))`` for ``s = softmax(input, dim)``."""
    s = c.input.backend.xp.exp(log_softmax_array(c.input, c.dim))
    return s * (g - (g * s).sum(axis=c.dim, keepdims=True))


def index_grad(c: Any, G: Tensor) -> Array:
    """Zeros of the indexed shape with ``G`` summed into the positions ``c.key`` took:
    assigned directly when no position repeats (no integer arrays), else through a COO
    pattern of the positions (duplicates summed in entry order)."""
    xp = G.backend.xp
    out = xp.zeros(c.shape, dtype=G.dtype)
    if not c.advanced:
        out[c.key] = G.array
        return out
    n = out.size
    lin = xp.arange(n).reshape(c.shape)[c.key].reshape(-1)
    where = COOPattern(xp.stack([lin, xp.zeros(lin.shape, dtype=lin.dtype)]), (n, 1),
                       G.device)
    return where.to_dense(G.array.reshape(-1)).reshape(c.shape)


def inverse_order(order: Tuple[int, ...]) -> Tuple[int, ...]:
    """The permutation undoing ``order``."""
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return tuple(inv)


def cat_slice(c: Any, g: Array, i: int) -> Array:
    """Input ``i``'s part of ``cat``'s (or ``stack``'s) gradient ``g``."""
    if c.stacked:
        return g.take(i, axis=c.dim)  # the dim stack inserted
    start = 0
    for s in c.sizes[:i]:
        start += s
    key = (slice(None),) * c.dim + (slice(start, start + c.sizes[i]),)
    return g[key]


def cast_to(g: Array, dtype: np.dtype) -> Array:
    """``g`` in ``dtype`` (the real part when ``dtype`` is real and ``g`` complex)."""
    if g.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        g = g.real
    return g.astype(dtype)


def segment_of(s: Tensor, dim: int) -> Array:
    """The segment of each stored entry: its row (``dim`` 1) or its column (0)."""
    assert s.pattern is not None
    return s.pattern.rows if dim == 1 else s.pattern.cols


def segment_sum(s: Tensor, w: Array, dim: int) -> Array:
    """Per row (``dim`` 1) or column (0) sums of the values ``w`` on ``s``'s pattern,
    through SpMM with ones (a fixed order per segment)."""
    pattern = s.pattern
    assert pattern is not None
    m, n = pattern.shape
    xp = s.backend.xp
    if dim == 1:
        return pattern.spmm(w, xp.ones((n, 1), dtype=w.dtype)).reshape(m)
    # (conj S)ᴴ = Sᵀ: the column sums, complex values included
    return pattern.spmm_h(conj_array(w), xp.ones((m, 1), dtype=w.dtype)).reshape(n)


def segment_softmax(s: Tensor, dim: int, log: bool) -> Array:
    """Softmax (or log-softmax) of a coalesced sparse tensor's real values over each row
    (``dim`` 1) or column (0), the segment maximum subtracted first."""
    xp = s.backend.xp
    seg = segment_of(s, dim)
    v = s.array
    assert s.pattern is not None
    top = s.pattern.segment_max(v, dim)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = v - top[seg]
        e = xp.exp(z)
        total = segment_sum(s, e, dim)
        return z - xp.log(total)[seg] if log else e / total[seg]


def sparse_softmax_grad(c: Any, g: Array, log: bool) -> Array:
    """The values' gradient of ``sparse.softmax`` / ``sparse.log_softmax``."""
    out = c.out_values
    seg = segment_of(c.input, c.dim)
    xp = c.input.backend.xp
    if log:
        return g - xp.exp(out) * segment_sum(c.input, g, c.dim)[seg]
    return out * (g - segment_sum(c.input, g * out, c.dim)[seg])


def scattered(like: Tensor, rows: Array, cols: Array, value: Array) -> Array:
    """Zeros shaped like ``like`` with ``value`` added at each (rows[k], cols[k])."""
    out = like.backend.xp.zeros(like.array.shape, dtype=like.dtype)
    out[rows, cols] += value  # (i, target_i) pairs are distinct: one per row
    return out


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
