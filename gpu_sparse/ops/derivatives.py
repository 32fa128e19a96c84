"""Every gradient formula of the library, one record per op (cf. PyTorch's
``derivatives.yaml``), each beside the context class its op saves.

``DERIVATIVES[op]`` is a :class:`Derivative`: the context type the op saves (``record``
checks ``isinstance``, so ops that save the same data share one class), ``reads`` (for
each input, the inputs whose *values* its formula reads, so that backward refuses them if
they were changed in place; an input that is not named reads nothing, and the mapping is
required, so a new op must say it) and one formula per differentiable input:
``formulas[input](ctx, G)`` is the gradient of ``input`` given the upstream gradient ``G``
(a Tensor already in the layout and on the pattern of the op's output).

The formulas are written in the vocabulary of :mod:`.vocabulary` (``on``, ``dense``,
``SDDMM``, ``SpMM``, ``SpMM_H``, ``values_at``, ``sum_to``, ``conj``, ``H`` ...) and call the
named helpers of :mod:`.backward` for what one line does not say; the forward math both
directions share is in :mod:`.arraymath`. :func:`record` is the only way an op of
:mod:`gpu_sparse.ops` enters the graph, and it refuses an op that has no record here. The
Dask layer (:mod:`gpu_sparse.distributed`) records its own nodes for distributed operands
through ``distributed/_backward.py:record``; their formulas sit beside each distributed
op (``_ADDMM_FORMULAS``, ``_MM_FORMULAS`` and ``_SAMPLED_FORMULAS`` in
``distributed/_products.py``; ``_BINARY_FORMULAS``, ``relu``/``neg``'s and ``sum``'s in
``distributed/_elementwise.py``) and run, per block, the helpers of :mod:`.backward` or
the local op's own record here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple

from ..backend import Array
from ..core.engine import Node, is_grad_enabled
from ..core.tensor import Tensor, to_layout_of
from . import backward as bw
from .arraymath import moved, over, segment_of, wide
from .vocabulary import (Scalar, Shape, cast_to, conj, dense, like_values, masked, on,
                         scattered, sum_to, values_at)

Formula = Callable[[Any, Tensor], Tensor]


@dataclasses.dataclass(frozen=True)
class Derivative:
    """One op's backward: the context type it saves, the inputs each formula reads (an
    input not named reads no saved values) and one formula per differentiable input."""

    ctx: type
    reads: Mapping[str, Tuple[str, ...]]
    formulas: Mapping[str, Formula]


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


DERIVATIVES: Dict[str, Derivative] = {}


def derivative(op: str, ctx: type, reads: Mapping[str, Tuple[str, ...]],
               formulas: Mapping[str, Formula]) -> None:
    """Enter ``op``'s record (at import; a name twice is an error)."""
    assert op not in DERIVATIVES, f"derivative: {op!r} twice"
    assert all(name in formulas for name in reads) or isinstance(formulas, PerInput), op
    DERIVATIVES[op] = Derivative(ctx, dict(reads), formulas)


# ---- products --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class AddmmCtx:
    """``out = beta * mat + alpha * (mat1 @ mat2)`` (addmm: sparse ``mat1``; dense_addmm:
    all dense)."""
    mat1: Tensor
    mat2: Tensor
    alpha: Scalar
    beta: Scalar
    mat_shape: Optional[Shape]  # None when there is no ``mat``


derivative("addmm", AddmmCtx, reads={"mat1": ("mat2",), "mat2": ("mat1",)}, formulas={
    "mat": lambda c, G: bw.addmm_mat_grad(G, c.beta, c.mat_shape),
    "mat1": lambda c, G: bw.addmm_mat1_grad(c.mat1, G, c.mat2, c.alpha),
    "mat2": lambda c, G: bw.addmm_mat2_grad(c.mat1, G, c.alpha),
})
derivative("dense_addmm", AddmmCtx, reads={"mat1": ("mat2",), "mat2": ("mat1",)}, formulas={
    "mat": lambda c, G: bw.addmm_mat_grad(G, c.beta, c.mat_shape),
    "mat1": lambda c, G: bw.dense_mm_mat1_grad(G, c.mat2, c.alpha),
    "mat2": lambda c, G: bw.dense_mm_mat2_grad(c.mat1, G, c.alpha),
})


