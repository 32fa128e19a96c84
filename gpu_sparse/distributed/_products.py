"""The distributed products, each with its gradient formulas beside it: ``S @ B`` and
``beta * mat + alpha * S @ B`` for a row-partitioned sparse ``S`` (all-gather SpMM, or the
tiled form under a memory budget), ``X @ W`` for a row-partitioned dense ``X``, and
``sampled_addmm``. Every task runs the library's own local op, or a named helper of
``ops/backward.py``, on its block."""

from __future__ import annotations

import numbers
from typing import Any, Callable, List, Sequence, Tuple

from ..core import engine
from ..core.tensor import Tensor
from ..formats import Layout
from ..ops import products
from ..ops import backward as bw
from . import _tiled
from ._backward import DistCtx, local_result, record
from ._blocks import (assemble_rows, assemble_sparse, gathered, rows_of, t_gather, t_take_rows,
                      t_whole, two_rows)
from ._checks import big_local, check_dtype, is_small, same_runner
from ._tensor import DistributedTensor

DT = DistributedTensor


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
    g = gathered(chunks, which, bounds, (scol.shape[0], p), scol.dtype, scol.device)
    return bw.addmm_mat2_grad(scol, g, alpha).array


def _t_grad_mat(blocks: List[Any], bounds: Tuple[int, ...], shape: Tuple[int, int],
                dtype: Any, device: str, beta: Any, mat_shape: Tuple[int, ...]) -> Tensor:
    g = gathered(blocks, range(len(blocks)), bounds, shape, dtype, device)
    return bw.addmm_mat_grad(g, beta, mat_shape)  # addmm's and dense_addmm's alike


def _t_grad_mat_array(*args: Any) -> Any:
    return _t_grad_mat(*args).array


def sparse_addmm(fn: str, mat: Any, mat1: DT, mat2: Any, beta: Any, alpha: Any,
                 addmm: bool) -> DT:
    """``beta * mat + alpha * mat1 @ mat2`` for a distributed sparse ``mat1``."""
    if not isinstance(mat2, DT):
        raise big_local(fn, "mat2", mat2)
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
        if not is_small(mat):
            raise big_local(fn, "mat", mat)
    m, p = mat1.shape[0], mat2.shape[1]
    if isinstance(mat, DT) and (mat.shape != (m, p) or mat.row_bounds != mat1.row_bounds
                                or mat.layout is not Layout.strided):
        raise ValueError(f"{fn}: a distributed mat must be dense of shape {(m, p)} with "
                         f"mat1's row_bounds {mat1.row_bounds}, got {mat!r}")
    if isinstance(mat, Tensor):
        products.validate.broadcastable(fn, "mat", mat, (m, p))
    dt = check_dtype(fn, mat=mat, mat1=mat1, mat2=mat2)
    beta = products.validate.scale_factor(fn, "beta", beta, dt)
    alpha = products.validate.scale_factor(fn, "alpha", alpha, dt)
    runner = same_runner(fn, mat, mat1, mat2)
    owners = mat1.owners()
    budget = _tiled.get_memory_budget()
    cb = s.col_bounds
    whole = _untiled(mat1, p, budget)
    # grad mat1 (an SDDMM) reads the gathered mat2 again: keep it on each owner then
    keep = mat1.requires_grad and engine.is_grad_enabled()
    gathered: Any = None
    blocks: List[Any] = [None] * mat1.n_blocks
    if keep:
        gathered = _gather_touched(mat1, mat2, p, whole)
        got = runner.map(_t_spmm, [(mat1._blocks[b], _block(mat, b), gathered[b], beta,
                                    alpha, addmm) for b in whole], [owners[b] for b in whole])
    else:
        args = [(mat1._blocks[b], _block(mat, b), [mat2._blocks[j] for j in s.touched[b]],
                 s.touched[b], cb, p, beta, alpha, addmm) for b in whole]
        got = runner.map(_t_gather_spmm, args, [owners[b] for b in whole])
    for b, h in zip(whole, got):
        blocks[b] = h
    for b in range(mat1.n_blocks):
        if b not in whole:  # tiled: one task per touched chunk, partials in chunk order
            acc = _tiled.chain(runner, owners[b], _tiled.t_tile_mm, None, [
                (mat1._blocks[b], cb[j], cb[j + 1], mat2._blocks[j]) for j in s.touched[b]])
            (blocks[b],) = runner.map(_tiled.t_tile_finish, [
                (acc, mat1._blocks[b], _block(mat, b), p, beta, alpha, addmm)], [owners[b]])
    out = DT(runner, blocks, (m, p), dt, mat1.device, Layout.strided, mat1.row_bounds)
    ctx = {"mat": mat, "mat1": mat1, "mat2": mat2, "beta": beta, "alpha": alpha, "p": p,
           "gathered": gathered, "budget": budget}
    return record("addmm", out, [("mat", mat if not isinstance(mat, numbers.Number)
                                   else None), ("mat1", mat1), ("mat2", mat2)], ctx,
                   _ADDMM_FORMULAS)


