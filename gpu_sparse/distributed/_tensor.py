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
from typing import Any, Callable, ClassVar, List, Optional, Sequence, Tuple

import dask
import dask.array as da
import numpy as np

from ..core.differentiable import Differentiable
from ..core.tensor import Tensor
from ..formats import Layout
from ._blocks import assemble_rows, assemble_sparse, block_copy, block_sum, block_to_scipy
from ._runner import Runner, gradient_arrived

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
        return assemble_sparse(values, perms, self._bounds, self._shape,
                               self._structure.coalesced, self._device)

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
                d = dask.delayed(block_to_scipy, pure=True)(h)
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

    def _add_grad(self, pending: Optional[DistributedTensor],
                  g: DistributedTensor) -> DistributedTensor:
        return g if pending is None else pending._blockwise_sum(g)

    def _accumulate_grad(self, g: DistributedTensor, handed: Sequence[Any]) -> None:
        if not self._requires_grad:
            return
        if self._grad is None:
            # .grad owns its blocks: on the threaded scheduler a gradient passed through
            # (by +, say) would otherwise share them with another leaf's or the caller's
            self._grad = self._like(self._runner.map(block_copy, [(b,) for b in g._blocks],
                                                     self.owners()))
        else:
            self._grad = self._grad._blockwise_sum(g)
        gradient_arrived(self)  # the pass's wait, once the last leaf has its gradient

    def _blockwise_sum(self, other: DistributedTensor) -> DistributedTensor:
        """``self + other`` block by block (sparse: on the same entries), outside the
        graph; the gradient accumulation of the engine."""
        blocks = self._runner.map(block_sum, list(zip(self._blocks, other._blocks)),
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

    # ---- bound by gpu_sparse.distributed._dispatch (differentiable) --------------------
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
    # bound by gpu_sparse.distributed._backward (it builds the gradient with from_tensor)
    _backward_gradient: ClassVar[Callable[[DistributedTensor, Any], DistributedTensor]]
    relu: ClassVar[Callable[[DistributedTensor], DistributedTensor]]
    sum: ClassVar[Callable[[DistributedTensor], Tensor]]


__all__ = ["Bounds", "DistributedTensor", "Structure"]
