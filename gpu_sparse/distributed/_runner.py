"""Where the block tasks run: the current ``dask.distributed`` client, each task pinned to
the worker that owns its block, or, without a client, Dask's local threaded scheduler.

A *handle* is what a block is known by: a ``distributed.Future`` on a client, the value
itself on the threaded scheduler. Every op submits its tasks at once and returns handles
(eager, like a Tensor op); nothing is recomputed later.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, List, Optional, Sequence

import dask
from distributed import Client, Future, get_client, wait


def current_client() -> Optional[Client]:
    """The current ``dask.distributed`` client, or None (then the threaded scheduler)."""
    try:
        return get_client()
    except ValueError:
        return None


class Runner:
    """Runs block tasks on ``client`` (None: the threaded scheduler).

    :meth:`owner` gives the worker address of block ``b`` of ``n`` (None without a
    client): consecutive blocks share a worker, block b on ``workers[b * W // n]`` for the
    W sorted worker addresses seen when the runner was made, so two tensors with the same
    bounds keep row block b on the same worker, and a banded matrix in more blocks than
    workers only moves the chunks at the workers' edges."""

    def __init__(self, client: Optional[Client]):
        self.client = client
        self.workers: List[Optional[str]] = (
            sorted(client.scheduler_info(n_workers=-1)["workers"]) if client is not None
            else [None])

    def owner(self, b: int, n: int) -> Optional[str]:
        return self.workers[b * len(self.workers) // max(n, 1)]

    def put(self, values: Sequence[Any], owners: Sequence[Optional[str]]) -> List[Any]:
        """Place local values on their owners (one scatter per block)."""
        if self.client is None:
            return list(values)
        return [self.client.scatter(v, workers=[w], broadcast=False, hash=False)
                for v, w in zip(values, owners)]

    def map(self, fn: Callable[..., Any], arg_lists: Sequence[Sequence[Any]],
            owners: Sequence[Optional[str]]) -> List[Any]:
        """``fn(*args)`` for each ``args`` of ``arg_lists``, task i pinned to
        ``owners[i]``; handles (arguments may be handles, nested in lists or tuples)."""
        if self.client is None:
            tasks = [dask.delayed(fn, pure=False)(*args) for args in arg_lists]
            return list(dask.compute(*tasks, scheduler="threads", optimize_graph=False))
        return [self.client.submit(fn, *args, workers=[w], allow_other_workers=False,
                                   pure=False)
                for args, w in zip(arg_lists, owners)]

    def get(self, handles: Sequence[Any]) -> List[Any]:
        """The values behind ``handles``, here."""
        if self.client is None:
            return list(handles)
        return list(self.client.gather(list(handles)))

    def wait(self, handles: Sequence[Any]) -> None:
        """Block until every task behind ``handles`` has finished (errors raised here)."""
        if self.client is not None:
            futures = [h for h in handles if isinstance(h, Future)]
            wait(futures)
            for f in futures:
                if f.status == "error":
                    f.result()  # raises the task's error here




class _Batch:
    """The distributed leaves one backward pass hands gradients to (weakly held): when
    the last has its gradient, one wait covers the gradient blocks of all of them."""

    def __init__(self, runner: Runner, leaves: Sequence[Any]):
        self.runner = runner
        self.left = {id(t): weakref.ref(t) for t in leaves}
        self.done: List[Any] = []


_batches: List[_Batch] = []


def expect(runner: Runner, leaves: Sequence[Any]) -> None:
    """Wait on ``runner`` for the ``.grad`` blocks of all of ``leaves`` together, once the
    last of them has reported its gradient to :func:`gradient_arrived`."""
    _batches[:] = [b for b in _batches if any(r() is not None for r in b.left.values())]
    if leaves:
        _batches.append(_Batch(runner, leaves))


def gradient_arrived(t: Any) -> None:
    """``t`` (a distributed leaf) has its gradient of this pass in ``t._grad``."""
    for batch in list(_batches):
        ref = batch.left.get(id(t))
        if ref is None or ref() is not t:  # not in this batch (or a recycled id)
            continue
        del batch.left[id(t)]
        batch.done.append(ref)
        if not batch.left:
            _batches.remove(batch)
            grads = [x._grad for x in (r() for r in batch.done)
                     if x is not None and x._grad is not None]
            batch.runner.wait([h for gr in grads for h in gr._blocks])


__all__ = ["Runner", "current_client", "expect", "gradient_arrived"]
