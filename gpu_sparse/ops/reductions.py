"""Reductions of dense tensors along dims: ``sum``, ``mean``, ``max``/``min`` (values
and indices), ``amax``/``amin``, ``softmax``/``log_softmax``, and ``argmax``/``argmin``,
``all``/``any`` (no gradient); ``sum``/``mean`` without a dim also take sparse tensors
(the stored values). This module's ``sum``, ``max``, ``min``, ``all`` and ``any`` shadow
the builtins, which it reaches through ``builtins``."""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from ..core import validate
from ..core.dispatch import dispatchable
from ..core.tensor import Tensor
from .arraymath import log_softmax_array
from .derivatives import ArgReduceCtx, DimCtx, ExtremumCtx, MeanCtx, SumCtx, record


def dims_arg(fn: str, x: Tensor, dim: Any) -> Optional[Tuple[int, ...]]:
    """``dim`` (None, an int or a sequence of ints) as sorted non-negative dims."""
    if dim is None:
        return None
    many = isinstance(dim, (tuple, list))
    items = tuple(dim) if many else (dim,)
    if many and not items:
        return None  # dim=() reduces every dim, as PyTorch
    nd = builtins.max(x.ndim, 1)
    out = []
    for d in items:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"{fn}: dim must be an integer or a tuple of integers, got "
                            f"{type(d).__name__}")
        if not -nd <= d < nd:
            raise IndexError(f"{fn}: dim {d} is out of range for a {x.ndim}-D input "
                             f"(expected in [{-nd}, {nd - 1}])")
        out.append(int(d) % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: dim {dim} names a dim twice")
    if x.ndim == 0:
        return ()
    return tuple(sorted(out))


def dim_arg(fn: str, x: Tensor, dim: Any) -> int:
    """One dim as a non-negative int (a 0-d input takes 0 and -1)."""
    if isinstance(dim, (tuple, list)) or dim is None:
        raise TypeError(f"{fn}: dim must be an integer, got {dim!r}")
    dims = dims_arg(fn, x, dim)
    assert dims is not None
    return dims[0] if dims else 0


def _dense(fn: str, x: Tensor, kinds: str = "biufc") -> None:
    validate.tensor_arg(fn, "input", x)
    if x.pattern is not None:
        raise TypeError(f"{fn}: input is sparse ({x.layout.value}); reduce values() or "
                        f"use gpu_sparse.sparse.sum")
    if x.dtype.kind not in kinds:
        raise TypeError(f"{fn}: input dtype {x.dtype} is not supported here")


@dispatchable
def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum of the elements over ``dim`` (an int or a tuple of ints; all dims when None),
    keeping the reduced dims as size 1 when ``keepdim``, as ``torch.sum``. Sparse
    tensors: the sum of all stored values (use :func:`gpu_sparse.sparse.sum` for a dim).
    Bool and integer tensors sum in int64. Differentiable: every element gets ``G``
    (broadcast back over the reduced dims).

    Shapes: ``x`` (d0, ..., dk) -> the shape without (or with size-1) reduced dims.
    Errors: IndexError for a dim out of range, TypeError for a sparse input with a dim.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.sum().item(), x.sum(dim=0).tolist(), x.sum(1, keepdim=True).tolist()
    (10.0, [4.0, 6.0], [[3.0], [7.0]])
    """
    validate.tensor_arg("sum", "input", x)
    if x.pattern is not None and dim is not None:
        raise TypeError("sum: input is sparse; sum over a dim with gpu_sparse.sparse.sum")
    dims = dims_arg("sum", x, dim)
    dt = np.dtype(np.int64) if x.dtype.kind in "biu" else x.dtype
    axes = None if dims is None else dims
    arr = x.array.sum(axis=axes, keepdims=bool(keepdim), dtype=dt)
    arr = x.backend.asarray(arr, dtype=dt).reshape(_out_shape(x, dims, keepdim))
    return record("sum", Tensor(arr, x.device), [("input", x)], SumCtx(x, dims, keepdim))


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean of the elements over ``dim`` (all when None; a sparse tensor: of its stored
    values), as ``torch.mean``; nan for no elements. Floating point or complex inputs
    only (TypeError otherwise, as in PyTorch). Differentiable: every element gets
    ``G / count``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0], [3.0, 5.0]])
    >>> x.mean().item(), x.mean(dim=1).tolist()
    (2.75, [1.5, 4.0])
    """
    validate.tensor_arg("mean", "input", x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"mean: input must have a floating point or complex dtype, got "
                        f"{x.dtype} (as in PyTorch)")
    if x.pattern is not None and dim is not None:
        raise TypeError("mean: input is sparse; reduce values() or use gpu_sparse.sparse.sum")
    dims = dims_arg("mean", x, dim)
    count = _count(x, dims)
    acc = np.dtype(np.float32) if x.dtype == np.float16 else x.dtype  # no float16 overflow
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        arr = x.array.sum(axis=dims, keepdims=bool(keepdim), dtype=acc) / acc.type(count)
    arr = x.backend.asarray(arr, dtype=x.dtype).reshape(_out_shape(x, dims, keepdim))
    return record("mean", Tensor(arr, x.device), [("input", x)],
                  MeanCtx(x, dims, keepdim, count))


class MaxResult(NamedTuple):
    """``(values, indices)`` of :func:`max` / :func:`min` along a dim."""
    values: Tensor
    indices: Tensor


def _extremum(fn: str, x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    _dense(fn, x, "biuf")
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(f"{fn}: the input has no elements; give a dim (as PyTorch)")
        arr = x.array.max() if largest else x.array.min()
        out = Tensor(x.backend.asarray(arr, dtype=x.dtype).reshape(()), x.device)
        return record("amax" if largest else "amin", out, [("input", x)],
                      ExtremumCtx(x, None, False, out.array.copy()))
    d = dim_arg(fn, x, dim)
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"{fn}: dim {d} has size 0; there is no {fn} to take")
    xp = x.backend.xp
    src = x.array.reshape(1) if x.ndim == 0 else x.array
    idx = xp.argmax(src, axis=d) if largest else xp.argmin(src, axis=d)
    idx = idx.reshape(idx.shape[:d] + (1,) + idx.shape[d:])
    vals = xp.take_along_axis(src, idx, axis=d)
    shape = _out_shape(x, (d,) if x.ndim else (), keepdim)
    vals = xp.ascontiguousarray(vals).reshape(shape)
    values = record(fn, Tensor(vals, x.device), [("input", x)],
                    ArgReduceCtx(x, d, idx))
    return MaxResult(values, Tensor(xp.ascontiguousarray(idx.astype(np.int64)).reshape(shape),
                                    x.device))


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The largest element (``dim`` None: a 0-d tensor) or, along ``dim``, a named tuple
    ``(values, indices)`` with the first index of each maximum, as ``torch.max``. NaN
    counts as the largest. Real dense tensors. Differentiable: without a dim the
    gradient is shared evenly among ties; along a dim it goes to the returned index.
    Errors: RuntimeError for an empty input without a dim, IndexError for an empty dim.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 5.0], [7.0, 2.0]])
    >>> x.max().item(), x.max(dim=1).values.tolist(), x.max(dim=1).indices.tolist()
    (7.0, [5.0, 7.0], [1, 0])
    """
    return _extremum("max", x, dim, keepdim, True)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The smallest element or ``(values, indices)`` along ``dim``, as :func:`max`.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([[1.0, 5.0], [7.0, 2.0]]).min(dim=0).values.tolist()
    [1.0, 2.0]
    """
    return _extremum("min", x, dim, keepdim, False)


