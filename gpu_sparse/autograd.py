"""A small reverse-mode autograd engine.

Every differentiable op records a :class:`Node` on its output: the op's name (a key of
:data:`gpu_sparse.derivatives.DERIVATIVES`), its inputs by name and what its backward
formulas saved. :func:`backward` walks the graph in reverse topological order (iterative,
so deep graphs do not hit the recursion limit), calls each formula, and accumulates
gradients with ``+``, as micrograd does, but keeping sparse gradients on the pattern of
the tensor they belong to.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (True unless inside ``no_grad``)."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def _grad_mode(flag: bool):
    prev = is_grad_enabled()
    _state.enabled = flag
    try:
        yield
    finally:
        _state.enabled = prev


def no_grad():
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


def enable_grad():
    """Context manager that turns recording back on inside ``no_grad``."""
    return _grad_mode(True)


class Node:
    """One recorded operation: the ``grad_fn`` of its output tensor."""

    __slots__ = ("op", "inputs", "ctx", "freed")

    def __init__(self, op: str, inputs: Sequence[tuple], ctx: Any):
        self.op = op
        self.inputs = tuple(inputs)  # ((name, Tensor | None), ...)
        self.ctx = ctx
        self.freed = False

    def name(self) -> str:
        return "".join(p.capitalize() for p in self.op.split("_")) + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    @property
    def next_tensors(self):
        return [t for _, t in self.inputs if t is not None and t.requires_grad]


def record(op: str, out, inputs: Sequence[tuple], ctx: Any):
    """Attach a node to ``out`` when grad mode is on and any input requires grad."""
    if is_grad_enabled() and any(t is not None and getattr(t, "requires_grad", False)
                                 for _, t in inputs):
        out._requires_grad = True
        out._grad_fn = Node(op, inputs, ctx)
    return out


def _topo_order(roots) -> List:
    """Tensors reachable from ``roots`` through grad_fn edges, inputs before outputs."""
    order: List = []
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


def _run(roots, grads, capture: Optional[Sequence] = None, retain_graph: bool = False,
         allow_unused: bool = False):
    from . import _impl
    from .derivatives import DERIVATIVES

    order = _topo_order(roots)
    pending: Dict[int, Any] = {}
    for t, g in zip(roots, grads):
        pending[id(t)] = _impl.accumulate_grad(t, pending.get(id(t)), g)
    captured: Dict[int, Any] = {}
    # arrays that someone else holds: the root gradients and the grads handed to leaves
    handed = [_impl.payload(g) for g in pending.values()]
    capture_ids = {id(t) for t in capture} if capture is not None else set()
    nodes = []
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
                    arr = _impl.payload(g)
                    t._accumulate_grad(g, shared=_impl.may_alias(arr, handed))
                    handed.append(arr)
                continue
            if node.freed:
                raise RuntimeError(
                    "backward: trying to backward through the graph a second time; the "
                    "saved values were freed after the first backward (pass "
                    "retain_graph=True to the first call to keep them)")
            nodes.append(node)
            formulas = DERIVATIVES[node.op]
            for name, inp in node.inputs:
                if inp is None or not inp.requires_grad:
                    continue
                gi = formulas[name](node.ctx, g)
                pending[id(inp)] = _impl.accumulate_grad(inp, pending.get(id(inp)), gi)
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


def _default_grad(fn: str, t):
    from . import _impl
    if t.numel() != 1:
        raise RuntimeError(f"{fn}: grad can be implicitly created only for one-element "
                           f"outputs; got an output of shape {t.shape}, pass `gradient`")
    return _impl.ones_like(t)


def _as_grad(fn: str, t, g):
    from . import _impl
    from .tensor import Tensor
    if g is None:
        return _default_grad(fn, t)
    if not isinstance(g, Tensor):
        g = _impl.dense(t.device, _impl.backend_of(t).asarray(g))
    if g.device != t.device:
        raise RuntimeError(f"{fn}: gradient is on {g.device} but the output is on {t.device}")
    if tuple(g.shape) != tuple(t.shape):
        raise ValueError(f"{fn}: gradient has shape {g.shape} but the output has shape "
                         f"{t.shape}")
    if g.dtype != t.dtype:
        raise TypeError(f"{fn}: gradient has dtype {g.dtype} but the output has dtype "
                        f"{t.dtype}")
    return g.detach()


def backward(tensor, gradient=None, retain_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into ``.grad`` of every leaf that requires grad."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
    g = _as_grad("backward", tensor, gradient)
    _run([tensor], [g], retain_graph=retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool = False,
         allow_unused: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
    inputs : Tensor or sequence of Tensor
        Tensors that require grad (leaves or intermediate results).
    grad_outputs : Tensor, array or sequence of them, optional
        Upstream gradients; may be omitted for one-element outputs.

    Returns
    -------
    tuple of Tensor
        One gradient per input; sparse inputs get sparse gradients on their own pattern.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.tensor([[1.0, 2.0]], requires_grad=True)
    >>> (g,) = gs.autograd.grad((x * x).sum(), x)
    >>> g.numpy().tolist()
    [[2.0, 4.0]]
    """
    from .tensor import Tensor
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
    gs_ = [_as_grad("grad", t, g) for t, g in zip(outputs, grad_outputs)]
    return _run(outputs, gs_, capture=inputs, retain_graph=retain_graph,
                allow_unused=allow_unused)


