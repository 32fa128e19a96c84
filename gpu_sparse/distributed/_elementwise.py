"""Blockwise ops on distributed dense tensors, each with its gradient beside it:
``+ - *`` (with a distributed operand, a number or a row-broadcast local tensor),
``relu``, ``-x``, and ``sum`` to a local 0-d tensor. Each block runs the local op, and its
gradient the local op's own autograd, so the bits are those of one device."""

from __future__ import annotations

import numbers
from typing import Any, Callable, Dict, List, Sequence, Tuple

from .. import autograd
from ..core import engine
from ..core.tensor import Tensor
from ..formats import Layout
from ..ops import arithmetic, reductions, unary
from ._backward import DistCtx, expect_gradients, local_result, record
from ._blocks import assemble_rows
from ._checks import big_local, check_dtype, is_small, same_runner
from ._tensor import DistributedTensor

DT = DistributedTensor


_LOCAL: Dict[str, Callable[..., Tensor]] = {
    "add": arithmetic.add, "sub": arithmetic.sub, "mul": arithmetic.mul,
    "relu": unary.relu, "sum": reductions.sum, "neg": unary.neg,
}


def _operands(args: Sequence[Any], device: str, grads: Sequence[bool]) -> List[Any]:
    out = []
    for a, rg in zip(args, grads):
        if isinstance(a, Tensor):
            a = a.detach()
        elif not isinstance(a, numbers.Number):
            a = Tensor(a, device)
        if rg:
            a.requires_grad_(True)
        out.append(a)
    return out


def t_local(op: str, device: str, *args: Any) -> Any:
    """The local op on block arrays, local tensors or numbers."""
    with engine.no_grad():
        return _LOCAL[op](*_operands(args, device, [False] * len(args))).array


def t_local_grad(op: str, device: str, which: int, g: Any, *args: Any) -> Any:
    """The gradient of argument ``which`` of the local op, by its own autograd: the same
    formula, context and broadcasting reduction as on one device."""
    ts = _operands(args, device, [i == which for i in range(len(args))])
    out = _LOCAL[op](*ts)
    gt = g if isinstance(g, Tensor) else Tensor(g, device)
    (res,) = autograd.grad([out], [ts[which]], [gt])
    assert res is not None
    return res.array


def _t_gather_then(op: str, device: str, which: int, g: Any, bounds: Tuple[int, ...],
                   m: int, dtype: Any, *args: Any) -> Tensor:
    """``t_local_grad`` on whole matrices: each argument or ``g`` given as a list of
    row blocks is assembled first (on this task's worker)."""
    def whole(a: Any) -> Any:
        if isinstance(a, list):
            return assemble_rows(a, bounds, (m, a[0].shape[1]), dtype, device)
        return a
    return Tensor(t_local_grad(op, device, which, whole(g), *[whole(a) for a in args]),
                  device)


def binary(op: str, a: Any, b: Any) -> DT:
    """``a op b`` (add, sub, mul) with at least one distributed dense operand; the other
    distributed with the same row blocks, a number, or a local tensor broadcast along the
    rows."""
    like = a if isinstance(a, DT) else b
    for name, t in (("input", a), ("other", b)):
        if isinstance(t, DT):
            if t.layout is not Layout.strided:
                raise TypeError(f"{op}: {name} is sparse ({t.layout.value}); elementwise "
                                f"arithmetic takes dense tensors")
            if t.shape != like.shape or t.row_bounds != like.row_bounds:
                raise ValueError(f"{op}: distributed operands need the same shape and "
                                 f"row_bounds, got {a!r} and {b!r}")
        elif not is_small(t):
            raise big_local(op, name, t)
    runner = same_runner(op, a, b)
    check_dtype(op, input=a, other=b)

    def part(t: Any, k: int) -> Any:
        return t._blocks[k] if isinstance(t, DT) else t

    args = [(op, like.device, part(a, k), part(b, k)) for k in range(like.n_blocks)]
    blocks = runner.map(t_local, args, like.owners())
    number = a if not isinstance(a, (DT, Tensor)) else b if not isinstance(b, (DT, Tensor)) \
        else None
    # the dtype the local op gives (an integer tensor with a float number: float32)
    dtype = arithmetic.result_dtype(op, like.dtype, number)
    out = like._like(blocks, dtype=dtype)
    inputs = [("input", a if not isinstance(a, numbers.Number) else None),
              ("other", b if not isinstance(b, numbers.Number) else None)]
    return record(op, out, inputs, {"op": op, "a": a, "b": b}, _BINARY_FORMULAS)


