"""The distributed ops: each submits one task per block, pinned to the block's owner, and
records one node of the autograd engine whose formulas submit the gradient tasks.

Every task runs the library's own local op (or its line of the gradient table) on the
block, so each output row or stored entry is computed by the same kernel on the same
entries in the same order as on one device: the results are bitwise equal. Reductions
over all rows (``sum``, the gradient of a local weight or a broadcast bias, ``mat2`` of
``sampled_addmm``) gather the blocks on the owner of block 0 and run the local op there,
for the same reason (a tree of partial sums would round differently).

Communication: an SpMM ``S @ B`` fetches, for row block b, only the chunks of ``B`` that
b's entries touch (all of them for a random matrix: an all-gather, (W - 1) * n * p *
itemsize bytes in all for W workers); ``Sᴴ @ G`` does the same on the Sᵀ copy.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from .. import autograd
from ..core import engine
from ..core.tensor import Tensor
from ..formats import Layout
from ..ops import arithmetic, products, reductions, unary
from ..ops import backward as bw
from . import _tiled
from ._tensor import (DistributedTensor, assemble_rows, assemble_sparse, expect_gradients,
                      from_tensor)

DT = DistributedTensor


# ---- block tasks (module level: they pickle by name) ---------------------------------
def _gathered(chunks: Sequence[Any], which: Sequence[int], bounds: Sequence[int],
              shape: Tuple[int, int], dtype: Any, device: str) -> Tensor:
    return Tensor(assemble_rows(chunks, bounds, shape, dtype, device, which), device)


def _two_rows(x: Any, device: str) -> Tuple[Tensor, bool]:
    """``x`` as a Tensor, padded with a zero row when it has one row: BLAS runs GEMV on a
    single row and GEMM on more, and GEMM rows do not depend on the other rows."""
    if x.shape[0] != 1:
        return Tensor(x, device), False
    return Tensor(assemble_rows([x], (0, 1, 2), (2, x.shape[1]), x.dtype, device),
                  device), True


def _t_gather(chunks: List[Any], which: Tuple[int, ...], bounds: Tuple[int, ...],
              shape: Tuple[int, int], dtype: Any, device: str) -> Any:
    return assemble_rows(chunks, bounds, shape, dtype, device, which)


def _t_spmm(s: Tensor, mat: Any, b: Any, beta: Any, alpha: Any, addmm: bool) -> Any:
    """The local product on row block ``s`` with the gathered dense operand ``b``."""
    bt = Tensor(b, s.device)
    with engine.no_grad():
        if not addmm:
            return products.sparse_mm(s, bt).array
        if not isinstance(mat, Tensor):
            mat = Tensor(mat, s.device)
        return products.sparse_addmm(mat, s, bt, beta=beta, alpha=alpha).array


def _t_gather_spmm(s: Tensor, mat: Any, chunks: List[Any], which: Tuple[int, ...],
                   bounds: Tuple[int, ...], p: int, beta: Any, alpha: Any,
                   addmm: bool) -> Any:
    b = assemble_rows(chunks, bounds, (s.shape[1], p), s.dtype, s.device, which)
    return _t_spmm(s, mat, b, beta, alpha, addmm)


def _t_spmm_grad_mat1(s: Tensor, g: Any, b: Any, alpha: Any, beta: Any) -> Tensor:
    return bw.addmm_mat1_grad(s, Tensor(g, s.device), Tensor(b, s.device), alpha).detach()


def _t_spmm_grad_mat2(scol: Tensor, chunks: List[Any], which: Tuple[int, ...],
                      bounds: Tuple[int, ...], p: int, alpha: Any, beta: Any) -> Any:
    g = _gathered(chunks, which, bounds, (scol.shape[0], p), scol.dtype, scol.device)
    return bw.addmm_mat2_grad(scol, g, alpha).array


def _t_grad_mat(blocks: List[Any], bounds: Tuple[int, ...], shape: Tuple[int, int],
                dtype: Any, device: str, beta: Any, mat_shape: Tuple[int, ...]) -> Tensor:
    g = _gathered(blocks, range(len(blocks)), bounds, shape, dtype, device)
    return bw.addmm_mat_grad(g, beta, mat_shape)  # addmm's and dense_addmm's alike


def _t_grad_mat_array(*args: Any) -> Any:
    return _t_grad_mat(*args).array


def _rows(t: DT) -> List[int]:
    return [t.row_bounds[b + 1] - t.row_bounds[b] for b in range(t.n_blocks)]


def _t_dense_mm(x: Any, w: Tensor) -> Any:
    xt, padded = _two_rows(x, w.device)
    with engine.no_grad():
        out = products.mm(xt, w).array
    return out[:1].copy() if padded else out


def _t_dense_mm_grad_x(g: Any, w: Tensor) -> Any:
    gt, padded = _two_rows(g, w.device)
    out = bw.dense_mm_mat1_grad(gt, w, 1.0).array
    return out[:1].copy() if padded else out


def _t_dense_mm_grad_w(xs: List[Any], gs: List[Any], bounds: Tuple[int, ...], m: int,
                       w: Tensor) -> Tensor:
    x = _gathered(xs, range(len(xs)), bounds, (m, w.shape[0]), w.dtype, w.device)
    g = _gathered(gs, range(len(gs)), bounds, (m, w.shape[1]), w.dtype, w.device)
    return bw.dense_mm_mat2_grad(x, g, 1.0)


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


def _t_local(op: str, device: str, *args: Any) -> Any:
    """The local op on block arrays, local tensors or numbers."""
    with engine.no_grad():
        return _LOCAL[op](*_operands(args, device, [False] * len(args))).array


def _t_local_grad(op: str, device: str, which: int, g: Any, *args: Any) -> Any:
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
    """``_t_local_grad`` on whole matrices: each argument or ``g`` given as a list of
    row blocks is assembled first (on this task's worker)."""
    def whole(a: Any) -> Any:
        if isinstance(a, list):
            return assemble_rows(a, bounds, (m, a[0].shape[1]), dtype, device)
        return a
    return Tensor(_t_local_grad(op, device, which, whole(g), *[whole(a) for a in args]),
                  device)


def _t_sampled(s: Tensor, x: Any, mat2: Tensor, beta: Any, alpha: Any) -> Tensor:
    with engine.no_grad():
        return products.sampled_addmm(s, Tensor(x, s.device), mat2, beta=beta,
                                      alpha=alpha).detach()


def _t_sampled_grad(which: str, s: Tensor, x: Any, mat2: Tensor, beta: Any, alpha: Any,
                    g: Tensor) -> Any:
    if which == "input":
        return bw.sampled_input_grad(s, g, beta).detach()
    return bw.sampled_mat1_grad(g, mat2, alpha).array


def _t_sampled_grad_mat2(gblocks: List[Tensor], perms: Any, xs: List[Any],
                         bounds: Tuple[int, ...], shape: Tuple[int, int], structure: Any,
                         mat2: Tensor, beta: Any, alpha: Any) -> Tensor:
    g = assemble_sparse(gblocks, perms, bounds, shape, structure, mat2.device)
    x = _gathered(xs, range(len(xs)), bounds, (shape[0], mat2.shape[0]), mat2.dtype,
                  mat2.device)
    return bw.sampled_mat2_grad(g, x, alpha)


# ---- recording ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DistCtx:
    """What a distributed op's formulas need: its inputs and scalars by name."""
    values: Dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def _record(op: str, out: Any, inputs: Sequence[Tuple[str, Any]], ctx: Dict[str, Any],
            formulas: Mapping[str, Callable[[Any, Any], Any]]) -> Any:
    if not engine.is_grad_enabled() or not any(
            t is not None and t.requires_grad for _, t in inputs):
        return out
    node: engine.Node[Any] = engine.Node("distributed_" + op, inputs, DistCtx(ctx),
                                         formulas, {})
    out._attach(node)
    return out


def _local_result(runner: Any, handle: Any) -> Tensor:
    (t,) = runner.get([handle])
    return t


# ---- argument checks -----------------------------------------------------------------
def _big_local(fn: str, name: str, t: Any) -> TypeError:
    return TypeError(f"{fn}: {name} is a local {type(t).__name__} of shape "
                     f"{getattr(t, 'shape', None)} mixed with distributed operands; "
                     f"partition it with gpu_sparse.distributed.from_tensor(...) "
                     f"(or from_numpy / from_scipy) with the same row_bounds")


def _is_small(t: Any) -> bool:
    """A local operand every block may take whole: a number, or a tensor broadcast along
    the rows (0-d, 1-d, or one row)."""
    if isinstance(t, numbers.Number):
        return True
    return isinstance(t, Tensor) and t.pattern is None and (t.ndim < 2 or t.shape[0] == 1)


def _same_runner(fn: str, *ts: Any) -> Any:
    runners = {id(t._runner.client): t._runner for t in ts if isinstance(t, DT)}
    if len(runners) > 1:
        raise RuntimeError(f"{fn}: the distributed operands live on different Dask clients")
    return next(iter(runners.values()))


def _check_dtype(fn: str, **named: Any) -> Any:
    dts = {name: t.dtype for name, t in named.items()
           if t is not None and not isinstance(t, numbers.Number)}
    if len(set(dts.values())) > 1:
        found = ", ".join(f"{k} {v}" for k, v in dts.items())
        raise TypeError(f"{fn}: expected the same dtype for all tensors, got {found}")
    dt = next(iter(dts.values()))
    if fn != "add" and fn != "sub" and fn != "mul" and dt.kind not in "fc":
        raise TypeError(f"{fn}: expected floating point or complex values, got {dt}")
    return dt


# ---- sparse @ dense ------------------------------------------------------------------
def sparse_addmm(fn: str, mat: Any, mat1: DT, mat2: Any, beta: Any, alpha: Any,
                 addmm: bool) -> DT:
    """``beta * mat + alpha * mat1 @ mat2`` for a distributed sparse ``mat1``."""
    if not isinstance(mat2, DT):
        raise _big_local(fn, "mat2", mat2)
    if mat2.layout is not Layout.strided:
        raise ValueError(f"{fn}: mat2 must be dense, got layout {mat2.layout.value}")
    s = mat1._structure
    assert s is not None
    if mat2.shape[0] != mat1.shape[1]:
        raise ValueError(f"{fn}: mat1 has {mat1.shape[1]} columns but mat2 has "
                         f"{mat2.shape[0]} rows")
    if mat2.row_bounds != s.col_bounds:
        raise ValueError(f"{fn}: mat2's row_bounds {mat2.row_bounds} must be mat1's column "
                         f"partition {s.col_bounds} (build mat2 with row_bounds=...)")
    if mat is not None and not isinstance(mat, DT):
        products.validate.tensor_arg(fn, "mat", mat)
        if not _is_small(mat):
            raise _big_local(fn, "mat", mat)
    m, p = mat1.shape[0], mat2.shape[1]
    if isinstance(mat, DT) and (mat.shape != (m, p) or mat.row_bounds != mat1.row_bounds
                                or mat.layout is not Layout.strided):
        raise ValueError(f"{fn}: a distributed mat must be dense of shape {(m, p)} with "
                         f"mat1's row_bounds {mat1.row_bounds}, got {mat!r}")
    if isinstance(mat, Tensor):
        products.validate.broadcastable(fn, "mat", mat, (m, p))
    dt = _check_dtype(fn, mat=mat, mat1=mat1, mat2=mat2)
    beta = products.validate.scale_factor(fn, "beta", beta, dt)
    alpha = products.validate.scale_factor(fn, "alpha", alpha, dt)
    runner = _same_runner(fn, mat, mat1, mat2)
    owners = mat1.owners()
    budget = _tiled.get_memory_budget()
    cb = s.col_bounds
    crows = [cb[j + 1] - cb[j] for j in range(len(cb) - 1)]
    tiles = [_tiled.tiled(budget, crows, s.touched[b], p, dt.itemsize)
             for b in range(mat1.n_blocks)]
    # grad mat1 (an SDDMM) reads the gathered mat2 again: keep it on each owner then
    keep = mat1.requires_grad and engine.is_grad_enabled()
    gathered: Any = None
    blocks: List[Any] = [None] * mat1.n_blocks
    whole = [b for b in range(mat1.n_blocks) if not tiles[b]]
    if keep:
        gathered = [None] * mat1.n_blocks
        got = runner.map(_t_gather, [
            ([mat2._blocks[j] for j in s.touched[b]], s.touched[b], cb,
             (mat1.shape[1], p), dt, mat1.device) for b in whole], [owners[b] for b in whole])
        for b, h in zip(whole, got):
            gathered[b] = h
        got = runner.map(_t_spmm, [(mat1._blocks[b], _block(mat, b), gathered[b], beta,
                                    alpha, addmm) for b in whole], [owners[b] for b in whole])
    else:
        args = [(mat1._blocks[b], _block(mat, b), [mat2._blocks[j] for j in s.touched[b]],
                 s.touched[b], cb, p, beta, alpha, addmm) for b in whole]
        got = runner.map(_t_gather_spmm, args, [owners[b] for b in whole])
    for b, h in zip(whole, got):
        blocks[b] = h
    for b in range(mat1.n_blocks):
        if tiles[b]:  # one task per touched chunk, partials added in chunk order
            acc = _tiled.chain(runner, owners[b], _tiled.t_tile_mm, None, [
                (mat1._blocks[b], cb[j], cb[j + 1], mat2._blocks[j]) for j in s.touched[b]])
            (blocks[b],) = runner.map(_tiled.t_tile_finish, [
                (acc, mat1._blocks[b], _block(mat, b), p, beta, alpha, addmm)], [owners[b]])
    out = DT(runner, blocks, (m, p), dt, mat1.device, Layout.strided, mat1.row_bounds)
    ctx = {"mat": mat, "mat1": mat1, "mat2": mat2, "beta": beta, "alpha": alpha, "p": p,
           "gathered": gathered, "budget": budget}
    return _record("addmm", out, [("mat", mat if not isinstance(mat, numbers.Number)
                                   else None), ("mat1", mat1), ("mat2", mat2)], ctx,
                   _ADDMM_FORMULAS)


def _block(t: Any, b: int) -> Any:
    return t._blocks[b] if isinstance(t, DT) else t


def _grad_mat1(c: DistCtx, g: DT) -> DT:
    mat1, mat2 = c.mat1, c.mat2
    s = mat1._structure
    runner, owners, cb = mat1._runner, mat1.owners(), s.col_bounds
    crows = [cb[j + 1] - cb[j] for j in range(len(cb) - 1)]
    tiles = [_tiled.tiled(c.budget, crows, s.touched[b], c.p, mat1.dtype.itemsize)
             for b in range(mat1.n_blocks)]
    whole = [b for b in range(mat1.n_blocks) if not tiles[b]]
    gathered = c.gathered
    if gathered is None:  # mat1 was made to require grad after the forward
        gathered = [None] * mat1.n_blocks
        got = runner.map(_t_gather, [
            ([mat2._blocks[j] for j in s.touched[b]], s.touched[b], cb,
             (mat1.shape[1], c.p), mat1.dtype, mat1.device) for b in whole],
            [owners[b] for b in whole])
        for b, h in zip(whole, got):
            gathered[b] = h
    blocks: List[Any] = [None] * mat1.n_blocks
    args = [(mat1._blocks[b], g._blocks[b], gathered[b], c.alpha, c.beta) for b in whole]
    for b, h in zip(whole, runner.map(_t_spmm_grad_mat1, args, [owners[b] for b in whole])):
        blocks[b] = h
    for b in range(mat1.n_blocks):
        if tiles[b]:  # one SDDMM per touched chunk, each entry written once
            acc = _tiled.chain(runner, owners[b], _tiled.t_tile_sddmm, None, [
                (mat1._blocks[b], cb[j], cb[j + 1], mat2._blocks[j], g._blocks[b], c.alpha,
                 c.beta) for j in s.touched[b]])
            (blocks[b],) = runner.map(_tiled.t_tile_sddmm_finish, [(acc, mat1._blocks[b])],
                                      [owners[b]])
    return mat1._like(blocks)


def _grad_mat2(c: DistCtx, g: DT) -> DT:
    mat1, mat2 = c.mat1, c.mat2
    if mat1._col_blocks is None:
        raise NotImplementedError("addmm: the gradient of mat2 needs mat1's Sᵀ copy, which "
                                  "only tensors built by the constructors have")
    s = mat1._structure
    runner, owners, rb = mat2._runner, mat2.owners(), mat1.row_bounds
    n_col = len(s.col_bounds) - 1
    tiles = [_tiled.tiled(c.budget, _rows(mat1), s.col_touched[j], c.p, mat1.dtype.itemsize)
             for j in range(n_col)]
    whole = [j for j in range(n_col) if not tiles[j]]
    args = [(mat1._col_blocks[j], [g._blocks[b] for b in s.col_touched[j]],
             s.col_touched[j], rb, c.p, c.alpha, c.beta) for j in whole]
    blocks: List[Any] = [None] * n_col
    for j, h in zip(whole, runner.map(_t_spmm_grad_mat2, args, [owners[j] for j in whole])):
        blocks[j] = h
    for j in range(n_col):
        if tiles[j]:  # one Sᴴ-product per touched row block of G, added in block order
            acc = _tiled.chain(runner, owners[j], _tiled.t_tile_mm_h, None, [
                (mat1._col_blocks[j], rb[b], rb[b + 1], g._blocks[b], c.alpha, c.beta)
                for b in s.col_touched[j]])
            blocks[j] = acc
    return mat2._like(blocks)


def _grad_mat(c: DistCtx, g: DT) -> Any:
    mat = c.mat
    if isinstance(mat, DT):  # the gradient of mat on each block alone
        args = [([g._blocks[b]], (0, r), (r, g.shape[1]), g.dtype, g.device, c.beta,
                 (r, g.shape[1]))
                for b, r in enumerate(_rows(g))]
        return g._like(g._runner.map(_t_grad_mat_array, args, g.owners()))
    h = g._runner.map(_t_grad_mat, [(g._blocks, g.row_bounds, g.shape, g.dtype, g.device,
                                     c.beta, tuple(mat.shape))],
                      [g._runner.owner(0, 1)])
    return _local_result(g._runner, h[0])


_ADDMM_FORMULAS = {"mat": _grad_mat, "mat1": _grad_mat1, "mat2": _grad_mat2}


# ---- dense @ local weight --------------------------------------------------------------
def _t_whole(blocks: List[Any], bounds: Tuple[int, ...], shape: Tuple[int, int],
             dtype: Any, device: str) -> Tensor:
    """The matrix of ``blocks`` assembled here (an all-gather's end on one worker)."""
    return _gathered(blocks, range(len(blocks)), bounds, shape, dtype, device)


def _t_take_rows(t: Tensor, r0: int, r1: int) -> Any:
    return t.array[r0:r1].copy()


def _wholes(w: DT, owners: Sequence[Any]) -> List[Any]:
    """``w`` assembled on each of ``owners`` (one task per entry)."""
    return w._runner.map(_t_whole, [(w._blocks, w.row_bounds, w.shape, w.dtype, w.device)
                                    for _ in owners], owners)


def _split(like: DT, whole: Any) -> DT:
    """A handle of a local Tensor cut into ``like``'s row blocks on their owners."""
    rb = like.row_bounds
    return like._like(like._runner.map(_t_take_rows, [(whole, rb[b], rb[b + 1])
                                                      for b in range(like.n_blocks)],
                                       like.owners()))


def dense_mm(fn: str, x: DT, w: Any) -> DT:
    """``x @ w`` for a distributed dense ``x`` (m, k) and a dense ``w`` (k, p): a local
    Tensor (every block reads it whole), or a distributed one, gathered whole on each
    owner of ``x`` (an all-gather of k * p; its gradient is distributed like it)."""
    dist = isinstance(w, DT)
    if dist and w.layout is not Layout.strided:
        raise TypeError(f"{fn}: mat2 must be dense, got a distributed {w.layout.value}")
    if not dist and (not isinstance(w, Tensor) or w.pattern is not None or w.ndim != 2):
        raise TypeError(f"{fn}: mat2 must be a local dense 2-D Tensor or a distributed "
                        f"dense one, got {w!r}")
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"{fn}: mat1 has {x.shape[1]} columns but mat2 has {w.shape[0]} "
                         f"rows")
    dt = _check_dtype(fn, mat1=x, mat2=w)
    runner = _same_runner(fn, x, w)
    wl = _wholes(w, x.owners()) if dist else [w.detach()] * x.n_blocks
    blocks = runner.map(_t_dense_mm, [(x._blocks[b], wl[b]) for b in range(x.n_blocks)],
                        x.owners())
    out = DT(runner, blocks, (x.shape[0], w.shape[1]), dt, x.device, Layout.strided,
             x.row_bounds)
    return _record("mm", out, [("mat1", x), ("mat2", w)], {"mat1": x, "mat2": w, "wl": wl},
                   _MM_FORMULAS)


