"""Shape and selection on dense tensors: indexing (``x[key]``), ``reshape``,
``flatten``, ``squeeze``/``unsqueeze``, ``permute``/``transpose``, ``cat``, ``stack``;
and ``clone`` and the dtype casts (``to(dtype)``, ``float()``, ``double()``, ``half()``)
for dense and sparse tensors. Each result owns its memory (PyTorch returns views for
some of these; see the README), and each is differentiable."""

from __future__ import annotations

import numbers
from typing import Any, Iterator, List, Sequence, Tuple

import numpy as np

from ..backend import canonical_device
from ..core import validate
from ..core.tensor import Tensor, is_inexact
from .derivatives import CatCtx, IndexCtx, InputCtx, PermuteCtx, ReshapeCtx, record
from .inplace import check_writable
from .reductions import dim_arg
from .structure import to_device

Key = Tuple[Any, ...]


def _dense_input(fn: str, x: Any) -> None:
    validate.tensor_arg(fn, "input", x)
    if x.pattern is not None:
        raise TypeError(f"{fn}: input is sparse ({x.layout.value}); it takes dense tensors "
                        "(use to_dense() or values())")


def _key_items(x: Tensor, key: Any) -> Tuple[Key, bool]:
    """The key as a tuple of ints, slices, None, Ellipsis and backend arrays (copied),
    checked against ``x``'s shape; and whether it holds integer arrays."""
    fn = "__getitem__"
    items = key if isinstance(key, tuple) else (key,)
    out: List[Any] = []
    owners: List[Any] = []  # what each integer array came from, for its bounds check
    for item in items:
        owner: Any = None
        if isinstance(item, Tensor):
            if item.pattern is not None:
                raise IndexError(f"{fn}: a sparse tensor cannot be an index")
            validate.same_device(fn, input=x, index=item)
            owner = item
            item = item.array.copy()
        elif isinstance(item, (list, np.ndarray)):  # host data: checked on the host
            owner = np.asarray(item)
            if owner.dtype.kind == "f" and owner.size == 0:
                owner = owner.astype(np.int64)
            item = x.backend.asarray(owner).copy()  # saved for backward: theirs may change
        elif hasattr(item, "__cuda_array_interface__"):
            item = x.backend.asarray(item).copy()
        elif isinstance(item, (bool, np.bool_)):
            item = x.backend.asarray(bool(item))
        elif isinstance(item, slice) and item.step is not None and item.step == 0:
            raise ValueError(f"{fn}: slice step cannot be zero")
        elif isinstance(item, (numbers.Integral, slice)) or item is None or item is Ellipsis:
            pass
        else:
            raise IndexError(f"{fn}: index must be an int, slice, None, Ellipsis, a bool or "
                             f"integer array or Tensor, got {type(item).__name__}")
        if hasattr(item, "dtype") and item.dtype.kind not in "biu":
            raise IndexError(f"{fn}: index arrays must hold integers or bools, got "
                             f"{item.dtype}")
        out.append(item)
        owners.append(owner)
    if sum(1 for i in out if i is Ellipsis) > 1:
        raise IndexError(f"{fn}: an index can only have a single ellipsis ('...')")
    used = sum(i.ndim if hasattr(i, "dtype") and i.dtype.kind == "b" else
               0 if i is None or i is Ellipsis else 1 for i in out)
    if used > x.ndim:
        raise IndexError(f"{fn}: too many indices for a tensor of dimension {x.ndim}")
    # bounds of integer arrays (CuPy wraps out-of-range indices where NumPy raises)
    dim = 0
    advanced = False
    for i, owner in zip(out, owners):
        if i is Ellipsis:
            dim += x.ndim - used
        elif i is None:
            continue
        elif hasattr(i, "dtype") and i.dtype.kind == "b":
            if tuple(i.shape) != x.shape[dim:dim + i.ndim]:
                raise IndexError(f"{fn}: the bool mask of shape {tuple(i.shape)} does not "
                                 f"match the indexed shape {x.shape[dim:dim + i.ndim]}")
            dim += i.ndim
        elif hasattr(i, "dtype"):
            advanced = True
            if not _in_bounds(i, owner, x.shape[dim]):
                raise IndexError(f"{fn}: index out of range for dim {dim} of size "
                                 f"{x.shape[dim]}")
            dim += 1
        else:
            if isinstance(i, numbers.Integral) and not -x.shape[dim] <= int(i) < x.shape[dim]:
                raise IndexError(f"{fn}: index {i} is out of range for dim {dim} of size "
                                 f"{x.shape[dim]}")
            dim += 1
    return tuple(out), advanced


