"""Argument checks the distributed ops share: local operands beside distributed ones,
one Dask client, one dtype."""

from __future__ import annotations

import numbers
from typing import Any

from ..core.tensor import Tensor
from ._tensor import DistributedTensor

DT = DistributedTensor


def big_local(fn: str, name: str, t: Any) -> TypeError:
    return TypeError(f"{fn}: {name} is a local {type(t).__name__} of shape "
                     f"{getattr(t, 'shape', None)} mixed with distributed operands; "
                     f"partition it with gpu_sparse.distributed.from_tensor(...) "
                     f"(or from_numpy / from_scipy) with the same row_bounds")


def is_small(t: Any) -> bool:
    """A local operand every block may take whole: a number, or a tensor broadcast along
    the rows (0-d, 1-d, or one row)."""
    if isinstance(t, numbers.Number):
        return True
    return isinstance(t, Tensor) and t.pattern is None and (t.ndim < 2 or t.shape[0] == 1)


def same_runner(fn: str, *ts: Any) -> Any:
    runners = {id(t._runner.client): t._runner for t in ts if isinstance(t, DT)}
    if len(runners) > 1:
        raise RuntimeError(f"{fn}: the distributed operands live on different Dask clients")
    return next(iter(runners.values()))


def check_dtype(fn: str, **named: Any) -> Any:
    dts = {name: t.dtype for name, t in named.items()
           if t is not None and not isinstance(t, numbers.Number)}
    if len(set(dts.values())) > 1:
        found = ", ".join(f"{k} {v}" for k, v in dts.items())
        raise TypeError(f"{fn}: expected the same dtype for all tensors, got {found}")
    dt = next(iter(dts.values()))
    if fn != "add" and fn != "sub" and fn != "mul" and dt.kind not in "fc":
        raise TypeError(f"{fn}: expected floating point or complex values, got {dt}")
    return dt
