"""The tiled form of the distributed SpMM, for a dense operand too large to gather whole.

The all-gather form fetches, for row block b of ``S``, every chunk of ``B`` its entries
touch and runs one local product: bitwise equal to one device, but the worker holds
``sum of the touched chunks`` of ``B`` (up to n * p * itemsize bytes) at once. The tiled
form runs one task per touched chunk instead, each multiplying the entries of block b in
that chunk's columns by the chunk alone, and adds the partial products on b's owner as a
chain in ascending chunk order. It is *not* bitwise equal to one device (a row's sum is
split at the chunk edges), but it is deterministic: the same partials are added in the
same fixed order whatever the scheduling, so two runs give the same bits, within float
tolerance of one device. A task holds one chunk, the block's entries and two (r_b, p)
accumulators (the chunks a worker fetched stay there as replicas until Dask's active
memory manager drops them or their Futures are released). The gradient of ``S`` is
tiled the same way, one SDDMM per chunk; each entry's value comes from one chunk, so
nothing is summed across chunks there.

It is opt-in: :func:`set_memory_budget` (or the context manager :func:`memory_budget`)
sets the bytes of dense operand one task may gather; a product whose gathered operand
for a block would exceed it runs that block tiled. The budget is read when the forward
op is recorded, and its backward products (``Sᴴ @ G``, the gradient of the dense operand,
and the gradient of ``S``) use the same budget.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from ..core import engine
from ..core.tensor import Tensor
from ..ops import products
from ..ops import backward as bw

_budget: Optional[int] = None


def _check_budget(fn: str, nbytes: Any) -> Optional[int]:
    if nbytes is None:
        return None
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"{fn}: nbytes must be a non-negative int or None, got {nbytes!r}")
    return int(nbytes)


def get_memory_budget() -> Optional[int]:
    """The current per-task budget (bytes) for the gathered dense operand; None: no
    budget (every product gathers whole, bitwise equal to one device).

    >>> from gpu_sparse import distributed as gd
    >>> gd.get_memory_budget() is None
    True
    """
    return _budget


def set_memory_budget(nbytes: Optional[int]) -> Optional[int]:
    """Set the bytes of dense operand one task may gather; returns the previous budget.

    A distributed ``sparse.addmm``/``sparse.mm`` (and the backward products of one
    recorded under the budget) whose row block b would gather more than ``nbytes`` of
    ``mat2`` (the touched chunks: ``sum of their rows * p * itemsize``) runs that block in
    the *tiled form*: one task per chunk of ``mat2``, partial products added on b's owner
    in ascending chunk order. Tiled results are deterministic (the same bits run to run,
    whatever the scheduling) and within float tolerance of one device, but **not bitwise
    equal** to it. ``None`` (the default) turns tiling off; ``0`` tiles every block that
    has entries.

    Raises ValueError for a negative or non-int ``nbytes``.

    >>> from gpu_sparse import distributed as gd
    >>> gd.set_memory_budget(2**30) is None
    True
    >>> gd.set_memory_budget(None)
    1073741824
    """
    global _budget
    nbytes = _check_budget("set_memory_budget", nbytes)
    prev, _budget = _budget, nbytes
    return prev


@contextlib.contextmanager
def memory_budget(nbytes: Optional[int]) -> Iterator[None]:
    """Context manager: :func:`set_memory_budget` inside the block, the previous budget
    back on exit (also on an exception).

    >>> import numpy as np, scipy.sparse as sp, gpu_sparse as gs
    >>> from gpu_sparse import distributed as gd
    >>> a = sp.random(8, 8, density=0.5, format="csr", random_state=0)
    >>> S = gd.from_scipy(a, n_blocks=2)
    >>> B = gd.from_numpy(np.ones((8, 3)), n_blocks=2)
    >>> with gd.memory_budget(0):   # tiled: close to one device, not bitwise
    ...     out = gs.sparse.mm(S, B)
    >>> bool(np.allclose(out.compute().numpy(), a @ np.ones((8, 3))))
    True
    """
    prev = set_memory_budget(_check_budget("memory_budget", nbytes))
    try:
        yield
    finally:
        set_memory_budget(prev)


def tiled(budget: Optional[int], rows: Sequence[int], touched: Sequence[int], p: int,
          itemsize: int) -> bool:
    """Whether a block that gathers the chunks ``touched`` (of ``rows`` rows each) runs
    tiled under ``budget``."""
    if budget is None:
        return False
    return sum(int(rows[j]) for j in touched) * p * itemsize > budget


# ---- tasks (module level: they pickle by name) ----------------------------------------
def sub_block(s: Tensor, axis: int, lo: int, hi: int) -> Tuple[Tensor, Any]:
    """The entries of ``s`` whose index along ``axis`` lies in ``[lo, hi)``, that index
    shifted by ``-lo``, in their stored order and format (``Pattern.select``), and their
    storage positions in ``s``."""
    pat = s.pattern
    assert pat is not None
    part, positions = pat.select(axis, lo, hi)
    return Tensor(s.array[positions], s.device, part), positions


def t_tile_mm(acc: Any, s: Tensor, lo: int, hi: int, chunk: Any) -> Any:
    """``acc + s[:, lo:hi] @ chunk`` (``acc`` None: the first partial)."""
    with engine.no_grad():
        part = products.sparse_mm(sub_block(s, 1, lo, hi)[0], Tensor(chunk, s.device)).array
    return part if acc is None else acc + part


def t_tile_finish(acc: Any, s: Tensor, mat: Any, p: int, beta: Any, alpha: Any,
                  addmm: bool) -> Any:
    """``beta * mat + alpha * acc`` (just ``acc`` for mm; ``mat`` ignored when beta is
    0, NaN included, as on one device)."""
    xp = s.backend.xp
    if acc is None:
        acc = xp.zeros((s.shape[0], p), dtype=s.dtype)
    if not addmm:
        return acc
    out = acc * alpha if alpha != 1 else acc.copy()
    if beta != 0:
        m = mat.array if isinstance(mat, Tensor) else mat
        out = out + (m * beta if beta != 1 else xp.asarray(m, dtype=s.dtype))
    return out.astype(s.dtype, copy=False)


def t_tile_mm_h(acc: Any, scol: Tensor, lo: int, hi: int, g: Any, alpha: Any,
                beta: Any) -> Any:
    """``acc + conj(alpha) * scol[lo:hi]ᴴ @ g``: one partial of the gradient of mat2."""
    sub, _ = sub_block(scol, 0, lo, hi)
    part = bw.addmm_mat2_grad(sub, Tensor(g, scol.device), alpha).array
    return part if acc is None else acc + part


def t_tile_sddmm(acc: Any, s: Tensor, lo: int, hi: int, chunk: Any, g: Any, alpha: Any,
                 beta: Any) -> Any:
    """The gradient of mat1's entries in columns ``[lo, hi)`` written into ``acc``
    (nnz_b,): each entry's value comes from one chunk, so nothing is summed across
    chunks."""
    xp = s.backend.xp
    acc = xp.zeros(s.array.shape, dtype=s.dtype) if acc is None else acc.copy()
    sub, sel = sub_block(s, 1, lo, hi)
    vals = bw.addmm_mat1_grad(sub, Tensor(g, s.device), Tensor(chunk, s.device),
                              alpha).array
    acc[sel] = vals
    return acc


def t_tile_sddmm_finish(acc: Any, s: Tensor) -> Tensor:
    if acc is None:
        acc = s.backend.xp.zeros(s.array.shape, dtype=s.dtype)
    return s.with_array(acc)


def chain(runner: Any, owner: Optional[str], step: Any, first: Any,
          steps: Sequence[Sequence[Any]]) -> Any:
    """Run ``step(acc, *args)`` for each ``args`` of ``steps`` in order on ``owner``,
    ``acc`` starting at ``first`` and handed from each task to the next; the last
    handle (``first`` when there are no steps)."""
    acc = first
    for args in steps:
        (acc,) = runner.map(step, [(acc, *args)], [owner])
    return acc


__all__: List[str] = ["get_memory_budget", "memory_budget", "set_memory_budget"]
