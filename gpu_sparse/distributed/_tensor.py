"""``DistributedTensor``: a matrix in 1D row blocks on Dask workers, and its constructors.

A dense tensor's block ``b`` is a backend array (NumPy or CuPy) holding rows
``row_bounds[b]:row_bounds[b + 1]``; a sparse tensor's block is a local sparse Tensor (COO
or CSR) of those rows with global column indices, its entries in their original relative
order. A sparse tensor built by a constructor also keeps, on the owner of each block of
the dense operand, the entries of its columns ``col_bounds[c]:col_bounds[c + 1]`` (the
"Sᵀ copy"), so that ``Sᴴ @ G`` is the same all-gather SpMM as ``S @ B``.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any, Callable, ClassVar, List, Optional, Sequence, Tuple

import dask
import dask.array as da
import numpy as np
from distributed import Future

from ..backend import Array, canonical_device, device_of_array, get_backend
from ..core.differentiable import Differentiable
from ..core.tensor import Tensor, sparse_pattern
from ..formats import Layout
from ..formats.coo import COOPattern
from ..ops import constructors, factories
from ._runner import Runner, current_client

Bounds = Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Structure:
    """What a sparse DistributedTensor's blocks share with its gradients and with the
    results of ``sampled_addmm`` on it (the entries, not the values).

    ``touched[b]``: the column chunks (of ``col_bounds``) row block b has entries in;
    ``col_touched[c]``: the row blocks column chunk c has entries in; ``perms[b]``: handle
    of the original positions (nnz_b,) int64 of block b's entries (None for CSR: blocks
    are consecutive slices); ``coalesced``: the original COO was coalesced."""
    col_bounds: Bounds
    touched: Tuple[Tuple[int, ...], ...]
    col_touched: Tuple[Tuple[int, ...], ...]
    perms: Optional[Tuple[Any, ...]]
    nnz: int
    coalesced: bool


class DistributedTensor(Differentiable):
    """A dense or sparse (COO, CSR) matrix partitioned in row blocks across Dask workers.

    Build one with :func:`from_scipy`, :func:`from_numpy`, :func:`from_tensor`,
    :func:`from_dask` or :func:`from_futures`. ``sparse.addmm``, ``sparse.mm``,
    ``sparse.sampled_addmm``, ``@``, ``+``, ``-``, ``*``, ``relu()`` and ``sum()`` take
    the distributed path and record one node of the autograd engine each; results are
    bitwise those of one device, except products run in the opt-in tiled form (see
    ``set_memory_budget``): deterministic and within float tolerance, not bitwise.

    Shapes: always 2-D, (m, n); a dense block b is (r_b, n), a sparse block the (r_b, n)
    sparse Tensor of those rows. Without a current ``dask.distributed`` client the blocks
    live here and run on Dask's threaded scheduler.

    Examples
    --------
    >>> import numpy as np
    >>> from gpu_sparse import distributed as gd
    >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
    >>> t.shape, t.row_bounds, t.layout, t.owners()
    ((4, 2), (0, 2, 4), gpu_sparse.strided, [None, None])
    """

    def __init__(self, runner: Runner, blocks: Sequence[Any], shape: Tuple[int, int],
                 dtype: Any, device: str, layout: Layout, bounds: Bounds,
                 structure: Optional[Structure] = None,
                 col_blocks: Optional[Sequence[Any]] = None):
        self._runner = runner
        self._blocks = list(blocks)
        self._shape = (int(shape[0]), int(shape[1]))
        self._dtype = np.dtype(dtype)
        self._device = device
        self._layout = layout
        self._bounds: Bounds = tuple(int(b) for b in bounds)
        self._structure = structure
        self._col_blocks = None if col_blocks is None else list(col_blocks)
        self._init_autograd()

    # ---- metadata --------------------------------------------------------------------
    @property
    def shape(self) -> Tuple[int, int]:
        """The global shape (m, n), a tuple of two ints.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> t.shape
        (4, 2)
        """
        return self._shape

    @property
    def ndim(self) -> int:
        """The number of dimensions: always 2 (a DistributedTensor is a matrix).

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_numpy(np.ones((4, 2)), n_blocks=2).ndim
        2
        """
        return 2

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of every block (a sparse tensor's: of its stored values).

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_numpy(np.ones((4, 2), dtype=np.float32), n_blocks=2).dtype
        dtype('float32')
        """
        return self._dtype

    @property
    def device(self) -> str:
        """The device of every block (``"cpu"``, or ``"cuda:0"`` on each CUDA worker).

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_numpy(np.ones((4, 2)), n_blocks=2, device="cpu").device
        'cpu'
        """
        return self._device

    @property
    def layout(self) -> Layout:
        """``gpu_sparse.strided`` (dense blocks), ``sparse_coo`` or ``sparse_csr``.

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_numpy(np.ones((4, 2))).layout, gd.from_scipy(sp.eye(4)).layout
        (gpu_sparse.strided, gpu_sparse.sparse_coo)
        """
        return self._layout

    @property
    def is_sparse(self) -> bool:
        """True for a COO tensor (as PyTorch: False for CSR, see :attr:`is_sparse_csr`).

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_scipy(sp.eye(4)).is_sparse, gd.from_scipy(sp.eye(4, format="csr")).is_sparse
        (True, False)
        """
        return self._layout is Layout.sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        """True for a CSR tensor (its blocks are local CSR Tensors).

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_scipy(sp.eye(4, format="csr"), n_blocks=2).is_sparse_csr
        True
        """
        return self._layout is Layout.sparse_csr

    @property
    def row_bounds(self) -> Bounds:
        """Block b holds rows ``row_bounds[b]:row_bounds[b + 1]``: a tuple of
        ``n_blocks + 1`` ints from 0 to m, non-decreasing (a block may be empty).

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> t.row_bounds
        (0, 2, 4)
        """
        return self._bounds

    @property
    def n_blocks(self) -> int:
        """The number of row blocks, ``len(row_bounds) - 1``.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_numpy(np.ones((4, 2)), n_blocks=2).n_blocks
        2
        """
        return len(self._bounds) - 1

    @property
    def blocks(self) -> List[Any]:
        """The blocks' handles: Futures on a client, the values on the threaded
        scheduler (dense: backend arrays; sparse: local sparse Tensors). A new list each
        call; block b has shape (r_b, n).

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> [b.shape for b in t.blocks]
        [(2, 2), (2, 2)]
        """
        return list(self._blocks)

    @property
    def nnz(self) -> int:
        """Stored entries of a sparse tensor (duplicates counted), over all blocks.
        RuntimeError for a dense tensor.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_scipy(sp.eye(4, format="csr"), n_blocks=2).nnz
        4
        """
        if self._structure is None:
            raise RuntimeError("nnz: expected a sparse tensor, got layout strided")
        return self._structure.nnz

    @property
    def array(self) -> List[Any]:
        """The block handles (what the autograd engine calls a tensor's storage): the
        tensor's own list, as :attr:`blocks` gives a copy of it; do not modify it.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> len(t.array), t.array[0].shape
        (2, (2, 2))
        """
        return self._blocks

    def owners(self) -> List[Optional[str]]:
        """The worker address of each block (None on the threaded scheduler), a list of
        ``n_blocks`` entries; block b lives on worker ``b * W // n_blocks``.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> t.owners()
        [None, None]
        """
        return [self._runner.owner(b, self.n_blocks) for b in range(self.n_blocks)]

    def _like(self, blocks: Sequence[Any], dtype: Any = None,
              layout: Optional[Layout] = None) -> DistributedTensor:
        """New blocks with this tensor's partition (and structure when sparse)."""
        layout = self._layout if layout is None else layout
        return DistributedTensor(self._runner, blocks, self._shape,
                                 self._dtype if dtype is None else dtype, self._device,
                                 layout, self._bounds,
                                 self._structure if layout is not Layout.strided else None)

    # ---- back to one place -----------------------------------------------------------
    def compute(self) -> Tensor:
        """The whole matrix as a local gpu_sparse Tensor on the blocks' device (a sparse
        one with the original entry order and, for COO, the original coalesced flag).
        Outside the graph: the result does not require grad. Shape (m, n); a failed
        block task raises here.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> gd.from_numpy(np.eye(2), n_blocks=2).compute().tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        values = self._runner.get(self._blocks)
        if self._structure is None:
            return Tensor(assemble_rows(values, self._bounds, self._shape, self._dtype,
                                        self._device), self._device)
        perms = (None if self._structure.perms is None
                 else self._runner.get(self._structure.perms))
        return assemble_sparse(values, perms, self._bounds, self._shape, self._structure,
                               self._device)

    def persist(self) -> DistributedTensor:
        """Wait until every block is computed; returns self. (Ops run eagerly: each
        submits its tasks at once, so this only waits.) A failed block task raises here.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> t.persist() is t
        True
        """
        self._runner.wait(self._blocks)
        return self

    def to_dask(self) -> Any:
        """A ``dask.array`` with one chunk per row block (dense: backend arrays; sparse:
        SciPy or cupyx sparse matrices of each block), shape (m, n), chunks
        ``(r_0, r_1, ...)`` by ``(n,)``. Outside the graph.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> t = gd.from_numpy(np.ones((4, 2)), n_blocks=2)
        >>> x = t.to_dask()
        >>> x.chunks, float(x.sum().compute())
        (((2, 2), (2,)), 8.0)
        """
        parts = []
        for b, h in enumerate(self._blocks):
            r = self._bounds[b + 1] - self._bounds[b]
            if self._structure is None:
                d = dask.delayed(h)
            else:
                d = dask.delayed(_block_to_scipy, pure=True)(h)
            parts.append(da.from_delayed(d, shape=(r, self._shape[1]),
                                                dtype=self._dtype))
        return da.concatenate(parts, axis=0)

    # ---- autograd (the state and backward: core/differentiable.py) -----------------
    def detach(self) -> DistributedTensor:
        """The same blocks (and version counter) outside the graph: a leaf that does not
        require grad, so no gradient flows through it. Nothing is copied.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> x = gd.from_numpy(np.ones((4, 2)), n_blocks=2).requires_grad_()
        >>> y = x.relu()
        >>> d = y.detach()
        >>> d.requires_grad, d.is_leaf, d.blocks[0] is y.blocks[0]
        (False, True, True)
        """
        out = DistributedTensor(self._runner, self._blocks, self._shape, self._dtype,
                                self._device, self._layout, self._bounds, self._structure,
                                self._col_blocks)
        out._version_counter = self._version_counter
        return out

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate gradients into ``.grad`` of the leaves (distributed leaves get
        distributed gradients, local ones local). ``gradient``: a DistributedTensor with
        this tensor's partition, or a local Tensor or array (split by this tensor's row
        bounds); omitted only for a one-element tensor.

        On a client, every gradient task of the graph is submitted first (Futures: no
        node waits for the one before it, except where a *local* tensor's gradient, a
        small weight's or bias's, must come back here), then one ``wait`` covers the
        gradient blocks of all distributed leaves together, so the gradients are
        computed (persisted on their owners) and a failed task raises here. On the
        threaded scheduler each node's tasks run as the node is reached.

        Errors: RuntimeError when this tensor does not require grad, or ``gradient`` is
        omitted for a shape other than (1, 1); ValueError for a ``gradient`` of another
        shape, layout or row_bounds; TypeError for one of another dtype. The graph is
        freed unless ``retain_graph``.

        Examples
        --------
        >>> import numpy as np
        >>> from gpu_sparse import distributed as gd
        >>> x = gd.from_numpy(np.ones((4, 2)), n_blocks=2).requires_grad_()
        >>> (x * 2).backward(np.ones((4, 2)))
        >>> x.grad.compute().tolist()[0]
        [2.0, 2.0]
        """
        super().backward(gradient, retain_graph)

    def _backward_gradient(self, gradient: Any) -> DistributedTensor:
        g = self._as_gradient(gradient)
        expect_gradients(self._runner, self)
        return g

    def _as_gradient(self, g: Any) -> DistributedTensor:
        fn = "backward"
        if g is None:
            if self._shape != (1, 1):
                raise RuntimeError(f"{fn}: grad can be implicitly created only for "
                                   f"one-element outputs; got an output of shape "
                                   f"{self._shape}, pass `gradient`")
            g = factories.ones(1, 1, dtype=self._dtype, device=self._device)
        if not isinstance(g, DistributedTensor):
            if not isinstance(g, Tensor):
                g = constructors.tensor(g, device=self._device)
            if self._layout is not Layout.strided:
                # a sparse output's gradient lives on its own entries, as on one device
                mine = self.compute().pattern
                if g.pattern is None or mine is None or not g.pattern.same_entries(mine):
                    raise ValueError(f"{fn}: the gradient of a sparse output must hold the "
                                     f"output's own entries (in its order); build it on "
                                     f"out.compute()'s indices")
            g = from_tensor(g, row_bounds=self._bounds)
        if g._shape != self._shape:
            raise ValueError(f"{fn}: gradient has shape {g._shape} but the output has shape "
                             f"{self._shape}")
        if g._dtype != self._dtype:
            raise TypeError(f"{fn}: gradient has dtype {g._dtype} but the output has dtype "
                            f"{self._dtype}")
        if g._bounds != self._bounds or g._layout is not self._layout:
            raise ValueError(f"{fn}: gradient must have the output's layout "
                             f"{self._layout.value} and row_bounds {self._bounds}, got "
                             f"{g._layout.value} and {g._bounds}")
        return g.detach()

    def _add_grad(self, pending: Optional[DistributedTensor],
                  g: DistributedTensor) -> DistributedTensor:
        return g if pending is None else pending._blockwise_sum(g)

    def _accumulate_grad(self, g: DistributedTensor, handed: Sequence[Any]) -> None:
        if not self._requires_grad:
            return
        if self._grad is None:
            # .grad owns its blocks: on the threaded scheduler a gradient passed through
            # (by +, say) would otherwise share them with another leaf's or the caller's
            self._grad = self._like(self._runner.map(_block_copy, [(b,) for b in g._blocks],
                                                     self.owners()))
        else:
            self._grad = self._grad._blockwise_sum(g)
        _got_gradient(self)

    def _blockwise_sum(self, other: DistributedTensor) -> DistributedTensor:
        """``self + other`` block by block (sparse: on the same entries), outside the
        graph; the gradient accumulation of the engine."""
        blocks = self._runner.map(_block_sum, list(zip(self._blocks, other._blocks)),
                                  self.owners())
        return self._like(blocks)

    def __repr__(self) -> str:
        extra = self._autograd_repr()
        where = "threads" if self._runner.client is None else "dask.distributed"
        return (f"DistributedTensor(shape={self._shape}, layout={self._layout!r}, "
                f"dtype={self._dtype}, row_bounds={self._bounds}, on {where}{extra})")

    __hash__ = object.__hash__
    __array_priority__ = 2000  # ndarray + DistributedTensor -> DistributedTensor.__radd__
    __array_ufunc__ = None

    # ---- bound by gpu_sparse.distributed._ops (differentiable) -------------------------
    __gpu_sparse_function__: ClassVar[Callable[..., Any]]
    __matmul__: ClassVar[Callable[[DistributedTensor, Any], Any]]
    __rmatmul__: ClassVar[Callable[[DistributedTensor, Any], Any]]
    __add__: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    __radd__: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    __sub__: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    __rsub__: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    __mul__: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    __rmul__: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    __neg__: ClassVar[Callable[[DistributedTensor], DistributedTensor]]
    relu: ClassVar[Callable[[DistributedTensor], DistributedTensor]]
    sum: ClassVar[Callable[[DistributedTensor], Tensor]]


