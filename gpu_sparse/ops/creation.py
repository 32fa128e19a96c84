"""Constructors: dense tensors, COO and CSR tensors, SciPy and DLPack interop."""

from __future__ import annotations

import numbers
import os
from typing import Any, Optional, Tuple

import numpy as np

from ..backend import Array, canonical_device, device_of_array, get_backend
from ..core import validate
from ..core.tensor import Tensor, index_source, is_numeric
from ..formats import COOPattern, CSRPattern, Layout, Pattern, coo, csr
from .derivatives import ConstructorCtx, record
from .structure import to_dense

# SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
# OOPSLA 2014; the constants of Vigna's splitmix64.c): the k-th output of a stream is a
# mix of state + k * GAMMA, so any stretch of it can be computed at once, on any device.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_MASK = 0xFFFFFFFFFFFFFFFF


def _mix(z: Any) -> Any:
    """SplitMix64's output function on uint64 values (arrays or NumPy scalars), wrapping
    modulo 2**64 as intended (NumPy warns about that for scalars)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


def _mix_(z: Array) -> Array:
    """:func:`_mix` in place on a uint64 array (no temporaries but the shifts)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


class Generator:
    """A seeded source of random numbers for :func:`randn`, :func:`rand`,
    ``nn.functional.dropout`` and ``nn.init`` (their ``generator=`` argument), as
    ``torch.Generator``: ``Generator().manual_seed(0)``.

    A counter-based stream (SplitMix64): numbers are drawn where the tensor lives, with
    no host copy, and one seed gives the same uniform numbers (and dropout masks) bit for
    bit on every device; normal samples (Box-Muller) agree across devices to the
    rounding of ``log`` and ``cos``. The functions also take a NumPy
    ``np.random.Generator``, which draws on the host (then copies to the device).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> g = gs.Generator().manual_seed(0)
    >>> a = gs.rand(2, generator=g)
    >>> b = gs.rand(2, generator=gs.Generator().manual_seed(0))
    >>> a.tolist() == b.tolist()
    True
    """

    def __init__(self, device: Any = "cpu"):
        self.device = device
        self._start = _mix(np.uint64(int.from_bytes(os.urandom(8), "little")))
        self._offset = 0

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
        self._start = _mix(np.uint64(int(seed) & _MASK))
        self._offset = 0
        return self

    def bits(self, n: int, xp: Any) -> Array:
        """The next ``n`` 64-bit outputs of the stream as a uint64 array of ``xp``."""
        z = xp.arange(self._offset, self._offset + n, dtype=np.uint64)
        self._offset += n
        z *= _GAMMA
        z += self._start
        return _mix_(z)

    def random(self, shape: Tuple[int, ...], xp: Any, dtype: Any = np.float64) -> Array:
        """Uniform samples on [0, 1): the top 53 bits of one output (float64), or two
        float32 samples of 24 bits from each output (its top and its middle bits)."""
        n = int(np.prod(shape, dtype=np.int64))
        if np.dtype(dtype) == np.float32:
            z = self.bits((n + 1) // 2, xp)
            hi = (z >> np.uint64(40)).astype(np.float32)
            z >>= np.uint64(16)
            z &= np.uint64(0xFFFFFF)
            u = xp.stack([hi, z.astype(np.float32)], axis=1).reshape(-1)[:n]
            u *= np.float32(2.0 ** -24)
        else:
            z = self.bits(n, xp)
            z >>= np.uint64(11)
            u = z.astype(np.float64) * (2.0 ** -53)
        return u.reshape(shape)

    def standard_normal(self, shape: Tuple[int, ...], xp: Any) -> Array:
        """Standard normal float64 samples (Box-Muller: two uniforms each)."""
        n = int(np.prod(shape, dtype=np.int64))
        u = self.random((2, n), xp)
        r = xp.sqrt(-2.0 * xp.log(1.0 - u[0]))  # 1 - u in (0, 1]: log is finite
        return (r * xp.cos(2.0 * np.pi * u[1])).reshape(shape)


class _HostDraws:
    """A NumPy ``np.random.Generator`` as a source: drawn on the host, copied over."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def random(self, shape: Tuple[int, ...], xp: Any, dtype: Any = np.float64) -> Array:
        return xp.asarray(self.rng.random(shape))

    def standard_normal(self, shape: Tuple[int, ...], xp: Any) -> Array:
        return xp.asarray(self.rng.standard_normal(shape))


_default = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used by :func:`randn`, :func:`rand`, dropout and
    ``nn.init`` when no ``generator`` is given); returns it, as ``torch.manual_seed``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> _ = gs.manual_seed(0)
    """
    return _default.manual_seed(seed)


def generator_arg(fn: str, generator: Any) -> Any:
    """The source of samples behind ``generator`` (the default one for None): something
    with ``random(shape, xp, dtype)`` and ``standard_normal(shape, xp)``."""
    if generator is None:
        return _default
    if isinstance(generator, Generator):
        return generator
    if isinstance(generator, np.random.Generator):
        return _HostDraws(generator)
    raise TypeError(f"{fn}: generator must be a gpu_sparse.Generator or a NumPy "
                    f"np.random.Generator, got {type(generator).__name__}")


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
        src = data.device
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
    if crow.ndim != 1 or col.ndim != 1:
        raise ValueError(f"{fn}: crow_indices and col_indices must be 1-D, got shapes "
                         f"{tuple(crow.shape)} and {tuple(col.shape)}")
    if col.shape[0] != vals.shape[0]:
        raise ValueError(f"{fn}: col_indices has {col.shape[0]} entries but values has "
                         f"{vals.shape[0]} (they must be equal)")
    if crow.shape[0] == 0:
        raise ValueError(f"{fn}: crow_indices must have at least one entry (m + 1), got 0")
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


def zeros(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A dense tensor of zeros (dtype float32 unless given).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(2, 3).shape
    (2, 3)
    """
    shape = _shape_args("zeros", size)
    dev = canonical_device(device, "zeros")
    dt = validate.dtype_arg("zeros", dtype) or np.dtype(np.float32)
    arr = get_backend(dev).xp.zeros(shape, dtype=dt)
    t = Tensor(arr, dev)
    return t.requires_grad_(True) if requires_grad else t


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A dense tensor of ``size`` filled with ``fill_value`` (dtype float32 unless given,
    as PyTorch's default for a Python float; complex64 for a complex value).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.full((2, 2), 7.0).tolist()
    [[7.0, 7.0], [7.0, 7.0]]
    """
    shape = _shape_args("full", (size,) if isinstance(size, (int, np.integer)) else
                        tuple(size))
    dev = canonical_device(device, "full")
    default = np.complex64 if isinstance(fill_value, complex) else np.float32
    dt = validate.dtype_arg("full", dtype) or np.dtype(default)
    value = validate.scalar("full", "fill_value", fill_value, dt)
    arr = get_backend(dev).xp.zeros(shape, dtype=dt) + dt.type(value)
    t = Tensor(arr, dev)
    return t.requires_grad_(True) if requires_grad else t


def ones(*size: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A dense tensor of ones (dtype float32 unless given).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.ones(2).tolist()
    [1.0, 1.0]
    """
    shape = _shape_args("ones", size)
    return full(shape, 1.0, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(t: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A dense tensor of zeros with ``t``'s shape, device and (unless given) dtype.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros_like(gs.tensor([1.0, 2.0])).tolist()
    [0.0, 0.0]
    """
    validate.tensor_arg("zeros_like", "input", t)
    return full(t.shape, 0.0, dtype=dtype or t.dtype, device=t.device,
                requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A dense tensor of ones with ``t``'s shape, device and (unless given) dtype.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.ones_like(gs.tensor([[1.0, 2.0]])).tolist()
    [[1.0, 1.0]]
    """
    validate.tensor_arg("ones_like", "input", t)
    return full(t.shape, 1.0, dtype=dtype or t.dtype, device=t.device,
                requires_grad=requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A dense tensor of standard normal samples (complex: real and imaginary parts
    each with variance 1/2, as in PyTorch), from ``generator`` or the default one
    (:func:`manual_seed`). dtype float32 unless given.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> _ = gs.manual_seed(0)
    >>> gs.randn(2, 3, dtype="float64").dtype
    dtype('float64')
    """
    shape = _shape_args("randn", size)
    src = generator_arg("randn", generator)
    dt = validate.dtype_arg("randn", dtype) or np.dtype(np.float32)
    dev = canonical_device(device, "randn")
    xp = get_backend(dev).xp
    if dt.kind == "c":
        arr = (src.standard_normal(shape, xp) + 1j * src.standard_normal(shape, xp)) \
            / np.sqrt(2)
    elif dt.kind == "f":
        arr = src.standard_normal(shape, xp)
    else:
        raise TypeError(f"randn: dtype must be floating point or complex, got {dt}")
    return _sampled(arr.astype(dt), dev, requires_grad)


def _sampled(arr: Array, dev: str, requires_grad: bool) -> Tensor:
    t = Tensor(get_backend(dev).asarray(arr, copy=True), dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A dense tensor of samples uniform on [0, 1) (complex: both parts), from
    ``generator`` or the default one. dtype float32 unless given.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.rand(1000, generator=gs.Generator().manual_seed(1))
    >>> bool((x >= 0).all()) and bool((x < 1).all())
    True
    """
    shape = _shape_args("rand", size)
    src = generator_arg("rand", generator)
    dt = validate.dtype_arg("rand", dtype) or np.dtype(np.float32)
    dev = canonical_device(device, "rand")
    xp = get_backend(dev).xp
    if dt.kind == "c":
        arr = src.random(shape, xp) + 1j * src.random(shape, xp)
    elif dt.kind == "f":
        arr = src.random(shape, xp)
    else:
        raise TypeError(f"rand: dtype must be floating point or complex, got {dt}")
    arr = arr.astype(dt)
    if dt.kind == "f":  # rounding to a narrow dtype can reach 1.0: keep [0, 1)
        arr = xp.where(arr >= 1, np.nextafter(dt.type(1), dt.type(0)), arr)
    return _sampled(arr, dev, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``[start, end)`` in steps of ``step`` (``arange(n)``: 0 .. n-1), as
    ``torch.arange``: int64 when all three are integers, else float32, unless ``dtype``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.arange(4).tolist(), gs.arange(0, 1, 0.25).tolist()
    ([0, 1, 2, 3], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"arange: {name} must be a real number, got {type(v).__name__}")
        if not np.isfinite(float(v)):
            raise ValueError(f"arange: {name} must be finite, got {v}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the step {step} leads away from end {end} (start {start})")
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dt = validate.dtype_arg("arange", dtype) or np.dtype(np.int64 if ints else np.float32)
    host = np.arange(start, end, step, dtype=np.int64 if ints else np.float64).astype(dt)
    return tensor(host, device=device, requires_grad=requires_grad)


def eye(n: int, m: Optional[int] = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The dense n x m (default n x n) identity matrix, dtype float32 unless given.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    shape = _shape_args("eye", (n, n if m is None else m))
    dev = canonical_device(device, "eye")
    dt = validate.dtype_arg("eye", dtype) or np.dtype(np.float32)
    t = Tensor(get_backend(dev).xp.eye(shape[0], shape[1], dtype=dt), dev)
    return t.requires_grad_(True) if requires_grad else t


def _shape_args(fn: str, size: Tuple[Any, ...]) -> Tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        raise TypeError(f"{fn}: size must be integers, got {size}")
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"{fn}: size must be non-negative, got {shape}")
    return shape
