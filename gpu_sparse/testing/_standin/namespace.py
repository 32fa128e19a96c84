"""The modules ``cupy``, ``cupyx`` and ``cupy_backends`` of the stand-in, built from
CuPy 14.2's list of names (``cupy14.json``) and served by a finder on ``sys.meta_path``.

Every public name real CuPy has exists (what the stand-in does not model raises
NotImplementedError when used), and no other: a name CuPy lacks is an AttributeError, as
on a GPU machine.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Callable

import numpy as np

from . import core, cuda, cusparse, dlpack, errors, functions, memory, names, random, sparse
from .core import ndarray
from .functions import not_modelled
from .ufunc import install_operators, ufunc

_STDLIB = {"annotations", "threading", "warnings", "os", "sys", "re", "math", "copy",
           "contextlib", "atexit", "gc", "weakref", "platform", "shutil", "struct",
           "subprocess", "tempfile"}
#: numpy names CuPy re-exports as they are (dtypes, scalar types, warnings).
_NUMPY_SAME = {"dtype", "finfo", "iinfo", "AxisError", "ComplexWarning", "TooHardError",
               "VisibleDeprecationWarning", "ModuleDeprecationWarning", "RankWarning",
               "s_", "index_exp"}
_REDUCTIONS = {"sum", "prod", "mean", "var", "std", "amax", "amin", "max", "min", "argmax",
               "argmin", "all", "any", "ptp", "cumsum", "cumprod"}


def _numpy_attr(name: str) -> Any:
    for mod in (np, getattr(np, "exceptions", None)):
        if mod is not None and hasattr(mod, name):
            return getattr(mod, name)
    return None


def _stub_module(fullname: str) -> types.ModuleType:
    mod = types.ModuleType(fullname)

    def __getattr__(attr: str) -> Any:  # noqa: N807
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise NotImplementedError(f"the CuPy stand-in does not model {fullname}.{attr}")

    mod.__getattr__ = __getattr__  # type: ignore[method-assign]
    return mod


def _constant(entry: dict) -> Any:
    value = entry.get("value")
    if entry.get("type") == "float":
        return float(value)
    if entry.get("type") == "complex":
        return complex(value)
    return value


def _fill(module: types.ModuleType, qual: str, implemented: dict[str, Any],
          default: Callable[[str, dict], Any]) -> None:
    """Every name of ``qual``: implemented, a submodule, a constant, or ``default``."""
    for name, entry in names.module(qual).items():
        if name in implemented:
            value = implemented[name]
        elif name in _STDLIB:
            if name == "annotations":
                continue
            value = importlib.import_module(name)
        elif entry["kind"] == "module":
            value = importlib.import_module(f"{qual}.{name}")
        elif entry["kind"] == "constant":
            value = _constant(entry)
        else:
            value = default(name, entry)
        setattr(module, name, value)


# ---- cupy ---------------------------------------------------------------------------
def _cupy_default(name: str, entry: dict) -> Any:
    kind = entry["kind"]
    np_obj = _numpy_attr(name)
    if kind == "ufunc":
        if isinstance(np_obj, np.ufunc):
            return ufunc(name, np_obj, entry)
        return not_modelled(f"cupy.{name}")
    if kind == "class":
        if name in _NUMPY_SAME or (isinstance(np_obj, type) and issubclass(np_obj,
                                                                           np.generic)):
            return np_obj
        return type(name, (), {"__init__": not_modelled(f"cupy.{name}"),
                               "__module__": "cupy"})
    if kind == "object" and name in _NUMPY_SAME:
        return np_obj
    if kind == "function":
        if name in functions.OVERRIDES:
            return functions.OVERRIDES[name]
        if name in _REDUCTIONS:
            return functions.reduction_function(name, entry)
        if callable(np_obj):
            return functions.numpy_function(f"cupy.{name}", np_obj, entry)
    return not_modelled(f"cupy.{name}")


def build_cupy(module: types.ModuleType) -> None:
    functions._MODULES["cupy"] = module
    functions._MODULES["_dlpack"] = dlpack
    core._HOOKS.update(array_ufunc=functions.array_ufunc,
                       array_function=functions.array_function, dlpack=dlpack.export)
    module.__version__ = names.data()["cupy_version"]
    implemented = {"ndarray": ndarray, "ufunc": ufunc, "RawModule": cuda.RawModule,
                   "RawKernel": cuda.RawKernel,
                   "get_default_memory_pool": memory.get_default_memory_pool,
                   "get_default_pinned_memory_pool": memory.get_default_memory_pool,
                   "fromDlpack": dlpack.from_dlpack}
    _fill(module, "cupy", implemented, _cupy_default)
    functions.install_methods()
    install_operators({k: v for k, v in vars(module).items() if isinstance(v, ufunc)},
                      module.matmul)
    ndarray.__module__ = "cupy"
    ufunc.__module__ = "cupy"


def build_linalg(module: types.ModuleType) -> None:
    def default(name: str, entry: dict) -> Any:
        np_obj = getattr(np.linalg, name, None)
        if name == "LinAlgError":
            return np.linalg.LinAlgError
        if callable(np_obj) and entry["kind"] == "function":
            return functions.numpy_function(f"cupy.linalg.{name}", np_obj, entry)
        return not_modelled(f"cupy.linalg.{name}")

    _fill(module, "cupy.linalg", {}, default)


def _stub_default(qual: str) -> Callable[[str, dict], Any]:
    def default(name: str, entry: dict) -> Any:
        if entry["kind"] == "class":
            return type(name, (), {"__init__": not_modelled(f"{qual}.{name}"),
                                   "__module__": qual})
        return not_modelled(f"{qual}.{name}")
    return default


def build_cuda(module: types.ModuleType) -> None:
    implemented = {"Device": cuda.Device, "Stream": cuda.Stream, "Event": cuda.Event,
                   "MemoryPool": memory.MemoryPool, "MemoryPointer": memory.MemoryPointer,
                   "Memory": memory.Memory, "get_current_stream": cuda.get_current_stream,
                   "get_elapsed_time": cuda.get_elapsed_time,
                   "is_available": lambda: True, "get_device_id": cuda.get_device_id,
                   "get_local_runtime_version": cuda.runtimeGetVersion,
                   "alloc": lambda size: memory.get_default_memory_pool().malloc(size)}
    _fill(module, "cupy.cuda", implemented, _stub_default("cupy.cuda"))
    module.driver = importlib.import_module("cupy.cuda.driver")


def build_runtime(module: types.ModuleType) -> None:
    _fill(module, "cupy.cuda.runtime", dict(cuda.RUNTIME), _stub_default("cupy.cuda.runtime"))


def build_memory(module: types.ModuleType) -> None:
    implemented = {"MemoryPool": memory.MemoryPool, "MemoryPointer": memory.MemoryPointer,
                   "Memory": memory.Memory, "OutOfMemoryError": memory.OutOfMemoryError,
                   "CUDARuntimeError": errors.CUDARuntimeError,
                   "alloc": lambda size: memory.get_default_memory_pool().malloc(size)}
    _fill(module, "cupy.cuda.memory", implemented, _stub_default("cupy.cuda.memory"))


def build_device(module: types.ModuleType) -> None:
    implemented = {"Device": cuda.Device, "get_cusparse_handle": cuda.get_cusparse_handle,
                   "get_device_id": cuda.get_device_id,
                   "get_compute_capability": cuda.get_compute_capability}
    _fill(module, "cupy.cuda.device", implemented, _stub_default("cupy.cuda.device"))


def build_stream(module: types.ModuleType) -> None:
    implemented = {"Stream": cuda.Stream, "Event": cuda.Event,
                   "get_current_stream": cuda.get_current_stream,
                   "get_elapsed_time": cuda.get_elapsed_time}
    _fill(module, "cupy.cuda.stream", implemented, _stub_default("cupy.cuda.stream"))


def build_compiler(module: types.ModuleType) -> None:
    _fill(module, "cupy.cuda.compiler", {"CompileException": cuda.CompileException},
          _stub_default("cupy.cuda.compiler"))


def build_driver(module: types.ModuleType) -> None:
    module.CUDADriverError = errors.CUDADriverError


def build_cupyx(module: types.ModuleType) -> None:
    def scatter(op: str) -> Callable[..., None]:
        def f(a: Any, slices: Any, value: Any) -> None:
            getattr(sys.modules["cupy"], op).at(a, slices, value)
        return f

    implemented = {"allow_synchronize": core.allow_synchronize,
                   "DeviceSynchronized": core.DeviceSynchronized,
                   "scatter_add": scatter("add"), "scatter_max": scatter("maximum"),
                   "scatter_min": scatter("minimum"),
                   "empty_pinned": lambda shape, dtype=float, order="C": np.empty(
                       shape, dtype, order),
                   "zeros_pinned": lambda shape, dtype=float, order="C": np.zeros(
                       shape, dtype, order)}
    _fill(module, "cupyx", implemented, _stub_default("cupyx"))


def build_cupyx_scipy(module: types.ModuleType) -> None:
    _fill(module, "cupyx.scipy", {"get_array_module": functions.get_array_module},
          _stub_default("cupyx.scipy"))


def build_sparse(module: types.ModuleType) -> None:
    sparse.build(module)


def build_cupy_backends(module: types.ModuleType) -> None:
    _fill(module, "cupy_backends", {}, _stub_default("cupy_backends"))


def build_backends_cuda(module: types.ModuleType) -> None:
    _fill(module, "cupy_backends.cuda", {}, _stub_default("cupy_backends.cuda"))


def build_libs(module: types.ModuleType) -> None:
    _fill(module, "cupy_backends.cuda.libs", {}, _stub_default("cupy_backends.cuda.libs"))
    module.cusparse = importlib.import_module("cupy_backends.cuda.libs.cusparse")


def build_cusparse(module: types.ModuleType) -> None:
    cusparse.build(module)


def build_dask_protocol(module: types.ModuleType) -> None:
    """``distributed.protocol.cupy`` when the stand-in is on: empty, so that Dask pickles
    the stand-in's arrays (through host memory, where the stand-in keeps them, and by a
    path a fresh worker can import). The real module needs numba.cuda or RMM, a GPU."""
    module.__doc__ = build_dask_protocol.__doc__


BUILDERS: dict[str, Callable[[types.ModuleType], None]] = {
    "cupy": build_cupy, "cupy.random": random.build, "cupy.linalg": build_linalg,
    "cupy.cuda": build_cuda, "cupy.cuda.runtime": build_runtime,
    "cupy.cuda.memory": build_memory, "cupy.cuda.device": build_device,
    "cupy.cuda.stream": build_stream, "cupy.cuda.compiler": build_compiler,
    "cupy.cuda.driver": build_driver, "cupyx": build_cupyx,
    "cupyx.scipy": build_cupyx_scipy, "cupyx.scipy.sparse": build_sparse,
    "cupy_backends": build_cupy_backends, "cupy_backends.cuda": build_backends_cuda,
    "cupy_backends.cuda.libs": build_libs,
    "cupy_backends.cuda.libs.cusparse": build_cusparse,
    "distributed.protocol.cupy": build_dask_protocol,
}
ROOTS = ("cupy", "cupyx", "cupy_backends")


def _is_stub_submodule(fullname: str) -> bool:
    parent, _, child = fullname.rpartition(".")
    if not parent or parent not in names.data()["modules"]:
        return False
    entry = names.module(parent).get(child)
    return entry is not None and entry["kind"] == "module" and child not in _STDLIB


class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the stand-in's modules under CuPy's names."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname == "distributed.protocol.cupy":
            return importlib.machinery.ModuleSpec(fullname, self)
        if fullname.split(".")[0] not in ROOTS:
            return None
        parent = sys.modules.get(fullname.rpartition(".")[0])
        if parent is not None and getattr(getattr(parent, "__spec__", None), "loader",
                                          None) is not self:
            return None  # a package of someone else's (a test's fake): not ours to fill
        if fullname in BUILDERS or _is_stub_submodule(fullname):
            spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            spec.submodule_search_locations = []
            return spec
        return None

    def create_module(self, spec: Any) -> Any:
        if spec.name not in BUILDERS:
            return _stub_module(spec.name)
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        builder = BUILDERS.get(module.__name__)
        module.__file__ = __file__
        if builder is not None:
            builder(module)


FINDER = Finder()
