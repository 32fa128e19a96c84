"""``gpu_sparse.nn.functional``: activations and losses under PyTorch's names, all
differentiable, built on the ops (``relu``, ``log_softmax``, ``nll_loss`` have gradients of
their own; ``cross_entropy`` and ``mse_loss`` are compositions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.tensor import Tensor
from ..ops.random import generator_arg
from ..ops.unary import elu, leaky_relu, relu, sigmoid, tanh
from ..ops.nn import nll_loss
from ..ops.reductions import log_softmax, softmax


def dropout(x: Tensor, p: float = 0.5, training: bool = True, *,
            generator: Any = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    when ``training`` (``x`` itself otherwise), as PyTorch's ``dropout``. The mask comes
    from ``generator`` (a :class:`gpu_sparse.Generator` or a NumPy generator) or the one
    :func:`gpu_sparse.manual_seed` seeds. Differentiable.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.nn.functional.dropout(gs.ones(3), p=0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not isinstance(x, Tensor) or x.pattern is not None:
        raise TypeError("dropout: input must be a dense gpu_sparse Tensor")
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    src = generator_arg("dropout", generator)
    # drawn where x lives (no host copy); float32 draws for narrow dtypes, as PyTorch
    wide = np.float64 if x.dtype == np.float64 else np.float32
    keep = src.random(tuple(x.shape), x.backend.xp, wide) >= p
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    return x * Tensor(keep.astype(x.dtype) * x.dtype.type(scale), x.device)


def cross_entropy(x: Tensor, target: Any, *, reduction: str = "mean",
                  ignore_index: int = -100) -> Tensor:
    """``nll_loss(log_softmax(x, dim=1), target)`` for logits ``x`` (N, C) and integer
    classes ``target`` (N,), as PyTorch's ``cross_entropy``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> round(gs.nn.functional.cross_entropy(gs.tensor([[0.0, 0.0]]), [1]).item(), 4)
    0.6931
    """
    return nll_loss(log_softmax(x, dim=1), target, reduction=reduction,
                    ignore_index=ignore_index)


def mse_loss(x: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of the squared differences of two dense tensors of one shape.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> gs.nn.functional.mse_loss(gs.tensor([1.0, 3.0]), gs.tensor([1.0, 1.0])).item()
    2.0
    """
    if not isinstance(x, Tensor) or not isinstance(target, Tensor):
        raise TypeError("mse_loss: input and target must be gpu_sparse Tensors")
    if x.shape != target.shape:
        raise ValueError(f"mse_loss: input has shape {x.shape} but target {target.shape}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    sq = (x - target) * (x - target)
    return sq.mean() if reduction == "mean" else sq.sum()


__all__ = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "dropout", "softmax", "log_softmax",
           "nll_loss", "cross_entropy", "mse_loss"]
