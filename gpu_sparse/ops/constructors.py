"""Constructors from data: ``tensor`` (dense), ``sparse_coo_tensor`` and
``sparse_csr_tensor`` (checked by their format modules), ``from_scipy`` and
``from_dlpack``."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from ..backend import Array, canonical_device, device_of_array, get_backend
from ..core import validate
from ..core.tensor import Tensor, index_source, is_numeric
from ..formats import COOPattern, CSRPattern, Layout, Pattern, coo, csr
from .derivatives import ConstructorCtx, record
from .structure import to_dense

def _infer_dtype(data: Any, dtype: Any):
    if dtype is not None:
        return dtype  # already checked by validate.dtype_arg
    if hasattr(data, "dtype"):
        return None  # keep the array's own dtype
    # Python scalars / nested lists follow PyTorch: float -> float32, complex -> complex64
    arr = np.asarray(data)
    if arr.dtype == np.float64:
        return np.dtype(np.float32)
    if arr.dtype == np.complex128:
        return np.dtype(np.complex64)
    return None


def _to_backend_array(fn: str, name: str, data: Any, dtype: Any, device: Optional[str]
                      ) -> Tuple[str, Array]:
    """(device, array) for the argument ``name`` = ``data`` moved to ``device`` (default:
    where data lives); TypeError naming ``fn`` and ``name`` unless it is numeric."""
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"{fn}: {name} must be numeric data (a number, a nested list or "
                        f"an array), got {type(data).__name__}")
    dtype = validate.dtype_arg(fn, dtype)
    _cast(fn, name, data.array if isinstance(data, Tensor) else data, dtype)
    if isinstance(data, Tensor):  # a Tensor keeps its device unless device= says otherwise
        src: Optional[str] = data.device
        data = to_dense(data.detach()).array
    else:
        src = device_of_array(data)
    dev = canonical_device(device if device is not None else src, fn)
    try:
        arr = get_backend(dev).asarray(data, dtype=_infer_dtype(data, dtype))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{fn}: cannot convert {name} of type {type(data).__name__} to "
                        f"an array: {e}") from None
    if not is_numeric(arr.dtype):
        raise TypeError(f"{fn}: {name} must be numeric (bool, integer, floating point or "
                        f"complex), got dtype {arr.dtype}")
    return dev, arr


def _cast(fn: str, name: str, data: Any, dtype: Any) -> None:
    """TypeError for a cast that would drop imaginary parts (NumPy only warns)."""
    if dtype is None:
        return
    src = getattr(data, "dtype", None)
    if src is None and not isinstance(data, Tensor):
        src = np.asarray(data).dtype
    if src is not None and np.dtype(src).kind == "c" and np.dtype(dtype).kind != "c":
        raise TypeError(f"{fn}: {name} is complex ({src}) but dtype {np.dtype(dtype)} is "
                        f"real; the imaginary parts would be dropped")


def tensor(data: Any, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A dense tensor holding a copy of ``data``.

    Parameters
    ----------
    data : scalar, nested list, numpy/cupy array, or object with ``__dlpack__``
        Python floats become float32 and complex numbers complex64 (as in PyTorch);
        arrays keep their dtype.
    dtype : numpy dtype, optional
    device : "cpu", "cuda", "cuda:N", optional
        Default: where ``data`` lives if it is a device array, else the default device.
    requires_grad : bool

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> t = gs.tensor([[1.0, 2.0], [3.0, 4.0]], device="cpu")
    >>> t.shape, t.dtype
    ((2, 2), dtype('float32'))
    """
    dev, arr = _to_backend_array("tensor", "data", data, dtype, device)
    t = Tensor(get_backend(dev).asarray(arr, copy=True), dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _track_values(fn: str, t: Tensor, values: Any, requires_grad: bool) -> Tensor:
    """Record the constructor in the graph when ``values`` is a tensor that requires grad
    (the constructed tensor is then a result, not a leaf), else honour
    ``requires_grad``."""
    if isinstance(values, Tensor):
        record(fn, t, [("values", values)], ConstructorCtx(values))
    if requires_grad and t.grad_fn is None:
        t.requires_grad_(True)
    return t


def _values_array(fn: str, values: Any, dtype: Any, device: Optional[str]
                  ) -> Tuple[str, Array]:
    dev, vals = _to_backend_array(fn, "values", values, dtype, device)
    if vals.ndim != 1:
        raise ValueError(f"{fn}: values must be 1-D (nnz,) (no dense dimensions), got "
                         f"shape {tuple(vals.shape)}")
    return dev, vals


def _index_array(fn: str, name: str, idx: Any, dev: str) -> Array:
    be = get_backend(dev)
    if isinstance(idx, Tensor):
        if idx.pattern is not None:
            raise TypeError(f"{fn}: {name} must be a dense integer tensor or array, got a "
                            f"{idx.layout.value} tensor")
        idx = idx.array
    if idx is None or isinstance(idx, (str, bytes)):
        raise TypeError(f"{fn}: {name} must be an integer array, got {type(idx).__name__}")
    src = device_of_array(idx)
    if src is not None and dev == "cpu":
        raise RuntimeError(f"{fn}: {name} is on {src} but values are on cpu")
    arr = be.asarray(idx)
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)  # [] parses as float64
    validate.index_array(fn, name, arr)
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        # the int64 cast would wrap it to a negative index: say what was given
        raise ValueError(f"{fn}: {name} has index {int(arr.max())}, beyond the int64 range "
                         f"of indices (at most {np.iinfo(np.int64).max})")
    return arr


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: Any = None,
                      device: Any = None, requires_grad: bool = False,
                      check_invariants: bool = True, is_coalesced: bool = False) -> Tensor:
    """A sparse COO matrix from ``indices`` (2, nnz) and ``values`` (nnz,).

    Duplicates are allowed (the tensor is then uncoalesced; products sum them). ``size``
    is inferred from the largest index + 1 when omitted. The tensor keeps its own copy of
    the arrays (gpu_sparse Tensors included), in the given order.

    Parameters
    ----------
    indices : array-like of int, shape (2, nnz)
    values : array-like, shape (nnz,)
        A Tensor that requires grad keeps the graph: the result is not a leaf, and the
        gradient of ``values`` is the sparse gradient's values in this entry order.
    size : (m, n), optional
    dtype, device, requires_grad : as for :func:`tensor`
    check_invariants : bool
        Check index ranges and the claimed order (O(nnz)). False skips them here for
        trusted input; the pattern then proves its bounds once, at its first use by an
        op (ValueError naming the op), so bad indices never reach a kernel.
    is_coalesced : bool
        Declare the indices sorted row-major without duplicates (checked as above).

    Raises
    ------
    TypeError for non-numeric values or non-integer indices; ValueError for shapes,
    lengths and (when checked) indices that do not fit ``size``; RuntimeError for arrays
    on different devices.

    Gradients: ``values`` (when a Tensor that requires grad); indices never.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1, 1], [2, 0, 0]], [1.0, 2.0, 3.0], (2, 3))
    >>> a.to_dense().numpy().tolist()
    [[0.0, 0.0, 1.0], [5.0, 0.0, 0.0]]
    """
    fn = "sparse_coo_tensor"
    dev, vals = _values_array(fn, values, dtype, device)
    shared = _shared_pattern(indices, None, dev, size, is_coalesced, vals.shape)
    if shared is not None:  # another tensor's indices(): its immutable pattern as it is
        return _track_values(fn, Tensor(vals.copy(order="C"), dev, shared), values,
                             requires_grad)
    idx = _index_array(fn, "indices", indices, dev)
    if idx.ndim == 1 and idx.shape[0] == 0:
        idx = idx.reshape(2, 0)
    coo.check_structure(fn, idx, vals.shape[0])
    # the tensor's own int64 C-ordered copy, made once: a constructed tensor never changes
    # when its inputs do (and indices checked here cannot be edited behind the pattern)
    idx = idx.astype(np.int64, order="C", copy=True)
    if size is None:
        if idx.shape[1] == 0:
            size = (0, 0)
        else:
            if int(idx.min()) < 0:
                raise ValueError(f"{fn}: indices has a negative index ({int(idx.min())})")
            size = (int(idx[0].max()) + 1, int(idx[1].max()) + 1)
    shape = validate.size_arg(fn, size)
    if check_invariants:
        coo.check_invariants(fn, idx, shape, is_coalesced)
    vals = vals.copy(order="C")
    t = Tensor(vals, dev, COOPattern(idx, shape, dev, coalesced=is_coalesced,
                                     proven=check_invariants))
    return _track_values(fn, t, values, requires_grad)


