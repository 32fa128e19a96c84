"""The ops layer: every differentiable operation, the constructors, and the gradient
table. Importing it binds the Tensor methods that record graph nodes (``+``, ``@``,
``sum``, ``values()``, conversions, in-place updates), each in the module defining it."""

from .creation import (from_dlpack, from_scipy, full, manual_seed, ones, ones_like, randn,
                       sparse_coo_tensor, sparse_csr_tensor, tensor, zeros, zeros_like)
from .derivatives import DERIVATIVES, record
from .elementwise import add, conj, div, exp, log, mean, mul, relu, sub, sum
from .products import addmm, matmul, mm, sampled_addmm, sparse_addmm, sparse_mm
from .structure import (coalesce, to_dense, to_device, to_scipy, to_sparse_coo,
                        to_sparse_csr, values)

__all__ = [
    "DERIVATIVES", "record",
    "tensor", "sparse_coo_tensor", "sparse_csr_tensor", "from_scipy", "from_dlpack",
    "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "manual_seed",
    "addmm", "sparse_addmm", "mm", "sparse_mm", "matmul", "sampled_addmm",
    "add", "sub", "mul", "div", "conj", "sum", "mean", "relu", "exp", "log",
    "values", "coalesce", "to_dense", "to_sparse_coo", "to_sparse_csr", "to_device",
    "to_scipy",
]
