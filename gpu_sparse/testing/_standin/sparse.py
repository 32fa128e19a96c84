"""``cupyx.scipy.sparse`` of the stand-in: COO, CSR and CSC matrices on the device.

As in cupyx (``_compressed.py``, ``_coo.py``): the arrays must be device arrays (NumPy
arrays are refused), values hold only bool, float32, float64, complex64 and complex128
(``_sputils._SPARSE_DATA_KINDS``; float16, bfloat16 and integers raise ValueError),
indices are narrowed to int32 when their values fit, ``@`` multiplies by a device array
(a NumPy operand is refused) or another matrix, and ``get()`` returns the SciPy matrix.
The arithmetic runs in SciPy on the arrays' device bytes. Other methods of cupyx's
classes exist and raise NotImplementedError.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from . import core
from .core import ndarray, synchronize, wrap
from .functions import fill_class, fill_module

_KINDS = "?fdFD"


def _dev(x: Any, what: str) -> ndarray:
    if not isinstance(x, ndarray):
        raise ValueError(f"{what} must be a cupy.ndarray, got {type(x).__name__}")
    return x


def _values(data: ndarray, dtype: Any) -> ndarray:
    if dtype is not None:
        data = data.astype(dtype)
    if data.dtype.char not in _KINDS:
        raise ValueError("Only bool, float32, float64, complex64 and complex128 are "
                         "supported")
    return data


def _index_dtype(*arrays: np.ndarray, maxval: int = 0) -> np.dtype:
    big = maxval > np.iinfo(np.int32).max
    for a in arrays:
        if a.size and (a.max() > np.iinfo(np.int32).max or a.min() < np.iinfo(np.int32).min):
            big = True
    return np.dtype(np.int64 if big else np.int32)


class spmatrix:  # noqa: N801 (cupyx's name)
    """What the three formats share."""

    format = ""

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def nnz(self) -> int:
        return int(self.data.shape[0])

    @property
    def ndim(self) -> int:
        return 2

    @property
    def device(self) -> Any:
        return self.data.device

    def _scipy(self) -> Any:
        raise NotImplementedError

    def get(self, stream: Any = None) -> Any:
        synchronize(f"cupyx.scipy.sparse.{self.format}_matrix.get")
        return self._scipy().copy()

    def toarray(self, order: Any = None, out: Any = None) -> ndarray:
        return wrap(self._scipy().toarray(order=order))

    def tocoo(self, copy: bool = False) -> coo_matrix:
        return coo_matrix._from_scipy(self._scipy().tocoo())

    def tocsr(self, copy: bool = False) -> csr_matrix:
        if self.format == "csr" and not copy:
            return self  # type: ignore[return-value]
        return csr_matrix._from_scipy(self._scipy().tocsr())

    def tocsc(self, copy: bool = False) -> csc_matrix:
        if self.format == "csc" and not copy:
            return self  # type: ignore[return-value]
        return csc_matrix._from_scipy(self._scipy().tocsc())

    def astype(self, t: Any) -> Any:
        return type(self)._from_scipy(self._scipy().astype(_values(self.data.astype(t),
                                                                   None).dtype))

    def copy(self) -> Any:
        return type(self)._from_scipy(self._scipy().copy())

    def transpose(self, axes: Any = None, copy: bool = False) -> Any:
        t = self._scipy().transpose()
        return {"csr": csr_matrix, "csc": csc_matrix, "coo": coo_matrix}[t.format] \
            ._from_scipy(t)

    @property
    def T(self) -> Any:
        return self.transpose()

    def conj(self, copy: bool = True) -> Any:
        return type(self)._from_scipy(self._scipy().conj())

    def sum_duplicates(self) -> None:
        m = self._scipy()
        m.sum_duplicates()
        self._set(type(self)._from_scipy(m))

    def _set(self, other: Any) -> None:
        self.__dict__.update(other.__dict__)

    def __matmul__(self, other: Any) -> Any:
        if isinstance(other, ndarray):
            with core.quiet():
                return wrap(np.asarray(self._scipy() @ other._a))
        if isinstance(other, spmatrix):
            return csr_matrix._from_scipy(_spgemm(self._scipy(), other._scipy()))
        if isinstance(other, np.ndarray):
            raise TypeError(f"Unsupported type {type(other)}")
        return NotImplemented

    dot = __matmul__

    def __mul__(self, other: Any) -> Any:
        if core.is_scalar(other):
            return type(self)._from_scipy(self._scipy() * other)
        return self.__matmul__(other)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        synchronize("cupyx.scipy.sparse repr")
        return repr(self._scipy())

    def getnnz(self, axis: Any = None) -> Any:
        return self._scipy().getnnz(axis)

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def has_canonical_format(self) -> bool:
        synchronize("has_canonical_format")
        return bool(self._scipy().has_canonical_format)


class _compressed(spmatrix):  # noqa: N801
    def __init__(self, arg1: Any, shape: Any = None, dtype: Any = None, copy: bool = False,
                 *, maxprint: Any = None):
        if sp.issparse(arg1):  # a SciPy matrix: copied to the device
            m = arg1.asformat(self.format)
            self._set(type(self)._from_scipy(m if dtype is None else m.astype(dtype)))
            return
        if isinstance(arg1, spmatrix):
            self._set(type(self)._from_scipy(arg1._scipy().asformat(self.format)))
            return
        if isinstance(arg1, tuple) and len(arg1) == 2 and all(
                isinstance(x, (int, np.integer)) for x in arg1):  # a shape: no entries
            make = sp.csr_matrix if self.format == "csr" else sp.csc_matrix
            self._set(type(self)._from_scipy(make(arg1, dtype=dtype or np.float64)))
            return
        if not (isinstance(arg1, tuple) and len(arg1) == 3):
            raise ValueError(f"unrecognized {self.format}_matrix constructor usage")
        data, indices, indptr = (_dev(x, w) for x, w in zip(arg1, ("data", "indices",
                                                                     "indptr")))
        if shape is None:
            raise ValueError("cupyx.scipy.sparse: shape is required here")
        synchronize(f"cupyx.scipy.sparse.{self.format}_matrix()")
        idx = _index_dtype(indices._a, indptr._a, maxval=max(shape))
        self.data = _values(data.copy() if copy else data, dtype)
        self.indices = indices.astype(idx, copy=copy)
        self.indptr = indptr.astype(idx, copy=copy)
        self._shape = (int(shape[0]), int(shape[1]))

    @classmethod
    def _from_scipy(cls, m: Any) -> Any:
        self = cls.__new__(cls)
        idx = _index_dtype(m.indices, m.indptr, maxval=max(m.shape))
        self.data = _values(wrap(np.ascontiguousarray(m.data)), None)
        self.indices = wrap(m.indices.astype(idx))
        self.indptr = wrap(m.indptr.astype(idx))
        self._shape = m.shape
        return self

    def _scipy(self) -> Any:
        make = sp.csr_matrix if self.format == "csr" else sp.csc_matrix
        return make((self.data._a, self.indices._a, self.indptr._a), shape=self._shape)

    def sort_indices(self) -> None:
        m = self._scipy().copy()
        m.sort_indices()
        self._set(type(self)._from_scipy(m))

    def eliminate_zeros(self) -> None:
        m = self._scipy().copy()
        m.eliminate_zeros()
        self._set(type(self)._from_scipy(m))


class csr_matrix(_compressed):  # noqa: N801
    format = "csr"


class csc_matrix(_compressed):  # noqa: N801
    format = "csc"


class coo_matrix(spmatrix):  # noqa: N801
    format = "coo"

    def __init__(self, arg1: Any, shape: Any = None, dtype: Any = None, copy: bool = False,
                 *, maxprint: Any = None):
        if sp.issparse(arg1):
            m = arg1.tocoo()
            self._set(coo_matrix._from_scipy(m if dtype is None else m.astype(dtype)))
            return
        if isinstance(arg1, spmatrix):
            self._set(coo_matrix._from_scipy(arg1._scipy().tocoo()))
            return
        if not (isinstance(arg1, tuple) and len(arg1) == 2 and isinstance(arg1[1], tuple)):
            raise ValueError("unrecognized coo_matrix constructor usage")
        data, (row, col) = arg1
        for x in (data, row, col):
            if not isinstance(x, ndarray) or x.ndim != 1:
                raise ValueError("row, column, and data arrays must be 1-D")
        synchronize("coo_matrix(): the index bounds")  # read whether or not shape is given
        if shape is None:
            shape = (int(row._a.max()) + 1 if row.size else 0,
                     int(col._a.max()) + 1 if col.size else 0)
        idx = _index_dtype(row._a, col._a, maxval=max(shape))
        self.data = _values(data.copy() if copy else data, dtype)
        self.row = row.astype(idx, copy=copy)
        self.col = col.astype(idx, copy=copy)
        self._shape = (int(shape[0]), int(shape[1]))

    @classmethod
    def _from_scipy(cls, m: Any) -> coo_matrix:
        self = cls.__new__(cls)
        idx = _index_dtype(m.row, m.col, maxval=max(m.shape))
        self.data = _values(wrap(np.ascontiguousarray(m.data)), None)
        self.row = wrap(m.row.astype(idx))
        self.col = wrap(m.col.astype(idx))
        self._shape = m.shape
        return self

    def _scipy(self) -> Any:
        return sp.coo_matrix((self.data._a, (self.row._a, self.col._a)), shape=self._shape)


def _spgemm(a: Any, b: Any) -> Any:
    """cuSPARSE's SpGEMM: the structural product (an entry wherever a path exists, also
    where the values cancel to zero; SciPy's ``@`` drops those), sorted indices."""
    a, b = a.tocsr(), b.tocsr()
    ones = (sp.csr_matrix((np.ones(a.nnz), a.indices, a.indptr), shape=a.shape)
            @ sp.csr_matrix((np.ones(b.nnz), b.indices, b.indptr), shape=b.shape)).tocsr()
    ones.sort_indices()
    rows = np.repeat(np.arange(ones.shape[0]), np.diff(ones.indptr))
    with core.quiet():
        vals = np.asarray((a @ b).tocsr()[rows, ones.indices]).reshape(-1)
    return sp.csr_matrix((vals.astype(np.result_type(a.dtype, b.dtype)), ones.indices,
                          ones.indptr), shape=ones.shape)


def issparse(x: Any) -> bool:
    return isinstance(x, spmatrix)


def build(module: Any) -> None:
    """Fill ``cupyx.scipy.sparse`` (and give the classes their other names as stubs)."""
    implemented = {"csr_matrix": csr_matrix, "csc_matrix": csc_matrix,
                   "coo_matrix": coo_matrix, "spmatrix": spmatrix, "issparse": issparse,
                   "isspmatrix": issparse,
                   "isspmatrix_csr": lambda x: isinstance(x, csr_matrix),
                   "isspmatrix_csc": lambda x: isinstance(x, csc_matrix),
                   "isspmatrix_coo": lambda x: isinstance(x, coo_matrix)}
    qual = "cupyx.scipy.sparse"
    fill_module(module, qual, implemented)
    for cls in (csr_matrix, csc_matrix, coo_matrix):
        fill_class(cls, f"{qual}.{cls.__name__}", qual)
