"""The dispatch hook (gpu_sparse/core/dispatch.py): a type with ``__gpu_sparse_function__``
takes over the public products and elementwise functions; Tensors are unaffected."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import gpu_sparse as gs


class Foreign:
    calls = []

    @staticmethod
    def __gpu_sparse_function__(public, args, kwargs):
        Foreign.calls.append((public.__name__, len(args), sorted(kwargs)))
        return "handled"


@pytest.mark.parametrize("fn", [gs.sparse.addmm, gs.addmm])
def test_a_foreign_operand_takes_the_call(fn):
    Foreign.calls.clear()
    a = gs.tensor(np.ones((2, 2)))
    assert fn(a, Foreign(), a, beta=0) == "handled"
    assert Foreign.calls == [(fn.__name__, 3, ["beta"])]


def test_operators_and_elementwise_hand_over_too():
    Foreign.calls.clear()
    a = gs.tensor(np.ones((2, 2)))
    assert a + Foreign() == "handled" and a @ Foreign() == "handled"
    assert gs.relu(Foreign()) == "handled"
    assert [c[0] for c in Foreign.calls] == ["add", "matmul", "relu"]


def test_tensors_keep_their_path():
    a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([2.0, 3.0]), (2, 2))
    out = gs.sparse.mm(a, gs.tensor(np.eye(2)))
    assert isinstance(out, gs.Tensor) and out.tolist() == [[0.0, 2.0], [3.0, 0.0]]


def test_importing_gpu_sparse_does_not_import_dask():
    code = ("import sys, gpu_sparse\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')))\n")
    root = pathlib.Path(__file__).resolve().parent.parent
    res = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, timeout=300, check=True)
    assert res.stdout.strip() == "[]"
