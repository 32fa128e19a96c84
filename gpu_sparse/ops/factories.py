"""Dense factories: ``zeros``, ``ones``, ``full``, ``zeros_like``, ``ones_like``,
``arange``, ``eye`` (CuPy's ``cupy/_creation/basic.py`` and ``ranges.py``)."""

from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple

import numpy as np

from ..backend import canonical_device, get_backend
from ..core import validate
from ..core.tensor import Tensor
from .constructors import tensor

def zeros(*size: Any, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A dense tensor of zeros (dtype float32 unless given).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(2, 3).shape
    (2, 3)
    """
    shape = shape_args("zeros", size)
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
    shape = shape_args("full", (size,) if isinstance(size, (int, np.integer)) else
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
    shape = shape_args("ones", size)
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
    shape = shape_args("eye", (n, n if m is None else m))
    dev = canonical_device(device, "eye")
    dt = validate.dtype_arg("eye", dtype) or np.dtype(np.float32)
    t = Tensor(get_backend(dev).xp.eye(shape[0], shape[1], dtype=dt), dev)
    return t.requires_grad_(True) if requires_grad else t


def shape_args(fn: str, size: Tuple[Any, ...]) -> Tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
        raise TypeError(f"{fn}: size must be integers, got {size}")
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"{fn}: size must be non-negative, got {shape}")
    return shape
