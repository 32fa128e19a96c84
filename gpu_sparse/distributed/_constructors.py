"""The constructors of DistributedTensors: from a local tensor, SciPy, NumPy or Dask
arrays (:func:`from_tensor`, :func:`from_scipy`, :func:`from_numpy`, :func:`from_dask`),
and from row blocks already on the workers (:func:`from_futures`)."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import dask
import numpy as np
from distributed import Future

from ..backend import Array, canonical_device, device_of_array, get_backend
from ..core.tensor import Tensor, sparse_pattern
from ..formats import Layout
from ..formats.coo import COOPattern
from ..ops import constructors
from ._runner import Runner, current_client
from ._tensor import Bounds, DistributedTensor, Structure

def check_bounds(fn: str, m: int, n_blocks: Optional[int], row_bounds: Any,
                  runner: Runner) -> Bounds:
    if row_bounds is not None:
        if n_blocks is not None:
            raise ValueError(f"{fn}: give n_blocks or row_bounds, not both")
        try:
            rb = tuple(int(b) for b in row_bounds)
        except (TypeError, ValueError):
            raise TypeError(f"{fn}: row_bounds must be a sequence of ints, got "
                            f"{row_bounds!r}") from None
        if len(rb) < 2 or rb[0] != 0 or rb[-1] != m or any(
                x > y for x, y in zip(rb[:-1], rb[1:])):
            raise ValueError(f"{fn}: row_bounds must be non-decreasing from 0 to the "
                             f"number of rows {m}, got {rb}")
        return rb
    if n_blocks is None:
        n_blocks = len(runner.workers) if runner.client is not None else 2
    if int(n_blocks) < 1:
        raise ValueError(f"{fn}: n_blocks must be at least 1, got {n_blocks}")
    k = int(n_blocks)
    return tuple(int(x) for x in (np.arange(k + 1) * m) // k)


def _chunk_of(idx: np.ndarray, bounds: Bounds) -> np.ndarray:
    """The block (of ``bounds``) of each index."""
    return np.searchsorted(np.asarray(bounds[1:-1], dtype=np.int64), idx, side="right")


def from_tensor(t: Tensor, *, n_blocks: Optional[int] = None, row_bounds: Any = None,
                col_bounds: Any = None) -> DistributedTensor:
    """Partition a local gpu_sparse Tensor (dense, COO or CSR, 2-D) into row blocks on the
    current Dask client (without one, the threaded scheduler).

    Parameters
    ----------
    t : Tensor (m, n), dense or sparse; its device is the blocks' device.
    n_blocks : number of (near-)equal row blocks; default the number of workers (2
        without a client). Block b of n lives on worker ``b * W // n`` (sorted addresses).
    row_bounds : ints ``0 = r_0 <= ... <= r_B = m`` instead (empty blocks allowed).
    col_bounds : sparse only: the row partition of the dense operands it will multiply
        (default ``row_bounds`` for a square matrix, else an even split in as many blocks).

    Returns a DistributedTensor that does not require grad (call ``requires_grad_()``).
    A COO tensor keeps each entry's relative order inside its block (duplicates too);
    ``compute()`` restores the original order.

    Raises TypeError for a non-Tensor or a tensor that is not 2-D; ValueError for bad
    bounds.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> from gpu_sparse import distributed as gd
    >>> x = gd.from_tensor(gs.tensor(np.arange(6.0).reshape(3, 2)), row_bounds=[0, 1, 3])
    >>> x.row_bounds, x.compute().numpy().tolist()
    ((0, 1, 3), [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    """
    fn = "from_tensor"
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: t must be a gpu_sparse Tensor, got {type(t).__name__}")
    if t.ndim != 2:
        raise TypeError(f"{fn}: t must be 2-D, got shape {t.shape}")
    runner = Runner(current_client())
    m, n = t.shape
    bounds = check_bounds(fn, m, n_blocks, row_bounds, runner)
    nb = len(bounds) - 1
    owners = [runner.owner(b, nb) for b in range(nb)]
    backend = get_backend(t.device)
    if t.pattern is None:
        arr = t.array
        blocks = [arr[bounds[b]:bounds[b + 1]].copy() for b in range(nb)]
        return DistributedTensor(runner, runner.put(blocks, owners), (m, n), t.dtype,
                                 t.device, Layout.strided, bounds)
    if col_bounds is None:
        col_bounds = bounds if m == n else check_bounds(fn, n, nb, None, runner)
    else:
        col_bounds = check_bounds(fn + " (col_bounds)", n, None, col_bounds, runner)
    pat = t.pattern
    pat.prove(fn, "t")
    rows = np.asarray(backend.to_numpy(pat.rows)).astype(np.int64)
    cols = np.asarray(backend.to_numpy(pat.cols)).astype(np.int64)
    vals = t.array
    rblock = _chunk_of(rows, bounds)
    cblock = _chunk_of(cols, col_bounds)
    ncb = len(col_bounds) - 1
    blocks = []
    perms: List[Array] = []
    touched = []
    for b in range(nb):
        touched.append(tuple(int(j) for j in np.unique(cblock[rblock == b])))
        part, positions = pat.select(0, bounds[b], bounds[b + 1])
        blocks.append(Tensor(vals[positions], t.device, part))
        perms.append(positions)
    # the Sᵀ copy: column chunks of t's entries, in t's storage order, as COO
    entries = pat.to_coo()
    col_blocks = []
    col_touched = []
    for c in range(ncb):
        col_touched.append(tuple(int(j) for j in np.unique(rblock[cblock == c])))
        part, positions = entries.select(1, col_bounds[c], col_bounds[c + 1])
        col_blocks.append(Tensor(vals[positions], t.device, part))
    col_owners = [runner.owner(c, ncb) for c in range(ncb)]
    structure = Structure(
        col_bounds=tuple(col_bounds), touched=tuple(touched), col_touched=tuple(col_touched),
        perms=None if pat.rows_sorted else tuple(runner.put(perms, owners)),
        nnz=pat.nnz, coalesced=pat.coalesced)
    return DistributedTensor(runner, runner.put(blocks, owners), (m, n), t.dtype, t.device,
                             pat.layout, bounds, structure, runner.put(col_blocks, col_owners))


def from_scipy(m: Any, *, n_blocks: Optional[int] = None, row_bounds: Any = None,
               col_bounds: Any = None, dtype: Any = None, device: Any = None
               ) -> DistributedTensor:
    """A SciPy or cupyx sparse matrix in row blocks (CSR stays CSR, anything else COO in
    the matrix's entry order); see :func:`from_tensor` for the arguments and
    :func:`gpu_sparse.from_scipy` for ``device`` (a SciPy matrix: the default device).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from gpu_sparse import distributed as gd
    >>> s = gd.from_scipy(sp.random(6, 6, density=0.5, format="csr", random_state=0),
    ...                   n_blocks=3)
    >>> s.layout, s.row_bounds
    (gpu_sparse.sparse_csr, (0, 2, 4, 6))
    """
    return from_tensor(constructors.from_scipy(m, dtype=dtype, device=device),
                       n_blocks=n_blocks, row_bounds=row_bounds, col_bounds=col_bounds)


def from_numpy(a: Any, *, n_blocks: Optional[int] = None, row_bounds: Any = None,
               dtype: Any = None, device: Any = None) -> DistributedTensor:
    """A 2-D NumPy or CuPy array in row blocks (copied); see :func:`from_tensor`.

    Examples
    --------
    >>> import numpy as np
    >>> from gpu_sparse import distributed as gd
    >>> gd.from_numpy(np.ones((4, 2)), n_blocks=2).compute().numpy().sum()
    np.float64(8.0)
    """
    return from_tensor(constructors.tensor(a, dtype=dtype, device=device), n_blocks=n_blocks,
                       row_bounds=row_bounds)


def from_dask(x: Any, *, device: Any = None, col_bounds: Any = None) -> DistributedTensor:
    """A 2-D ``dask.array`` whose chunks split the rows only (one chunk across the
    columns): each row chunk becomes a block, computed on (and kept by) its owner. Dense
    chunks (NumPy/CuPy) give a dense tensor; SciPy/cupyx sparse chunks (``da.from_array(m,
    chunks=(r, n), asarray=False)``) a sparse one, as :func:`from_futures` builds it
    (``col_bounds`` as there).

    Raises TypeError for anything but a 2-D dask.array; ValueError for more than one
    column chunk (rechunk first).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from gpu_sparse import distributed as gd
    >>> gd.from_dask(da.ones((4, 2), chunks=(3, 2))).row_bounds
    (0, 3, 4)
    """
    fn = "from_dask"
    if getattr(x, "ndim", None) != 2 or not hasattr(x, "to_delayed"):
        raise TypeError(f"{fn}: x must be a 2-D dask.array, got {type(x).__name__}")
    if len(x.chunks[1]) != 1:
        raise ValueError(f"{fn}: x must have one chunk across the columns, got column "
                         f"chunks {x.chunks[1]} (use x.rechunk({{1: -1}}))")
    runner = Runner(current_client())
    bounds = tuple(int(b) for b in np.concatenate([[0], np.cumsum(x.chunks[0])]))
    sparse = type(getattr(x, "_meta", None)).__module__.startswith(
        ("scipy.sparse", "cupyx.scipy.sparse"))
    # where the chunks are (their meta array tells), unless device= says otherwise
    dev = canonical_device(device if device is not None else
                           (device_of_array(getattr(x, "_meta", None)) or "cpu"), fn)
    parts = [d for (d,) in x.to_delayed()]
    owners = [runner.owner(b, len(parts)) for b in range(len(parts))]
    blocks: List[Any]
    task: Callable[..., Any] = _identity if sparse else _as_backend_array
    if runner.client is None:
        blocks = runner.map(task, [(p, dev) for p in parts], owners)
    else:
        blocks = [runner.client.compute(dask.delayed(task)(p, dev), workers=[w],
                                        allow_other_workers=False)
                  for p, w in zip(parts, owners)]
    if sparse:
        return from_futures(blocks, col_bounds=col_bounds, device=device)
    return DistributedTensor(runner, blocks, (int(x.shape[0]), int(x.shape[1])), x.dtype,
                             dev, Layout.strided, bounds)


def _identity(a: Any, device: str) -> Any:
    return a


def _as_backend_array(a: Any, device: str) -> Array:
    return get_backend(device).asarray(a)


def _t_as_block(x: Any, device: Optional[str]) -> Any:
    """A block as the tensor keeps it: dense -> backend array, sparse -> local COO/CSR
    Tensor (SciPy/cupyx converted); moved to ``device`` when given. A value that is no
    2-D array, sparse matrix or Tensor comes back as a string describing it (the
    constructor raises with the block's index)."""
    try:
        # by default a block stays where it is: host data (NumPy, SciPy) on the CPU
        if isinstance(x, Tensor):
            t = x.detach()
        elif type(x).__module__.startswith(("scipy.sparse", "cupyx.scipy.sparse")):
            t = constructors.from_scipy(x, device=device_of_array(x.data) or "cpu")
        else:
            t = constructors.tensor(x, device=device_of_array(x) or "cpu")
        if device is not None:
            t = t.to(device)
    except Exception as e:  # reported by the constructor, naming the block
        return f"{type(x).__name__} ({e})"
    if t.ndim != 2:
        return f"a {t.ndim}-D {type(x).__name__}"
    return t if t.pattern is not None else t.array


def _t_meta(x: Any) -> Any:
    """(layout, shape, dtype, device, nnz, coalesced, rows_sorted) of a converted block,
    or its error string."""
    if isinstance(x, str):
        return x
    if isinstance(x, Tensor):
        pat = x.pattern
        assert pat is not None
        return (x.layout, tuple(x.shape), x.dtype, x.device, pat.nnz, pat.coalesced,
                pat.rows_sorted)
    dev = "cpu" if type(x).__module__.startswith("numpy") else f"cuda:{x.device.id}"
    return (Layout.strided, tuple(x.shape), np.dtype(x.dtype), dev, 0, True, True)


def _t_touched(blk: Tensor, col_bounds: Bounds) -> Tuple[int, ...]:
    pat = blk.pattern
    assert pat is not None
    cols = np.asarray(get_backend(blk.device).to_numpy(pat.cols)).astype(np.int64)
    return tuple(int(j) for j in np.unique(_chunk_of(cols, col_bounds)))


def _t_col_piece(blk: Tensor, c0: int, c1: int) -> Tensor:
    """The entries of row block ``blk`` in columns ``[c0, c1)``, in their stored order,
    as a COO piece (r_b, c1 - c0)."""
    pat = blk.pattern
    assert pat is not None
    part, positions = pat.to_coo().select(1, c0, c1)
    return Tensor(blk.array[positions], blk.device, part)


def _t_col_block(pieces: List[Tensor], offsets: List[int], m: int, width: int, dtype: Any,
                 device: str) -> Tensor:
    """Chunk c of the Sᵀ copy: the pieces of the row blocks (first rows ``offsets``) in
    block order, as one (m, width) COO block."""
    pattern, values = COOPattern.concat_rows([sparse_pattern(p, "from_futures") for p in pieces],
                                             [p.array for p in pieces], offsets,
                                             (m, width), device, dtype)
    return Tensor(values, device, pattern)


def _t_arange(start: int, n: int, device: str) -> Array:
    return get_backend(device).xp.arange(start, start + n, dtype="int64")


def from_futures(blocks: Sequence[Any], *, col_bounds: Any = None,
                 device: Any = None) -> DistributedTensor:
    """A DistributedTensor from row blocks that already live on Dask workers (Futures of
    the current client) or here (local values, placed on their owners): block b holds
    the next rows of the matrix, all its columns.

    Parameters
    ----------
    blocks : non-empty sequence; each a ``distributed.Future`` or a value: dense blocks
        NumPy/CuPy arrays or dense Tensors (r_b, n); sparse blocks SciPy/cupyx sparse
        matrices or sparse Tensors (r_b, n) with global column indices (CSR stays CSR,
        anything else COO). All dense or all of one sparse layout, one dtype, one
        device, one n; r_b may be 0.
    col_bounds : sparse only, as in :func:`from_tensor`.
    device : move every block there (default: where each block is).

    Returns a DistributedTensor with ``row_bounds`` the running sums of the r_b and block
    b on worker ``b * W // B``; a block computed elsewhere moves to its owner. A sparse
    tensor's entry order is block 0's entries, then block 1's, ... (``compute()`` gives
    that order). It does not require grad.

    Raises TypeError naming ``blocks[b]`` for a block that is not a 2-D array, sparse
    matrix or Tensor, a Future of another client, or blocks of mixed kinds, dtypes or
    devices; ValueError for an empty ``blocks``, differing column counts or bad
    ``col_bounds``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from gpu_sparse import distributed as gd
    >>> a = sp.random(6, 6, density=0.5, format="csr", random_state=0)
    >>> s = gd.from_futures([a[:2], a[2:6]])   # or Futures of client.submit(...)
    >>> s.row_bounds, bool((s.compute().to_dense().numpy() == a.toarray()).all())
    ((0, 2, 6), True)
    """
    fn = "from_futures"
    if isinstance(blocks, (str, bytes)) or not isinstance(blocks, Sequence):
        raise TypeError(f"{fn}: blocks must be a sequence of Futures or arrays, got "
                        f"{type(blocks).__name__}")
    if len(blocks) == 0:
        raise ValueError(f"{fn}: blocks must hold at least one block")
    runner = Runner(current_client())
    nb = len(blocks)
    owners = [runner.owner(b, nb) for b in range(nb)]
    dev = None if device is None else canonical_device(device, fn)
    conv = runner.map(_t_as_block, [(h, dev) for h in _handles(fn, runner, blocks, owners)],
                      owners)
    metas = _checked_metas(fn, runner.get(runner.map(_t_meta, [(h,) for h in conv], owners)))
    layout, shape0, dtype, bdev = metas[0][0], metas[0][1], metas[0][2], metas[0][3]
    n = shape0[1]
    bounds = tuple(int(x) for x in np.concatenate([[0], np.cumsum([mt[1][0]
                                                                    for mt in metas])]))
    m = bounds[-1]
    if layout is Layout.strided:
        return DistributedTensor(runner, conv, (m, n), dtype, bdev, layout, bounds)
    if col_bounds is None:
        col_bounds = bounds if m == n else check_bounds(fn, n, nb, None, runner)
    else:
        col_bounds = check_bounds(fn + " (col_bounds)", n, None, col_bounds, runner)
    ncb = len(col_bounds) - 1
    col_owners = [runner.owner(c, ncb) for c in range(ncb)]
    touched = tuple(runner.get(runner.map(_t_touched, [(h, col_bounds) for h in conv],
                                          owners)))
    col_touched = tuple(tuple(b for b in range(nb) if c in touched[b]) for c in range(ncb))
    pieces = {(b, c): h for (b, c), h in zip(
        [(b, c) for b in range(nb) for c in touched[b]],
        runner.map(_t_col_piece, [(conv[b], col_bounds[c], col_bounds[c + 1])
                                  for b in range(nb) for c in touched[b]],
                   [owners[b] for b in range(nb) for _ in touched[b]]))}
    col_blocks = runner.map(_t_col_block, [
        ([pieces[b, c] for b in col_touched[c]], [bounds[b] for b in col_touched[c]], m,
         col_bounds[c + 1] - col_bounds[c], dtype, bdev) for c in range(ncb)], col_owners)
    nnzs = [mt[4] for mt in metas]
    offs = np.concatenate([[0], np.cumsum(nnzs)])
    perms = (None if metas[0][6] else tuple(runner.map(
        _t_arange, [(int(offs[b]), int(nnzs[b]), bdev) for b in range(nb)], owners)))
    structure = Structure(col_bounds=tuple(col_bounds), touched=touched,
                          col_touched=col_touched, perms=perms, nnz=int(offs[-1]),
                          coalesced=all(mt[5] for mt in metas))
    return DistributedTensor(runner, conv, (m, n), dtype, bdev, layout, bounds, structure,
                             col_blocks)


def _handles(fn: str, runner: Runner, blocks: Sequence[Any],
             owners: Sequence[Optional[str]]) -> List[Any]:
    """Each block as a handle on its owner: a Future of the current client as it is, a
    local value put there."""
    handles: List[Any] = []
    for b, x in enumerate(blocks):
        if _is_future(x):
            if runner.client is None or x.client is not runner.client:
                raise TypeError(f"{fn}: blocks[{b}] is a Future of another Dask client "
                                f"(or there is no current client)")
            handles.append(x)
        else:
            handles.append(runner.put([x], [owners[b]])[0])
    return handles


def _checked_metas(fn: str, metas: List[Any]) -> List[Any]:
    """The blocks' :func:`_t_meta` tuples, checked to be of one kind: TypeError naming the
    block for a value that is no 2-D array, sparse matrix or Tensor, or another layout,
    dtype or device than ``blocks[0]``; ValueError for another column count."""
    for b, meta in enumerate(metas):
        if isinstance(meta, str):
            raise TypeError(f"{fn}: blocks[{b}] must be a 2-D array, sparse matrix or "
                            f"Tensor, got {meta}")
    layout, shape0, dtype, bdev = metas[0][0], metas[0][1], metas[0][2], metas[0][3]
    n = shape0[1]
    for b, (lay, shp, dt, dv, *_) in enumerate(metas):
        if lay is not layout:
            raise TypeError(f"{fn}: blocks[{b}] has layout {lay.value} but blocks[0] has "
                            f"{layout.value}")
        if shp[1] != n:
            raise ValueError(f"{fn}: blocks[{b}] has {shp[1]} columns but blocks[0] has {n}")
        if dt != dtype or dv != bdev:
            raise TypeError(f"{fn}: blocks[{b}] is {dt} on {dv} but blocks[0] is {dtype} "
                            f"on {bdev}")
    return metas


def _is_future(x: Any) -> bool:
    return isinstance(x, Future)
