"""The Tensor: a thin shell around backend arrays plus layout metadata and autograd state.

A dense tensor holds one array (``_data``). A COO tensor holds ``_indices`` (2, nnz) int64
and ``_values`` (nnz,); a CSR tensor ``_crow`` (m + 1,), ``_col`` (nnz,) int64 and
``_values``. Sparse tensors keep a flag saying whether they are coalesced and cache the
CSR form of their pattern and of its transpose (``_patterns``), so a matrix used in many
steps is converted once. The caches hold index arrays only, never values: values may be
updated in place by an optimizer between steps.
"""

from __future__ import annotations

import enum
from typing import Any, Optional, Tuple

import numpy as np

from . import autograd


def is_inexact(dtype) -> bool:
    """Floating point or complex (bfloat16 from ml_dtypes included)."""
    dt = np.dtype(dtype)
    return dt.kind in "fc" or dt.name == "bfloat16"


class Layout(enum.Enum):
    """Memory layout of a tensor."""

    strided = "strided"
    sparse_coo = "sparse_coo"
    sparse_csr = "sparse_csr"

    def __repr__(self) -> str:
        return f"gpu_sparse.{self.value}"


strided = Layout.strided
sparse_coo = Layout.sparse_coo
sparse_csr = Layout.sparse_csr


