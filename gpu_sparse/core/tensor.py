"""The Tensor: one array, an optional sparse pattern, and autograd state.

A dense (strided) tensor is its array. A sparse tensor is its values (nnz,) in storage
order plus an immutable :class:`~gpu_sparse.formats.Pattern` (COO or CSR) that knows the
index arrays and the products. Many tensors may share one pattern object: a sparse
gradient is a tensor on its leaf's own pattern, so "same pattern" is ``a.pattern is
b.pattern``, and the pattern's cached CSR forms serve every step.

The differentiable operations (``+``, ``@``, ``sum``, ``values()``, conversions, in-place
updates) are bound onto this class by :mod:`gpu_sparse.ops`, where they are defined and
recorded in the graph; this module stays below the ops and knows nothing of them.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, List, Optional, Sequence, Tuple

import numpy as np

from ..backend import Array, Backend, get_backend
from ..formats import Layout, Pattern
from . import engine
from .differentiable import Differentiable, is_inexact

strided = Layout.strided
sparse_coo = Layout.sparse_coo
sparse_csr = Layout.sparse_csr


def is_numeric(dtype: Any) -> bool:
    """Bool, integer, floating point or complex: what a tensor holds (bfloat16, whose
    ml_dtypes kind is 'V', included)."""
    dt = np.dtype(dtype)
    return dt.kind in "biufc" or dt.name == "bfloat16"


class Tensor(Differentiable):
    """A dense (strided) or sparse (COO, CSR) matrix with autograd support.

    Create tensors with :func:`gpu_sparse.tensor`, :func:`gpu_sparse.sparse_coo_tensor`,
    :func:`gpu_sparse.sparse_csr_tensor`, :func:`gpu_sparse.from_scipy` and friends rather
    than calling this class. ``Tensor(array, device, pattern)`` wraps arrays as they are
    (no copy, no checks): ``array`` is the dense data, or the (nnz,) values of a sparse
    tensor in ``pattern``'s storage order. ValueError when ``pattern`` is on another
    device than ``device``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> t = gs.tensor([[1.0, 2.0]])
    >>> isinstance(t, gs.Tensor), t.shape, t.layout
    (True, (1, 2), gpu_sparse.strided)
    """

    __array_priority__ = 1000  # ndarray + Tensor -> Tensor.__radd__
    # NumPy ufuncs and operators defer to the Tensor's own (differentiable) methods;
    # np.asarray(t) goes through __array__ below
    __array_ufunc__ = None

    # For an index view (``indices()``, ``crow_indices()``, ``col_indices()``): the
    # immutable pattern it shows, which a constructor given the view reuses as it is (no
    # copy, no new checks, its cached CSR forms shared); see :func:`index_source`.
    _index_of: Optional[Pattern] = None

    def __init__(self, array: Array, device: str, pattern: Optional[Pattern] = None,
                 version: Optional[engine.VersionCounter] = None):
        if pattern is not None and pattern.device != device:
            raise ValueError(f"Tensor: the pattern is on {pattern.device}, not {device}")
        self._init_autograd(version)
        self._array: Array = array
        self._pattern: Optional[Pattern] = pattern
        self._device: str = device

    # ---- storage ---------------------------------------------------------------------
    @property
    def array(self) -> Array:
        """The backend array behind this tensor (a NumPy array on the CPU, a CuPy array on
        a GPU): the dense data, or the (nnz,) values of a sparse tensor in storage order.
        Outside autograd: no gradient flows through it, and writes through it are not
        seen by the version counter (use the in-place methods for that).

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([3.0, 4.0]), (2, 2))
        >>> gs.tensor([[1.0, 2.0]]).array.shape, a.array.shape
        ((1, 2), (2,))
        """
        return self._array

    @property
    def pattern(self) -> Optional[Pattern]:
        """The sparse pattern (the immutable index structure, COO or CSR), or None for a
        dense tensor. Patterns are shared: a sparse leaf's gradient is on the leaf's own
        pattern object.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([3.0, 4.0]), (2, 2))
        >>> a.pattern.layout, a.pattern.nnz, gs.tensor([1.0]).pattern is None
        (gpu_sparse.sparse_coo, 2, True)
        """
        return self._pattern

    @property
    def backend(self) -> Backend:
        """The backend computing on this tensor's device (``name`` ``"cpu"`` or
        ``"cuda"``; ``xp`` is NumPy or CuPy), loaded on first use.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([1.0], device="cpu").backend.name
        'cpu'
        """
        return get_backend(self._device)

    def with_array(self, array: Array) -> Tensor:
        """A new tensor with this one's device and pattern (if any) holding ``array``:
        no copy and no checks, so ``array`` must be an array of this device's backend with
        this tensor's array shape ((nnz,) for a sparse tensor). The result is a leaf
        outside the graph (no gradient flows to ``self``) with its own version counter.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0, 2.0])
        >>> x.with_array(x.array * 2).tolist()
        [2.0, 4.0]
        """
        return Tensor(array, self._device, self._pattern)

    @property
    def version_counter(self) -> engine.VersionCounter:
        """The in-place version counter of this tensor's storage, shared with its views
        (``detach()``, ``values()``, ``T``): every in-place method bumps ``value``, and
        backward refuses a saved input whose version moved.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0])
        >>> v = x.version_counter
        >>> before = v.value
        >>> x.add_(1.0).version_counter.value - before, x.detach().version_counter is v
        (1, True)
        """
        return self._version_counter

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's storage has seen (PyTorch's name)."""
        return self._version_counter.value

    # ---- metadata --------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        """The :class:`~gpu_sparse.Layout`: ``strided`` (dense), ``sparse_coo`` or
        ``sparse_csr``.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([3.0, 4.0]), (2, 2))
        >>> gs.tensor([1.0]).layout, a.layout, a.to_sparse_csr().layout
        (gpu_sparse.strided, gpu_sparse.sparse_coo, gpu_sparse.sparse_csr)
        """
        return Layout.strided if self._pattern is None else self._pattern.layout

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape as a tuple of ints; (m, n) for a sparse matrix (its dense shape, not
        that of its stored values).

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [2, 0]], np.array([3.0, 4.0]), (2, 3))
        >>> gs.tensor([[1.0, 2.0]]).shape, a.shape
        ((1, 2), (2, 3))
        """
        if self._pattern is None:
            return tuple(int(s) for s in self._array.shape)
        return self._pattern.shape

    def size(self, dim: Optional[int] = None) -> Any:
        """The shape (``dim`` None), or its entry at ``dim`` (negative counts from the
        end), as PyTorch's ``size``. IndexError for a dim out of range.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([[1.0, 2.0, 3.0]])
        >>> x.size(), x.size(1), x.size(-2)
        ((1, 3), 3, 1)
        """
        return self.shape if dim is None else self.shape[dim]

    @property
    def ndim(self) -> int:
        """The number of dimensions, ``len(shape)`` (2 for a sparse matrix).

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor(1.0).ndim, gs.tensor([[1.0, 2.0]]).ndim
        (0, 2)
        """
        return len(self.shape)

    def dim(self) -> int:
        """The number of dimensions (PyTorch's ``dim()``), as :attr:`ndim`.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([[1.0, 2.0]]).dim()
        2
        """
        return len(self.shape)

    def numel(self) -> int:
        """The number of elements of the (dense) shape, stored or not (see :attr:`nnz`
        for the stored entries of a sparse tensor).

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [2, 0]], np.array([3.0, 4.0]), (2, 3))
        >>> gs.tensor([[1.0, 2.0]]).numel(), a.numel()
        (2, 6)
        """
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the elements (of the values, for a sparse tensor).

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([1.0]).dtype, gs.tensor([1]).dtype, gs.tensor([1.0], dtype="float64").dtype
        (dtype('float32'), dtype('int64'), dtype('float64'))
        """
        return np.dtype(self._array.dtype)

    @property
    def device(self) -> str:
        """The device holding this tensor: ``"cpu"`` or ``"cuda:N"`` (always canonical).

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([1.0], device="cpu").device
        'cpu'
        """
        return self._device

    @property
    def is_sparse(self) -> bool:
        """True for a COO tensor (PyTorch's meaning: False for CSR, see
        :attr:`is_sparse_csr`).

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([3.0, 4.0]), (2, 2))
        >>> a.is_sparse, a.to_sparse_csr().is_sparse, gs.tensor([1.0]).is_sparse
        (True, False, False)
        """
        return self.layout is Layout.sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        """True for a CSR tensor.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([3.0, 4.0]), (2, 2))
        >>> a.to_sparse_csr().is_sparse_csr, a.is_sparse_csr
        (True, False)
        """
        return self.layout is Layout.sparse_csr

    @property
    def is_cuda(self) -> bool:
        """True on a CUDA device (``device`` ``"cuda:N"``).

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([1.0], device="cpu").is_cuda
        False
        """
        return self._device.startswith("cuda")

    # ---- autograd (the state and backward: core/differentiable.py) -----------------
    def _backward_gradient(self, gradient: Any) -> Tensor:
        return as_gradient("backward", self, gradient)

    def detach(self) -> Tensor:
        """A tensor sharing this one's array, pattern and version counter, outside the
        graph: a leaf that does not require grad, so no gradient flows through it. An
        in-place change of either is seen by both (and by backward's version checks).

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0, 2.0], requires_grad=True)
        >>> d = x.detach()
        >>> d.requires_grad, d.add_(1.0).tolist(), x.tolist()
        (False, [2.0, 3.0], [2.0, 3.0])
        """
        return Tensor(self._array, self._device, self._pattern, self._version_counter)

    # ---- gradient accumulation (called by the engine) -------------------------------
    def _add_grad(self, pending: Optional[Tensor], g: Tensor) -> Tensor:
        """``pending + g`` for this tensor, ``g`` brought to its layout first."""
        g = to_layout_of(self, g)
        if pending is None:
            return g
        return pending.with_array(pending._array + g._array)

    def _accumulate_grad(self, g: Tensor, handed: Sequence[Array]) -> None:
        """Add ``g`` into ``.grad``. Later backward calls add into the same buffer in
        place, so a gradient whose array others may hold (``handed``: the user's
        ``gradient``, a pass-through of ``+`` reaching two leaves) is copied first."""
        if not self._requires_grad:
            return
        if self._grad is None:
            xp = self.backend.xp
            shared = any(type(h) is type(g._array) and xp.may_share_memory(g._array, h)
                         for h in handed)
            self._grad = g.with_array(g._array.copy()) if shared else g
        else:
            arr = self._grad._array
            arr += to_layout_of(self._grad, g)._array
            self._grad._version_counter.bump()

    # ---- sparse accessors ------------------------------------------------------------
    def indices(self) -> Tensor:
        """COO: the (2, nnz) int64 index tensor (rows, then columns), duplicates and order
        as stored. A read-only view: patterns are immutable, so in-place methods on it
        raise RuntimeError. No gradient. RuntimeError for a tensor that is not COO.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[1, 0], [0, 1]], np.array([3.0, 4.0]), (2, 2))
        >>> a.indices().tolist(), a.coalesce().indices().tolist()
        ([[1, 0], [0, 1]], [[0, 1], [1, 0]])
        """
        pattern = sparse_pattern(self, "indices", Layout.sparse_coo)
        return _index_view(pattern.index_arrays()["indices"], self._device, pattern)

    def crow_indices(self) -> Tensor:
        """CSR: the (m + 1,) int64 row pointer (row ``i``'s entries are
        ``crow[i]:crow[i + 1]``), read-only as :meth:`indices`. RuntimeError for a tensor
        that is not CSR.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 0, 2], [0, 2, 1]], np.ones(3), (3, 3))
        >>> a.to_sparse_csr().crow_indices().tolist()
        [0, 2, 2, 3]
        """
        pattern = sparse_pattern(self, "crow_indices", Layout.sparse_csr)
        return _index_view(pattern.index_arrays()["crow_indices"], self._device, pattern)

    def col_indices(self) -> Tensor:
        """CSR: the (nnz,) int64 column indices in storage order, read-only as
        :meth:`indices`. RuntimeError for a tensor that is not CSR.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 0, 2], [0, 2, 1]], np.ones(3), (3, 3))
        >>> a.to_sparse_csr().col_indices().tolist()
        [0, 2, 1]
        """
        pattern = sparse_pattern(self, "col_indices", Layout.sparse_csr)
        return _index_view(pattern.index_arrays()["col_indices"], self._device, pattern)

    def is_coalesced(self) -> bool:
        """COO: True when the indices are sorted row-major without duplicates (as
        :meth:`coalesce` leaves them). RuntimeError for a tensor that is not COO.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[1, 0], [0, 1]], np.array([3.0, 4.0]), (2, 2))
        >>> a.is_coalesced(), a.coalesce().is_coalesced()
        (False, True)
        """
        return sparse_pattern(self, "is_coalesced", Layout.sparse_coo).coalesced

    def _nnz(self) -> int:
        return sparse_pattern(self, "_nnz").nnz

    @property
    def nnz(self) -> int:
        """The number of stored entries of a sparse tensor (duplicates counted).
        RuntimeError for a dense tensor.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 0], [1, 1]], np.array([3.0, 4.0]), (2, 2))
        >>> a.nnz, a.coalesce().nnz
        (2, 1)
        """
        return sparse_pattern(self, "nnz").nnz

    # ---- host views ------------------------------------------------------------------
    def _dense_array(self, fn: str) -> Array:
        """The dense matrix as an array (sparse: duplicates summed); no graph."""
        if self._pattern is None:
            return self._array
        self._pattern.prove(fn, "self")
        return self._pattern.to_dense(self._array)

    def numpy(self) -> np.ndarray:
        """The dense contents as a NumPy array of the same shape and dtype: shares memory
        on the CPU, copies from a GPU. Outside the graph. RuntimeError for a sparse tensor
        (call ``to_dense()`` first) and for one that requires grad while grad mode is on
        (call ``detach()`` first).

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> x = gs.tensor([1.0, 2.0], device="cpu")
        >>> x.numpy().tolist(), np.shares_memory(x.numpy(), x.array)
        ([1.0, 2.0], True)
        """
        if self._pattern is not None:
            raise RuntimeError(f"numpy: expected a strided tensor, got {self.layout.value};"
                               " call to_dense() first")
        if self._requires_grad and engine.is_grad_enabled():
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return np.asarray(self.backend.to_numpy(self._array))

    def tolist(self) -> Any:
        """The dense contents as nested Python lists (a Python number for a 0-d tensor);
        a sparse tensor gives its dense matrix, duplicates summed. Outside the graph.

        Examples
        --------
        >>> import numpy as np, gpu_sparse as gs
        >>> a = gs.sparse_coo_tensor([[0, 0], [1, 1]], np.array([1.0, 2.0]), (1, 2))
        >>> gs.tensor([[1.0, 2.0]]).tolist(), a.tolist()
        ([[1.0, 2.0]], [[0.0, 3.0]])
        """
        return np.asarray(self.backend.to_numpy(self._dense_array("tolist"))).tolist()

    def item(self) -> Any:
        """The value of a one-element tensor (any shape; sparse: its dense element) as a
        Python number. Outside the graph. RuntimeError when ``numel() != 1``.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([[2.5]]).item(), gs.tensor([1.0, 2.0]).sum().item()
        (2.5, 3.0)
        """
        if self.numel() != 1:
            raise RuntimeError(f"item: expected a tensor with one element, got shape "
                               f"{self.shape}")
        dense = self._dense_array("item")
        return np.asarray(self.backend.to_numpy(dense)).reshape(-1)[0].item()

    def cpu(self) -> Tensor:
        """This tensor on the CPU (``to("cpu")``); ``self`` when it is there already.
        Differentiable: the gradient goes back to ``self``'s device.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> gs.tensor([1.0]).cpu().device
        'cpu'
        """
        return self.to("cpu")

    def cuda(self, device: Optional[int] = None) -> Tensor:
        """This tensor on the current CUDA device, or on ``cuda:device``
        (``to("cuda")``). Differentiable: the gradient goes back to ``self``'s device.
        RuntimeError when no CUDA GPU is usable or the device does not exist.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0, 2.0], device="cpu")
        >>> if "cuda" in gs.available_backends():
        ...     assert x.cuda().is_cuda and x.cuda().cpu().tolist() == [1.0, 2.0]
        """
        return self.to("cuda" if device is None else f"cuda:{device}")

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        """NumPy protocol (``np.asarray(t)``) for a dense CPU tensor: its memory, or a
        copy when ``dtype`` differs or ``copy=True``. A CUDA tensor raises TypeError
        (CuPy refuses implicit transfers too: use ``t.cpu().numpy()``); a sparse one or one
        that requires grad raises RuntimeError, as :meth:`numpy` does."""
        if self.is_cuda:
            raise TypeError("__array__: a CUDA tensor does not convert implicitly to a NumPy "
                            "array; use t.cpu().numpy()")
        arr = self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise ValueError(f"__array__: dtype {np.dtype(dtype)} needs a copy of this "
                                 f"{arr.dtype} tensor, but copy=False")
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        if self._pattern is not None:
            raise RuntimeError("__dlpack__: only strided tensors can be exported")
        return self._array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Any:
        if self._pattern is not None:
            raise RuntimeError("__dlpack_device__: only strided tensors can be exported")
        return self._array.__dlpack_device__()

    # ---- display ---------------------------------------------------------------------
    def __repr__(self) -> str:
        to_numpy = self.backend.to_numpy
        extra = self._autograd_repr()
        dev = "" if self._device == "cpu" else f", device='{self._device}'"
        if self._pattern is None:
            body = np.array2string(to_numpy(self._array), separator=", ", prefix="tensor(")
            size = f", size={self.shape}" if self.numel() == 0 else ""  # [] hides the shape
            return f"tensor({body}{size}, dtype={self.dtype}{dev}{extra})"
        parts = []
        arrays = {**self._pattern.index_arrays(), "values": self._array}
        for name, arr in arrays.items():
            # rows of a 2-D index array line up under the first (as NumPy prints them)
            text = np.array2string(to_numpy(arr), separator=", ", threshold=20,
                                   prefix=" " * len(f"tensor({name}="))
            parts.append(f"{name}={text}")
        body = ",\n       ".join(parts)
        return (f"tensor({body}, size={self.shape}, nnz={self._nnz()}, "
                f"layout={self.layout!r}, dtype={self.dtype}{dev}{extra})")

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    # Tensors are compared by identity (autograd keys nodes on them).
    __hash__ = object.__hash__

    # ---- operations bound by gpu_sparse.ops (differentiable; see each for its doc) ----
    # arithmetic (gpu_sparse.ops.arithmetic)
    conj: ClassVar[Callable[[Tensor], Tensor]]
    __add__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __radd__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __sub__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __rsub__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __mul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __rmul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __truediv__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __rtruediv__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __pow__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __rpow__: ClassVar[Callable[[Tensor, Any], Tensor]]
    div: ClassVar[Callable[[Tensor, Any], Tensor]]
    pow: ClassVar[Callable[[Tensor, Any], Tensor]]
    # unary (gpu_sparse.ops.unary)
    relu: ClassVar[Callable[[Tensor], Tensor]]
    exp: ClassVar[Callable[[Tensor], Tensor]]
    log: ClassVar[Callable[[Tensor], Tensor]]
    __neg__: ClassVar[Callable[[Tensor], Tensor]]
    __abs__: ClassVar[Callable[[Tensor], Tensor]]
    neg: ClassVar[Callable[[Tensor], Tensor]]
    abs: ClassVar[Callable[[Tensor], Tensor]]
    sqrt: ClassVar[Callable[[Tensor], Tensor]]
    sigmoid: ClassVar[Callable[[Tensor], Tensor]]
    tanh: ClassVar[Callable[[Tensor], Tensor]]
    # comparisons (gpu_sparse.ops.comparisons)
    __eq__: ClassVar[Callable[[Tensor, Any], Any]]
    __ne__: ClassVar[Callable[[Tensor, Any], Any]]
    __lt__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __le__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __gt__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __ge__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __invert__: ClassVar[Callable[[Tensor], Tensor]]
    __and__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __or__: ClassVar[Callable[[Tensor, Any], Tensor]]
    clamp: ClassVar[Callable[..., Tensor]]
    # inplace (gpu_sparse.ops.inplace)
    add_: ClassVar[Callable[[Tensor, Any], Tensor]]
    sub_: ClassVar[Callable[[Tensor, Any], Tensor]]
    mul_: ClassVar[Callable[[Tensor, Any], Tensor]]
    copy_: ClassVar[Callable[[Tensor, Any], Tensor]]
    zero_: ClassVar[Callable[[Tensor], Tensor]]
    # products (gpu_sparse.ops.products)
    __matmul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __rmatmul__: ClassVar[Callable[[Tensor, Any], Tensor]]
    # structure (gpu_sparse.ops.structure)
    values: ClassVar[Callable[[Tensor], Tensor]]
    coalesce: ClassVar[Callable[[Tensor], Tensor]]
    to_dense: ClassVar[Callable[[Tensor], Tensor]]
    to_sparse: ClassVar[Callable[[Tensor], Tensor]]
    to_sparse_coo: ClassVar[Callable[[Tensor], Tensor]]
    to_sparse_csr: ClassVar[Callable[[Tensor], Tensor]]
    to_scipy: ClassVar[Callable[[Tensor], Any]]
    t: ClassVar[Callable[[Tensor], Tensor]]
    T: ClassVar[Any]  # a property: the transpose
    # reductions (gpu_sparse.ops.reductions)
    sum: ClassVar[Callable[..., Tensor]]
    mean: ClassVar[Callable[..., Tensor]]
    max: ClassVar[Callable[..., Any]]
    min: ClassVar[Callable[..., Any]]
    amax: ClassVar[Callable[..., Tensor]]
    all: ClassVar[Callable[..., Tensor]]
    any: ClassVar[Callable[..., Tensor]]
    argmax: ClassVar[Callable[..., Tensor]]
    argmin: ClassVar[Callable[..., Tensor]]
    amin: ClassVar[Callable[..., Tensor]]
    softmax: ClassVar[Callable[[Tensor, int], Tensor]]
    log_softmax: ClassVar[Callable[[Tensor, int], Tensor]]
    # shape (gpu_sparse.ops.shape)
    to: ClassVar[Callable[..., Tensor]]
    __getitem__: ClassVar[Callable[[Tensor, Any], Tensor]]
    __setitem__: ClassVar[Callable[[Tensor, Any, Any], None]]
    __iter__: ClassVar[Callable[[Tensor], Any]]
    reshape: ClassVar[Callable[..., Tensor]]
    flatten: ClassVar[Callable[..., Tensor]]
    unsqueeze: ClassVar[Callable[[Tensor, int], Tensor]]
    squeeze: ClassVar[Callable[..., Tensor]]
    permute: ClassVar[Callable[..., Tensor]]
    transpose: ClassVar[Callable[[Tensor, int, int], Tensor]]
    clone: ClassVar[Callable[[Tensor], Tensor]]
    float: ClassVar[Callable[[Tensor], Tensor]]
    double: ClassVar[Callable[[Tensor], Tensor]]
    half: ClassVar[Callable[[Tensor], Tensor]]


def _index_view(arr: Array, device: str, pattern: Pattern) -> Tensor:
    """A pattern's index array as a tensor no in-place method may change (and, on the
    CPU, a read-only NumPy view): a pattern's indices never change under its cached CSR
    forms. The view remembers its pattern (:func:`index_source`)."""
    if isinstance(arr, np.ndarray):
        arr = arr.view()
        arr.flags.writeable = False
    view = Tensor(arr, device, version=engine.VersionCounter(read_only=True))
    view._index_of = pattern
    return view


def index_source(t: Any) -> Optional[Pattern]:
    """The pattern whose index array ``t`` views (``indices()`` and the CSR accessors),
    or None for any other object."""
    return t._index_of if isinstance(t, Tensor) else None


def sparse_pattern(t: Tensor, fn: str, layout: Optional[Layout] = None) -> Pattern:
    """``t``'s pattern, checked to be of ``layout`` (any sparse one if None); RuntimeError
    naming ``fn`` otherwise."""
    pattern = t.pattern
    if pattern is None or (layout is not None and pattern.layout is not layout):
        want = "sparse" if layout is None else layout.value
        raise RuntimeError(f"{fn}: expected a {want} tensor, got layout {t.layout.value}")
    return pattern


def to_layout_of(t: Tensor, g: Tensor) -> Tensor:
    """``g`` in ``t``'s layout; for a sparse ``t`` on ``t``'s own pattern (the own-indices
    rule: entries of ``g`` outside the pattern are dropped, and each stored entry of ``t``,
    duplicates included, gets ``g`` at its position)."""
    own = t.pattern
    if own is None:
        if g.pattern is None:
            return g
        return Tensor(g.pattern.to_dense(g.array), g.device)
    if g.pattern is not None and own.same_entries(g.pattern):
        return t.with_array(g.array)
    if g.pattern is None:
        return t.with_array(own.gather(g.array))
    return t.with_array(own.gather_sparse(g.pattern, g.array))


def as_gradient(fn: str, t: Tensor, g: Any) -> Tensor:
    """The upstream gradient for output ``t``: ``g`` checked (device, shape, dtype) and
    detached, or ones for a one-element ``t`` when ``g`` is None."""
    if g is None:
        if t.numel() != 1:
            raise RuntimeError(f"{fn}: grad can be implicitly created only for one-element "
                               f"outputs; got an output of shape {t.shape}, pass `gradient`")
        return t.with_array(t.backend.xp.zeros(t.array.shape, dtype=t.dtype) + 1)
    if not isinstance(g, Tensor):
        g = Tensor(t.backend.asarray(g), t.device)
    if g.pattern is not None:
        g.pattern.prove(fn, "gradient")
    if g.device != t.device:
        raise RuntimeError(f"{fn}: gradient is on {g.device} but the output is on {t.device}")
    if tuple(g.shape) != tuple(t.shape):
        raise ValueError(f"{fn}: gradient has shape {g.shape} but the output has shape "
                         f"{t.shape}")
    if g.dtype != t.dtype:
        raise TypeError(f"{fn}: gradient has dtype {g.dtype} but the output has dtype "
                        f"{t.dtype}")
    return g.detach()


__all__: List[str] = ["Tensor", "Layout", "strided", "sparse_coo", "sparse_csr",
                      "is_inexact", "as_gradient", "sparse_pattern", "to_layout_of"]