def _grad_x(c: DistCtx, g: DT) -> DT:
    return c.mat1._like(g._runner.map(_t_dense_mm_grad_x,
                                      [(g._blocks[b], c.wl[b]) for b in range(g.n_blocks)],
                                      g.owners()))


def _grad_w(c: DistCtx, g: DT) -> Any:
    x = c.mat1
    h = g._runner.map(_t_dense_mm_grad_w, [(x._blocks, g._blocks, g.row_bounds, g.shape[0],
                                            c.wl[0] if x.n_blocks else c.mat2.detach())],
                      [g._runner.owner(0, 1)])
    if isinstance(c.mat2, DT):
        return _split(c.mat2, h[0])
    return _local_result(g._runner, h[0])


_MM_FORMULAS = {"mat1": _grad_x, "mat2": _grad_w}


# ---- sampled_addmm -------------------------------------------------------------------
def sampled_addmm(fn: str, inp: Any, mat1: Any, mat2: Any, beta: Any, alpha: Any) -> DT:
    """SDDMM at the entries of a distributed sparse ``inp`` with a distributed dense
    ``mat1`` (m, k), same row blocks, and ``mat2`` (k, n): a local Tensor, or a
    distributed dense one, gathered whole on each owner (its gradient distributed
    like it)."""
    if not isinstance(inp, DT) or inp.layout is Layout.strided:
        raise TypeError(f"{fn}: input must be a distributed sparse tensor, got {inp!r}")
    if not isinstance(mat1, DT) or mat1.layout is not Layout.strided:
        raise _big_local(fn, "mat1", mat1)
    dist = isinstance(mat2, DT)
    if dist and mat2.layout is not Layout.strided:
        raise TypeError(f"{fn}: mat2 must be dense, got a distributed {mat2.layout.value}")
    if not dist and (not isinstance(mat2, Tensor) or mat2.pattern is not None):
        raise TypeError(f"{fn}: mat2 must be a dense (k, n) Tensor, local or distributed, "
                        f"got {mat2!r}")
    if mat1.row_bounds != inp.row_bounds:
        raise ValueError(f"{fn}: mat1's row_bounds {mat1.row_bounds} must be input's "
                         f"{inp.row_bounds}")
    if (mat1.shape[0], mat2.shape[-1]) != inp.shape or mat1.shape[1] != mat2.shape[0]:
        raise ValueError(f"{fn}: input has shape {inp.shape} but mat1 @ mat2 has shapes "
                         f"{mat1.shape} @ {mat2.shape}")
    dt = _check_dtype(fn, input=inp, mat1=mat1, mat2=mat2)
    beta = products.validate.scale_factor(fn, "beta", beta, dt)
    alpha = products.validate.scale_factor(fn, "alpha", alpha, dt)
    runner = _same_runner(fn, inp, mat1, mat2)
    wl = _wholes(mat2, inp.owners()) if dist else [mat2.detach()] * inp.n_blocks
    blocks = runner.map(_t_sampled, [(inp._blocks[b], mat1._blocks[b], wl[b], beta, alpha)
                                     for b in range(inp.n_blocks)], inp.owners())
    out = inp._like(blocks)
    return _record("sampled_addmm", out, [("input", inp), ("mat1", mat1), ("mat2", mat2)],
                   {"input": inp, "mat1": mat1, "mat2": mat2, "wl": wl, "beta": beta,
                    "alpha": alpha}, _SAMPLED_FORMULAS)


