"""The layout enum and what every sparse pattern shares.

A pattern is the index structure of a sparse matrix without its values: the index arrays,
the shape, the coalesced flag and the device. Patterns are immutable; what is derived from
the index arrays alone (the CSR form the kernels read, the CSR form of the transpose, the
row of each entry) is computed once, lazily, and kept. Values are never cached here: an
optimizer updates them in place between steps.

The methods are the math verbs the ops and their gradients use, named as in the field:
SpMM (``S @ B``, ``Sᴴ @ B``), SDDMM (``A @ Bᴴ`` sampled at the stored entries), gathering a
dense matrix at the stored entries, ``to_dense`` and ``coalesce``. Each takes the values
(an array in storage order) as an argument and returns raw arrays.
"""

from __future__ import annotations

import enum
from functools import cached_property
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..backend import Array, Backend, CSRForm, device_of_array, get_backend


class Layout(enum.Enum):
    """Memory layout of a tensor, as ``torch.layout``: ``strided`` (dense),
    ``sparse_coo`` or ``sparse_csr``, also exported as ``gpu_sparse.strided``,
    ``gpu_sparse.sparse_coo`` and ``gpu_sparse.sparse_csr``. ``Layout(name)`` looks a
    member up by its value (ValueError for an unknown name).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1.0]).layout is gs.strided, gs.Layout("sparse_csr")
    (True, gpu_sparse.sparse_csr)
    """

    strided = "strided"
    sparse_coo = "sparse_coo"
    sparse_csr = "sparse_csr"

    def __repr__(self) -> str:
        return f"gpu_sparse.{self.value}"


def host_ints(values: List[Array]) -> List[int]:
    """0-d integer or bool arrays of one device as Python ints, in one transfer: the
    checks of a construction cost one synchronisation on a GPU, not one per number."""
    backend = get_backend(device_of_array(values[0]) or "cpu")
    both = backend.xp.stack([v.astype("int64") for v in values])
    return [int(v) for v in backend.to_numpy(both).tolist()]


#: Largest integer magnitude float64 holds exactly (2**53).
_EXACT_IN_FLOAT64 = 2 ** 53


def scipy_values(values: Array, backend_name: str) -> Array:
    """A copy of ``values`` in a dtype the backend's sparse matrices hold: half precision
    widened to float32; on CUDA (``cupyx.scipy.sparse`` holds only bool, float32/64 and
    complex64/128) integers as float64, ValueError for an integer beyond 2**53, which
    float64 would round."""
    if values.dtype.name in ("float16", "bfloat16"):
        return values.astype("float32")
    if backend_name != "cpu" and values.dtype.kind in "iu":
        if values.dtype.itemsize >= 8 and values.size and bool(
                (abs(values.astype("float64")) > _EXACT_IN_FLOAT64).any()):
            raise ValueError(f"to_scipy: cupyx.scipy.sparse holds no integer values, and "
                             f"these {values.dtype} values exceed 2**53, which float64 "
                             f"would round; use .cpu().to_scipy()")
        return values.astype("float64")
    return values.copy()


def conj(arr: Array) -> Array:
    """``conj(arr)``; the array itself when it is real (no copy)."""
    return arr.conj() if arr.dtype.kind == "c" else arr


class CSRMatrix(NamedTuple):
    """A sparse matrix as CSR arrays with its values in CSR order: an SpGEMM operand."""

    crow: Array
    col: Array
    values: Array
    shape: Tuple[int, int]
    device: str