def _amax(fn: str, x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Tensor:
    _dense(fn, x, "biuf")
    dims = dims_arg(fn, x, dim if dim not in ((), []) else None)
    if dims is not None and builtins.any(x.shape[d] == 0 for d in dims):
        raise IndexError(f"{fn}: a reduced dim has size 0")
    if dims is None and x.numel() == 0:
        raise RuntimeError(f"{fn}: the input has no elements; give a dim")
    arr = x.array.max(axis=dims, keepdims=True) if largest else \
        x.array.min(axis=dims, keepdims=True)
    out = Tensor(x.backend.asarray(arr).reshape(_out_shape(x, dims, keepdim)), x.device)
    # a copy: the result is the caller's to change in place
    return record(fn, out, [("input", x)], ExtremumCtx(x, dims, keepdim, arr.copy()))


def amax(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The largest elements over ``dim`` (an int or a tuple; all dims by default), as
    ``torch.amax``. NaN propagates. Differentiable: the gradient is shared evenly among
    the elements equal to each maximum.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.amax(gs.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=0).tolist()
    [7.0, 5.0]
    """
    return _amax("amax", x, dim, keepdim, True)


def amin(x: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    """The smallest elements over ``dim``, as :func:`amax`.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.amin(gs.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1).tolist()
    [1.0, 2.0]
    """
    return _amax("amin", x, dim, keepdim, False)


def _softmax_input(fn: str, x: Tensor, dim: Any) -> int:
    validate.tensor_arg(fn, "input", x)
    if x.pattern is not None or x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be a dense floating point tensor, got "
                        f"{x.layout.value} {x.dtype} (sparse: gpu_sparse.sparse.{fn})")
    return dim_arg(fn, x, dim)


def softmax(x: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x), dim)`` along ``dim``, computed stably (the maximum is
    subtracted first), for a real dense tensor, as ``torch.softmax``. Differentiable:
    ``s * (G - sum(G * s, dim))``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.softmax(gs.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    d = _softmax_input("softmax", x, dim)
    arr = x.backend.xp.exp(log_softmax_array(x, d))
    return record("softmax", Tensor(arr, x.device), [("input", x)], DimCtx(x, d))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """``x - log(sum(exp(x), dim))`` along ``dim``, computed stably (the maximum is
    subtracted first), for a real dense tensor. Differentiable:
    ``G - softmax(x) * sum(G, dim)``.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> out = gs.log_softmax(gs.tensor(np.zeros((1, 2))), dim=1)
    >>> np.round(out.numpy(), 4).tolist()
    [[-0.6931, -0.6931]]
    """
    d = _softmax_input("log_softmax", x, dim)
    out = Tensor(log_softmax_array(x, d), x.device)
    return record("log_softmax", out, [("input", x)], DimCtx(x, d))


def _logical_reduce(fn: str, x: Tensor, dim: Any, keepdim: bool) -> Tensor:
    _dense(fn, x)
    dims = dims_arg(fn, x, dim)
    arr = x.array != 0
    out = arr.all(axis=dims, keepdims=True) if fn == "all" else \
        arr.any(axis=dims, keepdims=True)
    return Tensor(x.backend.asarray(out).reshape(_out_shape(x, dims, keepdim)), x.device)


def all(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether every element is nonzero (over ``dim``, or all), as a bool tensor; no
    gradient.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> bool(gs.tensor([1.0, 0.0]).all()), gs.tensor([[1, 0], [1, 1]]).all(dim=1).tolist()
    (False, [False, True])
    """
    return _logical_reduce("all", x, dim, keepdim)


def any(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Whether some element is nonzero (over ``dim``, or all), as :func:`all`.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> bool(gs.tensor([1.0, 0.0]).any())
    True
    """
    return _logical_reduce("any", x, dim, keepdim)


def _arg(fn: str, x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Tensor:
    if dim is not None:
        return _extremum("max" if largest else "min", x, dim, keepdim, largest).indices
    _dense(fn, x, "biuf")
    if x.numel() == 0:
        raise RuntimeError(f"{fn}: the input has no elements")
    flat = x.array.reshape(-1)
    xp = x.backend.xp
    idx = (xp.argmax(flat) if largest else xp.argmin(flat)).astype(np.int64)
    shape = (1,) * x.ndim if keepdim else ()
    return Tensor(x.backend.asarray(idx).reshape(shape), x.device)


def argmax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The index of the first maximum (of the flattened tensor when ``dim`` is None, as
    int64), as ``torch.argmax``; no gradient.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([[1.0, 5.0], [7.0, 2.0]]).argmax(dim=1).tolist()
    [1, 0]
    """
    return _arg("argmax", x, dim, keepdim, True)


def argmin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The index of the first minimum, as :func:`argmax`.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([3.0, 1.0, 2.0]).argmin().item()
    1
    """
    return _arg("argmin", x, dim, keepdim, False)


def _count(x: Tensor, dims: Optional[Tuple[int, ...]]) -> int:
    if dims is None:
        return int(x.array.size)
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def _out_shape(x: Tensor, dims: Optional[Tuple[int, ...]], keepdim: bool
               ) -> Tuple[int, ...]:
    if x.pattern is not None:
        return ()
    if dims is None:
        return (1,) * x.ndim if keepdim else ()
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(x.shape))
    return tuple(s for i, s in enumerate(x.shape) if i not in dims)


Tensor.sum = sum
Tensor.mean = mean
Tensor.max = max
Tensor.min = min
Tensor.amax = amax
Tensor.amin = amin
Tensor.all = all
Tensor.any = any
Tensor.argmax = argmax
Tensor.argmin = argmin
Tensor.softmax = softmax
Tensor.log_softmax = log_softmax