def _graph_leaves(root: Any) -> List[Any]:
    """The leaves that require grad in the graph of ``root`` (root first)."""
    out, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is None:
            if t.requires_grad:
                out.append(t)
            continue
        stack.extend(t.grad_fn.next_tensors)
    return out


class _Batch:
    """The distributed leaves one backward pass hands gradients to (weakly held): when
    the last has its gradient, one wait covers the gradient blocks of all of them."""

    def __init__(self, runner: Runner, leaves: Sequence[DistributedTensor]):
        self.runner = runner
        self.left = {id(t): weakref.ref(t) for t in leaves}
        self.done: List[Any] = []


_batches: List[_Batch] = []


def expect_gradients(runner: Runner, root: Any) -> None:
    """Called as a backward pass enters the distributed graph at ``root`` (a distributed
    output, or the input of a distributed ``sum``): on a client, the distributed leaves
    below it are waited on together once the last of them has its gradient. (The
    engine's walk submits their tasks first: it waits for nothing else.)"""
    if runner.client is None:
        return
    leaves = [t for t in _graph_leaves(root) if isinstance(t, DistributedTensor)]
    _batches[:] = [b for b in _batches if any(r() is not None for r in b.left.values())]
    if leaves:
        _batches.append(_Batch(runner, leaves))


