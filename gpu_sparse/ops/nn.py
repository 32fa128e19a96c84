"""The neural-network ops with gradients of their own: ``nll_loss`` (``softmax`` and
``log_softmax`` live with the reductions; ``gpu_sparse.nn.functional`` composes the rest
from them)."""

from __future__ import annotations

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
    tgt = target.array if isinstance(target, Tensor) else target
    tgt = x.backend.asarray(tgt)
    if tgt.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target must hold integers, got dtype {tgt.dtype}")
    n, c = x.shape
    if tgt.shape != (n,):
        raise ValueError(f"{fn}: target must have shape ({n},), got {tuple(tgt.shape)}")
    keep = tgt != ignore_index
    if n and bool(((tgt < 0) | (tgt >= c))[keep].any()):
        raise ValueError(f"{fn}: target holds a class outside [0, {c})")
    rows = x.backend.xp.arange(n)[keep]
    cols = tgt[keep].astype(np.int64)
    count = int(rows.shape[0])
    acc = np.dtype(np.float32) if x.dtype == np.float16 else x.dtype  # no float16 overflow
    total = -x.array[rows, cols].sum(dtype=acc)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        value = total / acc.type(count) if reduction == "mean" else total
    out = Tensor(x.backend.asarray(value, dtype=x.dtype).reshape(()), x.device)
    scale = 1.0 / count if reduction == "mean" and count else 1.0
    return record(fn, out, [("input", x)], NllLossCtx(x, rows, cols, scale))


__all__ = ["log_softmax", "nll_loss", "softmax"]
