"""``gpu_sparse.nn.init``: in-place initialisation of parameters, under PyTorch's names.
Each fills a dense tensor (or a sparse tensor's values) without recording a graph node
and bumps its version counter, as an in-place update does."""

from __future__ import annotations

import math
from typing import Any

from ..core.engine import no_grad
from ..core.tensor import Tensor
from ..ops.random import generator_arg


def _param(fn: str, t: Any) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}: tensor must be a gpu_sparse Tensor, got {type(t).__name__}")
    return t


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros in place (sparse: its values); returns it.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.nn.init.zeros_(gs.ones(2, requires_grad=True)).tolist()
    [0.0, 0.0]
    """
    t = _param("zeros_", tensor)
    with no_grad():
        return t.zero_()


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, *, generator: Any = None
                    ) -> Tensor:
    """Fill a 2-D dense tensor in place with samples uniform on ``[-a, a]``,
    ``a = gain * sqrt(6 / (fan_in + fan_out))``, ``fan_in = size(1)``,
    ``fan_out = size(0)`` (Glorot & Bengio, AISTATS 2010; PyTorch's
    ``xavier_uniform_``); returns it. Samples come from ``generator`` or the default
    generator (:func:`gpu_sparse.manual_seed`).

    Errors: ValueError for fewer than 2 dims (no fans), TypeError for sparse tensors.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> w = gs.nn.init.xavier_uniform_(gs.zeros(3, 2), generator=gs.Generator().manual_seed(0))
    >>> bool((w.abs() <= (6 / 5) ** 0.5).all())
    True
    """
    fn = "xavier_uniform_"
    t = _param(fn, tensor)
    if t.pattern is not None:
        raise TypeError(f"{fn}: tensor is sparse; initialise a dense weight")
    if t.ndim < 2:
        raise ValueError(f"{fn}: fan in and fan out cannot be computed for a tensor with "
                         f"fewer than 2 dimensions (shape {t.shape})")
    receptive = 1
    for s in t.shape[2:]:
        receptive *= s
    fan_in, fan_out = t.shape[1] * receptive, t.shape[0] * receptive
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    src = generator_arg(fn, generator)
    u = src.random(tuple(t.shape), t.backend.xp)  # drawn on t's device
    with no_grad():
        return t.copy_(Tensor(((2 * u - 1) * bound).astype(t.dtype), t.device))


__all__ = ["xavier_uniform_", "zeros_"]
