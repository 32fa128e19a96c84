"""Every backend implements the Backend Protocol exactly: the same ten primitives with the
same parameter names, kinds and defaults, plus the four attributes, and nothing else
public."""

import ast
import inspect
import pathlib

from gpu_sparse.backend import PRIMITIVES, Backend, canonical_device, get_backend

ATTRIBUTES = {"name", "xp", "supported_dtypes", "sparse_module"}
CUDA_SOURCE = (pathlib.Path(__file__).resolve().parent.parent / "gpu_sparse" / "cuda"
               / "backend.py")


def _shape(sig):
    """(name, kind, default) of every parameter; annotations are not part of the contract."""
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


def test_protocol_has_at_most_ten_primitives():
    methods = {n for n, v in vars(Backend).items()
               if inspect.isfunction(v) and not n.startswith("_")}
    props = {n for n, v in vars(Backend).items() if isinstance(v, property)}
    assert methods == set(PRIMITIVES) and len(PRIMITIVES) <= 10
    assert props == ATTRIBUTES
    for name in PRIMITIVES:  # each documented: shapes, dtypes, order
        assert len(inspect.getdoc(getattr(Backend, name)) or "") > 60, name


def test_backend_implements_the_protocol_exactly(device):
    backend = get_backend(canonical_device(device))
    assert isinstance(backend, Backend)
    public = {n for n in dir(type(backend)) if not n.startswith("_")}
    public |= {n for n in vars(backend) if not n.startswith("_")}
    assert public == set(PRIMITIVES) | ATTRIBUTES
    for name in PRIMITIVES:
        want = _shape(inspect.signature(getattr(Backend, name)))
        got = _shape(inspect.signature(getattr(type(backend), name)))
        assert got == want, name
    assert backend.name == device and backend.xp.__name__ in ("numpy", "cupy")


def _ast_shape(fn: ast.FunctionDef):
    """The (name, kind, default) list of an AST function, as inspect would give it."""
    P = inspect.Parameter
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults = [P.empty] * (len(positional) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults]
    out = [(a.arg, P.POSITIONAL_ONLY if a in args.posonlyargs else P.POSITIONAL_OR_KEYWORD,
            d) for a, d in zip(positional, defaults)]
    out += [(a.arg, P.KEYWORD_ONLY, P.empty if d is None else ast.literal_eval(d))
            for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return out


def test_cuda_backend_source_implements_the_protocol():
    """Checked from the source, so CPU-only machines check it too (CuPy not needed)."""
    tree = ast.parse(CUDA_SOURCE.read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CuPyBackend"]
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    public = {n for n in methods if not n.startswith("_")}
    public |= {t.id for n in cls.body if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Name) and not t.id.startswith("_")}
    init = methods["__init__"]
    public |= {t.attr for n in ast.walk(init) if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Attribute)
               and not t.attr.startswith("_")}
    assert public == set(PRIMITIVES) | ATTRIBUTES
    for name in PRIMITIVES:
        want = _shape(inspect.signature(getattr(Backend, name)))
        assert _ast_shape(methods[name]) == want, name