def _untiled(mat1: DT, p: int, budget: Any) -> List[int]:
    """The row blocks of ``mat1`` whose product with a (n, p) operand runs whole under
    ``budget``: the chunks they touch fit it (the others run tiled)."""
    s = mat1._structure
    assert s is not None
    cb = s.col_bounds
    crows = [cb[j + 1] - cb[j] for j in range(len(cb) - 1)]
    return [b for b in range(mat1.n_blocks)
            if not _tiled.tiled(budget, crows, s.touched[b], p, mat1.dtype.itemsize)]


def _gather_touched(mat1: DT, mat2: DT, p: int, which: Sequence[int]) -> List[Any]:
    """For each row block b of ``which``, a handle on b's owner of the chunks of ``mat2``
    that b's entries touch, assembled as one (n, p) array (zero elsewhere); None for the
    other blocks."""
    s = mat1._structure
    assert s is not None
    owners = mat1.owners()
    got = mat1._runner.map(t_gather, [
        ([mat2._blocks[j] for j in s.touched[b]], s.touched[b], s.col_bounds,
         (mat1.shape[1], p), mat1.dtype, mat1.device) for b in which],
        [owners[b] for b in which])
    gathered: List[Any] = [None] * mat1.n_blocks
    for b, h in zip(which, got):
        gathered[b] = h
    return gathered


def _block(t: Any, b: int) -> Any:
    return t._blocks[b] if isinstance(t, DT) else t


def _grad_mat1(c: DistCtx, g: DT) -> DT:
    mat1, mat2 = c.mat1, c.mat2
    s = mat1._structure
    runner, owners, cb = mat1._runner, mat1.owners(), s.col_bounds
    whole = _untiled(mat1, c.p, c.budget)
    gathered = c.gathered
    if gathered is None:  # mat1 was made to require grad after the forward
        gathered = _gather_touched(mat1, mat2, c.p, whole)
    blocks: List[Any] = [None] * mat1.n_blocks
    args = [(mat1._blocks[b], g._blocks[b], gathered[b], c.alpha, c.beta) for b in whole]
    for b, h in zip(whole, runner.map(_t_spmm_grad_mat1, args, [owners[b] for b in whole])):
        blocks[b] = h
    for b in range(mat1.n_blocks):
        if b not in whole:  # tiled: one SDDMM per touched chunk, each entry written once
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
    tiles = [_tiled.tiled(c.budget, rows_of(mat1), s.col_touched[j], c.p, mat1.dtype.itemsize)
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
                for b, r in enumerate(rows_of(g))]
        return g._like(g._runner.map(_t_grad_mat_array, args, g.owners()))
    h = g._runner.map(_t_grad_mat, [(g._blocks, g.row_bounds, g.shape, g.dtype, g.device,
                                     c.beta, tuple(mat.shape))],
                      [g._runner.owner(0, 1)])
    return local_result(g._runner, h[0])


_ADDMM_FORMULAS = {"mat": _grad_mat, "mat1": _grad_mat1, "mat2": _grad_mat2}


def _t_dense_mm(x: Any, w: Tensor) -> Any:
    xt, padded = two_rows(x, w.device)
    with engine.no_grad():
        out = products.mm(xt, w).array
    return out[:1].copy() if padded else out


