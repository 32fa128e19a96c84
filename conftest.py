"""Shared test fixtures: the parity fixture over every available backend."""

import os
import zlib

import numpy as np
import pytest

# Tests choose devices explicitly; keep the default predictable for doctest-like checks.
os.environ.setdefault("GPU_SPARSE_DEVICE", "auto")

import gpu_sparse

BACKENDS = gpu_sparse.available_backends()

# The CuPy backend's modules import CuPy; without it only the nvcc compile test covers them.
collect_ignore = [] if "cuda" in BACKENDS else ["gpu_sparse/cuda"]


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