# ---------------------------------------------------------------------------------------
# gradcheck


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree (raised by :func:`gradcheck`)."""


def _real_view(a: np.ndarray) -> np.ndarray:
    """Complex (n,) -> real (2n,) as [re0, im0, re1, im1, ...]; real unchanged."""
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return np.stack([a.real, a.imag], axis=-1).reshape(-1)
    return a.reshape(-1).astype(np.float64)


def _dense_host(t) -> np.ndarray:
    """Host float64/complex128 dense values of an output (sparse: its stored values)."""
    if t.layout.name == "strided":
        return np.asarray(t.detach().cpu().numpy())
    return np.asarray(t.detach().cpu().values().numpy())


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Compare backward's gradients with central finite differences.

    ``inputs`` is a tensor or a sequence; those with ``requires_grad`` are checked and
    must be float64 or complex128. Sparse inputs are perturbed only at their stored values
    (duplicates one at a time). Complex numbers are checked as pairs of reals, using
    PyTorch's convention that the gradient of a real loss L is dL/dRe + i dL/dIm.
    ``fn`` returns a tensor (dense, or sparse with a fixed pattern) or a tuple of them.

    Returns True, or raises :class:`GradcheckError` naming the input, the output and the
    worst element (returns False instead when ``raise_exception=False``).

    Examples
    --------
    >>> import numpy as np, gpu_sparse as gs
    >>> a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([1.0, 2.0]), (2, 2),
    ...                          requires_grad=True)
    >>> b = gs.tensor(np.ones((2, 3)), requires_grad=True)
    >>> gs.autograd.gradcheck(lambda a, b: gs.sparse.mm(a, b), (a, b))
    True
    """
    from . import _impl
    from .tensor import Tensor

    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff:
        if inputs[i].dtype not in (np.float64, np.complex128):
            raise TypeError(f"gradcheck: inputs[{i}] has dtype {inputs[i].dtype}; "
                            "gradcheck needs float64 or complex128")

    def call(args):
        out = fn(*args)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    def outputs_flat(args) -> np.ndarray:
        with no_grad():
            return np.concatenate([_real_view(_dense_host(o)) for o in call(args)])

    def with_values(i, new_vals):
        return _impl.replace_values(inputs[i], new_vals)

    base_outs = call(inputs)
    n_out_real = sum(_real_view(_dense_host(o)).size for o in base_outs)

    # numerical Jacobian, one column per real degree of freedom of each input
    for i in diff:
        t = inputs[i]
        host = np.array(_impl.host_values(t))  # copy
        flat = host.reshape(-1)
        cplx = np.iscomplexobj(flat)
        n_real = flat.size * (2 if cplx else 1)
        num = np.zeros((n_out_real, n_real))
        for e in range(flat.size):
            for part, step in ((0, eps), (1, 1j * eps))[: 2 if cplx else 1]:
                plus = flat.copy()
                plus[e] += step
                minus = flat.copy()
                minus[e] -= step
                args_p = list(inputs)
                args_p[i] = with_values(i, plus.reshape(host.shape))
                args_m = list(inputs)
                args_m[i] = with_values(i, minus.reshape(host.shape))
                col = (outputs_flat(args_p) - outputs_flat(args_m)) / (2 * eps)
                num[:, e * (2 if cplx else 1) + part] = col
        # analytical Jacobian, one row per real output degree of freedom
        ana = np.zeros_like(num)
        row = 0
        for o in base_outs:
            ocplx = o.dtype.kind == "c"
            n_el = _dense_host(o).size
            for e in range(n_el):
                for part, unit in ((0, 1.0), (1, 1j))[: 2 if ocplx else 1]:
                    v = _impl.unit_grad_like(o, e, unit)
                    (g,) = grad([o], [t], [v], retain_graph=True, allow_unused=True)
                    if g is not None:
                        gv = np.asarray(_impl.host_values(g)).reshape(-1)
                        if cplx:
                            ana[row, 0::2] = gv.real
                            ana[row, 1::2] = gv.imag
                        else:
                            ana[row, :] = gv.real
                    row += 1
        err = np.abs(ana - num)
        bound = atol + rtol * np.abs(num)
        bad = err > bound
        if np.any(bad) or not np.all(np.isfinite(ana)):
            idx = np.unravel_index(np.argmax(np.where(np.isfinite(err), err - bound, np.inf)),
                                   err.shape)
            msg = (f"gradcheck: Jacobian mismatch for inputs[{i}] "
                   f"(output degree of freedom {idx[0]}, input degree of freedom {idx[1]}): "
                   f"numerical {num[idx]:.6g}, analytical {ana[idx]:.6g}, "
                   f"|diff| {err[idx]:.3g} > atol + rtol*|numerical| = {bound[idx]:.3g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True

