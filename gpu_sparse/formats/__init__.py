"""Sparse formats: one immutable pattern type per layout (the CuPy/SciPy idea).

:class:`COOPattern` and :class:`CSRPattern` hold the index arrays and know how to multiply,
sample, densify and coalesce with a given array of values; :class:`Layout` names the three
layouts of a tensor. The modules ``coo`` and ``csr`` also hold each format's input checks.
"""

from .coo import COOPattern, spgemm
from .csr import CSRPattern
from .pattern import CSRMatrix, Layout, Pattern, conj

__all__ = ["COOPattern", "CSRMatrix", "CSRPattern", "Layout", "Pattern", "conj", "spgemm"]
