"""The public functions' hand-over (``core/dispatch.py``'s hook): a call of
``sparse.addmm``, ``mm``, ``matmul``, ``sampled_addmm``, ``+ - *``, ``relu`` or ``sum``
with a DistributedTensor operand comes here and goes to the distributed op; and the
operators bound onto DistributedTensor."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Sequence

from ..core.tensor import Tensor
from ..formats import Layout
from ..ops import arithmetic, products, reductions, unary
from ._checks import big_local
from ._elementwise import binary, neg, relu, total
from ._products import dense_mm, sampled_addmm, sparse_addmm
from ._tensor import DistributedTensor

DT = DistributedTensor


def _bound(public: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The call's arguments by name, defaults filled in, checked against the public
    function's own signature (an unknown or doubled keyword is its TypeError)."""
    name = getattr(public, "__name__", str(public))
    try:
        call = inspect.signature(getattr(public, "__wrapped__", public)).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}: {e}") from None
    call.apply_defaults()
    return dict(call.arguments)


def _one_device(fn: str, args: Dict[str, Any]) -> None:
    """RuntimeError here, naming the operands, when tensors of one call live on different
    devices (not later, inside a worker's task)."""
    seen = [(k, v.device) for k, v in args.items() if isinstance(v, (DT, Tensor))]
    for k, dev in seen[1:]:
        if dev != seen[0][1]:
            raise RuntimeError(f"{fn}: expected all tensors on one device, but "
                               f"{seen[0][0]} is on {seen[0][1]} and {k} is on {dev}")


def _dispatch(public: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    names = {products.sparse_addmm: "addmm", products.addmm: "addmm",
             products.sparse_mm: "mm", products.mm: "mm", products.matmul: "matmul",
             products.sampled_addmm: "sampled_addmm"}
    known = (arithmetic.add, arithmetic.sub, arithmetic.mul, unary.relu,
             reductions.sum, *names)
    if public not in known:
        raise TypeError(f"{getattr(public, '__name__', public)}: DistributedTensor operands "
                        f"are not supported here")
    a = _bound(public, args, kwargs)
    _one_device(getattr(public, "__name__", str(public)), a)
    if public in (arithmetic.add, arithmetic.sub, arithmetic.mul):
        return binary(public.__name__, a["a"], a["b"])
    if public is unary.relu:
        return relu(a["x"])
    if public is reductions.sum:
        return total(a["x"], a["dim"], a["keepdim"])
    fn = names[public]
    if fn == "sampled_addmm":
        return sampled_addmm(fn, a["input"], a["mat1"], a["mat2"], a["beta"], a["alpha"])
    if fn == "addmm":
        mat, m1, m2 = a["mat"], a["mat1"], a["mat2"]
        beta, alpha, addmm = a["beta"], a["alpha"], True
    else:
        m1, m2 = (a["mat1"], a["mat2"]) if fn == "mm" else (a["a"], a["b"])
        mat, beta, alpha, addmm = None, 0.0, 1.0, False
    if not isinstance(m1, DT):
        raise big_local(fn, "mat1", m1)
    if m1.layout is Layout.strided:
        if addmm:
            raise ValueError(f"{fn}: a distributed dense mat1 is supported by mm/@ with a "
                             f"local weight, not by addmm")
        return dense_mm(fn, m1, m2)
    return sparse_addmm(fn, mat, m1, m2, beta, alpha, addmm)


def _matmul(self: DT, other: Any) -> Any:
    return _dispatch(products.matmul, (self, other), {})


def _rmatmul(self: DT, other: Any) -> Any:
    return _dispatch(products.matmul, (other, self), {})


def _operator(op: str, reflected: bool) -> Callable[[DT, Any], DT]:
    """The method for ``self op other`` (``other op self`` when ``reflected``)."""
    def method(self: DT, other: Any) -> DT:
        return binary(op, other, self) if reflected else binary(op, self, other)
    method.__name__ = f"__{'r' if reflected else ''}{op}__"
    return method


DT.__gpu_sparse_function__ = _dispatch
DT.__matmul__ = _matmul
DT.__rmatmul__ = _rmatmul
DT.__add__ = _operator("add", False)
DT.__radd__ = _operator("add", True)
DT.__sub__ = _operator("sub", False)
DT.__rsub__ = _operator("sub", True)
DT.__mul__ = _operator("mul", False)
DT.__rmul__ = _operator("mul", True)
DT.__neg__ = neg
DT.relu = relu
DT.sum = total