def _sampled_grad(which: str) -> Callable[[DistCtx, DT], Any]:
    def formula(c: DistCtx, g: DT) -> Any:
        inp, x = c.input, c.mat1
        args = [(which, inp._blocks[b], x._blocks[b], c.wl[b], c.beta, c.alpha,
                 g._blocks[b]) for b in range(inp.n_blocks)]
        blocks = inp._runner.map(_t_sampled_grad, args, inp.owners())
        return inp._like(blocks) if which == "input" else x._like(blocks)
    return formula


def _sampled_grad_mat2(c: DistCtx, g: DT) -> Any:
    inp, x = c.input, c.mat1
    s = inp._structure
    h = inp._runner.map(_t_sampled_grad_mat2,
                        [(g._blocks, None if s.perms is None else list(s.perms), x._blocks,
                          inp.row_bounds, inp.shape, s, c.wl[0], c.beta, c.alpha)],
                        [inp._runner.owner(0, 1)])
    if isinstance(c.mat2, DT):
        return _split(c.mat2, h[0])
    return _local_result(inp._runner, h[0])


_SAMPLED_FORMULAS = {"input": _sampled_grad("input"), "mat1": _sampled_grad("mat1"),
                     "mat2": _sampled_grad_mat2}


# ---- elementwise, relu, sum ----------------------------------------------------------
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
        elif not _is_small(t):
            raise _big_local(op, name, t)
    runner = _same_runner(op, a, b)
    _check_dtype(op, input=a, other=b)

    def part(t: Any, k: int) -> Any:
        return t._blocks[k] if isinstance(t, DT) else t

    args = [(op, like.device, part(a, k), part(b, k)) for k in range(like.n_blocks)]
    blocks = runner.map(_t_local, args, like.owners())
    number = a if not isinstance(a, (DT, Tensor)) else b if not isinstance(b, (DT, Tensor)) \
        else None
    # the dtype the local op gives (an integer tensor with a float number: float32)
    dtype = arithmetic.result_dtype(op, like.dtype, number)
    out = like._like(blocks, dtype=dtype)
    inputs = [("input", a if not isinstance(a, numbers.Number) else None),
              ("other", b if not isinstance(b, numbers.Number) else None)]
    return _record(op, out, inputs, {"op": op, "a": a, "b": b}, _BINARY_FORMULAS)


