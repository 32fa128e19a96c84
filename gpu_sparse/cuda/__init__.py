"""The CuPy backend (cuSPARSE SpMM + CUDA RawKernels). Imported only when a CUDA device
is asked for; importing :mod:`gpu_sparse` never imports CuPy."""

import functools


@functools.lru_cache(maxsize=None)
def get_cuda_backend(device_id: int):
    from .backend import CuPyBackend
    return CuPyBackend(device_id)
