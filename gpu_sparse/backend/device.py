"""Devices, the default device, and the dispatcher from a device string to its backend.

A device is ``"cpu"`` or ``"cuda:N"`` once canonical. :func:`get_backend` loads a backend
lazily on first use: importing :mod:`gpu_sparse` imports neither numba's kernels' users
nor CuPy.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple

from .. import cuda
from .interface import Backend

_default_device: Optional[str] = None


def available_backends() -> Tuple[str, ...]:
    """The backends usable in this process: ``("cpu",)`` or ``("cpu", "cuda")``.

    Examples
    --------
    >>> import gpu_sparse
    >>> "cpu" in gpu_sparse.available_backends()
    True
    """
    return ("cpu", "cuda") if cuda.is_available() else ("cpu",)


def canonical_device(device: Any, fn: str = "device") -> str:
    """Normalise a device spec to ``"cpu"`` or ``"cuda:N"``.

    ``None`` means the default device; objects with ``type`` and ``index`` attributes
    (``torch.device``) are accepted. Raises TypeError for a non-string, ValueError for an
    unknown spec and RuntimeError for a CUDA device that is not usable.
    """
    if device is None:
        return get_default_device()
    if not isinstance(device, str):
        if hasattr(device, "type") and hasattr(device, "index"):
            device = device.type if device.index is None else f"{device.type}:{device.index}"
        else:
            raise TypeError(f"{fn}: device must be a string such as 'cpu' or 'cuda', "
                            f"got {type(device).__name__}")
    spec = device.strip().lower()
    if spec == "cpu":
        return "cpu"
    if spec == "cuda" or spec.startswith("cuda:"):
        if not cuda.is_available():
            raise RuntimeError(f"{fn}: device {device!r} was requested but no CUDA GPU is "
                               f"usable (CuPy is not installed or sees no GPU); "
                               f"available backends: {available_backends()}")
        if spec == "cuda":
            return f"cuda:{cuda.current_device()}"
        try:
            idx = int(spec[5:])
        except ValueError:
            raise ValueError(f"{fn}: cannot parse device {device!r}") from None
        count = cuda.device_count()
        if not 0 <= idx < count:
            raise RuntimeError(f"{fn}: device {device!r} does not exist; "
                               f"{count} CUDA device(s) visible")
        return f"cuda:{idx}"
    raise ValueError(f"{fn}: unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:N'")


def describe_device(device: str) -> str:
    """A canonical device with its GPU's name: ``"cpu"``, ``"cuda:0 (NVIDIA H100 80GB
    HBM3)"`` (what the demo and the examples print)."""
    if device == "cpu":
        return device
    return f"{device} ({cuda.device_name(int(device.split(':')[1]))})"


def device_of_array(data: Any) -> Optional[str]:
    """``"cuda:N"`` for a CuPy array or a CUDA DLPack producer, else None (host data)."""
    if type(data).__module__.startswith("cupy"):
        return f"cuda:{data.device.id}"
    if hasattr(data, "__dlpack_device__") and type(data).__module__ != "numpy":
        kind, idx = data.__dlpack_device__()
        if int(kind) == 2:  # kDLCUDA
            return f"cuda:{idx}"
    return None


def _starting_default() -> str:
    env = os.environ.get("GPU_SPARSE_DEVICE", "auto").strip().lower() or "auto"
    if env == "auto":
        return canonical_device("cuda") if cuda.is_available() else "cpu"
    return canonical_device(env, "GPU_SPARSE_DEVICE")


def get_default_device() -> str:
    """The device used when a constructor gets ``device=None``: ``"cpu"`` or
    ``"cuda:N"`` (see :func:`set_default_device`).

    Starts from the environment variable ``GPU_SPARSE_DEVICE`` (``cpu``, ``cuda``,
    ``cuda:N`` or ``auto``; ``auto`` when unset: ``cuda`` when CuPy sees a GPU, else
    ``cpu``), read on the first call. That call raises ValueError for an unknown spec and
    RuntimeError for a CUDA device that is not usable, naming ``GPU_SPARSE_DEVICE``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> d = gs.get_default_device()
    >>> d == "cpu" or d.startswith("cuda:"), gs.tensor([1.0]).device == d
    (True, True)
    """
    global _default_device
    if _default_device is None:
        _default_device = _starting_default()
    return _default_device


def set_default_device(device: Any) -> None:
    """Set the device used by constructors when ``device=None``.

    Examples
    --------
    >>> import gpu_sparse
    >>> gpu_sparse.set_default_device("cpu")
    >>> gpu_sparse.get_default_device()
    'cpu'
    """
    global _default_device
    _default_device = canonical_device(device, "set_default_device")


def get_backend(device: str) -> Backend:
    """The backend serving a canonical device string (loaded on first use)."""
    if device == "cpu":
        from cpu_backend import BACKEND  # lazy backend loading: numba compiles on import
        return BACKEND
    backend: Backend = cuda.get_cuda_backend(int(device.split(":")[1]))
    return backend
