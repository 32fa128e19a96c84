"""SciPy/NumPy (+ numba kernels) implementation of the gpu_sparse backend interface.

The interface is documented in :mod:`gpu_sparse.backend`; this package never sees a
``gpu_sparse.Tensor``.
"""

from .backend import BACKEND, CPUBackend

__all__ = ["BACKEND", "CPUBackend"]
