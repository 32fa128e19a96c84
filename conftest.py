"""Shared test fixtures: ``device`` over every available backend (from gpu_sparse's
pytest plugin, as users' suites get it), a seeded ``rng``, and the tests only a real GPU
answers."""

import importlib.util
import zlib

import numpy as np
import pytest

import gpu_sparse
import gpu_sparse.testing

# the `device` fixture and the report header; the CuPy stand-in under GPU_SPARSE_CUDA_STANDIN
pytest_plugins = ["gpu_sparse.testing.pytest_plugin"]

BACKENDS = gpu_sparse.available_backends()

# The tests only a real GPU answers. Under the CuPy stand-in (GPU_SPARSE_CUDA_STANDIN=1:
# the CUDA path on a CPU, gpu_sparse.testing) they are skipped; nothing else is. The
# stand-in runs NumPy models of the kernels and of cuSPARSE, so it cannot show timings,
# the real cuSPARSE algorithms' numerics or their bitwise repeatability on the device.
REAL_GPU_ONLY = {
    "tests/test_cuda_parity.py::test_gpu_forward_backward_bitwise_reproducible":
        "the bitwise repeatability of cuSPARSE CSR_ALG3 and our kernels on the device",
}

# These two modules import CuPy; without a GPU the nvcc compile tests and the Protocol
# check from source cover them (gpu_sparse/cuda/launch.py is pure Python and collected).
collect_ignore = ([] if "cuda" in BACKENDS else
                  ["gpu_sparse/cuda/backend.py", "gpu_sparse/cuda/_kernels.py"])
# gpu_sparse.distributed needs the optional dask[distributed] (its doctests too)
if importlib.util.find_spec("distributed") is None:
    collect_ignore.append("gpu_sparse/distributed")


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test id (fresh data per test, reproducible)."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


def pytest_collection_modifyitems(config, items):
    if not gpu_sparse.testing.standin_active():
        return
    for item in items:
        why = REAL_GPU_ONLY.get(item.nodeid.split("[")[0])
        if why is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs a real GPU: {why}"))
