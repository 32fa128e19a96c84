"""Loading the CUDA kernels of ``kernels/*.cu`` through ``cupy.RawModule``.

Each kernel is a C++ template on value type, index type and vector width; a module is
compiled by NVRTC for exactly one instantiation (``name_expressions``), memoized per
device in this process and cached on disk by CuPy (``CUPY_CACHE_DIR``) across processes.
Half-precision instantiations are compiled with ``-DGPU_SPARSE_HALF`` (they need the CUDA
``cuda_fp16.h``/``cuda_bf16.h`` headers, which the float32/float64/complex ones do not).
"""

from __future__ import annotations

import functools
import pathlib

import cupy
import numpy as np

KERNEL_DIR = pathlib.Path(__file__).resolve().parent / "kernels"

_INDEX_NAMES = {np.dtype(np.int32): "int", np.dtype(np.int64): "long long"}


def value_type_name(dtype) -> str:
    dt = np.dtype(dtype)
    names = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
             np.dtype(np.complex64): "gs_c64", np.dtype(np.complex128): "gs_c128",
             np.dtype(np.float16): "__half"}
    if dt in names:
        return names[dt]
    if dt.name == "bfloat16":
        return "__nv_bfloat16"
    raise TypeError(f"no CUDA kernel for dtype {dt}")


def index_type_name(dtype) -> str:
    return _INDEX_NAMES[np.dtype(dtype)]


def acc_dtype(dtype) -> np.dtype:
    """The accumulator (and kernel scalar) dtype of a value dtype."""
    dt = np.dtype(dtype)
    if dt == np.float16 or dt.name == "bfloat16":
        return np.dtype(np.float32)
    return dt


@functools.lru_cache(maxsize=None)
def _source(filename: str) -> str:
    return (KERNEL_DIR / filename).read_text()


@cupy.memoize(for_each_device=True)
def _module(filename: str, expression: str, half: bool) -> cupy.RawModule:
    options = (f"-I{KERNEL_DIR}",) + (("-DGPU_SPARSE_HALF",) if half else ())
    return cupy.RawModule(code=_source(filename), options=options,
                          name_expressions=(expression,))


def get_kernel(filename: str, template: str, *args: str):
    """The compiled kernel ``template<args...>`` from ``kernels/filename``."""
    expression = f"{template}<{', '.join(args)}>"
    half = args[0] in ("__half", "__nv_bfloat16")
    return _module(filename, expression, half).get_function(expression)
