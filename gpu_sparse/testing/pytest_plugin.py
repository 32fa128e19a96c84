"""A pytest plugin for test suites of code built on gpu_sparse (opt-in).

Load it from the project's root ``conftest.py`` (``pytest_plugins =
["gpu_sparse.testing.pytest_plugin"]``) or with ``pytest -p gpu_sparse.testing.pytest_plugin``:

* with ``GPU_SPARSE_CUDA_STANDIN=1`` it switches the CuPy stand-in on before pytest
  imports any test module, so that a module doing ``try: import cupy`` at its top gets the
  stand-in (without the plugin, switch it on before anything imports CuPy yourself);
* it provides the fixture ``device``: each test taking it runs once per available backend
  (``"cpu"``, and ``"cuda"`` on a GPU or under the stand-in), as gpu_sparse's own tests;
* the report header says which backends run and whether ``cuda`` is the stand-in.

Examples
--------
>>> from gpu_sparse.testing import pytest_plugin
>>> callable(pytest_plugin.device)
True
"""

from __future__ import annotations

from typing import Any

import pytest

from .. import available_backends
from . import _requested, cuda_standin, standin_active

if _requested():
    cuda_standin()


@pytest.fixture(params=available_backends())
def device(request: Any) -> str:
    """Every test body taking ``device`` runs once per available backend."""
    return request.param


def pytest_report_header(config: Any) -> str:
    standin = " (cuda: the CuPy stand-in, no GPU)" if standin_active() else ""
    return f"gpu_sparse backends: {', '.join(available_backends())}{standin}"
