"""The reverse-mode autograd engine: grad mode, graph nodes, and the backward walk.

Every differentiable op attaches a :class:`Node` to its output: the op's name, its inputs
by name, a typed context holding what the backward formulas need, and the formulas
themselves (one per input, taken from :data:`gpu_sparse.ops.derivatives.DERIVATIVES` when
the op is recorded). :func:`run_backward` walks the graph in reverse topological order
(iteratively, so deep graphs do not hit the recursion limit), calls each formula, and
accumulates gradients with ``+``, as micrograd does. The engine imports no tensor type:
what it needs of a node's input is the :class:`GraphTensor` protocol (``requires_grad``,
``grad_fn``, ``_version``, ``_add_grad``: a gradient brought to the tensor's layout and
pattern, plus what is pending; ``_accumulate_grad``: into ``.grad``), which
:class:`~gpu_sparse.core.differentiable.Differentiable` implements for every tensor type.
"""

from __future__ import annotations

import contextlib
import threading
from typing import (Any, Callable, Dict, Generic, Iterator, List, Mapping, Optional, Protocol,
                    Sequence, Tuple, TypeVar)

_state = threading.local()

#: The typed context of an op (a dataclass of gpu_sparse.ops.derivatives).
Ctx = TypeVar("Ctx")
#: A backward formula: (the op's context, upstream gradient) -> the input's gradient.
Formula = Callable[[Ctx, Any], Any]


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph: True unless inside ``no_grad``
    (and not inside an ``enable_grad`` nested in it). Grad mode is per thread.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> with gs.no_grad():
    ...     inside = gs.is_grad_enabled()
    >>> gs.is_grad_enabled(), inside
    (True, False)
    """
    return bool(getattr(_state, "enabled", True))


@contextlib.contextmanager
def _grad_mode(flag: bool) -> Iterator[None]:
    prev = is_grad_enabled()
    _state.enabled = flag
    try:
        yield
    finally:
        _state.enabled = prev


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that stops recording operations for autograd.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([1.0, 2.0], requires_grad=True)
    >>> with gs.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager that turns recording back on inside ``no_grad`` (for this
    thread); the previous mode comes back on exit, also on an exception.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([1.0, 2.0], requires_grad=True)
    >>> with gs.no_grad():
    ...     with gs.enable_grad():
    ...         y = x * 2
    >>> y.requires_grad
    True
    """
    return _grad_mode(True)


class VersionCounter:
    """How many times a storage was changed in place (PyTorch's version counter).

    Shared by every tensor viewing the same storage (``detach()``, ``values()``); bumped by
    every in-place method. A node records the versions of its inputs when it is built, and
    :func:`run_backward` refuses to use an input whose version moved since. Writes through
    a NumPy/CuPy/DLPack view of the memory cannot be seen. ``read_only`` marks storage no
    in-place method may touch (the index arrays of an immutable pattern).
    """

    __slots__ = ("value", "read_only", "proofs")

    def __init__(self, read_only: bool = False):
        self.value = 0
        self.read_only = read_only
        # checks of the storage's values that passed, with the version they saw
        # (core/validate.py:checked_once)
        self.proofs: Optional[Dict[Any, int]] = None

    def bump(self) -> None:
        self.value += 1


class GraphTensor(Protocol):
    """What the engine needs of a node's input (and of a root of ``run_backward``)."""

    @property
    def requires_grad(self) -> bool:
        """Whether a gradient flows to it."""

    @property
    def grad_fn(self) -> Optional[Node[Any]]:
        """The node that computed it; None for a leaf."""

    @property
    def _version(self) -> int:
        """Its storage's in-place version (checked against the node's saved one)."""

    def _add_grad(self, pending: Optional[Any], g: Any) -> Any:
        """``pending + g``, ``g`` brought to this tensor's layout (and pattern) first."""

    def _accumulate_grad(self, g: Any, handed: Sequence[Any]) -> None:
        """Add ``g`` into ``.grad`` (copying it first if ``handed`` may share it)."""


