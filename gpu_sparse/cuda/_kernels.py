"""Loading the CUDA kernels of ``kernels/*.cu`` through ``cupy.RawModule``.

Each kernel is a C++ template on value type (and, for the products, index type and
vector width); :mod:`gpu_sparse.cuda.launch` names the instantiation
(:class:`~gpu_sparse.cuda.launch.Kernel`) and the ``-D`` options it compiles with. A
module is compiled by NVRTC for exactly one instantiation (``name_expressions``),
memoized per device in this process and cached on disk by CuPy (``CUPY_CACHE_DIR``)
across processes.
"""

from __future__ import annotations

import functools

import cupy

from . import launch


@functools.cache
def _source(filename: str) -> str:
    # headers inlined, so that CuPy's disk cache key covers them (launch.kernel_source)
    return launch.kernel_source(filename)


@cupy.memoize(for_each_device=True)
def _module(kernel: launch.Kernel) -> cupy.RawModule:
    return cupy.RawModule(code=_source(kernel.source),
                          options=launch.compile_options(kernel.half),
                          name_expressions=(kernel.expression,))


def get_kernel(kernel: launch.Kernel) -> cupy.RawKernel:
    """The compiled instantiation ``kernel`` on the current device."""
    return _module(kernel).get_function(kernel.expression)