def sparse_csr_tensor(crow_indices: Any, col_indices: Any, values: Any, size: Any = None,
                      *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
                      check_invariants: bool = True) -> Tensor:
    """A sparse CSR matrix from a row pointer, column indices and values.

    Columns inside a row may be unsorted; repeated (row, column) entries are summed by
    the products, as in SciPy. ``size`` defaults to ``(len(crow) - 1, max(col) + 1)``.
    Copies, gradients and checks as for :func:`sparse_coo_tensor`: the O(1) structure
    (lengths, ``crow[0] == 0``, ``crow[-1] == nnz``) is always checked, the O(nnz) scans
    (``crow`` non-decreasing, columns in range) unless ``check_invariants=False``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> a = gs.sparse_csr_tensor([0, 1, 3], [2, 0, 1], [1.0, 2.0, 3.0], (2, 3))
    >>> a.to_dense().numpy().tolist()
    [[0.0, 0.0, 1.0], [2.0, 3.0, 0.0]]
    """
    fn = "sparse_csr_tensor"
    dev, vals = _values_array(fn, values, dtype, device)
    shared = _shared_pattern(crow_indices, col_indices, dev, size, False, vals.shape)
    if shared is not None:  # another tensor's crow_indices() and col_indices()
        return _track_values(fn, Tensor(vals.copy(order="C"), dev, shared), values,
                             requires_grad)
    crow = _index_array(fn, "crow_indices", crow_indices, dev)
    col = _index_array(fn, "col_indices", col_indices, dev)
    csr.check_arrays(fn, crow, col, vals.shape[0])  # before a size is inferred from them
    # own copies made once, as in sparse_coo_tensor
    crow = crow.astype(np.int64, order="C", copy=True)
    col = col.astype(np.int64, order="C", copy=True)
    if size is None:
        n = int(col.max()) + 1 if col.shape[0] else 0
        size = (crow.shape[0] - 1, max(n, 0))
    shape = validate.size_arg(fn, size)
    csr.check_structure(fn, crow, col, vals.shape[0], shape)
    if check_invariants:
        csr.check_invariants(fn, crow, col, shape)
    vals = vals.copy(order="C")
    t = Tensor(vals, dev, CSRPattern(crow, col, shape, dev, proven=check_invariants))
    return _track_values(fn, t, values, requires_grad)


