"""``gpu_sparse.nn``: what a model needs around the sparse products (PyTorch's names):
:mod:`gpu_sparse.nn.functional` (activations, dropout, softmax, losses) and
:mod:`gpu_sparse.nn.init` (parameter initialisation)."""

from . import functional, init

__all__ = ["functional", "init"]