def _in_bounds(idx: Any, owner: Any, size: int) -> bool:
    """Whether the integer indices are in ``[-size, size)`` (CuPy wraps the others where
    NumPy raises): on the host for host data, once per version for a Tensor (a device
    synchronisation the first time), every time for a raw device array."""
    def check(a: Any) -> bool:
        return not a.size or not bool(((a < -size) | (a >= size)).any())

    if isinstance(owner, np.ndarray):
        return check(owner)
    return validate.checked_once(owner, ("index", size), lambda: check(idx))


def getitem(x: Tensor, key: Any) -> Tensor:
    """``x[key]`` for a dense tensor, NumPy's rules: ints, slices, None, ``...``, bool
    masks and integer arrays (lists, NumPy/CuPy arrays or Tensors on ``x``'s device).
    The result is a new tensor (PyTorch returns a view for basic indexing: writes to
    the result do not reach ``x`` here). Differentiable: the gradient is ``G`` summed
    into the selected positions (a repeated index gets the sum of its gradients, added
    in a fixed order, so results are deterministic).

    Errors: IndexError for indices out of range, masks of the wrong shape and keys of
    other types; TypeError for sparse tensors.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> x[[2, 0]].tolist(), x[:, 1].tolist(), x[x > 3].tolist()
    ([[5.0, 6.0], [1.0, 2.0]], [2.0, 4.0, 6.0], [4.0, 5.0, 6.0])
    """
    _dense_input("__getitem__", x)
    items, advanced = _key_items(x, key)
    xp = x.backend.xp
    arr = x.array[items]
    arr = xp.ascontiguousarray(arr).reshape(arr.shape)  # (0-d stays 0-d)
    if xp.may_share_memory(arr, x.array):
        arr = arr.copy()
    return record("index", Tensor(arr, x.device), [("input", x)],
                  IndexCtx(x.array.shape, items, advanced))


def setitem(x: Tensor, key: Any, value: Any) -> None:
    """``x[key] = value`` in place for a dense tensor (the keys of :func:`getitem`;
    ``value`` a number or a dense tensor that broadcasts to ``x[key]``), bumping ``x``'s
    version as the other in-place updates do. Outside the graph: RuntimeError on a tensor
    that requires grad unless inside ``no_grad()``, and on the read-only index views of a
    sparse pattern. With repeated indices the last write wins, as in NumPy, on every
    device (a GPU's scatter leaves the winner undefined: every write of a repeated
    position stores the last one's value here).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.zeros(2, 3)
    >>> x[0, 1:] = 5.0
    >>> x[1] = gs.tensor([1.0, 2.0, 3.0])
    >>> x.tolist()
    [[0.0, 5.0, 5.0], [1.0, 2.0, 3.0]]
    """
    fn = "__setitem__"
    _dense_input(fn, x)
    check_writable(fn, x)
    items, advanced = _key_items(x, key)
    if isinstance(value, Tensor):
        if value.pattern is not None:
            raise TypeError(f"{fn}: value is sparse ({value.layout.value}); assign "
                            "to_dense() or values()")
        validate.same_device(fn, input=x, value=value)
        val: Any = value.array
    else:
        val = validate.scalar(fn, "value", value, x.dtype)
    try:
        x.array[items] = _last_writes(x, items, val) if advanced else val
    except (TypeError, ValueError) as e:  # shapes that do not broadcast, lossy casts
        raise type(e)(f"{fn}: cannot assign value ({getattr(value, 'shape', ())}) to "
                      f"input[key] of this {x.dtype} tensor of shape {x.shape}: {e}") from None
    x.version_counter.bump()