class Pattern:
    """The index structure of an (m, n) sparse matrix; see the module docstring.

    Subclasses (:class:`~gpu_sparse.formats.coo.COOPattern`,
    :class:`~gpu_sparse.formats.csr.CSRPattern`) hold the index arrays and say how to
    build the CSR forms from them. Attributes cannot be reassigned once set (AttributeError);
    the index arrays must not be written in place (``Tensor.indices()`` and friends hand
    out read-only views on the CPU).
    """

    layout: Layout

    def __init__(self, shape: Tuple[int, int], device: str, nnz: int, coalesced: bool,
                 proven: bool):
        self.shape: Tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.device = device
        self.nnz = int(nnz)
        self.coalesced = bool(coalesced)
        self.__dict__["_proven"] = bool(proven)

    # ---- bounds ----------------------------------------------------------------------
    def prove(self, fn: str = "gpu_sparse", arg: str = "") -> None:
        """Check, once per pattern, that every index lies in bounds (the O(nnz) scans that
        ``check_invariants=False`` skipped at construction): ValueError naming ``fn`` and
        the argument ``arg`` otherwise. Every verb that reaches a kernel calls it first, so
        no kernel ever reads or writes out of bounds; the ops call it with their own name
        and the argument's for the message. Patterns built by the library, or constructed
        with the checks on, are proven from the start."""
        if self.__dict__["_proven"]:
            return
        self._check_invariants(fn, arg + " " if arg else "")
        self.__dict__["_proven"] = True

    def _check_invariants(self, fn: str, prefix: str) -> None:
        raise NotImplementedError

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.{name} cannot be changed: "
                                 f"patterns are immutable")
        super().__setattr__(name, value)

    @property
    def backend(self) -> Backend:
        """The backend of this pattern's device (looked up, not stored: patterns pickle
        and copy without it)."""
        return get_backend(self.device)

    def same_entries(self, other: Pattern) -> bool:
        """True when ``other`` stores the same entries in the same order (the same object,
        or index arrays equal element by element), so values line up one to one."""
        if other is self:
            return True
        if (type(other) is not type(self) or other.shape != self.shape
                or other.nnz != self.nnz or other.device != self.device):
            return False
        mine, theirs = self.index_arrays(), other.index_arrays()
        return all(mine[k] is theirs[k] or bool((mine[k] == theirs[k]).all())
                   for k in mine)

    # ---- derived index arrays (computed once) --------------------------------------
    @cached_property
    def csr(self) -> CSRForm:
        """``(crow, col, perm)`` in the backend's index dtype; ``perm`` maps each CSR
        position to the storage position of its value (None: same order)."""
        raise NotImplementedError

    @cached_property
    def transposed_csr(self) -> CSRForm:
        """The CSR form of the transposed (n x m) pattern; ``perm`` maps each entry to the
        storage position of its value (None: same order)."""
        raise NotImplementedError

    @property
    def rows(self) -> Array:
        """The row of each stored entry, in storage order (nnz,)."""
        raise NotImplementedError

    @property
    def cols(self) -> Array:
        """The column of each stored entry, in storage order (nnz,)."""
        raise NotImplementedError

    # ---- segment reductions -----------------------------------------------------------
    @cached_property
    def _segment_scans(self) -> Dict[int, Tuple[Any, ...]]:
        return {}  # dim -> what segment_max needs of the pattern, built on first use

    def segment_max(self, values: Array, dim: int) -> Array:
        """The maximum of ``values`` (storage order) over each row (``dim`` 1) or column
        (0): NaN where the segment holds one, -inf where it is empty, in every dtype.

        A segmented scan of ``maximum`` over the entries grouped by segment (the CSR form,
        or its transpose's) in ``ceil(log2(longest segment))`` elementwise passes, whose
        masks depend on the pattern only and are kept with it (the longest segment costs
        one synchronisation on a GPU, once). No atomics: the same bits on every device.
        (CuPy's ``maximum.at`` compares float64 through float32 and refuses float16.)"""
        self.prove()
        scan = self._segment_scans.get(dim)
        if scan is None:
            scan = self._segment_scans[dim] = self._segment_scan(dim)
        perm, masks, last, nonempty, n_seg = scan
        xp = self.backend.xp
        if values.shape[0] == 0:
            return xp.zeros(n_seg, dtype=values.dtype) - np.inf
        y = values.copy() if perm is None else values[perm]
        step = 1
        for same in masks:  # Hillis-Steele: y[k] = max of its segment's entries up to k
            y[step:] = xp.where(same, xp.maximum(y[step:], y[:-step]), y[step:])
            step *= 2
        return xp.where(nonempty, y[last], -np.inf)  # a segment's last entry holds it

    def _segment_scan(self, dim: int) -> Tuple[Any, ...]:
        xp = self.backend.xp
        crow, _, perm = self.csr if dim == 1 else self.transposed_csr
        seg = self.rows if dim == 1 else self.cols
        seg = seg if perm is None else seg[perm]
        lengths = crow[1:] - crow[:-1]
        longest = host_ints([lengths.max()])[0] if lengths.shape[0] else 0
        masks = []
        step = 1
        while step < longest:
            masks.append(seg[step:] == seg[:-step])
            step *= 2
        return perm, masks, xp.maximum(crow[1:] - 1, 0), lengths > 0, crow.shape[0] - 1

    def index_arrays(self) -> Dict[str, Array]:
        """The index arrays under the names of their Tensor accessors (``indices``, or
        ``crow_indices`` and ``col_indices``)."""
        raise NotImplementedError

    # ---- slicing and concatenation (SciPy's _major_slice / _minor_slice) ---------------
    #: whether entries are stored in row order (CSR), so that a block of rows is one
    #: consecutive slice of the values and row blocks concatenate without a permutation
    rows_sorted: bool = False

    def select(self, axis: int, lo: int, hi: int) -> Tuple[Pattern, Array]:
        """The entries whose index along ``axis`` (0: rows, 1: columns) lies in
        ``[lo, hi)``, that index shifted by ``-lo`` (extent ``hi - lo`` along ``axis``),
        in their stored order and in this format: ``(pattern, positions)``, ``positions``
        (k,) int64 the storage positions of the kept entries (their values are
        ``values[positions]``)."""
        raise NotImplementedError

    def to_coo(self) -> Pattern:
        """The COO pattern of the same entries in the same storage order (values carry
        over unchanged); a COO pattern itself."""
        raise NotImplementedError

    @classmethod
    def concat_rows(cls, parts: Sequence[Pattern], values: Sequence[Array],
                    offsets: Sequence[int], shape: Tuple[int, int], device: str,
                    dtype: Any, *, order: Optional[Array] = None,
                    coalesced: bool = False) -> Tuple[Pattern, Array]:
        """One (m, n) pattern of this format from ``parts`` (patterns of this format with
        n columns, in row order, part i's rows starting at row ``offsets[i]``, rows of no
        part empty) with their ``values``: ``(pattern, values)``. ``order``, when given,
        is the position in the result of each entry of the parts taken in turn (formats
        whose :attr:`rows_sorted` is set take none: ValueError); ``coalesced`` is the
        caller's claim that the result is sorted without duplicates. ``dtype`` is the
        values' dtype when there are no parts."""
        raise NotImplementedError

    # ---- products --------------------------------------------------------------------
    def spmm(self, values: Array, b: Array, *, alpha: Any = 1, beta: Any = 0,
             c: Optional[Array] = None) -> Array:
        """SpMM: ``alpha * S @ b + beta * c`` -> (m, p), ``b`` (n, p), ``c`` (m, p) or a
        broadcast view of it, or None."""
        crow, col, perm = self.csr
        return self.backend.spmm(crow, col, values, b, alpha=alpha, beta=beta, c=c,
                                 perm=perm)

    def spmm_h(self, values: Array, b: Array, *, alpha: Any = 1) -> Array:
        """SpMM with the conjugate transpose: ``alpha * Sᴴ @ b`` -> (n, p), ``b`` (m, p).

        Runs a plain (deterministic) SpMM on the cached transposed pattern."""
        crow, col, perm = self.transposed_csr
        return self.backend.spmm(crow, col, values, b, alpha=alpha, perm=perm, conj=True)

    def sddmm(self, a: Array, b: Array, *, alpha: Any = 1, beta: Any = 0,
              c: Optional[Array] = None, conj_b: bool = True) -> Array:
        """SDDMM: ``alpha * (a @ bᴴ)[i, j] + beta * c[k]`` at each stored entry
        k = (i, j), in storage order -> (nnz,); ``a`` (m, p), ``b`` (n, p). With
        ``conj_b=False`` it samples ``a @ bᵀ`` instead. Never forms the m x n product."""
        raise NotImplementedError

    def csr_matrix(self, values: Array, adjoint: bool = False) -> CSRMatrix:
        """``S`` (or ``Sᴴ`` with ``adjoint``) as CSR arrays, values gathered into CSR
        order (conjugated for ``Sᴴ``), from the cached CSR forms."""
        crow, col, perm = self.transposed_csr if adjoint else self.csr
        vals = values if perm is None else values[perm]
        m, n = self.shape
        if adjoint:
            return CSRMatrix(crow, col, conj(vals), (n, m), self.device)
        return CSRMatrix(crow, col, vals, (m, n), self.device)

    # ---- reading at the stored entries ---------------------------------------------
    def gather(self, dense: Array) -> Array:
        """The entries of a dense (m, n) array at the stored positions -> (nnz,);
        duplicates each read the same element."""
        self.prove()
        return dense[self.rows, self.cols]

    def gather_sparse(self, other: Pattern, values: Array) -> Array:
        """The entries of the sparse matrix ``(other, values)`` (duplicates summed) at
        this pattern's stored positions -> (nnz,); 0 where ``other`` stores nothing."""
        self.prove()
        other.prove()
        xp = self.backend.xp
        kr, kc, kv, _ = self.backend.coalesce(other.rows, other.cols, values, other.shape,
                                              inverse=False)
        n = self.shape[1]
        out = xp.zeros(self.nnz, dtype=values.dtype)
        if kr.shape[0] == 0 or self.nnz == 0:
            return out
        keys = kr * n + kc  # row-major keys, sorted and unique after coalescing
        want = self.rows.astype("int64") * n + self.cols.astype("int64")
        pos = xp.searchsorted(keys, want).clip(max=keys.shape[0] - 1)
        hit = keys[pos] == want
        out[hit] = kv[pos[hit]]
        return out

    # ---- conversions ---------------------------------------------------------------
    def to_dense(self, values: Array) -> Array:
        """The dense (m, n) matrix, duplicates summed."""
        self.prove()
        return self.backend.to_dense(self.rows, self.cols, values, self.shape)

    def coalesce(self, values: Array, inverse: bool = True
                 ) -> Tuple[Pattern, Array, Optional[Array]]:
        """Sorted row-major without duplicates (explicit zeros kept).

        Returns ``(pattern, values, inverse)``: a coalesced COO pattern, the summed values
        and, when ``inverse``, the output position (nnz_in,) int64 each input entry was
        summed into."""
        raise NotImplementedError

    def moved(self, device: str, move: Callable[[Array], Array]) -> Pattern:
        """This pattern on ``device``, each index array carried by ``move``."""
        raise NotImplementedError

    def to_scipy(self, values: Array) -> Any:
        """A SciPy (CPU) or cupyx (CUDA) sparse matrix of this format holding copies.
        float16/bfloat16 values come out as float32: neither sparse module holds them."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(shape={self.shape}, nnz={self.nnz}, "
                f"device={self.device!r})")