def _binary_grad(which: int) -> Callable[[DistCtx, DT], Any]:
    def formula(c: DistCtx, g: DT) -> Any:
        args_t = (c.a, c.b)
        me = args_t[which]
        if isinstance(me, DT):  # blockwise: the broadcast partner is whole in every block
            args = [(c.op, g.device, which, g._blocks[k],
                     *[t._blocks[k] if isinstance(t, DT) else _plain(t) for t in args_t])
                    for k in range(g.n_blocks)]
            return me._like(g._runner.map(_t_local_grad, args, g.owners()))
        whole = [t._blocks if isinstance(t, DT) else _plain(t) for t in args_t]
        h = g._runner.map(_t_gather_then, [(c.op, g.device, which, g._blocks, g.row_bounds,
                                            g.shape[0], g.dtype, *whole)],
                          [g._runner.owner(0, 1)])
        return _local_result(g._runner, h[0])
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
    blocks = x._runner.map(_t_local, [(op, x.device, x._blocks[k])
                                      for k in range(x.n_blocks)], x.owners())

    def grad(c: DistCtx, g: DT) -> DT:
        args = [(op, g.device, 0, g._blocks[k], c.input._blocks[k])
                for k in range(c.input.n_blocks)]
        return c.input._like(g._runner.map(_t_local_grad, args, g.owners()))

    return _record(op, x._like(blocks), [("input", x)], {"input": x}, {"input": grad})


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
    out = Tensor(_local_result(x._runner, h[0]), x.device)
    return _record("sum", out, [("input", x)], {"input": x}, {"input": _sum_grad})


