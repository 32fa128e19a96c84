"""The ops layer: every differentiable operation, the constructors, and the gradient
table. Importing it binds the Tensor methods that record graph nodes (``+``, ``@``,
``sum``, indexing, ``values()``, conversions, in-place updates), each in the module
defining it."""

from .arithmetic import add, conj, div, mul, pow, sub
from .comparisons import clamp, eq, ge, gt, le, lt, ne, where
from .constructors import (from_dlpack, from_scipy, sparse_coo_tensor, sparse_csr_tensor,
                           tensor)
from .derivatives import DERIVATIVES, record
from .factories import arange, eye, full, ones, ones_like, zeros, zeros_like
from .inplace import add_, copy_, mul_, sub_, zero_  # noqa: F401  (binds the Tensor methods)
from .nn import nll_loss
from .products import addmm, matmul, mm, sampled_addmm, sparse_addmm, sparse_mm
from .random import Generator, manual_seed, rand, randn
from .reductions import (all, amax, amin, any, argmax, argmin, log_softmax, max, mean, min,
                         softmax, sum)
from .shape import (cat, clone, flatten, getitem, permute, reshape, squeeze, stack, to,
                    transpose, unsqueeze)
from .sparse_reductions import log_softmax as sparse_log_softmax
from .sparse_reductions import softmax as sparse_softmax
from .sparse_reductions import sum as sparse_sum
from .structure import (coalesce, to_dense, to_device, to_scipy, to_sparse_coo,
                        to_sparse_csr, values)
from . import unary
from .unary import *  # noqa: F403  (the unary ops: unary.__all__)
from .unary import elu, leaky_relu

__all__ = [
    "DERIVATIVES", "record",
    "tensor", "sparse_coo_tensor", "sparse_csr_tensor", "from_scipy", "from_dlpack",
    "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "eye", "randn", "rand",
    "manual_seed", "Generator",
    "addmm", "sparse_addmm", "mm", "sparse_mm", "matmul", "sampled_addmm",
    "add", "sub", "mul", "div", "pow", "conj", *unary.__all__, "leaky_relu", "elu",
    "clamp", "where",
    "eq", "ne", "lt", "le", "gt", "ge",
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
    "softmax", "log_softmax", "nll_loss",
    "getitem", "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "cat",
    "stack", "clone", "to",
    "sparse_sum", "sparse_softmax", "sparse_log_softmax",
    "values", "coalesce", "to_dense", "to_sparse_coo", "to_sparse_csr", "to_device",
    "to_scipy",
]
