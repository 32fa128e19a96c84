"""The CSR pattern: a row pointer ``crow`` (m + 1,) and column indices ``col`` (nnz,),
both int64; columns inside a row may be unsorted and may repeat."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from ..backend import Array, CSRForm, get_backend
from . import coo
from .coo import COOPattern
from .pattern import Layout, Pattern, host_ints, scipy_values


class CSRPattern(Pattern):
    """CSR index structure; entry k lies in row i when ``crow[i] <= k < crow[i + 1]``."""

    layout = Layout.sparse_csr

    def __init__(self, crow: Array, col: Array, shape: Tuple[int, int], device: str,
                 proven: bool = True):
        super().__init__(shape, device, col.shape[0], coalesced=False, proven=proven)
        self.crow = crow
        self.col = col

    def _check_invariants(self, fn: str, prefix: str) -> None:
        check_invariants(fn, self.crow, self.col, self.shape, arg=prefix)

    def index_arrays(self) -> Dict[str, Array]:
        return {"crow_indices": self.crow, "col_indices": self.col}

    @property
    def rows(self) -> Array:
        """The row of each entry (nnz,) int64, expanded from ``crow`` on each use (not
        kept: the products walk rows through ``crow``, and an nnz-long array per pattern
        would cost memory for the conversions alone)."""
        self.prove()
        xp = self.backend.xp
        k = xp.arange(self.nnz, dtype=self.crow.dtype)
        return xp.searchsorted(self.crow, k, side="right") - 1

    @property
    def cols(self) -> Array:
        return self.col

    rows_sorted = True

    def select(self, axis: int, lo: int, hi: int) -> Tuple[CSRPattern, Array]:
        xp = self.backend.xp
        if axis == 0:  # rows lo..hi-1: one consecutive slice
            start, stop = host_ints([self.crow[lo], self.crow[hi]])
            crow = self.crow[lo:hi + 1] - self.crow[lo]
            return (CSRPattern(crow.astype("int64"), self.col[start:stop].astype("int64"),
                               (hi - lo, self.shape[1]), self.device),
                    xp.arange(start, stop, dtype="int64"))
        positions = xp.nonzero((self.col >= lo) & (self.col < hi))[0]
        rows = self.rows[positions]  # still sorted
        crow = xp.searchsorted(rows, xp.arange(self.shape[0] + 1), side="left")
        cols = self.col[positions] - lo
        return (CSRPattern(crow.astype("int64"), cols.astype("int64"),
                           (self.shape[0], hi - lo), self.device), positions)

    def to_coo(self) -> COOPattern:
        return COOPattern(self.backend.xp.stack([self.rows.astype("int64"), self.col]),
                          self.shape, self.device)

    @classmethod
    def concat_rows(cls, parts: Sequence[Pattern], values: Sequence[Array],
                    offsets: Sequence[int], shape: Tuple[int, int], device: str,
                    dtype: Any, *, order: Optional[Array] = None,
                    coalesced: bool = False) -> Tuple[CSRPattern, Array]:
        if order is not None:
            raise ValueError("concat_rows: CSR entries are stored in row order; an order "
                             "of the entries cannot be given")
        xp = get_backend(device).xp
        counts = xp.zeros(shape[0], dtype="int64")
        for p, off in zip(parts, offsets):
            assert isinstance(p, CSRPattern)
            counts[off:off + p.shape[0]] = p.crow[1:] - p.crow[:-1]
        crow = xp.concatenate([xp.zeros(1, dtype="int64"), counts.cumsum()])
        if parts:
            col = xp.concatenate([p.cols for p in parts]).astype("int64")
            vals = xp.concatenate(list(values))
        else:
            col, vals = xp.zeros(0, dtype="int64"), xp.zeros(0, dtype=dtype)
        return CSRPattern(crow, col, shape, device), vals

    @cached_property
    def csr(self) -> CSRForm:
        self.prove()
        idx = self.backend.index_dtype(self.shape[0], self.shape[1], self.nnz)
        return self.crow.astype(idx, copy=False), self.col.astype(idx, copy=False), None

    @cached_property
    def transposed_csr(self) -> CSRForm:
        crow, col, _ = self.csr  # proves the pattern
        return self.backend.csr_transpose(crow, col, self.shape[0], self.shape[1])

    def sddmm(self, a: Array, b: Array, *, alpha: Any = 1, beta: Any = 0,
              c: Optional[Array] = None, conj_b: bool = True) -> Array:
        crow, col, _ = self.csr
        return self.backend.sddmm(None, col, a, b, alpha=alpha, beta=beta, c=c,
                                  conj_b=conj_b, crow=crow)

    def coalesce(self, values: Array, inverse: bool = True
                 ) -> Tuple[COOPattern, Array, Optional[Array]]:
        return coo.coalesce(self, values, inverse)

    def moved(self, device: str, move: Callable[[Array], Array]) -> CSRPattern:
        return CSRPattern(move(self.crow), move(self.col), self.shape, device,
                          proven=self.__dict__["_proven"])

    def to_scipy(self, values: Array) -> Any:
        self.prove()
        sparse = self.backend.sparse_module
        vals = scipy_values(values, self.backend.name)
        return sparse.csr_matrix((vals, self.col.copy(), self.crow.copy()), shape=self.shape)


def from_row_sorted_coo(coo: Pattern) -> CSRPattern:
    """The CSR pattern with the entries of a COO pattern whose rows are sorted (entry
    order kept, so the values carry over unchanged)."""
    xp = coo.backend.xp
    crow = xp.searchsorted(coo.rows, xp.arange(coo.shape[0] + 1), side="left")
    return CSRPattern(crow.astype("int64"), coo.cols, coo.shape, coo.device)


def check_arrays(fn: str, crow: Array, col: Array, nnz: int) -> None:
    """The checks that need no size: 1-D arrays, ``len(col) == nnz``, ``len(crow) >= 1``
    (so that a size can be inferred from them)."""
    if crow.ndim != 1 or col.ndim != 1:
        raise ValueError(f"{fn}: crow_indices and col_indices must be 1-D, got shapes "
                         f"{tuple(crow.shape)} and {tuple(col.shape)}")
    if col.shape[0] != nnz:
        raise ValueError(f"{fn}: col_indices has {col.shape[0]} entries but values has "
                         f"{nnz} (they must be equal)")
    if crow.shape[0] == 0:
        raise ValueError(f"{fn}: crow_indices must have at least one entry (m + 1), got 0")


def check_structure(fn: str, crow: Array, col: Array, nnz: int,
                    shape: Tuple[int, int]) -> None:
    """The O(1) checks, always run (SciPy's ``check_format(full_check=False)``):
    :func:`check_arrays`, ``len(crow) == m + 1``, ``crow[0] == 0`` and
    ``crow[-1] == nnz``, quoting the predicate that failed."""
    m = shape[0]
    check_arrays(fn, crow, col, nnz)
    if crow.shape[0] != m + 1:
        raise ValueError(f"{fn}: crow_indices has length {crow.shape[0]} but size "
                         f"{tuple(shape)} needs m + 1 = {m + 1}")
    first, last = host_ints([crow[0], crow[-1]])  # one transfer
    if first != 0:
        raise ValueError(f"{fn}: `crow_indices[0] == 0` is not satisfied (got {first})")
    if last != nnz:
        raise ValueError(f"{fn}: `crow_indices[-1] == nnz` is not satisfied "
                         f"(crow_indices[-1] = {last}, nnz = {nnz})")


def check_invariants(fn: str, crow: Array, col: Array, shape: Tuple[int, int],
                     arg: str = "") -> None:
    """The O(m + nnz) scans (skipped with ``check_invariants=False``): ``crow``
    non-decreasing (so every row lies within ``[0, nnz]``) and every column in range.
    ``arg`` (e.g. ``"mat1 "``) prefixes the arrays' names in the messages."""
    m, n = shape
    checks = [(crow[1:] < crow[:-1]).any()] if m else []
    if col.shape[0]:
        checks += [col.min(), col.max()]
    got = host_ints(checks) if checks else []  # one transfer
    if m and got[0]:
        i = int((crow[1:] < crow[:-1]).argmax())
        raise ValueError(f"{fn}: {arg}`crow_indices` must be non-decreasing, but "
                         f"crow_indices[{i + 1}] = {int(crow[i + 1])} < crow_indices[{i}] "
                         f"= {int(crow[i])}")
    if col.shape[0]:
        lo, hi = got[-2], got[-1]
        if lo < 0:
            raise ValueError(f"{fn}: {arg}col_indices has a negative column index ({lo})")
        if hi >= n:
            raise ValueError(f"{fn}: {arg}col_indices has column index {hi} out of range "
                             f"for size {tuple(shape)} (must be < {n})")