class Node(Generic[Ctx]):
    """One recorded operation: the ``grad_fn`` of its output tensor.

    ``reads[name]`` lists the inputs whose values the formula of input ``name`` reads;
    ``versions`` holds each input's version when the node was built."""

    __slots__ = ("op", "inputs", "ctx", "formulas", "reads", "versions", "freed")

    def __init__(self, op: str, inputs: Sequence[Tuple[str, Any]], ctx: Ctx,
                 formulas: Mapping[str, Formula[Ctx]],
                 reads: Mapping[str, Tuple[str, ...]]):
        self.op = op
        self.inputs: Tuple[Tuple[str, Optional[GraphTensor]], ...] = tuple(inputs)
        self.ctx: Optional[Ctx] = ctx  # None once freed
        self.formulas = formulas
        self.reads = reads
        self.versions = {name: t._version for name, t in self.inputs if t is not None}
        self.freed = False

    def name(self) -> str:
        return "".join(p.capitalize() for p in self.op.split("_")) + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_tensors(self) -> List[GraphTensor]:
        return [t for _, t in self.inputs if t is not None and t.requires_grad]


def _topo_order(roots: Sequence[GraphTensor]) -> List[GraphTensor]:
    """Tensors reachable from ``roots`` through grad_fn edges, inputs before outputs."""
    order: List[Any] = []
    seen = set()
    stack = [(t, False) for t in roots]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.grad_fn is not None:
            for child in t.grad_fn.next_tensors:
                if id(child) not in seen:
                    stack.append((child, False))
    return order


def _check_saved_versions(order: Sequence[Any]) -> None:
    """RuntimeError when an input a formula will read was changed in place after its node
    was built (checked for the whole graph before any formula runs)."""
    for t in order:
        node = t.grad_fn
        if node is None or node.freed:
            continue
        named = dict(node.inputs)
        for name, inp in node.inputs:
            if inp is None or not inp.requires_grad:
                continue
            for dep in node.reads.get(name, ()):
                saved = named.get(dep)
                if saved is not None and saved._version != node.versions[dep]:
                    raise RuntimeError(
                        f"backward: one of the inputs of {node.op} ({dep}) was modified "
                        f"in place after it was saved: version {saved._version}, "
                        f"expected {node.versions[dep]}; compute the update after "
                        f"backward(), or on a copy")


def run_backward(roots: Sequence[GraphTensor], grads: Sequence[Any], *,
                 capture: Optional[Sequence[Any]] = None, retain_graph: bool = False,
                 allow_unused: bool = False) -> Optional[Tuple[Any, ...]]:
    """Propagate ``grads`` (one per root, already validated) through the graph.

    Without ``capture`` the leaves' ``.grad`` accumulate; with it nothing is written and the
    gradients of the ``capture`` tensors are returned (None for an unused one when
    ``allow_unused``, else RuntimeError). Nodes free their contexts unless
    ``retain_graph``; a second pass through a freed node is a RuntimeError.
    """
    order = _topo_order(roots)
    _check_saved_versions(order)
    pending: Dict[int, Any] = {}
    for t, g in zip(roots, grads):
        pending[id(t)] = t._add_grad(pending.get(id(t)), g)
    captured: Dict[int, Any] = {}
    # arrays that someone else holds: the root gradients and the grads handed to leaves
    handed = [g.array for g in pending.values()]
    capture_ids = {id(t) for t in capture} if capture is not None else set()
    nodes: List[Node[Any]] = []
    with no_grad():
        for t in reversed(order):
            g = pending.pop(id(t), None)
            if g is None:
                continue
            if id(t) in capture_ids:
                captured[id(t)] = g
            node = t.grad_fn
            if node is None:
                if capture is None:
                    t._accumulate_grad(g, handed)
                    handed.append(g.array)
                continue
            if node.freed:
                raise RuntimeError(
                    "backward: trying to backward through the graph a second time; the "
                    "saved values were freed after the first backward (pass "
                    "retain_graph=True to the first call to keep them)")
            nodes.append(node)
            for name, inp in node.inputs:
                if inp is None or not inp.requires_grad:
                    continue
                gi = node.formulas[name](node.ctx, g)
                pending[id(inp)] = inp._add_grad(pending.get(id(inp)), gi)
    if not retain_graph:
        for node in nodes:
            node.ctx = None
            node.freed = True
    if capture is None:
        return None
    result = []
    for t in capture:
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError("grad: one of the differentiated tensors does not appear in "
                               "the graph of the outputs (pass allow_unused=True to get "
                               "None for it)")
        result.append(g)
    return tuple(result)
