"""How the Dask layer meets the autograd engine: :func:`record` (one engine node per
distributed op, whose formulas, beside each op in ``_products.py`` and
``_elementwise.py``, submit the gradient tasks: the Dask layer's lines of the gradient
table), the ``gradient`` argument of ``DistributedTensor.backward``, and the single wait
for the gradients of all distributed leaves of a pass."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from ..core import engine
from ..core.tensor import Tensor
from ..formats import Layout
from ..ops import constructors, factories
from ._constructors import from_tensor
from ._runner import Runner, expect
from ._tensor import DistributedTensor

@dataclasses.dataclass(frozen=True)
class DistCtx:
    """What a distributed op's formulas need: its inputs and scalars by name."""
    values: Dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def record(op: str, out: Any, inputs: Sequence[Tuple[str, Any]], ctx: Dict[str, Any],
            formulas: Mapping[str, Callable[[Any, Any], Any]]) -> Any:
    if not engine.is_grad_enabled() or not any(
            t is not None and t.requires_grad for _, t in inputs):
        return out
    node: engine.Node[Any] = engine.Node("distributed_" + op, inputs, DistCtx(ctx),
                                         formulas, {})
    out._attach(node)
    return out


def local_result(runner: Any, handle: Any) -> Tensor:
    (t,) = runner.get([handle])
    return t


def _graph_leaves(root: Any) -> List[Any]:
    """The leaves that require grad in the graph of ``root`` (root first)."""
    out, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is None:
            if t.requires_grad:
                out.append(t)
            continue
        stack.extend(t.grad_fn.next_tensors)
    return out


def expect_gradients(runner: Runner, root: Any) -> None:
    """Called as a backward pass enters the distributed graph at ``root`` (a distributed
    output, or the input of a distributed ``sum``): on a client, the distributed leaves
    below it are waited on together once the last of them has its gradient. (The
    engine's walk submits their tasks first: it waits for nothing else.)"""
    if runner.client is None:
        return
    expect(runner, [t for t in _graph_leaves(root) if isinstance(t, DistributedTensor)])


def _as_gradient(self: DistributedTensor, g: Any) -> DistributedTensor:
    fn = "backward"
    if g is None:
        if self._shape != (1, 1):
            raise RuntimeError(f"{fn}: grad can be implicitly created only for "
                               f"one-element outputs; got an output of shape "
                               f"{self._shape}, pass `gradient`")
        g = factories.ones(1, 1, dtype=self._dtype, device=self._device)
    if not isinstance(g, DistributedTensor):
        if not isinstance(g, Tensor):
            g = constructors.tensor(g, device=self._device)
        if self._layout is not Layout.strided:
            # a sparse output's gradient lives on its own entries, as on one device
            mine = self.compute().pattern
            if g.pattern is None or mine is None or not g.pattern.same_entries(mine):
                raise ValueError(f"{fn}: the gradient of a sparse output must hold the "
                                 f"output's own entries (in its order); build it on "
                                 f"out.compute()'s indices")
        g = from_tensor(g, row_bounds=self._bounds)
    if g._shape != self._shape:
        raise ValueError(f"{fn}: gradient has shape {g._shape} but the output has shape "
                         f"{self._shape}")
    if g._dtype != self._dtype:
        raise TypeError(f"{fn}: gradient has dtype {g._dtype} but the output has dtype "
                        f"{self._dtype}")
    if g._bounds != self._bounds or g._layout is not self._layout:
        raise ValueError(f"{fn}: gradient must have the output's layout "
                         f"{self._layout.value} and row_bounds {self._bounds}, got "
                         f"{g._layout.value} and {g._bounds}")
    return g.detach()


def backward_gradient(self: DistributedTensor, gradient: Any) -> DistributedTensor:
    """``backward``'s ``gradient`` as a DistributedTensor with this output's partition
    (see ``DistributedTensor.backward``); the pass then waits once for the leaves'
    gradients."""
    g = _as_gradient(self, gradient)
    expect_gradients(self._runner, self)
    return g


DistributedTensor._backward_gradient = backward_gradient
