"""Autograd on tensors: :func:`grad` (gradients without ``.grad``) and :func:`backward`.

The graph walk is :func:`gpu_sparse.core.engine.run_backward`; this module checks the
tensors and upstream gradients handed to it.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

from .engine import run_backward
from .tensor import Tensor, as_gradient

Tensors = Union[Tensor, Sequence[Tensor]]


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into ``.grad`` of every leaf that requires grad
    (``tensor.backward(gradient, retain_graph)``, with its errors): ``gradient`` has
    ``tensor``'s shape and dtype and may be omitted for a one-element tensor; sparse
    leaves get gradients on their own pattern.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([1.0, 2.0], requires_grad=True)
    >>> gs.autograd.backward((x * x).sum())
    >>> x.grad.tolist()
    [2.0, 4.0]
    """
    tensor.backward(gradient, retain_graph=retain_graph)


def grad(outputs: Tensors, inputs: Tensors, grad_outputs: Any = None,
         retain_graph: bool = False, allow_unused: bool = False
         ) -> Tuple[Optional[Tensor], ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
    inputs : Tensor or sequence of Tensor
        Tensors that require grad (leaves or intermediate results).
    grad_outputs : Tensor, array or sequence of them, optional
        Upstream gradients; may be omitted for one-element outputs.
    retain_graph : bool
        Keep the graph's saved tensors for another backward pass.
    allow_unused : bool
        Return None for an input the outputs do not depend on (else RuntimeError).

    Returns
    -------
    tuple of Tensor
        One gradient per input; sparse inputs get sparse gradients on their own pattern.

    Raises
    ------
    RuntimeError when an input or output does not require grad; ValueError when the
    number of ``grad_outputs`` differs from that of ``outputs`` or a shape differs.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0]], requires_grad=True)
    >>> (g,) = gs.autograd.grad((x * x).sum(), x)
    >>> g.numpy().tolist()
    [[2.0, 4.0]]
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for "
                         f"{len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad")
    for i, t in enumerate(outputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: outputs[{i}] does not require grad")
    grads = [as_gradient("grad", t, g) for t, g in zip(outputs, grad_outputs)]
    result = run_backward(outputs, grads, capture=inputs, retain_graph=retain_graph,
                          allow_unused=allow_unused)
    assert result is not None
    return result