def _binary_grad(which: int) -> Callable[[DistCtx, DT], Any]:
    def formula(c: DistCtx, g: DT) -> Any:
        args_t = (c.a, c.b)
        me = args_t[which]
        if isinstance(me, DT):  # blockwise: the broadcast partner is whole in every block
            args = [(c.op, g.device, which, g._blocks[k],
                     *[t._blocks[k] if isinstance(t, DT) else _plain(t) for t in args_t])
                    for k in range(g.n_blocks)]
            return me._like(g._runner.map(t_local_grad, args, g.owners()))
        whole = [t._blocks if isinstance(t, DT) else _plain(t) for t in args_t]
        h = g._runner.map(_t_gather_then, [(c.op, g.device, which, g._blocks, g.row_bounds,
                                            g.shape[0], g.dtype, *whole)],
                          [g._runner.owner(0, 1)])
        return local_result(g._runner, h[0])
    return formula


def _plain(t: Any) -> Any:
    return t.detach() if isinstance(t, Tensor) else t


_BINARY_FORMULAS = {"input": _binary_grad(0), "other": _binary_grad(1)}


def relu(x: DT) -> DT:
    """``max(x, 0)`` block by block, on each block's owner (also
    ``gpu_sparse.nn.functional.relu(x)``). Differentiable: the gradient passes where
    ``x > 0``, zero elsewhere.

    Shapes: a dense (m, n) DistributedTensor -> one with its row blocks. Errors: TypeError
    for a sparse input (apply it to the dense result of a product).

    Examples
    --------
    >>> import numpy as np
    >>> from gpu_sparse import distributed as gd
    >>> gd.from_numpy(np.array([[-1.0, 2.0], [3.0, -4.0]]), n_blocks=2).relu().compute().tolist()
    [[0.0, 2.0], [3.0, 0.0]]
    """
    return _blockwise("relu", x)


def neg(x: DT) -> DT:
    """``-x`` block by block with the local ``neg`` (the same bits, NaN's sign included).
    Differentiable: ``-G``.

    Examples
    --------
    >>> import numpy as np
    >>> from gpu_sparse import distributed as gd
    >>> (-gd.from_numpy(np.array([[1.0], [-2.0]]), n_blocks=2)).compute().tolist()
    [[-1.0], [2.0]]
    """
    return _blockwise("neg", x)


def _blockwise(op: str, x: DT) -> DT:
    """The local one-input ``op`` on each dense block, on its owner; its gradient by the
    local op's own autograd, block by block."""
    if x.layout is not Layout.strided:
        raise TypeError(f"{op}: input is sparse ({x.layout.value}); apply it to the dense "
                        f"result")
    blocks = x._runner.map(t_local, [(op, x.device, x._blocks[k])
                                      for k in range(x.n_blocks)], x.owners())

    def grad(c: DistCtx, g: DT) -> DT:
        args = [(op, g.device, 0, g._blocks[k], c.input._blocks[k])
                for k in range(c.input.n_blocks)]
        return c.input._like(g._runner.map(t_local_grad, args, g.owners()))

    return record(op, x._like(blocks), [("input", x)], {"input": x}, {"input": grad})


def total(x: DT, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The sum of all elements as a local 0-d Tensor, computed on the owner of block 0 on
    the assembled matrix (the same pairwise summation as on one device); the
    ``DistributedTensor.sum()`` method and ``gpu_sparse.sum(x)`` without a dim.
    Differentiable: every element gets ``G``, as a DistributedTensor with ``x``'s row
    blocks.

    Shapes: a dense (m, n) DistributedTensor -> a 0-d Tensor of its dtype on its device.
    Errors: TypeError for a sparse input (sum a dense result) or a ``dim``.

    Examples
    --------
    >>> import numpy as np
    >>> from gpu_sparse import distributed as gd
    >>> gd.from_numpy(np.ones((4, 2)), n_blocks=2).sum().item()
    8.0
    """
    if dim is not None or keepdim:
        raise TypeError("sum: a DistributedTensor sums all its elements (dim=None, "
                        "keepdim=False); compute() it to sum along a dim")
    if x.layout is not Layout.strided:
        raise TypeError("sum: distributed sparse tensors are not summed; sum a dense result")
    h = x._runner.map(_t_sum, [(x._blocks, x.row_bounds, x.shape, x.dtype, x.device)],
                      [x._runner.owner(0, 1)])
    out = Tensor(local_result(x._runner, h[0]), x.device)
    return record("sum", out, [("input", x)], {"input": x}, {"input": _sum_grad})


def _t_sum(blocks: List[Any], bounds: Tuple[int, ...], shape: Tuple[int, int], dtype: Any,
           device: str) -> Any:
    return t_local("sum", device, assemble_rows(blocks, bounds, shape, dtype, device))


def _sum_grad(c: DistCtx, g: Tensor) -> DT:
    x = c.input
    expect_gradients(x._runner, x)  # a local loss's backward: wait once at the leaves
    gl = g.detach()
    args = [("sum", x.device, 0, gl, x._blocks[k]) for k in range(x.n_blocks)]
    return x._like(x._runner.map(t_local_grad, args, x.owners()))