def _t_dense_mm_grad_x(g: Any, w: Tensor) -> Any:
    gt, padded = two_rows(g, w.device)
    out = bw.dense_mm_mat1_grad(gt, w, 1.0).array
    return out[:1].copy() if padded else out


def _t_dense_mm_grad_w(xs: List[Any], gs: List[Any], bounds: Tuple[int, ...], m: int,
                       w: Tensor) -> Tensor:
    x = gathered(xs, range(len(xs)), bounds, (m, w.shape[0]), w.dtype, w.device)
    g = gathered(gs, range(len(gs)), bounds, (m, w.shape[1]), w.dtype, w.device)
    return bw.dense_mm_mat2_grad(x, g, 1.0)


def _wholes(w: DT, owners: Sequence[Any]) -> List[Any]:
    """``w`` assembled on each of ``owners`` (one task per entry)."""
    return w._runner.map(t_whole, [(w._blocks, w.row_bounds, w.shape, w.dtype, w.device)
                                    for _ in owners], owners)


def _split(like: DT, whole: Any) -> DT:
    """A handle of a local Tensor cut into ``like``'s row blocks on their owners."""
    rb = like.row_bounds
    return like._like(like._runner.map(t_take_rows, [(whole, rb[b], rb[b + 1])
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
    dt = check_dtype(fn, mat1=x, mat2=w)
    runner = same_runner(fn, x, w)
    wl = _wholes(w, x.owners()) if dist else [w.detach()] * x.n_blocks
    blocks = runner.map(_t_dense_mm, [(x._blocks[b], wl[b]) for b in range(x.n_blocks)],
                        x.owners())
    out = DT(runner, blocks, (x.shape[0], w.shape[1]), dt, x.device, Layout.strided,
             x.row_bounds)
    return record("mm", out, [("mat1", x), ("mat2", w)], {"mat1": x, "mat2": w, "wl": wl},
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
    return local_result(g._runner, h[0])


_MM_FORMULAS = {"mat1": _grad_x, "mat2": _grad_w}


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
    g = assemble_sparse(gblocks, perms, bounds, shape, structure.coalesced, mat2.device)
    x = gathered(xs, range(len(xs)), bounds, (shape[0], mat2.shape[0]), mat2.dtype,
                  mat2.device)
    return bw.sampled_mat2_grad(g, x, alpha)


def sampled_addmm(fn: str, inp: Any, mat1: Any, mat2: Any, beta: Any, alpha: Any) -> DT:
    """SDDMM at the entries of a distributed sparse ``inp`` with a distributed dense
    ``mat1`` (m, k), same row blocks, and ``mat2`` (k, n): a local Tensor, or a
    distributed dense one, gathered whole on each owner (its gradient distributed
    like it)."""
    if not isinstance(inp, DT) or inp.layout is Layout.strided:
        raise TypeError(f"{fn}: input must be a distributed sparse tensor, got {inp!r}")
    if not isinstance(mat1, DT) or mat1.layout is not Layout.strided:
        raise big_local(fn, "mat1", mat1)
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
    dt = check_dtype(fn, input=inp, mat1=mat1, mat2=mat2)
    beta = products.validate.scale_factor(fn, "beta", beta, dt)
    alpha = products.validate.scale_factor(fn, "alpha", alpha, dt)
    runner = same_runner(fn, inp, mat1, mat2)
    wl = _wholes(mat2, inp.owners()) if dist else [mat2.detach()] * inp.n_blocks
    blocks = runner.map(_t_sampled, [(inp._blocks[b], mat1._blocks[b], wl[b], beta, alpha)
                                     for b in range(inp.n_blocks)], inp.owners())
    out = inp._like(blocks)
    return record("sampled_addmm", out, [("input", inp), ("mat1", mat1), ("mat2", mat2)],
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
    return local_result(inp._runner, h[0])


_SAMPLED_FORMULAS = {"input": _sampled_grad("input"), "mat1": _sampled_grad("mat1"),
                     "mat2": _sampled_grad_mat2}