@dataclasses.dataclass(frozen=True)
class SpspmmCtx:
    """``out = mat1 @ mat2``, both sparse COO; each gradient masked to its input's own
    pattern."""
    mat1: Tensor
    mat2: Tensor


derivative("spspmm", SpspmmCtx, reads={"mat1": ("mat2",), "mat2": ("mat1",)}, formulas={
    "mat1": lambda c, G: bw.spspmm_mat1_grad(G, c.mat1, c.mat2),
    "mat2": lambda c, G: bw.spspmm_mat2_grad(G, c.mat1, c.mat2),
})


@dataclasses.dataclass(frozen=True)
class SampledAddmmCtx:
    """``out = on(input, beta * input.values + alpha * SDDMM(input, mat1, conj(mat2)ᵀ))``."""
    input: Tensor
    mat1: Tensor
    mat2: Tensor
    alpha: Scalar
    beta: Scalar


derivative("sampled_addmm", SampledAddmmCtx, reads={"mat1": ("mat2",), "mat2": ("mat1",)},
           formulas={
    "input": lambda c, G: bw.sampled_input_grad(c.input, G, c.beta),
    "mat1": lambda c, G: bw.sampled_mat1_grad(G, c.mat2, c.alpha),
    "mat2": lambda c, G: bw.sampled_mat2_grad(G, c.mat1, c.alpha),
})


# ---- elementwise -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ElementwiseCtx:
    """``out = a op b`` with broadcasting; an operand is an array or a Python scalar."""
    a: Any
    b: Any
    a_shape: Optional[Shape]  # None for a scalar operand
    b_shape: Optional[Shape]


derivative("add", ElementwiseCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, sum_to(G.array, c.a_shape)),
    "other": lambda c, G: dense(G, sum_to(G.array, c.b_shape)),
})
derivative("mul", ElementwiseCtx, reads={"input": ("other",), "other": ("input",)}, formulas={
    "input": lambda c, G: dense(G, sum_to(G.array * conj(c.b), c.a_shape)),
    "other": lambda c, G: dense(G, sum_to(G.array * conj(c.a), c.b_shape)),
})
derivative("div", ElementwiseCtx, reads={"input": ("other",), "other": ("input", "other")},
           formulas={
    "input": lambda c, G: dense(G, sum_to(over(G.array, conj(c.b)), c.a_shape)),
    "other": lambda c, G: dense(G, sum_to(-G.array * conj(over(over(c.a, c.b), c.b)),
                                          c.b_shape)),
})
# b a^(b-1) (0 where b == 0) and a^b log(a) (0 where a == 0, Re b >= 0), as PyTorch
derivative("pow", ElementwiseCtx, reads={"input": ("input", "other"),
                                         "other": ("input", "other")}, formulas={
    "input": lambda c, G: dense(G, sum_to(G.array * conj(bw.pow_base_grad(G, c.a, c.b)),
                                          c.a_shape)),
    "other": lambda c, G: dense(G, sum_to(G.array * conj(bw.pow_exp_grad(G, c.a, c.b)),
                                          c.b_shape)),
})


@dataclasses.dataclass(frozen=True)
class EmptyCtx:
    """An op whose gradient needs nothing saved (``neg``, ``conj``)."""


derivative("neg", EmptyCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, -G.array),
})
# a - b as a + (-b), micrograd's __sub__ (the same bits: the sum of negated terms is the
# negated sum)
derivative("sub", ElementwiseCtx, reads={}, formulas={
    "input": DERIVATIVES["add"].formulas["input"],
    "other": lambda c, G: DERIVATIVES["add"].formulas["other"](
        c, DERIVATIVES["neg"].formulas["input"](EmptyCtx(), G)),
})
derivative("conj", EmptyCtx, reads={}, formulas={
    "input": lambda c, G: G.with_array(conj(G.array)),
})


@dataclasses.dataclass(frozen=True)
class InputCtx:
    """An op whose gradient needs only its input tensor."""
    input: Tensor


