"""Devices, the default device, and the dispatcher from device to backend."""

from __future__ import annotations

import functools
import os
from typing import Any, Tuple

_default_device: str | None = None


@functools.lru_cache(maxsize=None)
def _cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU (never raises)."""
    try:
        import cupy
    except Exception:
        return False
    try:
        return bool(cupy.is_available())
    except Exception:
        return False


def available_backends() -> Tuple[str, ...]:
    """The backends usable in this process: ``("cpu",)`` or ``("cpu", "cuda")``.

    Examples
    --------
    >>> import gpu_sparse
    >>> "cpu" in gpu_sparse.available_backends()
    True
    """
    return ("cpu", "cuda") if _cuda_available() else ("cpu",)


def _cuda_device_count() -> int:
    import cupy
    return cupy.cuda.runtime.getDeviceCount()


def canonical_device(device: Any, fn: str = "device") -> str:
    """Normalise a device spec to ``"cpu"`` or ``"cuda:N"``; RuntimeError if unusable."""
    if device is None:
        return get_default_device()
    if not isinstance(device, str):
        # torch.device and similar objects print as their spec
        if hasattr(device, "type") and hasattr(device, "index"):
            device = device.type if device.index is None else f"{device.type}:{device.index}"
        else:
            raise TypeError(f"{fn}: device must be a string such as 'cpu' or 'cuda', "
                            f"got {type(device).__name__}")
    spec = device.strip().lower()
    if spec == "cpu":
        return "cpu"
    if spec == "cuda" or spec.startswith("cuda:"):
        if not _cuda_available():
            raise RuntimeError(f"{fn}: device {device!r} was requested but no CUDA GPU is "
                               f"usable (CuPy is not installed or sees no GPU); "
                               f"available backends: {available_backends()}")
        if spec == "cuda":
            import cupy
            return f"cuda:{cupy.cuda.runtime.getDevice()}"
        try:
            idx = int(spec[5:])
        except ValueError:
            raise ValueError(f"{fn}: cannot parse device {device!r}") from None
        count = _cuda_device_count()
        if not 0 <= idx < count:
            raise RuntimeError(f"{fn}: device {device!r} does not exist; "
                               f"{count} CUDA device(s) visible")
        return f"cuda:{idx}"
    raise ValueError(f"{fn}: unknown device {device!r}; expected 'cpu', 'cuda' or 'cuda:N'")


def _starting_default() -> str:
    env = os.environ.get("GPU_SPARSE_DEVICE", "auto").strip().lower() or "auto"
    if env == "auto":
        return canonical_device("cuda") if _cuda_available() else "cpu"
    return canonical_device(env, "GPU_SPARSE_DEVICE")


def get_default_device() -> str:
    """The device used when a constructor gets ``device=None``.

    Starts from the environment variable ``GPU_SPARSE_DEVICE`` (``cpu``, ``cuda`` or
    ``auto``; ``auto`` when unset: ``cuda`` when CuPy sees a GPU, else ``cpu``).
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


def get_backend(device: str):
    """The backend object serving a canonical device string."""
    if device == "cpu":
        from cpu_backend import BACKEND
        return BACKEND
    from .cuda import get_cuda_backend
    return get_cuda_backend(int(device.split(":")[1]))
