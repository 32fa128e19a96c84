"""The default device of each distributed test: its ``device`` parameter, else the CPU.

These tests are about blocks and workers; the arrays they make without ``device=`` (local
references, NumPy operands) belong on the device under test, also where a GPU (or the
CuPy stand-in) makes CUDA the default device."""

import pytest

import gpu_sparse as gs


@pytest.fixture(autouse=True)
def _default_device(request):
    old = gs.get_default_device()
    dev = request.getfixturevalue("device") if "device" in request.fixturenames else "cpu"
    gs.set_default_device(dev)
    try:
        yield
    finally:
        gs.set_default_device(old)
