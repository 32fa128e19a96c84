"""Whole models written with the public API only, each runnable as
``python -m gpu_sparse.examples.<name>``: :mod:`gpu_sparse.examples.gat` (a graph
attention network on Cora)."""
