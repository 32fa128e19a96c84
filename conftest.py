"""Shared test fixtures: the parity fixture over every available backend."""

import importlib.util
import zlib

import numpy as np
import pytest

import gpu_sparse

BACKENDS = gpu_sparse.available_backends()

# These two modules import CuPy; without a GPU the nvcc compile tests and the Protocol
# check from source cover them (gpu_sparse/cuda/launch.py is pure Python and collected).
collect_ignore = ([] if "cuda" in BACKENDS else
                  ["gpu_sparse/cuda/backend.py", "gpu_sparse/cuda/_kernels.py"])
# gpu_sparse.distributed needs the optional dask[distributed] (its doctests too)
if importlib.util.find_spec("distributed") is None:
    collect_ignore.append("gpu_sparse/distributed")


@pytest.fixture(params=BACKENDS)
def device(request):
    """Every test body taking ``device`` runs once per available backend."""
    return request.param


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test id (fresh data per test, reproducible)."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)


def pytest_report_header(config):
    return f"gpu_sparse backends: {', '.join(BACKENDS)}"
