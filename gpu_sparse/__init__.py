"""gpu_sparse: differentiable sparse x dense matrix products (``torch.sparse.addmm``
semantics) on NVIDIA GPUs through CuPy and on any machine through NumPy/SciPy.

>>> import numpy as np, gpu_sparse as gs
>>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([1.0, 2.0]), (2, 2),
...                          requires_grad=True)
>>> b = gs.tensor(np.ones((2, 3)), requires_grad=True)
>>> gs.sparse.mm(a, b).sum().backward()
>>> a.grad.values().numpy().tolist()
[3.0, 3.0]
"""

import os as _os

if _os.environ.get("GPU_SPARSE_CUDA_STANDIN", "").strip().lower() not in ("", "0", "false",
                                                                           "no"):
    # the CuPy stand-in (gpu_sparse.testing) must serve `import cupy` before anything asks
    from .testing import cuda_standin as _cuda_standin
    _cuda_standin()

from numpy import bool_, complex64, complex128, float16, float32, float64, int32, int64

from . import autograd, datasets, nn, optim, sparse
from .autograd import GradcheckError, enable_grad, is_grad_enabled, no_grad
from .backend import available_backends, get_default_device, set_default_device
from .core.tensor import Layout, Tensor, sparse_coo, sparse_csr, strided
from .ops import (Generator, addmm, all, amax, amin, any, arange, argmax, argmin, cat,
                  clamp, clone, eye, flatten, from_dlpack, from_scipy, full, log_softmax,
                  manual_seed, matmul, max, mean, min, mm, ones, ones_like, permute, pow,
                  rand, randn, reshape, softmax, sparse_coo_tensor, sparse_csr_tensor,
                  squeeze, stack, sum, tensor, transpose, unsqueeze, where, zeros,
                  zeros_like)
from .ops import unary as _unary
from .ops.unary import *  # noqa: F403  (the unary ops: ops/unary.py's __all__)

__version__ = "0.1.0"

__all__ = [
    "Layout", "Tensor", "strided", "sparse_coo", "sparse_csr",
    "available_backends", "get_default_device", "set_default_device",
    "tensor", "sparse_coo_tensor", "sparse_csr_tensor", "from_scipy", "from_dlpack",
    "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "eye", "randn", "rand",
    "manual_seed", "Generator",
    "addmm", "mm", "matmul", "sparse", "autograd", "datasets", "nn", "optim",
    *_unary.__all__, "pow", "clamp", "where",
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
    "softmax", "log_softmax",
    "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "cat", "stack",
    "clone",
    "no_grad", "enable_grad", "is_grad_enabled", "GradcheckError",
    "float16", "float32", "float64", "complex64", "complex128", "int32", "int64", "bool_",
]
