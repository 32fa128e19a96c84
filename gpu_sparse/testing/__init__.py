"""Testing helpers for gpu_sparse and its users' test suites: the CuPy stand-in.

The stand-in runs the CUDA path of gpu_sparse (and of code built on it) on a machine
without a GPU, as ``numpy.testing`` and ``cupy.testing`` help test code on their arrays.
Switch it on before ``import gpu_sparse`` with the environment variable
``GPU_SPARSE_CUDA_STANDIN=1``, or with :func:`cuda_standin` before anything imports CuPy.
Then ``gpu_sparse.available_backends()`` is ``("cpu", "cuda")`` and ``device="cuda"``
runs against modules named ``cupy``, ``cupyx`` and ``cupy_backends`` that behave like
CuPy 14.2 where a port to the GPU usually breaks:

* device memory apart from host memory: ``np.asarray(device_array)`` raises TypeError,
  a NumPy array where CuPy wants a device array raises TypeError, ``.get()`` copies;
* exactly CuPy 14.2's public names (read from the real wheel, ``_standin/cupy14.json``)
  and its signatures: a keyword CuPy lacks raises TypeError;
* CuPy's semantics where they differ from NumPy's: 0-d arrays from reductions,
  wrapping out-of-bounds indices, undefined winners of repeated scatter indices,
  saturating float-to-integer casts, nondeterministic float atomics, CuPy's integer
  powers, no floating-point warnings, other random streams;
* ``RawModule``/``RawKernel`` launches checked as CuPy and CUDA check them and stricter
  (argument count and types, alignment of vector loads, bounds), then run as NumPy models
  of gpu_sparse's kernels; a cuSPARSE whose generic SpMM checks its arguments and can be
  told to answer NOT_SUPPORTED; a memory pool with CuPy's rounding and caching.

It cannot show timings, the numerics of the real cuSPARSE algorithms and the GPU's
summation order (results agree with a GPU to rounding, not bitwise), the GPU memory
model (races, streams, asynchronous errors) or a missing CUDA toolkit. Where a real CuPy
is importable the stand-in refuses to switch on: it never shadows a real GPU stack.

Examples
--------
>>> import gpu_sparse.testing as gt
>>> gt.standin_active() in (True, False)
True
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from .. import cuda
from ._standin.core import STATE
from ._standin.namespace import FINDER

ENV_VAR = "GPU_SPARSE_CUDA_STANDIN"

_installed = False


def _requested() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def standin_active() -> bool:
    """Whether the CuPy stand-in serves ``import cupy`` in this process."""
    return _installed


def cuda_standin() -> None:
    """Switch the CuPy stand-in on in this process (and, through ``GPU_SPARSE_CUDA_STANDIN``,
    in the processes it starts). Idempotent.

    Raises RuntimeError where a real CuPy is importable or has been imported already. Where
    ``sys.modules["cupy"]`` is None (CuPy blocked on purpose) it does nothing: no CUDA then.
    """
    global _installed
    if _installed or ("cupy" in sys.modules and sys.modules["cupy"] is None):
        return
    if "cupy" in sys.modules:
        raise RuntimeError(f"{ENV_VAR}: cupy is imported already "
                           f"({getattr(sys.modules['cupy'], '__file__', '?')}); switch the "
                           f"stand-in on before anything imports CuPy")
    spec = importlib.util.find_spec("cupy")
    if spec is not None:
        raise RuntimeError(f"{ENV_VAR}=1 but a real CuPy is installed ({spec.origin}): the "
                           f"CuPy stand-in never shadows a real GPU stack; unset {ENV_VAR} "
                           f"to use the GPU")
    sys.meta_path.insert(0, FINDER)
    os.environ[ENV_VAR] = "1"
    _installed = True
    cuda.is_available.cache_clear()
    cuda.get_cuda_backend.cache_clear()


def state() -> Any:
    """The stand-in's counters and switches (``syncs``, ``h2d``, ``launches``,
    ``cusparse_calls``, ``cusparse_not_supported``); RuntimeError when it is off."""
    if not _installed:
        raise RuntimeError("state: the CuPy stand-in is not active")
    return STATE


__all__ = ["ENV_VAR", "cuda_standin", "standin_active", "state"]
