"""``gpu_sparse.optim``: SGD and Adam with PyTorch's update rules, updating leaves in place.

A parameter is a leaf tensor that requires grad, dense or sparse. A sparse parameter is
updated on its own stored values: its gradient lives on its own pattern (the own-indices
rule), so the optimizer state (momentum, Adam's moments) has one entry per stored value.
Each step bumps the parameter's version counter, as any in-place method does.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Iterable, List, Tuple

import numpy as np

from .core.engine import no_grad
from .core.tensor import Tensor, to_layout_of


class Optimizer:
    """What SGD and Adam share: the parameter list (``params``), the learning rate
    (``lr``), per-parameter ``state``, ``zero_grad()`` and the checks. Subclasses define
    ``step()``, which updates the parameters in place outside the graph.

    Errors (on construction): ValueError for an empty parameter list, a parameter that
    is not a leaf requiring grad, or ``lr < 0``; TypeError for a parameter that is not a
    gpu_sparse Tensor.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> w = gs.tensor([1.0], requires_grad=True)
    >>> opt = gs.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); opt.zero_grad()
    >>> isinstance(opt, gs.optim.Optimizer), w.tolist(), w.grad is None
    (True, [0.0], True)
    """

    def __init__(self, params: Iterable[Tensor], lr: float, name: str):
        if isinstance(params, Tensor) or not hasattr(params, "__iter__"):
            raise TypeError(f"{name}: params must be an iterable of Tensors (a list, say), "
                            f"got {type(params).__name__}")
        for arg, value in (("lr", lr),):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"{name}: {arg} must be a real number, got "
                                f"{type(value).__name__}")
        self.params: List[Tensor] = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: params[{i}] must be a gpu_sparse Tensor, got "
                                f"{type(p).__name__}")
            if not p.requires_grad or not p.is_leaf:
                raise ValueError(f"{name}: params[{i}] must be a leaf that requires grad")
        if not lr >= 0:
            raise ValueError(f"{name}: lr must be >= 0, got {lr}")
        self.lr = float(lr)
        self.state: Dict[int, Dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, PyTorch's default) or set them to zero."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                with no_grad():
                    p.grad.zero_()

    def _grads(self) -> Iterable[Tuple[Tensor, Any]]:
        """(parameter, gradient array on the parameter's own layout) for each with one."""
        for p in self.params:
            if p.grad is not None:
                yield p, to_layout_of(p, p.grad).array


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and weight decay (PyTorch's rule).

    ``d = g + weight_decay * p``; with momentum ``buf = momentum * buf + d`` (the first
    step sets ``buf = d``) and ``d = buf``; then ``p -= lr * d``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> w = gs.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    >>> opt = gs.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.tolist()
    [0.8, 1.6]
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, "SGD")
        for arg, value in (("momentum", momentum), ("weight_decay", weight_decay)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"SGD: {arg} must be a real number, got "
                                f"{type(value).__name__}")
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got "
                             f"{momentum} and {weight_decay}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for p, g in self._grads():
            d = g + p.dtype.type(self.weight_decay) * p.array if self.weight_decay else g
            if self.momentum:
                state = self.state.setdefault(id(p), {})
                buf = state.get("momentum_buffer")
                buf = d.copy() if buf is None else buf * p.dtype.type(self.momentum) + d
                state["momentum_buffer"] = buf
                d = buf
            p.array[...] = p.array - p.dtype.type(self.lr) * d
            p.version_counter.bump()


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with PyTorch's defaults and L2 ``weight_decay``.

    ``g += weight_decay * p``; ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) |g|^2``;
    ``p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> w = gs.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = gs.optim.Adam([w], lr=0.1)
    >>> w.sum().backward(); opt.step()
    >>> [round(x, 4) for x in w.tolist()]
    [0.9, -1.1]
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, "Adam")
        for arg, value in (("eps", eps), ("weight_decay", weight_decay),
                           ("betas[0]", betas[0]), ("betas[1]", betas[1])):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise TypeError(f"Adam: {arg} must be a real number, got "
                                f"{type(value).__name__}")
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1) or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: need 0 <= betas < 1, eps >= 0 and weight_decay >= 0, "
                             f"got betas={betas}, eps={eps}, weight_decay={weight_decay}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        b1, b2 = self.betas
        for p, g in self._grads():
            if self.weight_decay:
                g = g + p.dtype.type(self.weight_decay) * p.array
            state = self.state.setdefault(id(p), {"step": 0})
            state["step"] += 1
            t = state["step"]
            sq = (g * g.conj()).real if g.dtype.kind == "c" else g * g
            m = state.get("exp_avg")
            v = state.get("exp_avg_sq")
            m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
            v = (1 - b2) * sq if v is None else b2 * v + (1 - b2) * sq
            state["exp_avg"], state["exp_avg_sq"] = m, v
            real = np.dtype(p.dtype.char.lower()) if p.dtype.kind == "c" else p.dtype
            step_size = real.type(self.lr / (1 - b1 ** t))
            denom = (v / real.type(1 - b2 ** t)) ** real.type(0.5) + real.type(self.eps)
            p.array[...] = p.array - step_size * (m / denom)
            p.version_counter.bump()


__all__ = ["Optimizer", "SGD", "Adam"]
