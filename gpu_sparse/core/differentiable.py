"""The autograd state every tensor type shares: :class:`Differentiable`, the base of
:class:`~gpu_sparse.core.tensor.Tensor` and of ``gpu_sparse.distributed``'s
``DistributedTensor`` (JAX's ``JAXSparse`` base and tinygrad's ``OpMixin`` are the
models): ``requires_grad``, ``grad`` with its checks, ``grad_fn``, ``is_leaf``, the
version counter and ``backward``.

A subclass holds the data and says, in two methods the engine calls
(:class:`~gpu_sparse.core.engine.GraphTensor` states them), how a gradient is brought to
its layout (``_add_grad``) and kept in ``.grad`` (``_accumulate_grad``), and in
``_backward_gradient`` how ``backward``'s ``gradient`` argument is checked.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence

import numpy as np

from . import engine


def is_inexact(dtype: Any) -> bool:
    """Floating point or complex (bfloat16 from ml_dtypes included)."""
    dt = np.dtype(dtype)
    return dt.kind in "fc" or dt.name == "bfloat16"


class Differentiable:
    """Autograd state of a tensor: a leaf that may require grad, or the output of a
    recorded op (see the module docstring). Subclasses call :meth:`_init_autograd` in
    their ``__init__`` and define ``dtype``, ``_add_grad``, ``_accumulate_grad`` and
    ``_backward_gradient``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> isinstance(gs.tensor([1.0]), gs.core.differentiable.Differentiable)
    True
    """

    _version_counter: engine.VersionCounter
    _requires_grad: bool
    _grad: Optional[Any]
    _grad_fn: Optional[engine.Node[Any]]

    def _init_autograd(self, version: Optional[engine.VersionCounter] = None) -> None:
        """A leaf that does not require grad, with a new version counter (or ``version``,
        shared with the tensor whose storage this one views)."""
        self._version_counter = version if version is not None else engine.VersionCounter()
        self._requires_grad = False
        self._grad = None
        self._grad_fn = None

    @property
    def dtype(self) -> np.dtype:
        raise NotImplementedError

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor: set on leaves (assigning calls
        :meth:`requires_grad_`, with its errors), True on results of recorded ops.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0])
        >>> x.requires_grad = True
        >>> x.requires_grad, (x * 2).requires_grad, x.detach().requires_grad
        (True, True, False)
        """
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True) -> Any:
        """Set ``requires_grad`` in place; returns self. RuntimeError when turning it off
        on a result of an op (use ``detach()``) or turning it on for a dtype that is not
        floating point or complex.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0]).requires_grad_()
        >>> x.requires_grad, x.requires_grad_(False).requires_grad
        (True, False)
        """
        flag = bool(flag)
        if self._grad_fn is not None and not flag:
            raise RuntimeError("requires_grad_: you can only change requires_grad of leaf "
                               "tensors; use detach() on a result of an operation")
        if flag and not is_inexact(self.dtype):
            raise RuntimeError(f"requires_grad_: only floating point and complex tensors "
                               f"can require gradients, got dtype {self.dtype}")
        self._requires_grad = flag
        return self

    @property
    def grad(self) -> Optional[Any]:
        """The accumulated gradient of a leaf, None until a backward reaches it: a tensor
        of this type with the same shape and dtype (sparse leaves: on their own entries;
        distributed leaves: with their row blocks). Each backward adds into it; assign
        None (or use ``Optimizer.zero_grad``) to reset it. Assigning anything but a
        tensor of this type or None raises TypeError.

        Non-leaf tensors get no ``.grad`` (use :func:`gpu_sparse.autograd.grad`); reading
        it warns (UserWarning), as in PyTorch.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad.tolist()
        [2.0, 4.0]
        """
        if self._grad_fn is not None:
            warnings.warn("grad: the .grad attribute of a tensor that is not a leaf is "
                          "being read; backward() fills .grad of leaves only (use "
                          "gpu_sparse.autograd.grad(out, [t]) for this tensor's gradient)",
                          UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Optional[Any]) -> None:
        if value is not None and not isinstance(value, type(self)):
            raise TypeError(f"grad: expected a {type(self).__name__} or None, got "
                            f"{type(value).__name__}")
        self._grad = value

    @property
    def grad_fn(self) -> Optional[engine.Node[Any]]:
        """The graph node that computed this tensor (named after the op); None for a
        leaf and for results computed under ``no_grad``.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0], requires_grad=True)
        >>> x.grad_fn is None, (x * 2).grad_fn
        (True, <MulBackward>)
        """
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True unless an op recorded in the graph computed this tensor (tensors that do
        not require grad are leaves too). Only leaves get ``.grad``.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0], requires_grad=True)
        >>> x.is_leaf, (x * 2).is_leaf, (x * 2).detach().is_leaf
        (True, False, True)
        """
        return self._grad_fn is None

    @property
    def _version(self) -> int:
        """How many times the storage changed in place (backward compares it with the
        version each node saw)."""
        return self._version_counter.value

    def _attach(self, node: engine.Node[Any]) -> None:
        """Make this (freshly computed) tensor the output of ``node``."""
        self._requires_grad = True
        self._grad_fn = node

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradients of this tensor into ``.grad`` of every leaf that
        requires grad (sparse leaves: on their own pattern).

        ``gradient`` (dL/d(self): same shape, dtype and device; a tensor or an array) may
        be omitted only for a one-element tensor. The graph's saved values are freed
        unless ``retain_graph``.

        Errors: RuntimeError when this tensor does not require grad, when ``gradient`` is
        omitted for more than one element or is on another device, when a saved input was
        changed in place since, or on a second pass through a freed graph; ValueError for
        a ``gradient`` of another shape, TypeError for another dtype.

        Examples
        --------
        >>> import gpu_sparse as gs
        >>> x = gs.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).backward(gs.tensor([1.0, 10.0]))
        >>> x.grad.tolist()
        [2.0, 40.0]
        """
        if not self._requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no "
                               "grad_fn")
        g = self._backward_gradient(gradient)
        engine.run_backward([self], [g], retain_graph=retain_graph)

    def _backward_gradient(self, gradient: Any) -> Any:
        """``backward``'s ``gradient`` checked and as this type (see :meth:`backward`)."""
        raise NotImplementedError

    def _add_grad(self, pending: Optional[Any], g: Any) -> Any:
        raise NotImplementedError

    def _accumulate_grad(self, g: Any, handed: Sequence[Any]) -> None:
        raise NotImplementedError

    def _autograd_repr(self) -> str:
        """``, grad_fn=<...>`` or ``, requires_grad=True`` for ``__repr__`` (else '')."""
        if not self._requires_grad:
            return ""
        return (f", grad_fn={self._grad_fn!r}" if self._grad_fn is not None
                else ", requires_grad=True")


__all__ = ["Differentiable", "is_inexact"]