def _got_gradient(t: DistributedTensor) -> None:
    for batch in list(_batches):
        ref = batch.left.get(id(t))
        if ref is None or ref() is not t:  # not in this batch (or a recycled id)
            continue
        del batch.left[id(t)]
        batch.done.append(ref)
        if not batch.left:
            _batches.remove(batch)
            grads = [x._grad for x in (r() for r in batch.done)
                     if x is not None and x._grad is not None]
            batch.runner.wait([h for gr in grads for h in gr._blocks])


# ---- block tasks and helpers (module level: they pickle by name) -----------------------
def _block_copy(a: Any) -> Any:
    return a.with_array(a.array.copy()) if isinstance(a, Tensor) else a.copy()


def _block_sum(a: Any, b: Any) -> Any:
    if isinstance(a, Tensor):
        return a.with_array(a.array + b.array)
    return a + b


def _block_to_scipy(t: Tensor) -> Any:
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
                    bounds: Sequence[int], shape: Tuple[int, int], structure: Structure,
                    device: str) -> Tensor:
    """The whole sparse matrix from its row blocks, entries in the original order
    (``perms[b]``: the positions of block b's entries; None when the format stores
    entries in row order, so that the blocks are consecutive slices)."""
    patterns = [sparse_pattern(blk, "assemble_sparse") for blk in blocks]
    order = None if perms is None else get_backend(device).xp.concatenate(list(perms))
    pattern, values = type(patterns[0]).concat_rows(
        patterns, [blk.array for blk in blocks], bounds[:-1], shape, device,
        blocks[0].dtype, order=order, coalesced=structure.coalesced)
    return Tensor(values, device, pattern)


