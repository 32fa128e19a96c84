"""A hook for tensor-like types defined above the core (NumPy's NEP 18 in miniature).

A public function wrapped by :func:`dispatchable` looks at the types of its arguments:
the first whose type has a ``__gpu_sparse_function__`` attribute handles the call, as
``handler(public_function, args, kwargs)``. Plain Tensors have no such attribute, so the
cost for them is one ``getattr`` per argument. This lets ``gpu_sparse.distributed`` take
``sparse.addmm`` and friends for its ``DistributedTensor`` while the ops never import it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def dispatchable(fn: F) -> F:
    """``fn``, handed to the ``__gpu_sparse_function__`` of an argument's type when one
    has it (see the module docstring)."""

    @functools.wraps(fn)
    def public(*args: Any, **kwargs: Any) -> Any:
        for a in (*args, *kwargs.values()):
            handler = getattr(type(a), "__gpu_sparse_function__", None)
            if handler is not None:
                return handler(public, args, kwargs)
        return fn(*args, **kwargs)

    return cast(F, public)


__all__ = ["dispatchable"]