_reads_input = {"input": ("input",)}
# real: sign(x) (0 at 0); complex: x / |x| (0 at 0)
derivative("abs", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array * bw.sgn(c.input)),
})
derivative("sqrt", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, over(G.array, conj(c.input.backend.xp.sqrt(c.input.array))
                                        * 2)),
})
derivative("sigmoid", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array * conj(bw.sigmoid_grad(c.input))),
})
derivative("tanh", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array * conj(bw.tanh_grad(c.input))),
})
derivative("relu", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, masked(G, c.input.array > 0)),
})
# d exp(x) = exp(x) dx; the gradient of a real loss is G * conj(exp(x))
derivative("exp", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array * conj(c.input.backend.xp.exp(c.input.array))),
})
derivative("log", InputCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array / conj(c.input.array)),
})


@dataclasses.dataclass(frozen=True)
class SlopeCtx:
    """``out = input if input > 0 else f(input)``, f with one factor: leaky_relu's
    ``slope * x``, elu's ``slope * (exp(x) - 1)``."""
    input: Tensor
    slope: float


derivative("leaky_relu", SlopeCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array * c.input.backend.xp.where(
        c.input.array > 0, G.dtype.type(1), G.dtype.type(c.slope))),
})
derivative("elu", SlopeCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, G.array * c.input.backend.xp.where(
        c.input.array > 0, G.dtype.type(1),
        c.input.backend.xp.exp(c.input.array) * G.dtype.type(c.slope))),
})


@dataclasses.dataclass(frozen=True)
class ClampCtx:
    """``out = min(max(input, lo), hi)``; a bound is an array, a scalar or None."""
    input: Tensor
    lo: Any
    hi: Any
    lo_shape: Optional[Shape]  # None unless the bound is a tensor
    hi_shape: Optional[Shape]


_reads_bounds = ("input", "min", "max")
# G goes to whichever of input, lo, hi the result is (input at ties)
derivative("clamp", ClampCtx, reads={"input": _reads_bounds, "min": _reads_bounds,
                                     "max": _reads_bounds}, formulas={
    "input": lambda c, G: dense(G, masked(G, bw.clamp_masks(c.input, c.lo, c.hi)[0])),
    "min": lambda c, G: dense(G, sum_to(masked(G, bw.clamp_masks(c.input, c.lo, c.hi)[1]),
                                        c.lo_shape)),
    "max": lambda c, G: dense(G, sum_to(masked(G, bw.clamp_masks(c.input, c.lo, c.hi)[2]),
                                        c.hi_shape)),
})


@dataclasses.dataclass(frozen=True)
class WhereCtx:
    """``out = where(cond, a, b)`` with broadcasting."""
    cond: Array
    a_shape: Optional[Shape]  # None for a scalar operand
    b_shape: Optional[Shape]


derivative("where", WhereCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, sum_to(masked(G, c.cond), c.a_shape)),
    "other": lambda c, G: dense(G, sum_to(masked(G, ~c.cond), c.b_shape)),
})


# ---- reductions -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SumCtx:
    """``out = sum of input over dims`` (None: all elements, sparse: stored values)."""
    input: Tensor
    dims: Optional[Tuple[int, ...]]
    keepdim: bool


# every element (sparse: every stored value) gets G, broadcast over the reduced dims
derivative("sum", SumCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, bw.expanded(c.input, c.dims, G.array)),
})


@dataclasses.dataclass(frozen=True)
class MeanCtx(SumCtx):
    """``out = mean of input over dims`` (``count`` elements each)."""
    count: int


derivative("mean", MeanCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, bw.expanded(c.input, c.dims, over(
        wide(G.array), wide(G.array).dtype.type(c.count)))),
})


@dataclasses.dataclass(frozen=True)
class ExtremumCtx(SumCtx):
    """``out = amax/amin of input over dims``; ``out_kept`` the result with the reduced
    dims kept as size 1."""
    out_kept: Array


# shared evenly among the elements equal to the extremum
derivative("amax", ExtremumCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, bw.tie_shared(c.input, c.out_kept, c.dims, G)),
})
derivative("amin", ExtremumCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, bw.tie_shared(c.input, c.out_kept, c.dims, G)),
})