# ---- constructors -------------------------------------------------------------------
def _check_bounds(fn: str, m: int, n_blocks: Optional[int], row_bounds: Any,
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
    bounds = _check_bounds(fn, m, n_blocks, row_bounds, runner)
    nb = len(bounds) - 1
    owners = [runner.owner(b, nb) for b in range(nb)]
    backend = get_backend(t.device)
    if t.pattern is None:
        arr = t.array
        blocks = [arr[bounds[b]:bounds[b + 1]].copy() for b in range(nb)]
        return DistributedTensor(runner, runner.put(blocks, owners), (m, n), t.dtype,
                                 t.device, Layout.strided, bounds)
    if col_bounds is None:
        col_bounds = bounds if m == n else _check_bounds(fn, n, nb, None, runner)
    else:
        col_bounds = _check_bounds(fn + " (col_bounds)", n, None, col_bounds, runner)
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


# ---- from futures (or local blocks) ---------------------------------------------------
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
    handles: List[Any] = []
    for b, x in enumerate(blocks):
        if _is_future(x):
            if runner.client is None or x.client is not runner.client:
                raise TypeError(f"{fn}: blocks[{b}] is a Future of another Dask client "
                                f"(or there is no current client)")
            handles.append(x)
        else:
            handles.append(runner.put([x], [owners[b]])[0])
    conv = runner.map(_t_as_block, [(h, dev) for h in handles], owners)
    metas = runner.get(runner.map(_t_meta, [(h,) for h in conv], owners))
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
    bounds = tuple(int(x) for x in np.concatenate([[0], np.cumsum([mt[1][0]
                                                                    for mt in metas])]))
    m = bounds[-1]
    if layout is Layout.strided:
        return DistributedTensor(runner, conv, (m, n), dtype, bdev, layout, bounds)
    if col_bounds is None:
        col_bounds = bounds if m == n else _check_bounds(fn, n, nb, None, runner)
    else:
        col_bounds = _check_bounds(fn + " (col_bounds)", n, None, col_bounds, runner)
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


def _is_future(x: Any) -> bool:
    return isinstance(x, Future)


__all__ = ["DistributedTensor", "Structure", "from_tensor", "from_scipy", "from_numpy",
           "from_dask", "from_futures", "expect_gradients", "assemble_rows", "assemble_sparse"]