def _last_writes(x: Tensor, items: Key, val: Any) -> Any:
    """``val`` broadcast to ``x[items]``, each element replaced by the value of the last
    write to its position, so that repeated positions all store one value whatever order
    the device writes them in (no synchronisation: the winner of each position is an
    integer maximum, exact in any order)."""
    xp = x.backend.xp
    arr = x.array
    pos = xp.arange(arr.size).reshape(arr.shape)[items]  # position of each write
    vals = xp.ascontiguousarray(xp.broadcast_to(xp.asarray(val, dtype=arr.dtype),
                                                pos.shape)).reshape(-1)
    order = xp.arange(pos.size)
    winner = xp.zeros(arr.size, dtype=order.dtype)
    xp.maximum.at(winner, pos.reshape(-1), order)
    return vals[winner[pos.reshape(-1)]].reshape(pos.shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The elements of a dense tensor in C order, in a new ``shape`` (one entry may be
    -1), as ``torch.reshape`` (always a copy here). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.arange(6).reshape(2, -1).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    fn = "reshape"
    _dense_input(fn, x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"{fn}: shape must be integers, got {shape}")
    dims = tuple(int(s) for s in shape)
    if sum(1 for d in dims if d == -1) > 1 or any(d < -1 for d in dims):
        raise ValueError(f"{fn}: invalid shape {dims} (at most one -1, no other negatives)")
    known = 1
    for d in dims:
        known *= d if d != -1 else 1
    n = x.numel()
    if -1 in dims:
        if known == 0 or n % known:
            raise ValueError(f"{fn}: shape {dims} is invalid for input of size {n}")
        dims = tuple(n // known if d == -1 else d for d in dims)
    elif known != n:
        raise ValueError(f"{fn}: shape {dims} is invalid for input of size {n}")
    arr = x.array.reshape(dims).copy()
    return record(fn, Tensor(arr, x.device), [("input", x)], ReshapeCtx(x.shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim`` to ``end_dim`` merged into one, as ``torch.flatten``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(2, 3, 4).flatten(1).shape
    (2, 12)
    """
    _dense_input("flatten", x)
    if x.ndim == 0:
        return reshape(x, 1)
    a, b = dim_arg("flatten", x, start_dim), dim_arg("flatten", x, end_dim)
    if a > b:
        raise ValueError("flatten: start_dim must not come after end_dim")
    return reshape(x, x.shape[:a] + (-1,) + x.shape[b + 1:])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """A size-1 dim inserted at ``dim`` (``-ndim - 1 <= dim <= ndim``).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(3).unsqueeze(1).shape
    (3, 1)
    """
    _dense_input("unsqueeze", x)
    if not isinstance(dim, (int, np.integer)) or not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim!r} is out of range for a {x.ndim}-D input")
    d = int(dim) % (x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """The size-1 dims removed (all, or those of ``dim`` that have size 1), as
    ``torch.squeeze``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(3, 1).squeeze().shape
    (3,)
    """
    _dense_input("squeeze", x)
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    d = dim_arg("squeeze", x, dim)
    if x.ndim == 0 or x.shape[d] != 1:
        return reshape(x, x.shape)
    return reshape(x, x.shape[:d] + x.shape[d + 1:])


def permute(x: Tensor, *dims: Any) -> Tensor:
    """The dims of a dense tensor reordered (``out.shape[i] == x.shape[dims[i]]``), as
    ``torch.permute`` (a copy here). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(2, 3, 4).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    fn = "permute"
    _dense_input(fn, x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    order = tuple(dim_arg(fn, x, d) for d in dims)
    if sorted(order) != list(range(x.ndim)):
        raise ValueError(f"{fn}: dims {dims} are not a permutation of the {x.ndim} dims")
    arr = x.backend.xp.ascontiguousarray(x.array.transpose(order)).reshape(
        tuple(x.shape[d] for d in order))
    if x.backend.xp.may_share_memory(arr, x.array):
        arr = arr.copy()
    return record(fn, Tensor(arr, x.device), [("input", x)], PermuteCtx(order))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Dims ``dim0`` and ``dim1`` swapped, as ``torch.transpose`` (a copy here;
    ``x.T`` and ``x.t()`` of a 2-D tensor are views). Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.zeros(2, 3, 4).transpose(0, 2).shape
    (4, 3, 2)
    """
    _dense_input("transpose", x)
    order = list(range(x.ndim))
    a, b = dim_arg("transpose", x, dim0), dim_arg("transpose", x, dim1)
    if x.ndim:
        order[a], order[b] = order[b], order[a]
    return permute(x, tuple(order))


def _tensors(fn: str, tensors: Any) -> List[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fn}: tensors must be a list or tuple of Tensors")
    if not tensors:
        raise ValueError(f"{fn}: tensors must not be empty")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or t.pattern is not None:
            raise TypeError(f"{fn}: tensors[{i}] must be a dense gpu_sparse Tensor, got "
                            f"{getattr(t, 'layout', type(t).__name__)}")
        validate.same_device(fn, **{"tensors[0]": tensors[0], f"tensors[{i}]": t})
        validate.same_dtype(fn, **{"tensors[0]": tensors[0], f"tensors[{i}]": t})
    return list(tensors)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Dense tensors of one dtype and device joined along ``dim`` (all other sizes
    equal), as ``torch.cat``. Differentiable: each input gets its slice of ``G``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.cat([gs.ones(1, 2), gs.zeros(1, 2)]).tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    fn = "cat"
    ts = _tensors(fn, tensors)
    d = dim_arg(fn, ts[0], dim)
    if ts[0].ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated (use stack)")
    for i, t in enumerate(ts):
        if t.ndim != ts[0].ndim or t.shape[:d] + t.shape[d + 1:] != \
                ts[0].shape[:d] + ts[0].shape[d + 1:]:
            raise ValueError(f"cat: tensors[{i}] has shape {t.shape}, which does not match "
                             f"{ts[0].shape} outside dim {d}")
    arr = ts[0].backend.xp.concatenate([t.array for t in ts], axis=d)
    sizes = tuple(t.shape[d] for t in ts)
    inputs = [(f"tensors.{i}", t) for i, t in enumerate(ts)]
    return record(fn, Tensor(arr, ts[0].device), inputs, CatCtx(d, sizes, False))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Dense tensors of one shape, dtype and device stacked along a new ``dim``, as
    ``torch.stack``. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.stack([gs.ones(2), gs.zeros(2)], dim=1).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """
    fn = "stack"
    ts = _tensors(fn, tensors)
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: tensors[{i}] has shape {t.shape}, tensors[0] "
                             f"{ts[0].shape}")
    nd = ts[0].ndim + 1
    if not isinstance(dim, (int, np.integer)) or not -nd <= dim < nd:
        raise IndexError(f"stack: dim {dim!r} is out of range for {nd}-D results")
    d = int(dim) % nd
    arr = ts[0].backend.xp.stack([t.array for t in ts], axis=d)
    inputs = [(f"tensors.{i}", t) for i, t in enumerate(ts)]
    return record("cat", Tensor(arr, ts[0].device), inputs,
                  CatCtx(d, (1,) * len(ts), True))


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` (dense or sparse: the same pattern, its values copied).
    Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1.0]).clone().tolist()
    [1.0]
    """
    validate.tensor_arg("clone", "input", x)
    return record("clone", x.with_array(x.array.copy()), [("input", x)], InputCtx(x))


def cast(x: Tensor, dtype: Any) -> Tensor:
    """``x`` with its elements (sparse: values) in ``dtype``; ``x`` itself when it has
    that dtype already. Differentiable between floating point and complex dtypes (the
    gradient is cast back; complex to real keeps the real part, as PyTorch).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1.5]).to("float64").dtype
    dtype('float64')
    """
    validate.tensor_arg("to", "input", x)
    dt = validate.dtype_arg("to", dtype)
    assert dt is not None
    if dt == x.dtype:
        return x
    if x.pattern is not None and not is_inexact(dt):
        raise TypeError(f"to: sparse values must be floating point or complex, got {dt}")
    if x.dtype.kind == "c" and dt.kind != "c":
        arr = x.array.real.astype(dt)
    else:
        arr = x.array.astype(dt)
    out = x.with_array(arr)
    if not is_inexact(dt):
        return out  # integer and bool results have no gradient
    return record("to_dtype", out, [("input", x)], InputCtx(x))


def to(x: Tensor, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``x`` on another device and/or in another dtype, as ``torch.Tensor.to``:
    ``x.to("cuda")``, ``x.to("float64")``, ``x.to(np.float32)``, ``x.to(torch.float16)``,
    ``x.to("cpu", "float64")``, ``x.to(other)`` (other's device and dtype), or the
    keywords. Differentiable. ``x`` itself when nothing changes.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1.0]).to("cpu", dtype="float64").dtype
    dtype('float64')
    """
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str) and a.startswith(("cuda", "cpu")):
            device = a
        elif type(a).__name__ == "device":  # a torch.device
            device = str(a)
        else:
            dtype = a
    out = x if device is None else to_device(x, canonical_device(device, "to"))
    return out if dtype is None else cast(out, dtype)


def _float(x: Tensor) -> Tensor:
    """``x.to(float32)``: the elements (sparse: stored values) as float32, ``x`` itself
    when they are float32 already. Differentiable from floating point and complex dtypes
    (complex keeps the real part, as :func:`cast`); integer and bool inputs give a
    tensor without gradient.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1, 2]).float().dtype, gs.tensor([1, 2]).float().tolist()
    (dtype('float32'), [1.0, 2.0])
    """
    return cast(x, np.float32)


def _double(x: Tensor) -> Tensor:
    """``x.to(float64)``, as :meth:`float` (same shape and pattern, differentiable from
    floating point and complex dtypes: the gradient is cast back).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([0.5], requires_grad=True)
    >>> x.double().sum().backward()
    >>> x.double().dtype, x.grad.dtype
    (dtype('float64'), dtype('float32'))
    """
    return cast(x, np.float64)


def _half(x: Tensor) -> Tensor:
    """``x.to(float16)``, as :meth:`float` (same shape and pattern, differentiable from
    floating point and complex dtypes). Half precision holds about 3 significant digits.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.tensor([1.0, 1.0 / 3]).half().dtype, gs.tensor([1.0, 1.0 / 3]).half().tolist()
    (dtype('float16'), [1.0, 0.333251953125])
    """
    return cast(x, np.float16)


def _iter(x: Tensor) -> Iterator[Tensor]:
    """``iter(x)``: ``x[0], x[1], ...`` along the first dim (TypeError for a 0-d or a
    sparse tensor, as PyTorch)."""
    if x.pattern is not None:
        raise TypeError("__iter__: iterating over a sparse tensor is not supported; "
                        "iterate over indices() and values()")
    if x.ndim == 0:
        raise TypeError("__iter__: iteration over a 0-d tensor")
    return (getitem(x, i) for i in range(x.shape[0]))


Tensor.__getitem__ = getitem
Tensor.__setitem__ = setitem
Tensor.__iter__ = _iter
Tensor.reshape = reshape
Tensor.flatten = flatten
Tensor.unsqueeze = unsqueeze
Tensor.squeeze = squeeze
Tensor.permute = permute
Tensor.transpose = transpose
Tensor.clone = clone
Tensor.to = to
Tensor.float = _float
Tensor.double = _double
Tensor.half = _half
