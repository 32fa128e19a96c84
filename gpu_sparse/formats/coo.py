"""The COO pattern: a (2, nnz) int64 index array, in any order, duplicates allowed."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ..backend import Array, CSRForm, get_backend
from .pattern import CSRMatrix, Layout, Pattern, host_ints, scipy_values


class COOPattern(Pattern):
    """COO index structure: ``indices[0]`` rows, ``indices[1]`` columns (int64).

    ``coalesced`` says the entries are sorted row-major without duplicates; products and
    gradients work either way (duplicates are summed).
    """

    layout = Layout.sparse_coo

    def __init__(self, indices: Array, shape: Tuple[int, int], device: str,
                 coalesced: bool = False, proven: bool = True):
        super().__init__(shape, device, indices.shape[1], coalesced or indices.shape[1] <= 1,
                         proven)
        self.indices = indices

    def _check_invariants(self, fn: str, prefix: str) -> None:
        # an unchecked claim of coalesced order is proven too: coalesce() trusts it
        check_invariants(fn, self.indices, self.shape, is_coalesced=self.coalesced,
                         arg=prefix)

    @property
    def rows(self) -> Array:
        return self.indices[0]

    @property
    def cols(self) -> Array:
        return self.indices[1]

    def index_arrays(self) -> Dict[str, Array]:
        return {"indices": self.indices}

    def select(self, axis: int, lo: int, hi: int) -> Tuple[COOPattern, Array]:
        xp = self.backend.xp
        along = self.indices[axis]
        positions = xp.nonzero((along >= lo) & (along < hi))[0]
        rows, cols = self.rows[positions], self.cols[positions]
        if axis == 1:
            cols = cols - lo
        else:
            rows = rows - lo
        shape = (self.shape[0], hi - lo) if axis == 1 else (hi - lo, self.shape[1])
        idx = xp.stack([rows.astype("int64"), cols.astype("int64")])
        # a subsequence of sorted unique entries, shifted alike, stays sorted and unique
        return COOPattern(idx, shape, self.device, coalesced=self.coalesced), positions

    def to_coo(self) -> COOPattern:
        return self

    @classmethod
    def concat_rows(cls, parts: Sequence[Pattern], values: Sequence[Array],
                    offsets: Sequence[int], shape: Tuple[int, int], device: str,
                    dtype: Any, *, order: Optional[Array] = None,
                    coalesced: bool = False) -> Tuple[COOPattern, Array]:
        xp = get_backend(device).xp
        if parts:
            idx = xp.concatenate([xp.stack([p.rows + off, p.cols])
                                  for p, off in zip(parts, offsets)], axis=1)
            vals = xp.concatenate(list(values))
        else:
            idx, vals = xp.zeros((2, 0), dtype="int64"), xp.zeros(0, dtype=dtype)
        if order is not None:  # scattered to their places in the result
            placed = xp.zeros(idx.shape, dtype=idx.dtype)
            placed_vals = xp.zeros(vals.shape, dtype=vals.dtype)
            placed[:, order] = idx
            placed_vals[order] = vals
            idx, vals = placed, placed_vals
        return COOPattern(idx, shape, device, coalesced=coalesced), vals

    @cached_property
    def csr(self) -> CSRForm:
        self.prove()
        m, n = self.shape
        return self.backend.coo_to_csr(self.rows, self.cols, m, n)

    @cached_property
    def transposed_csr(self) -> CSRForm:
        self.prove()
        m, n = self.shape
        return self.backend.coo_to_csr(self.cols, self.rows, n, m)

    @cached_property
    def kernel_indices(self) -> Tuple[Array, Array]:
        """(rows, cols) for the SDDMM kernel: narrowed once when the backend says the
        copy pays (``index_dtype(..., existing=True)``), else the stored arrays."""
        self.prove()
        idx = self.backend.index_dtype(self.shape[0], self.shape[1], self.nnz, existing=True)
        return self.rows.astype(idx, copy=False), self.cols.astype(idx, copy=False)

    def sddmm(self, a: Array, b: Array, *, alpha: Any = 1, beta: Any = 0,
              c: Optional[Array] = None, conj_b: bool = True) -> Array:
        rows, cols = self.kernel_indices
        return self.backend.sddmm(rows, cols, a, b, alpha=alpha, beta=beta, c=c,
                                  conj_b=conj_b)

    def coalesce(self, values: Array, inverse: bool = True
                 ) -> Tuple[COOPattern, Array, Optional[Array]]:
        return coalesce(self, values, inverse)

    def moved(self, device: str, move: Callable[[Array], Array]) -> COOPattern:
        return COOPattern(move(self.indices), self.shape, device, self.coalesced,
                          proven=self.__dict__["_proven"])

    def to_scipy(self, values: Array) -> Any:
        self.prove()
        sparse = self.backend.sparse_module
        vals = scipy_values(values, self.backend.name)
        return sparse.coo_matrix((vals, (self.rows.copy(), self.cols.copy())),
                                 shape=self.shape)


def coalesce(pattern: Pattern, values: Array, inverse: bool
             ) -> Tuple[COOPattern, Array, Optional[Array]]:
    """The coalesced COO pattern of any pattern's entries, the summed values and the
    inverse map (see :meth:`Pattern.coalesce`)."""
    pattern.prove()
    backend = pattern.backend
    rows, cols, vals, inv = backend.coalesce(pattern.rows, pattern.cols, values,
                                             pattern.shape, inverse=inverse)
    out = COOPattern(backend.xp.stack([rows, cols]), pattern.shape, pattern.device,
                     coalesced=True)
    return out, vals, inv


def spgemm(a: CSRMatrix, b: CSRMatrix) -> Tuple[COOPattern, Array]:
    """SpGEMM ``a @ b`` on ``a``'s device: the coalesced COO pattern of the product and
    its values."""
    backend = get_backend(a.device)
    rows, cols, vals = backend.spgemm(a[:3], a.shape, b[:3], b.shape)
    pattern = COOPattern(backend.xp.stack([rows, cols]), (a.shape[0], b.shape[1]),
                         a.device, coalesced=True)
    return pattern, vals


def check_structure(fn: str, indices: Array, nnz: int) -> None:
    """The O(1) checks, always run: ``indices`` is (2, nnz), as many entries as values."""
    if indices.ndim != 2 or indices.shape[0] != 2:
        raise ValueError(f"{fn}: indices must have shape (2, nnz) for a sparse matrix, got "
                         f"{tuple(indices.shape)}")
    if indices.shape[1] != nnz:
        raise ValueError(f"{fn}: indices has {indices.shape[1]} entries but values has "
                         f"{nnz} (they must be equal)")


def check_invariants(fn: str, indices: Array, shape: Tuple[int, int],
                     is_coalesced: bool = False, arg: str = "") -> None:
    """The O(nnz) scans (skipped with ``check_invariants=False``): every index in range
    and, when ``is_coalesced`` is claimed, sorted row-major without duplicates. ``arg``
    (e.g. ``"mat1 "``) prefixes the array's name in the messages."""
    nnz = indices.shape[1]
    if nnz == 0:
        return
    checks = [indices[0].min(), indices[0].max(), indices[1].min(), indices[1].max()]
    if is_coalesced and nnz > 1:
        keys = indices[0] * np.int64(shape[1]) + indices[1]
        checks.append((keys[1:] > keys[:-1]).all())
    got = host_ints(checks)  # one transfer
    for d, name in ((0, "row"), (1, "column")):
        lo, hi = got[2 * d], got[2 * d + 1]
        if lo < 0:
            raise ValueError(f"{fn}: {arg}indices has a negative {name} index ({lo})")
        if hi >= shape[d]:
            raise ValueError(f"{fn}: {arg}indices has {name} index {hi} out of range for "
                             f"size {tuple(shape)} (must be < {shape[d]})")
    if is_coalesced and nnz > 1 and not got[4]:
        raise ValueError(f"{fn}: is_coalesced=True but {arg}indices are not sorted "
                         f"row-major without duplicates")
