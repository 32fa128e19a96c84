"""Every public name has a docstring with an example (issue 10): the functions and classes
of ``gpu_sparse.__all__``, of ``gpu_sparse.sparse``, ``nn.functional``, ``nn.init``,
``optim``, ``autograd`` and ``datasets``, and every public attribute of ``Tensor``
(those bound onto it by :mod:`gpu_sparse.ops` included). The examples themselves run as
doctests (``--doctest-modules``)."""

import inspect
import types

import gpu_sparse as gs

NAMESPACES = {
    "gpu_sparse.sparse": gs.sparse,
    "gpu_sparse.nn.functional": gs.nn.functional,
    "gpu_sparse.nn.init": gs.nn.init,
    "gpu_sparse.optim": gs.optim,
    "gpu_sparse.autograd": gs.autograd,
    "gpu_sparse.datasets": gs.datasets,
}


def _is_ours(obj):
    """A function or class defined in gpu_sparse (not a NumPy dtype alias, a module or a
    constant such as ``gs.strided``)."""
    if isinstance(obj, types.ModuleType):
        return False
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return False
    return (getattr(obj, "__module__", None) or "").startswith("gpu_sparse")


def _doc(obj):
    """The docstring that documents ``obj``: a property's getter's, a static or class
    method's function's."""
    if isinstance(obj, property):
        return obj.fget.__doc__ if obj.fget is not None else obj.__doc__
    if isinstance(obj, (staticmethod, classmethod)):
        return obj.__func__.__doc__
    return obj.__doc__


def _public_names():
    """(qualified name, object or None when missing) for every name the API promises."""
    out = []
    for name in gs.__all__:
        obj = getattr(gs, name)
        if _is_ours(obj):
            out.append((f"gpu_sparse.{name}", obj))
    for prefix, mod in NAMESPACES.items():
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name, None)
            if obj is None or _is_ours(obj):
                out.append((f"{prefix}.{name}", obj))
    # dir() sees what gpu_sparse.ops bound onto the class at import; the class's ClassVar
    # declarations name what it promises, so an op that was declared but never bound
    # is reported too
    members = {n for n in dir(gs.Tensor) if not n.startswith("_")}
    members |= {n for n in getattr(gs.Tensor, "__annotations__", {}) if not n.startswith("_")}
    for name in sorted(members):
        try:
            obj = inspect.getattr_static(gs.Tensor, name)
        except AttributeError:
            obj = None
        if obj is not None and not (callable(obj) or isinstance(
                obj, (property, staticmethod, classmethod))):
            continue  # a plain class constant
        out.append((f"Tensor.{name}", obj))
    return out


def test_the_walk_sees_every_kind_of_public_name():
    names = {n for n, _ in _public_names()}
    for expected in ["gpu_sparse.tensor", "gpu_sparse.Tensor", "gpu_sparse.Layout",
                     "gpu_sparse.no_grad", "gpu_sparse.sparse.mm",
                     "gpu_sparse.nn.functional.relu", "gpu_sparse.nn.init.zeros_",
                     "gpu_sparse.optim.SGD", "gpu_sparse.autograd.grad",
                     "gpu_sparse.datasets.load_cora",
                     "Tensor.shape", "Tensor.backward", "Tensor.sum", "Tensor.T",
                     "Tensor.add_", "Tensor.float"]:
        assert expected in names, expected
    assert "gpu_sparse.float32" not in names and "gpu_sparse.strided" not in names


def test_every_public_name_has_a_docstring_with_an_example():
    offenders = []
    for name, obj in _public_names():
        if obj is None:
            offenders.append(f"{name} (declared but not defined)")
            continue
        doc = _doc(obj)
        if not doc or not doc.strip():
            offenders.append(f"{name} (no docstring)")
        elif ">>>" not in doc:
            offenders.append(f"{name} (no example)")
    assert not offenders, (f"{len(offenders)} public names lack a docstring with an "
                           f"example:\n  " + "\n  ".join(offenders))