def _t_sum(blocks: List[Any], bounds: Tuple[int, ...], shape: Tuple[int, int], dtype: Any,
           device: str) -> Any:
    return _t_local("sum", device, assemble_rows(blocks, bounds, shape, dtype, device))


def _sum_grad(c: DistCtx, g: Tensor) -> DT:
    x = c.input
    expect_gradients(x._runner, x)  # a local loss's backward: wait once at the leaves
    gl = g.detach()
    args = [("sum", x.device, 0, gl, x._blocks[k]) for k in range(x.n_blocks)]
    return x._like(x._runner.map(_t_local_grad, args, x.owners()))


# ---- dispatch from the public functions ------------------------------------------------
def _bound(public: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The call's arguments by name, defaults filled in, checked against the public
    function's own signature (an unknown or doubled keyword is its TypeError)."""
    name = getattr(public, "__name__", str(public))
    try:
        call = inspect.signature(getattr(public, "__wrapped__", public)).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}: {e}") from None
    call.apply_defaults()
    return dict(call.arguments)


def _one_device(fn: str, args: Dict[str, Any]) -> None:
    """RuntimeError here, naming the operands, when tensors of one call live on different
    devices (not later, inside a worker's task)."""
    seen = [(k, v.device) for k, v in args.items() if isinstance(v, (DT, Tensor))]
    for k, dev in seen[1:]:
        if dev != seen[0][1]:
            raise RuntimeError(f"{fn}: expected all tensors on one device, but "
                               f"{seen[0][0]} is on {seen[0][1]} and {k} is on {dev}")