def _shared_pattern(first: Any, second: Any, dev: str, size: Any, claims_coalesced: bool,
                    values_shape: Tuple[int, ...]) -> Optional[Pattern]:
    """The pattern behind index views of one existing tensor (``indices()``, or
    ``crow_indices()`` with ``col_indices()``), when a new tensor may share it: same
    device, same size (or none given), as many values as entries, and no claim of
    coalesced order the pattern does not already make. None otherwise (the indices are
    then copied and checked as usual)."""
    pattern = index_source(first)
    if pattern is None or pattern.device != dev or tuple(values_shape) != (pattern.nnz,):
        return None
    if second is not None and (index_source(second) is not pattern
                               or pattern.layout is not Layout.sparse_csr):
        return None
    if second is None and pattern.layout is not Layout.sparse_coo:
        return None
    if size is not None and (not isinstance(size, (tuple, list))
                             or tuple(size) != tuple(pattern.shape)):
        return None
    if claims_coalesced and not pattern.coalesced:
        return None
    pattern.prove("sparse_coo_tensor" if second is None else "sparse_csr_tensor", "indices")
    return pattern


def from_scipy(m: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """A COO or CSR tensor from a ``scipy.sparse`` or ``cupyx.scipy.sparse`` matrix.

    CSR input gives CSR, everything else COO (via ``tocoo()``). ``device`` as for
    :func:`tensor`: by default a cupyx matrix stays on its GPU and a SciPy matrix (host
    data, as a NumPy array) goes to the default device. The arrays are copied; ``dtype``
    casts the values (an integer adjacency matrix from networkx, say, to float32).

    Examples
    --------
    >>> import scipy.sparse as sp, gpu_sparse as gs
    >>> t = gs.from_scipy(sp.random(4, 5, density=0.5, format="csr", random_state=0),
    ...                   device="cpu")
    >>> t.layout, t.device
    (gpu_sparse.sparse_csr, 'cpu')
    """
    mod = type(m).__module__
    if not mod.startswith(("scipy.sparse", "cupyx.scipy.sparse")):
        raise TypeError(f"from_scipy: m must be a scipy.sparse or cupyx.scipy.sparse "
                        f"matrix, got {type(m).__name__}")
    if device is None:
        device = f"cuda:{m.data.device.id}" if mod.startswith("cupyx") else None
    device = canonical_device(device, "from_scipy")
    if device == "cpu" and mod.startswith("cupyx"):
        m = m.get()  # to SciPy: one copy to the host
    fmt = m.format
    if fmt == "csr":
        return sparse_csr_tensor(m.indptr, m.indices, m.data, m.shape, device=device,
                                 dtype=dtype, requires_grad=requires_grad)
    c = m.tocoo()
    xp = get_backend(device_of_array(c.row) or "cpu").xp  # where the matrix lives
    idx = xp.stack([c.row.astype(np.int64), c.col.astype(np.int64)])
    return sparse_coo_tensor(idx, c.data, c.shape, device=device, dtype=dtype,
                             requires_grad=requires_grad)


def from_dlpack(obj: Any) -> Tensor:
    """A dense tensor sharing memory with a DLPack producer (NumPy, CuPy, PyTorch ...).

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> t = gs.from_dlpack(a)
    >>> np.shares_memory(t.numpy(), a)
    True
    """
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: obj must implement __dlpack__, got "
                        f"{type(obj).__name__}")
    dev = canonical_device(device_of_array(obj) or "cpu", "from_dlpack")
    arr = get_backend(dev).asarray(obj)
    if not is_numeric(arr.dtype):
        raise TypeError(f"from_dlpack: obj must hold numbers, got dtype {arr.dtype}")
    return Tensor(arr, dev)