@dataclasses.dataclass(frozen=True)
class ArgReduceCtx:
    """``out = max/min of input along dim``; ``index`` where each came from (kept dim)."""
    input: Tensor
    dim: int
    index: Array


# to the index returned
derivative("max", ArgReduceCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, bw.at_index(c.input, c.dim, c.index, G)),
})
derivative("min", ArgReduceCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, bw.at_index(c.input, c.dim, c.index, G)),
})


@dataclasses.dataclass(frozen=True)
class DimCtx:
    """``out = f(input)`` along ``dim`` (softmax, log_softmax)."""
    input: Tensor
    dim: int


# s * (G - sum(G * s, dim))
derivative("softmax", DimCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, bw.softmax_grad(c.input, c.dim, G.array)),
})
# G - softmax(x) * sum(G, dim)
derivative("log_softmax", DimCtx, reads=_reads_input, formulas={
    "input": lambda c, G: dense(G, bw.log_softmax_grad(c.input, c.dim, G.array)),
})


@dataclasses.dataclass(frozen=True)
class NllLossCtx:
    """``out = -sum of weight[k] * input[rows[k], cols[k]]`` (weight 0 for an ignored
    target, 1 / count of the others for the mean)."""
    input: Tensor
    rows: Array
    cols: Array
    weight: Array


# -weight * G at each (i, target_i), zero elsewhere
derivative("nll_loss", NllLossCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, scattered(c.input, c.rows, c.cols,
                                             -c.weight * G.array.reshape(()))),
})


# ---- shape ------------------------------------------------------------------------------------
derivative("transpose", InputCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, G.array.T),
})


@dataclasses.dataclass(frozen=True)
class IndexCtx:
    """``out = input[key]``; ``advanced``: the key holds integer arrays."""
    shape: Shape
    key: Tuple[Any, ...]
    advanced: bool


# G summed into the selected positions (repeats in a fixed order)
derivative("index", IndexCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, bw.index_grad(c.shape, c.key, c.advanced, G)),
})


@dataclasses.dataclass(frozen=True)
class ReshapeCtx:
    """``out = input.reshape(...)`` of an input of ``shape``."""
    shape: Shape


derivative("reshape", ReshapeCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, G.array.reshape(c.shape)),
})


@dataclasses.dataclass(frozen=True)
class PermuteCtx:
    """``out = input.permute(order)``."""
    order: Tuple[int, ...]


derivative("permute", PermuteCtx, reads={}, formulas={
    "input": lambda c, G: dense(G, G.array.transpose(bw.inverse_order(c.order))),
})


@dataclasses.dataclass(frozen=True)
class CatCtx:
    """``out = cat(tensors, dim)`` (``stacked``: ``stack``), ``sizes`` along dim."""
    dim: int
    sizes: Tuple[int, ...]
    stacked: bool


# each input gets its slice of G
derivative("cat", CatCtx, reads={}, formulas=PerInput(
    lambda c, G, i: dense(G, bw.cat_slice(G.array, c.dim, c.sizes, c.stacked, i))))
derivative("clone", InputCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, G.array),
})
# cast back (complex to real: the real part)
derivative("to_dtype", InputCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, cast_to(G.array, c.input.dtype)),
})


# ---- sparse reductions --------------------------------------------------------------------------
# each stored entry gets the gradient of its row's (dim 1) or column's (dim 0) sum
derivative("sparse_sum", DimCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, G.array[segment_of(c.input, c.dim)]),
})


@dataclasses.dataclass(frozen=True)
class SparseSoftmaxCtx:
    """``out = softmax (or log_softmax) of a coalesced sparse input along dim``;
    ``out_values`` a private copy of the result's values (the backward reads them)."""
    input: Tensor
    dim: int
    out_values: Array


# s * (G - segment_sum(G * s)), s the softmax of the stored values
derivative("sparse_softmax", SparseSoftmaxCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, bw.sparse_softmax_grad(c.input, c.dim, c.out_values,
                                                             G.array, log=False)),
})
# G - exp(out) * segment_sum(G)
derivative("sparse_log_softmax", SparseSoftmaxCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, bw.sparse_softmax_grad(c.input, c.dim, c.out_values,
                                                             G.array, log=True)),
})


