"""Write ``cupy14.json``: the public names of CuPy 14.2 and their signatures, read from
the real wheel.

    python -m gpu_sparse.testing._standin.generate     # in an environment with real CuPy

The CuPy wheel (``pip install cupy-cuda13x``) imports without a GPU, and its
``cupy_backends.cuda.libs.cusparse`` loads once the CUDA libraries of its ``ctk`` extra are
installed (``pip install "cupy-cuda13x[ctk]"``), still without a GPU. For every module and
class the stand-in models, this lists each public name with its kind and, for callables,
its parameters: from ``inspect.signature`` where Python has one, else from the first line
of the docstring, which Cython writes as ``name(type arg, ...)``. The stand-in
(:mod:`gpu_sparse.testing`) holds exactly these names, and refuses a keyword that a
signature lacks. The file is checked in; rerun this after a CuPy upgrade.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pathlib
import re
import sys
from typing import Any

#: Modules whose names the stand-in holds exactly.
MODULES = ("cupy", "cupy.random", "cupy.linalg", "cupy.cuda", "cupy.cuda.runtime",
           "cupy.cuda.memory", "cupy.cuda.device", "cupy.cuda.stream", "cupy.cuda.compiler",
           "cupyx", "cupyx.scipy", "cupyx.scipy.sparse", "cupy_backends",
           "cupy_backends.cuda", "cupy_backends.cuda.libs",
           "cupy_backends.cuda.libs.cusparse")
#: Classes whose members (methods and attributes) the stand-in holds exactly.
CLASSES = ("cupy.ndarray", "cupy.ufunc", "cupy.cuda.Device", "cupy.cuda.Stream",
           "cupy.cuda.Event", "cupy.cuda.MemoryPool", "cupy.cuda.MemoryPointer",
           "cupy.cuda.Memory", "cupy.RawModule", "cupy.RawKernel", "cupy.random.Generator",
           "cupy.random.RandomState", "cupyx.scipy.sparse.csr_matrix",
           "cupyx.scipy.sparse.csc_matrix", "cupyx.scipy.sparse.coo_matrix")

OUT = pathlib.Path(__file__).resolve().parent / "cupy14.json"


def _split_params(text: str) -> list[str]:
    """Top-level comma split (defaults may hold tuples, calls and strings)."""
    out, depth, cur, quote = [], 0, "", None
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _from_doc(obj: Any) -> list[list[Any]] | None:
    """Parameters from a Cython docstring's first line ``name(int a, b=1, *, c=None)``."""
    doc = getattr(obj, "__doc__", None) or ""
    for line in doc.splitlines()[:4]:
        line = line.strip().replace("\\*", "*")
        # a ufunc's __name__ is "cupy_add" where its docstring says "add(...)"
        m = re.match(r"^[\w.]*?(\w+)\((.*)\)(\s*->.*)?$", line)
        if m is None:
            continue
        params: list[list[Any]] = []
        kind = "positional_or_keyword"
        for raw in _split_params(m.group(2)):
            if raw == "/":
                for p in params:
                    p[1] = "positional_only"
                continue
            if raw == "*":
                kind = "keyword_only"
                continue
            if raw.startswith("**"):
                params.append([raw[2:].split()[-1], "var_keyword", False])
                continue
            if raw.startswith("*"):
                params.append([raw[1:].split()[-1], "var_positional", False])
                kind = "keyword_only"
                continue
            head, eq, _ = raw.partition("=")
            pname = head.strip().split()[-1].lstrip("*&")
            params.append([pname, kind, bool(eq)])
        if params and params[0][0] == "self":
            params = params[1:]
        return params
    return None


def _params(obj: Any) -> list[list[Any]] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return _from_doc(obj)
    params = [[p.name, p.kind.name.lower(), p.default is not inspect.Parameter.empty]
              for p in sig.parameters.values()]
    if params == [["args", "var_positional", False], ["kwargs", "var_keyword", False]]:
        return _from_doc(obj) or params  # a Cython wrapper: the docstring says more
    return params


def _entry(obj: Any) -> dict[str, Any]:
    if inspect.ismodule(obj):
        return {"kind": "module"}
    if isinstance(obj, type):
        return {"kind": "class"}
    if isinstance(obj, (bool, int, float, complex, str)) or obj is None:
        value = obj if isinstance(obj, (bool, int, str)) or obj is None else repr(obj)
        return {"kind": "constant", "type": type(obj).__name__, "value": value}
    if callable(obj):
        kind = "ufunc" if type(obj).__name__ == "ufunc" else "function"
        return {"kind": kind, "params": _params(obj)}
    return {"kind": "object", "type": type(obj).__name__}


def _members(owner: Any, public_only: bool) -> dict[str, Any]:
    out = {}
    for name in sorted(dir(owner)):
        if name.startswith("_") and (public_only or not name.startswith("__")):
            continue
        if name in ("__class__", "__doc__", "__module__", "__pyx_vtable__", "__slots__",
                    "__dict__", "__weakref__", "__init_subclass__", "__subclasshook__"):
            continue
        try:
            obj = inspect.getattr_static(owner, name)
        except AttributeError:
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            obj = getattr(owner, name)
        if type(obj).__name__ in ("getset_descriptor", "member_descriptor", "property"):
            out[name] = {"kind": "attribute"}
        else:
            try:
                out[name] = _entry(getattr(owner, name))
            except Exception:  # an attribute that needs a GPU to read
                out[name] = {"kind": "attribute"}
    return out


def _module(name: str) -> Any:
    """A module; cusparse through its package's loader (``cupy_backends.cuda.libs``
    finds the CUDA library first, as ``from cupy_backends.cuda.libs import cusparse``)."""
    parent, _, child = name.rpartition(".")
    if parent:
        owner = _module(parent)
        if hasattr(owner, child):
            return getattr(owner, child)
    return importlib.import_module(name)


def main() -> int:
    try:
        import cupy
    except ImportError:
        sys.exit("generate: needs the real CuPy (pip install 'cupy-cuda13x[ctk]')")
    data: dict[str, Any] = {"cupy_version": cupy.__version__, "modules": {}, "classes": {}}
    for mod in MODULES:
        module = _module(mod)
        data["modules"][mod] = _members(module, public_only=True)
    for path in CLASSES:
        mod, _, name = path.rpartition(".")
        cls = getattr(_module(mod), name)
        data["classes"][path] = _members(cls, public_only=False)
    OUT.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"wrote {OUT} (CuPy {cupy.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
