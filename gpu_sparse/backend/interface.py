"""The backend interface: the ten array primitives every device implements.

A backend takes and returns raw arrays (``numpy.ndarray`` on the CPU, ``cupy.ndarray``
on CUDA) and never sees a :class:`gpu_sparse.Tensor` or the autograd graph. The sparse
formats (:mod:`gpu_sparse.formats`) are written once against this interface;
``cpu_backend`` and ``gpu_sparse.cuda`` implement it, and
``tests/test_backend_protocol.py`` checks that each available backend implements
:class:`Backend` exactly (names and signatures).

Conventions shared by all primitives:

* A sparse pattern in CSR form is ``(crow, col)``: ``crow`` has ``n_rows + 1`` entries,
  ``col`` has ``nnz``; both are of one integer dtype (:meth:`Backend.index_dtype`).
  Columns inside a row may be unsorted and may repeat; the products sum a repeated entry,
  as SciPy does.
* ``perm`` (optional, length ``nnz``) lets a CSR pattern read its values from an array in
  another order: entry ``k`` of the CSR pattern has the value ``values[perm[k]]``. This is
  how a COO tensor multiplies through its cached CSR form without reordering its values,
  and how the transposed product reads the original values.
* Index arrays passed in are in bounds: the formats check them before any kernel reads
  them.
* Dense operands are 2-D with any strides (backends copy to the layout their kernels
  want). Outputs are freshly allocated, C-contiguous, and never alias an input.
* Scalars ``alpha``/``beta`` are Python numbers already checked against the dtype (no
  complex scalar with real arrays).
* Every primitive is deterministic: the same inputs give bitwise the same output.

Besides the primitives, the core may use exactly the array-module functions named in
:data:`XP_FUNCTIONS` through ``backend.xp`` (NumPy and CuPy agree on all of them);
``tests/test_architecture.py`` enforces the list.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Tuple, runtime_checkable

Array = Any  # numpy.ndarray or cupy.ndarray

#: The NumPy/CuPy functions the core may call through ``backend.xp`` (elementwise or
#: shape-only work that both array modules implement identically).
XP_FUNCTIONS = frozenset({
    "arange", "argmax", "argmin", "asarray", "ascontiguousarray", "broadcast_to", "concatenate",
    "cos", "exp", "expm1", "eye", "log", "matmul", "maximum", "may_share_memory", "minimum",
    "nonzero", "ones", "searchsorted", "sqrt", "stack", "take_along_axis", "tanh", "where",
    "zeros",
})

CSRForm = Tuple[Array, Array, Optional[Array]]  # (crow, col, perm or None)


@runtime_checkable
class Backend(Protocol):
    """Array primitives behind the differentiable sparse operations."""

    @property
    def name(self) -> str:
        """``"cpu"`` or ``"cuda"``."""

    @property
    def xp(self) -> Any:
        """The array module (``numpy`` or ``cupy``), for the functions in
        :data:`XP_FUNCTIONS` only."""

    @property
    def supported_dtypes(self) -> Tuple[Any, ...]:
        """The value dtypes the products compute with (numpy dtypes)."""

    @property
    def sparse_module(self) -> Any:
        """The SciPy-compatible sparse matrix module (``scipy.sparse``,
        ``cupyx.scipy.sparse``), for ``Tensor.to_scipy``."""

    def asarray(self, data: Any, dtype: Any = None, copy: bool = False) -> Array:
        """``data`` (host array, device array, DLPack producer, list or scalar) as an array
        on this device, sharing memory when it can unless ``copy``.

        With ``copy=True`` the result is a fresh C-contiguous array in memory the kernels
        read fastest (on the CPU, rows start on cache lines); constructors store through
        this.
        """

    def to_numpy(self, a: Array) -> Any:
        """A host ``numpy.ndarray`` with the contents and shape of ``a``: ``a`` itself on
        the CPU, a copy for device arrays."""

    def index_dtype(self, n_rows: int, n_cols: int, nnz: int, existing: bool = False
                    ) -> Any:
        """The index dtype this backend's kernels read for a pattern of this size:
        int32 when every index and ``nnz`` fit, else int64.

        ``existing=True`` asks instead whether an int64 index array that already exists
        is worth a narrower copy: the answer is int64 where reading int64 costs the
        kernels nothing measurable (the CPU) and int32 where index bytes are bandwidth
        (a GPU). The formats cache the copy per pattern."""

    def coo_to_csr(self, rows: Array, cols: Array, n_rows: int, n_cols: int) -> CSRForm:
        """CSR form of a COO pattern, keeping duplicates and their relative order.

        ``rows``, ``cols``: (nnz,) integer arrays, ``0 <= rows < n_rows``. Returns
        ``(crow, col, perm)`` in :meth:`index_dtype`: ``crow`` (n_rows + 1,), ``col``
        (nnz,) and ``perm`` (nnz,) mapping CSR position to COO position (stable by row),
        or ``None`` when ``rows`` is already sorted and the COO order is the CSR order. The
        transposed pattern is ``coo_to_csr(cols, rows, n_cols, n_rows)``.
        """

    def csr_transpose(self, crow: Array, col: Array, n_rows: int, n_cols: int
                      ) -> CSRForm:
        """CSR form ``(crow_t, col_t, perm_t)`` of the transpose (n_cols x n_rows) of a
        CSR pattern, the entries of each transposed row in the original row order;
        ``perm_t`` (never None) maps each transposed entry to its position in the original
        values, as ``coo_to_csr``'s ``perm`` does."""

    def coalesce(self, rows: Array, cols: Array, values: Array, shape: Tuple[int, int],
                 inverse: bool = True) -> Tuple[Array, Array, Array, Optional[Array]]:
        """Sort row-major and sum duplicates, keeping explicit zeros.

        Returns ``(rows, cols, values, inverse)`` with int64 indices (fresh arrays);
        ``inverse`` (nnz_in,) int64 gives, for each input entry, the position of the output
        entry it was summed into (None when ``inverse`` is False). Duplicates are summed
        in their input order.
        """

    def to_dense(self, rows: Array, cols: Array, values: Array, shape: Tuple[int, int]
                 ) -> Array:
        """Dense (m, n) array of the COO entries ``(rows[k], cols[k], values[k])`` in
        ``values``' dtype. ``rows``, ``cols``: (nnz,) of any integer dtype, any order;
        duplicates are summed in input order."""

    def spmm(self, crow: Array, col: Array, values: Array, b: Array, *,
             alpha: Any = 1, beta: Any = 0, c: Optional[Array] = None,
             perm: Optional[Array] = None, conj: bool = False) -> Array:
        """SpMM: ``alpha * op(S) @ b + beta * c`` for the CSR matrix ``S`` (n_rows x n).

        ``values`` (nnz,), read through ``perm`` when given; ``op`` is ``conj`` when
        ``conj`` (with the transposed pattern this gives ``Sᴴ @ b`` deterministically,
        never a transposed-mode product). ``b``: (n, p); ``c``: (n_rows, p), possibly a
        broadcast view, or None (then ``beta`` is unused and NaN/Inf in a would-be ``c``
        cannot leak). Returns (n_rows, p) in the dtype of ``values``.
        """

    def sddmm(self, rows: Optional[Array], cols: Array, a: Array, b: Array, *,
              alpha: Any = 1, beta: Any = 0, c: Optional[Array] = None,
              conj_b: bool = False, crow: Optional[Array] = None) -> Array:
        """SDDMM: ``a @ op(b)ᵀ`` sampled at the entries of a COO or CSR pattern.

        ``out[k] = alpha * sum_l a[rows[k], l] * op(b[cols[k], l]) + beta * c[k]`` with
        ``op = conj`` when ``conj_b``; ``a``: (m, p), ``b``: (n, p), ``c``: (nnz,) or None.
        The row of entry k is ``rows[k]``, or, when ``rows`` is None, given by the CSR row
        pointer ``crow`` (m + 1,). Reads rows of ``a`` and ``b``; never forms the dense
        m x n product. Returns (nnz,).
        """

    def spgemm(self, a: Tuple[Array, Array, Array], a_shape: Tuple[int, int],
               b: Tuple[Array, Array, Array], b_shape: Tuple[int, int]
               ) -> Tuple[Array, Array, Array]:
        """SpGEMM: sparse @ sparse. ``a`` (a_shape) and ``b`` (b_shape) are
        ``(crow, col, values)`` CSR triples of one index dtype, values in CSR order;
        columns within a row may be unsorted and repeat (repeats are summed).

        Returns the product as coalesced COO ``(rows, cols, values)`` (int64 indices,
        sorted row-major, no duplicates) in ``a``'s value dtype.
        """


PRIMITIVES = ("asarray", "to_numpy", "index_dtype", "coo_to_csr", "csr_transpose",
              "coalesce", "to_dense", "spmm", "sddmm", "spgemm")
