"""``gpu_sparse.nn``: what a model needs around the sparse products (PyTorch's names).
So far :mod:`gpu_sparse.nn.functional`."""

from . import functional

__all__ = ["functional"]