class Tensor:
    """A dense (strided) or sparse (COO, CSR) matrix with autograd support.

    Create tensors with :func:`gpu_sparse.tensor`, :func:`gpu_sparse.sparse_coo_tensor`,
    :func:`gpu_sparse.sparse_csr_tensor`, :func:`gpu_sparse.from_scipy` and friends rather
    than calling this class.
    """

    __array_priority__ = 1000  # ndarray + Tensor -> Tensor.__radd__

    def __init__(self, *, layout: Layout, shape: Tuple[int, ...], dtype: Any, device: str,
                 data=None, indices=None, crow=None, col=None, values=None,
                 coalesced: bool = False):
        self._layout = layout
        self._shape = tuple(int(s) for s in shape)
        self._dtype = np.dtype(dtype)
        self._device = device
        self._data = data
        self._indices = indices
        self._crow = crow
        self._col = col
        self._values = values
        self._coalesced = bool(coalesced)
        self._patterns: dict = {}
        self._requires_grad = False
        self._grad: Optional[Tensor] = None
        self._grad_fn = None

    # ---- metadata ------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def shape(self) -> Tuple[int, ...]:
        return self._shape

    def size(self, dim: Optional[int] = None):
        """The shape, or one of its entries (PyTorch's ``size``)."""
        return self._shape if dim is None else self._shape[dim]

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def device(self) -> str:
        return self._device

    @property
    def is_sparse(self) -> bool:
        return self._layout is Layout.sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        return self._layout is Layout.sparse_csr

    @property
    def is_cuda(self) -> bool:
        return self._device.startswith("cuda")

    # ---- autograd state ------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Set ``requires_grad`` on a leaf; returns self."""
        flag = bool(flag)
        if self._grad_fn is not None and not flag:
            raise RuntimeError("requires_grad_: you can only change requires_grad of leaf "
                               "tensors; use detach() on a result of an operation")
        if flag and not is_inexact(self._dtype):
            raise RuntimeError(f"requires_grad_: only floating point and complex tensors "
                               f"can require gradients, got dtype {self._dtype}")
        self._requires_grad = flag
        return self

    @property
    def grad(self) -> Optional["Tensor"]:
        return self._grad

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
        self._grad = value

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into ``.grad`` of the leaves.

        ``gradient`` (same shape and dtype) may be omitted only for a one-element tensor.
        """
        autograd.backward(self, gradient, retain_graph=retain_graph)

    def _accumulate_grad(self, g: "Tensor", shared: bool) -> None:
        """Add ``g`` into ``.grad``. Later backward calls add into the same buffer in
        place, so a gradient whose array may also be someone else's (``shared``: the
        user's ``gradient``, a pass-through of ``+`` reaching two leaves) is copied."""
        from . import _impl
        if not self._requires_grad:
            return
        if self._grad is None:
            self._grad = _impl.clone(g) if shared else g
        else:
            _impl.add_into_grad(self._grad, g)

    def detach(self) -> "Tensor":
        """A tensor sharing this one's arrays, outside the graph."""
        t = Tensor(layout=self._layout, shape=self._shape, dtype=self._dtype,
                   device=self._device, data=self._data, indices=self._indices,
                   crow=self._crow, col=self._col, values=self._values,
                   coalesced=self._coalesced)
        t._patterns = self._patterns
        return t

    # ---- sparse accessors ----------------------------------------------------------
    def _need(self, layout: Layout, fn: str) -> None:
        if self._layout is not layout:
            raise RuntimeError(f"{fn}: expected a {layout.value} tensor, "
                               f"got layout {self._layout.value}")

    def indices(self) -> "Tensor":
        """COO: the (2, nnz) int64 index tensor, duplicates and order as stored."""
        self._need(Layout.sparse_coo, "indices")
        return _wrap_index(self._indices, self._device)

    def crow_indices(self) -> "Tensor":
        """CSR: the (m + 1,) int64 row pointer."""
        self._need(Layout.sparse_csr, "crow_indices")
        return _wrap_index(self._crow, self._device)

    def col_indices(self) -> "Tensor":
        """CSR: the (nnz,) int64 column indices."""
        self._need(Layout.sparse_csr, "col_indices")
        return _wrap_index(self._col, self._device)

    def values(self) -> "Tensor":
        """Sparse: the (nnz,) stored values as a tensor sharing memory with this one.

        Works on uncoalesced COO tensors too (duplicates as stored). Differentiable: its
        gradient flows back as a sparse gradient on this tensor's pattern.
        """
        if self._layout is Layout.strided:
            raise RuntimeError("values: expected a sparse tensor, got layout strided")
        from . import ops
        return ops.values(self)

    def is_coalesced(self) -> bool:
        """COO: True when indices are sorted row-major without duplicates."""
        self._need(Layout.sparse_coo, "is_coalesced")
        return self._coalesced

    def coalesce(self) -> "Tensor":
        """COO: sum duplicates and sort row-major (explicit zeros kept). Differentiable."""
        self._need(Layout.sparse_coo, "coalesce")
        from . import ops
        return ops.coalesce(self)

    def _nnz(self) -> int:
        if self._layout is Layout.strided:
            raise RuntimeError("_nnz: expected a sparse tensor, got layout strided")
        return int(self._values.shape[0])

    @property
    def nnz(self) -> int:
        """Number of stored entries (duplicates counted)."""
        return self._nnz()

    # ---- conversions ---------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """Dense contents as a NumPy array (shares memory on the CPU; copies from a GPU)."""
        if self._layout is not Layout.strided:
            raise RuntimeError(f"numpy: expected a strided tensor, got {self._layout.value};"
                               " call to_dense() first")
        if self._requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        from ._device import get_backend
        return get_backend(self._device).to_numpy(self._data)

    def tolist(self):
        return self.detach().to_dense().numpy().tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:
            raise RuntimeError(f"item: expected a tensor with one element, got shape "
                               f"{self._shape}")
        return self.detach().to_dense().numpy().reshape(-1)[0].item()

    def to(self, device) -> "Tensor":
        """This tensor on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``). Differentiable."""
        from . import ops
        return ops.to_device(self, device)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device: Optional[int] = None) -> "Tensor":
        return self.to("cuda" if device is None else f"cuda:{device}")

    def to_dense(self) -> "Tensor":
        """Dense copy (duplicates summed). Differentiable."""
        from . import ops
        return ops.to_dense(self)

    def to_sparse(self) -> "Tensor":
        """COO copy (from dense: the nonzeros; from CSR: same entries). Differentiable."""
        from . import ops
        return ops.to_sparse_coo(self)

    to_sparse_coo = to_sparse

    def to_sparse_csr(self) -> "Tensor":
        """CSR copy (from COO: coalesced first). Differentiable."""
        from . import ops
        return ops.to_sparse_csr(self)

    def to_scipy(self):
        """The matrix as ``scipy.sparse`` (CPU) or ``cupyx.scipy.sparse`` (CUDA).

        COO gives ``coo_matrix``, CSR ``csr_matrix``; dense tensors are refused.
        """
        from . import _impl
        return _impl.to_scipy(self)

    def __dlpack__(self, *args, **kwargs):
        if self._layout is not Layout.strided:
            raise RuntimeError("__dlpack__: only strided tensors can be exported")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        if self._layout is not Layout.strided:
            raise RuntimeError("__dlpack_device__: only strided tensors can be exported")
        return self._data.__dlpack_device__()

    # ---- arithmetic ----------------------------------------------------------------
    def __add__(self, other):
        from . import ops
        return ops.add(self, other)

    def __radd__(self, other):
        from . import ops
        return ops.add(other, self)

    def __sub__(self, other):
        from . import ops
        return ops.sub(self, other)

    def __rsub__(self, other):
        from . import ops
        return ops.sub(other, self)

    def __mul__(self, other):
        from . import ops
        return ops.mul(self, other)

    def __rmul__(self, other):
        from . import ops
        return ops.mul(other, self)

    def __neg__(self):
        from . import ops
        return ops.mul(self, -1)

    def __truediv__(self, other):
        from . import ops
        if isinstance(other, Tensor):
            raise TypeError("__truediv__: only division by a scalar is supported")
        return ops.mul(self, 1 / other)

    def __matmul__(self, other):
        from . import ops
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        from . import ops
        return ops.matmul(other, self)

    def sum(self) -> "Tensor":
        """Sum of all elements (sparse: of the stored values) as a 0-d tensor."""
        from . import ops
        return ops.sum(self)

    def conj(self) -> "Tensor":
        from . import ops
        return ops.conj(self)

    # in-place updates for optimizer steps, e.g. ``w.values().sub_(lr * w.grad.values())``
    def _inplace(self, fn: str, other, op) -> "Tensor":
        from . import _impl
        if self._requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"{fn}: a tensor that requires grad is used in an in-place "
                               "operation; wrap the update in gpu_sparse.no_grad()")
        return _impl.inplace(self, fn, other, op)

    def add_(self, other) -> "Tensor":
        return self._inplace("add_", other, "add")

    def sub_(self, other) -> "Tensor":
        return self._inplace("sub_", other, "sub")

    def mul_(self, other) -> "Tensor":
        return self._inplace("mul_", other, "mul")

    def copy_(self, other) -> "Tensor":
        return self._inplace("copy_", other, "copy")

    def zero_(self) -> "Tensor":
        return self._inplace("zero_", 0, "copy")

    # ---- display -------------------------------------------------------------------
    def __repr__(self) -> str:
        from ._device import get_backend
        be = get_backend(self._device)
        extra = ""
        if self._requires_grad:
            extra = (f", grad_fn={self._grad_fn!r}" if self._grad_fn is not None
                     else ", requires_grad=True")
        dev = "" if self._device == "cpu" else f", device='{self._device}'"
        if self._layout is Layout.strided:
            body = np.array2string(be.to_numpy(self._data), separator=", ", prefix="tensor(")
            return f"tensor({body}, dtype={self._dtype}{dev}{extra})"
        vals = np.array2string(be.to_numpy(self._values), separator=", ", threshold=20)
        if self._layout is Layout.sparse_coo:
            idx = np.array2string(be.to_numpy(self._indices), separator=", ", threshold=20)
            parts = f"indices={idx},\n       values={vals}"
        else:
            crow = np.array2string(be.to_numpy(self._crow), separator=", ", threshold=20)
            col = np.array2string(be.to_numpy(self._col), separator=", ", threshold=20)
            parts = f"crow_indices={crow},\n       col_indices={col},\n       values={vals}"
        return (f"tensor({parts}, size={self._shape}, nnz={self._nnz()}, "
                f"layout={self._layout!r}, dtype={self._dtype}{dev}{extra})")

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    # Tensors are compared by identity (autograd keys nodes on them).
    __hash__ = object.__hash__


def _wrap_index(arr, device: str) -> Tensor:
    return Tensor(layout=Layout.strided, shape=arr.shape, dtype=arr.dtype, device=device,
                  data=arr)
