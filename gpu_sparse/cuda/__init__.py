"""The CuPy backend (cuSPARSE SpMM + CUDA RawKernels).

This package is the only place that imports CuPy. This module does so inside functions
only, and :mod:`.backend` (which imports it at the top) is loaded on the first CUDA op, so
importing :mod:`gpu_sparse` never imports CuPy. :func:`is_available` answers whether a GPU
is usable without raising; :func:`get_cuda_backend` loads the backend for one device;
:mod:`.launch` (the kernels' launch geometry) is pure Python.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU (never raises)."""
    try:
        import cupy
    except Exception:
        return False
    try:
        return bool(cupy.is_available())
    except Exception:
        return False


def device_count() -> int:
    """The number of CUDA devices CuPy sees."""
    import cupy
    return int(cupy.cuda.runtime.getDeviceCount())


def device_name(device_id: int) -> str:
    """The name of a CUDA device, as the driver gives it (e.g. "NVIDIA H100 80GB HBM3")."""
    import cupy
    return bytes(cupy.cuda.runtime.getDeviceProperties(device_id)["name"]).decode()


def current_device() -> int:
    """The CUDA device CuPy currently uses."""
    import cupy
    return int(cupy.cuda.runtime.getDevice())


@functools.cache
def get_cuda_backend(device_id: int) -> Any:
    """The :class:`~gpu_sparse.cuda.backend.CuPyBackend` of one GPU (one per device)."""
    from .backend import CuPyBackend
    return CuPyBackend(device_id)