def _dispatch(public: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    names = {products.sparse_addmm: "addmm", products.addmm: "addmm",
             products.sparse_mm: "mm", products.mm: "mm", products.matmul: "matmul",
             products.sampled_addmm: "sampled_addmm"}
    known = (arithmetic.add, arithmetic.sub, arithmetic.mul, unary.relu,
             reductions.sum, *names)
    if public not in known:
        raise TypeError(f"{getattr(public, '__name__', public)}: DistributedTensor operands "
                        f"are not supported here")
    a = _bound(public, args, kwargs)
    _one_device(getattr(public, "__name__", str(public)), a)
    if public in (arithmetic.add, arithmetic.sub, arithmetic.mul):
        return binary(public.__name__, a["a"], a["b"])
    if public is unary.relu:
        return relu(a["x"])
    if public is reductions.sum:
        return total(a["x"], a["dim"], a["keepdim"])
    fn = names[public]
    if fn == "sampled_addmm":
        return sampled_addmm(fn, a["input"], a["mat1"], a["mat2"], a["beta"], a["alpha"])
    if fn == "addmm":
        mat, m1, m2 = a["mat"], a["mat1"], a["mat2"]
        beta, alpha, addmm = a["beta"], a["alpha"], True
    else:
        m1, m2 = (a["mat1"], a["mat2"]) if fn == "mm" else (a["a"], a["b"])
        mat, beta, alpha, addmm = None, 0.0, 1.0, False
    if not isinstance(m1, DT):
        raise _big_local(fn, "mat1", m1)
    if m1.layout is Layout.strided:
        if addmm:
            raise ValueError(f"{fn}: a distributed dense mat1 is supported by mm/@ with a "
                             f"local weight, not by addmm")
        return dense_mm(fn, m1, m2)
    return sparse_addmm(fn, mat, m1, m2, beta, alpha, addmm)


def _matmul(self: DT, other: Any) -> Any:
    return _dispatch(products.matmul, (self, other), {})


def _rmatmul(self: DT, other: Any) -> Any:
    return _dispatch(products.matmul, (other, self), {})


def _add(a: DT, b: Any) -> DT:
    return binary("add", a, b)


def _radd(a: DT, b: Any) -> DT:
    return binary("add", b, a)


def _sub(a: DT, b: Any) -> DT:
    return binary("sub", a, b)


def _rsub(a: DT, b: Any) -> DT:
    return binary("sub", b, a)


def _mul(a: DT, b: Any) -> DT:
    return binary("mul", a, b)


def _rmul(a: DT, b: Any) -> DT:
    return binary("mul", b, a)


DT.__gpu_sparse_function__ = _dispatch
DT.__matmul__ = _matmul
DT.__rmatmul__ = _rmatmul
DT.__add__ = _add
DT.__radd__ = _radd
DT.__sub__ = _sub
DT.__rsub__ = _rsub
DT.__mul__ = _mul
DT.__rmul__ = _rmul
DT.__neg__ = neg
DT.relu = relu
DT.sum = total

__all__ = ["binary", "dense_mm", "relu", "sampled_addmm", "sparse_addmm", "total",
           "from_tensor"]
