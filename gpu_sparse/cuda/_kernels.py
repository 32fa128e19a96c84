"""Loading the CUDA kernels of ``kernels/*.cu`` through ``cupy.RawModule``.

Each kernel is a C++ template on value type (and, for the products, index type and
vector width); :mod:`gpu_sparse.cuda.launch` names the instantiation
(:class:`~gpu_sparse.cuda.launch.Kernel`) and the ``-D`` options it compiles with. A
module is compiled by NVRTC for exactly one instantiation (``name_expressions``),
memoized per device in this process and cached on disk by CuPy (``CUPY_CACHE_DIR``)
across processes. CuPy adds ``-ftz=true`` to every compile, so float32 subnormals flush
to zero in these kernels (the CPU backend keeps them; README, "Backends").

A missing CUDA toolkit piece (NVRTC, the CUDA headers, a library) surfaces as one
RuntimeError at the first kernel (or cuSPARSE call) that needs it, saying what to install
(:data:`INSTALL_ADVICE`), with CuPy's own error chained and quoted.
"""

from __future__ import annotations

import functools

import cupy

from . import launch

#: What a machine without CUDA's runtime libraries or headers should install.
INSTALL_ADVICE = ('install the CUDA toolkit libraries from PyPI with '
                  '`pip install "gpu_sparse[cuda13]"` (CUDA 13) or '
                  '`pip install "gpu_sparse[cuda12]"` (CUDA 12); they pull CuPy\'s `ctk` '
                  'extra (cuSPARSE, NVRTC, the CUDA runtime and headers)')

# What CuPy says when a CUDA library or the CUDA headers cannot be found
# (cupy_backends/cuda/_softlink.pyx, cupy/_core/core.pyx, cupy/cuda/compiler.py).
_MISSING_MARKERS = ("failed to load", "cannot open shared object", "failed to find cuda",
                    "cannot open source file", "could not find module")


def missing_toolkit(err: BaseException) -> bool:
    """Whether ``err`` (from CuPy) says that a CUDA library or header is missing."""
    if isinstance(err, (ImportError, OSError)):
        return True
    text = str(err).lower()
    return any(marker in text for marker in _MISSING_MARKERS)


def toolkit_error(what: str, err: BaseException) -> RuntimeError:
    """The RuntimeError raised (``from err``) when ``what`` fails for want of a CUDA
    toolkit piece: the advice, then CuPy's message."""
    return RuntimeError(f"gpu_sparse could not {what}: {INSTALL_ADVICE}. "
                        f"CuPy said: {type(err).__name__}: {err}")


def _compile_errors() -> tuple[type[BaseException], ...]:
    compiler = getattr(cupy.cuda, "compiler", None)
    exc = getattr(compiler, "CompileException", None)
    return (exc,) if isinstance(exc, type) else ()


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
    """The compiled instantiation ``kernel`` on the current device.

    Raises RuntimeError when NVRTC, the CUDA headers or a library cannot be loaded (with
    :data:`INSTALL_ADVICE`), or when the kernel does not compile (with NVRTC's log).
    """
    try:
        return _module(kernel).get_function(kernel.expression)
    except _compile_errors() as e:
        if missing_toolkit(e):
            raise toolkit_error(f"compile {kernel.expression}", e) from e
        # a genuine compile error: never hidden, NVRTC's log in full
        raise RuntimeError(f"gpu_sparse's CUDA kernel {kernel.expression} failed to "
                           f"compile (if the log names a missing header, "
                           f"{INSTALL_ADVICE}):\n{e}") from e
    except (ImportError, OSError, RuntimeError) as e:
        if not missing_toolkit(e):
            raise
        raise toolkit_error(f"compile {kernel.expression}", e) from e