# ---- structure and construction --------------------------------------------------------------
derivative("values", InputCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, G.array),
})
derivative("to_dense", InputCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, values_at(c.input, G)),
})
derivative("to_device", InputCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, moved(G.array, G.device, c.input.device)),
})


@dataclasses.dataclass(frozen=True)
class CoalesceCtx:
    """``out = input`` with duplicates summed; ``inverse[k]`` is where entry k went."""
    input: Tensor
    inverse: Optional[Array]


# duplicates summed: every input entry gets the gradient of the entry it went into
derivative("coalesce", CoalesceCtx, reads={}, formulas={
    "input": lambda c, G: on(c.input, G.array[c.inverse]),
})


@dataclasses.dataclass(frozen=True)
class ToSparseCtx:
    """A sparse layout conversion; ``inverse`` as for coalesce, None: same entries and
    order; ``from_dense``: the input was dense (its nonzeros were taken)."""
    input: Tensor
    from_dense: bool
    inverse: Optional[Array]


# from dense: G at the nonzeros taken; from CSR: the same entries in the same order
derivative("to_sparse_coo", ToSparseCtx, reads={}, formulas={
    "input": lambda c, G: (to_layout_of(c.input, G) if c.from_dense
                           else on(c.input, G.array)),
})
# from dense: G at the nonzeros taken; from COO: as coalesce
derivative("to_sparse_csr", ToSparseCtx, reads={}, formulas={
    "input": lambda c, G: (to_layout_of(c.input, G) if c.from_dense
                           else on(c.input, G.array[c.inverse])),
})


@dataclasses.dataclass(frozen=True)
class ConstructorCtx:
    """``out = sparse tensor(indices, values)``: the values tensor it copied (in its own
    entry order)."""
    values: Tensor


derivative("sparse_coo_tensor", ConstructorCtx, reads={}, formulas={
    "values": lambda c, G: like_values(c.values, G),
})
derivative("sparse_csr_tensor", ConstructorCtx, reads={}, formulas={
    "values": lambda c, G: like_values(c.values, G),
})


def record(op: str, out: Tensor, inputs: Sequence[Tuple[str, Optional[Tensor]]],
           ctx: Any) -> Tensor:
    """Make ``out`` the result of ``op`` in the graph when grad mode is on and an input
    requires grad; returns ``out``.

    ``inputs`` are ``(name, tensor or None)`` pairs whose names must be the op's entries
    in :data:`DERIVATIVES`, and ``ctx`` an instance of the op's context type. KeyError for
    an op without a record or an input without a formula and TypeError for a context of
    another type, whatever the grad mode: every recorded op has its gradient.
    """
    entry = DERIVATIVES.get(op)
    if entry is None:
        raise KeyError(f"record: op {op!r} has no entry in DERIVATIVES")
    if not isinstance(ctx, entry.ctx):
        raise TypeError(f"record: op {op!r} saves a {entry.ctx.__name__}, got "
                        f"{type(ctx).__name__}")
    for name, _ in inputs:
        if name not in entry.formulas:
            raise KeyError(f"record: op {op!r} has no derivative formula for input "
                           f"{name!r}")
    if is_grad_enabled() and any(t is not None and t.requires_grad for _, t in inputs):
        out._attach(Node(op, inputs, ctx, entry.formulas, entry.reads))
    return out


__all__ = ["DERIVATIVES", "Derivative", "PerInput", "derivative", "record", "AddmmCtx",
           "SpspmmCtx", "SampledAddmmCtx", "ElementwiseCtx", "EmptyCtx", "InputCtx",
           "SlopeCtx", "ClampCtx", "WhereCtx", "SumCtx", "MeanCtx", "ExtremumCtx",
           "ArgReduceCtx", "DimCtx", "NllLossCtx", "IndexCtx", "ReshapeCtx", "PermuteCtx",
           "CatCtx", "SparseSoftmaxCtx", "CoalesceCtx", "ToSparseCtx", "ConstructorCtx"]
