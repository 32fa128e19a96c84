"""The block tasks every distributed op shares (module level: they pickle by name):
copies, sums and SciPy views of blocks, and the assembly of row blocks into one matrix
(dense, or sparse through its format's ``Pattern.concat_rows``) on the worker that runs
the task."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from ..backend import Array, get_backend
from ..core.tensor import Tensor, sparse_pattern


def block_copy(a: Any) -> Any:
    return a.with_array(a.array.copy()) if isinstance(a, Tensor) else a.copy()


def block_sum(a: Any, b: Any) -> Any:
    if isinstance(a, Tensor):
        return a.with_array(a.array + b.array)
    return a + b


def block_to_scipy(t: Tensor) -> Any:
    return t.pattern.to_scipy(t.array)  # type: ignore[union-attr]


def assemble_rows(chunks: Sequence[Array], bounds: Sequence[int], shape: Tuple[int, int],
                  dtype: Any, device: str, which: Optional[Sequence[int]] = None) -> Array:
    """The (m, n) array whose rows ``bounds[j]:bounds[j + 1]`` are ``chunks`` (chunk i
    going to block ``which[i]``; all blocks when None); rows of other blocks are zero."""
    xp = get_backend(device).xp
    out = xp.zeros(shape, dtype=dtype)
    for j, ch in zip(range(len(chunks)) if which is None else which, chunks):
        out[bounds[j]:bounds[j + 1]] = ch
    return out


def assemble_sparse(blocks: Sequence[Tensor], perms: Optional[Sequence[Array]],
                    bounds: Sequence[int], shape: Tuple[int, int], coalesced: bool,
                    device: str) -> Tensor:
    """The whole sparse matrix from its row blocks, entries in the original order
    (``perms[b]``: the positions of block b's entries; None when the format stores
    entries in row order, so that the blocks are consecutive slices)."""
    patterns = [sparse_pattern(blk, "assemble_sparse") for blk in blocks]
    order = None if perms is None else get_backend(device).xp.concatenate(list(perms))
    pattern, values = type(patterns[0]).concat_rows(
        patterns, [blk.array for blk in blocks], bounds[:-1], shape, device,
        blocks[0].dtype, order=order, coalesced=coalesced)
    return Tensor(values, device, pattern)


def gathered(chunks: Sequence[Any], which: Sequence[int], bounds: Sequence[int],
              shape: Tuple[int, int], dtype: Any, device: str) -> Tensor:
    return Tensor(assemble_rows(chunks, bounds, shape, dtype, device, which), device)


def two_rows(x: Any, device: str) -> Tuple[Tensor, bool]:
    """``x`` as a Tensor, padded with a zero row when it has one row: BLAS runs GEMV on a
    single row and GEMM on more, and GEMM rows do not depend on the other rows."""
    if x.shape[0] != 1:
        return Tensor(x, device), False
    return Tensor(assemble_rows([x], (0, 1, 2), (2, x.shape[1]), x.dtype, device),
                  device), True


def t_gather(chunks: List[Any], which: Tuple[int, ...], bounds: Tuple[int, ...],
              shape: Tuple[int, int], dtype: Any, device: str) -> Any:
    return assemble_rows(chunks, bounds, shape, dtype, device, which)


def rows_of(t: Any) -> List[int]:
    """The number of rows of each block of a DistributedTensor ``t``."""
    return [t.row_bounds[b + 1] - t.row_bounds[b] for b in range(t.n_blocks)]


def t_whole(blocks: List[Any], bounds: Tuple[int, ...], shape: Tuple[int, int],
             dtype: Any, device: str) -> Tensor:
    """The matrix of ``blocks`` assembled here (an all-gather's end on one worker)."""
    return gathered(blocks, range(len(blocks)), bounds, shape, dtype, device)


def t_take_rows(t: Tensor, r0: int, r1: int) -> Any:
    return t.array[r0:r1].copy()
