"""The neural-network ops with gradients of their own: ``nll_loss`` (``softmax`` and
``log_softmax`` live with the reductions; ``gpu_sparse.nn.functional`` composes the rest
from them)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..core import validate
from ..core.tensor import Tensor
from .derivatives import NllLossCtx, record
from .reductions import log_softmax, softmax


def nll_loss(x: Tensor, target: Any, *, reduction: str = "mean",
             ignore_index: int = -100) -> Tensor:
    """Negative log likelihood of ``target`` classes under log-probabilities ``x``
    (N, C), PyTorch's ``nll_loss``: ``-x[i, target[i]]`` summed, or averaged over the
    targets that are not ``ignore_index`` (``reduction="mean"``, the default; nan when
    all are ignored). ``target``: (N,) integers in ``[0, C)`` (a Tensor or an array).
    Differentiable w.r.t. ``x``.

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> lp = gs.tensor(np.log([[0.5, 0.5], [0.9, 0.1]]))
    >>> round(gs.nn.functional.nll_loss(lp, [0, 0]).item(), 4)
    0.3993
    """
    fn = "nll_loss"
    validate.tensor_arg(fn, "input", x)
    if x.pattern is not None or x.ndim != 2 or x.dtype.kind != "f":
        raise ValueError(f"{fn}: input must be a dense (N, C) floating point tensor, got "
                         f"{x.layout.value} {x.dtype} of shape {x.shape}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{fn}: reduction must be 'mean' or 'sum', got {reduction!r}")
    if isinstance(target, Tensor):
        validate.same_device(fn, input=x, target=target)
    tgt = target.array if isinstance(target, Tensor) else target
    host = isinstance(tgt, (list, tuple, np.ndarray, numbers.Integral))
    if host:
        tgt = np.asarray(tgt)
    if tgt.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold integers, got dtype {tgt.dtype}")
    n, c = x.shape
    if tgt.shape != (n,):
        raise ValueError(f"{fn}: target must have shape ({n},), got {tuple(tgt.shape)}")

    def in_range(t: Any) -> bool:  # a host copy of one bool for device targets
        return not n or not bool(((t != ignore_index) & ((t < 0) | (t >= c))).any())

    if not (in_range(tgt) if host else
            validate.checked_once(target, ("nll_loss", c, ignore_index),
                                  lambda: in_range(tgt))):
        raise ValueError(f"{fn}: target holds a class outside [0, {c})")
    xp = x.backend.xp
    tgt = x.backend.asarray(tgt)
    # every row, ignored ones reading class 0 with weight 0: no boolean mask, so no
    # device synchronisation for the count of kept rows
    keep = tgt != ignore_index
    rows = xp.arange(n)
    cols = xp.where(keep, tgt, 0).astype(np.int64)
    acc = np.dtype(np.float32) if x.dtype == np.float16 else x.dtype  # no float16 overflow
    picked = (xp.where(keep, x.array[rows, cols].astype(acc), 0) if c else
              xp.zeros(n, dtype=acc))  # no classes: every target is ignored (checked)
    total = -picked.sum(dtype=acc)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        count = keep.sum(dtype=acc)
        value = total / count if reduction == "mean" else total  # 0 / 0: nan, as PyTorch
        weight = xp.where(keep, 1 / count if reduction == "mean" else acc.type(1), 0)
    out = Tensor(x.backend.asarray(value, dtype=x.dtype).reshape(()), x.device)
    return record(fn, out, [("input", x)], NllLossCtx(x, rows, cols, weight.astype(acc)))


__all__ = ["log_softmax", "nll_loss", "softmax"]
