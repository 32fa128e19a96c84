"""The backend interface: array primitives that every device implements.

A backend takes and returns raw arrays (``numpy.ndarray`` on the CPU, ``cupy.ndarray``
on CUDA) and never sees a :class:`gpu_sparse.Tensor` or the autograd graph. Every
operation and every gradient of the library is written once against this interface in
``gpu_sparse/_impl.py``; ``cpu_backend`` and ``gpu_sparse.cuda`` implement it.

Conventions shared by all primitives:

* A sparse pattern in CSR form is ``(crow, col)``: ``crow`` has ``n_rows + 1`` entries,
  ``col`` has ``nnz``; both are of one integer dtype (int32 or int64, the backend's
  choice). Columns inside a row may be unsorted and may repeat; a repeated entry is
  summed by the products, as in SciPy.
* ``perm`` (optional, length ``nnz``) lets a CSR pattern read its values from an array in
  another order: entry ``k`` of the CSR pattern has the value ``values[perm[k]]``. This is
  how a COO tensor multiplies through its cached CSR form without gathering its values
  into a new array first, and how the transposed product reads the original values.
* Dense operands are 2-D; backends accept any strides and copy to the layout their kernels
  want. Outputs are freshly allocated, C-contiguous, and never alias an input unless a
  primitive says so.
* Scalars ``alpha``/``beta`` are Python or NumPy numbers already checked against the
  dtype (no complex scalar with real arrays).
* Every primitive is deterministic: the same inputs give bitwise the same output.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Tuple, runtime_checkable

Array = Any  # numpy.ndarray or cupy.ndarray


@runtime_checkable
class Backend(Protocol):
    """Array primitives behind the differentiable sparse operations."""

    #: "cpu" or "cuda"
    name: str
    #: the array module (``numpy`` or ``cupy``); ops use it for elementwise work
    xp: Any
    #: dtypes this backend computes with (numpy dtypes)
    supported_dtypes: Tuple[Any, ...]

    def asarray(self, data: Any, dtype: Any = None) -> Array:
        """``data`` (host array, device array, list or scalar) as an array on this device."""

    def to_numpy(self, a: Array) -> Any:
        """A host ``numpy.ndarray`` with the contents of ``a`` (copy for device arrays)."""

    def copy(self, a: Array) -> Array:
        """A C-contiguous copy of ``a`` in memory the kernels read fastest (on the CPU,
        rows start on cache lines). Constructors store their data through this."""

    def index_dtype(self, n_rows: int, n_cols: int, nnz: int) -> Any:
        """The index dtype this backend uses inside for a pattern of this size."""

    def narrow_indices(self, rows: Array, cols: Array, n_rows: int, n_cols: int
                       ) -> Tuple[Array, Array]:
        """COO index arrays in the dtype this backend's kernels read fastest (int32 when
        they fit, on a GPU); may return the inputs. Callers cache the result per pattern."""

    def coo_to_csr(self, rows: Array, cols: Array, n_rows: int, n_cols: int
                   ) -> Tuple[Array, Array, Optional[Array]]:
        """CSR form of a COO pattern, keeping duplicates and their relative order.

        ``rows``, ``cols``: (nnz,) integer arrays with ``0 <= rows < n_rows``. Returns
        ``(crow, col, perm)``: ``crow`` (n_rows + 1,), ``col`` (nnz,) and ``perm`` (nnz,)
        mapping CSR position to COO position (stable by row), or ``None`` when ``rows`` is
        already sorted and the COO order is the CSR order. The transposed pattern is
        ``coo_to_csr(cols, rows, n_cols, n_rows)``.
        """

    def csr_transpose(self, crow: Array, col: Array, n_rows: int, n_cols: int
                      ) -> Tuple[Array, Array, Optional[Array]]:
        """CSR form ``(crow_t, col_t, perm_t)`` of the transpose of a CSR pattern, entries
        of each transposed row in the original row order; ``perm_t`` maps each transposed
        entry to its position in the original values (as ``coo_to_csr``'s ``perm``)."""

    def csr_to_coo(self, crow: Array, nnz: int) -> Array:
        """Row index (nnz,) of each entry of a CSR pattern, in ``crow``'s dtype."""

    def coalesce(self, rows: Array, cols: Array, values: Array, shape: Tuple[int, int],
                 inverse: bool = True) -> Tuple[Array, Array, Array, Optional[Array]]:
        """Sort row-major and sum duplicates, keeping explicit zeros.

        Returns ``(rows, cols, values, inverse)`` with int64 indices; ``inverse`` (nnz_in,)
        gives, for each input entry, the position of the output entry it was summed into
        (the gradient needs it; a backend may return None when ``inverse`` is False).
        Duplicates are summed in their input order (deterministic).
        """

    def spmm(self, crow: Array, col: Array, values: Array, b: Array, *,
             alpha: Any = 1, beta: Any = 0, c: Optional[Array] = None,
             perm: Optional[Array] = None, conj: bool = False) -> Array:
        """``alpha * S @ b + beta * c`` for CSR ``S`` (n_rows x b.shape[0]).

        ``b``: (n, p) dense; ``c``: (n_rows, p) dense or None (then ``beta`` is unused and
        NaN/Inf in a would-be ``c`` cannot leak). ``conj`` uses ``conj(values)``; with the
        transposed pattern this gives ``Sᴴ @ b`` deterministically. Returns (n_rows, p) in
        the dtype of ``values``.
        """

    def sddmm(self, rows: Optional[Array], cols: Array, a: Array, b: Array, *,
              alpha: Any = 1, beta: Any = 0, c: Optional[Array] = None,
              conj_b: bool = False, crow: Optional[Array] = None) -> Array:
        """Sampled dense-dense product on a COO or CSR pattern.

        ``out[k] = alpha * sum_l a[rows[k], l] * op(b[cols[k], l]) + beta * c[k]`` with
        ``op = conj`` when ``conj_b``; ``a``: (m, p), ``b``: (n, p), ``c``: (nnz,) or None.
        The row of entry k is ``rows[k]``, or, when ``rows`` is None, given by the CSR row
        pointer ``crow`` (m + 1,). Reads rows of ``a`` and ``b``; never forms the dense
        m x n product. Returns (nnz,).
        """

    def spgemm(self, a: Tuple[Array, Array, Array], a_shape: Tuple[int, int],
               b: Tuple[Array, Array, Array], b_shape: Tuple[int, int]
               ) -> Tuple[Array, Array, Array]:
        """Sparse @ sparse. ``a`` and ``b`` are ``(crow, col, values)`` CSR triples.

        Returns the product as coalesced COO ``(rows, cols, values)`` with int64 indices.
        """

    def to_dense(self, rows: Array, cols: Array, values: Array, shape: Tuple[int, int]
                 ) -> Array:
        """Dense (m, n) array of a COO pattern, duplicates summed in input order."""
