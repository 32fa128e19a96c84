"""The architecture holds (docs/ARCHITECTURE.md): imports point down with no cycles and no
function-local imports but lazy backend loading, the core reaches devices only through the
formats and the named ``xp`` functions, and `lint-imports` keeps its contracts."""

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

from gpu_sparse.backend import PRIMITIVES, XP_FUNCTIONS

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("gpu_sparse", "cpu_backend")

# The only imports allowed inside functions: loading a backend (or what only a backend
# needs) on first use, so that importing gpu_sparse imports neither CuPy nor the kernels.
LAZY_IMPORTS = {
    ("gpu_sparse/backend/device.py", "cpu_backend"),
    ("gpu_sparse/cuda/__init__.py", "cupy"),
    ("gpu_sparse/cuda/__init__.py", "backend"),
    ("gpu_sparse/cuda/backend.py", "ml_dtypes"),
    ("gpu_sparse/cuda/backend.py", "cupyx.scipy.sparse"),
    ("gpu_sparse/cuda/backend.py", "cupy_backends.cuda.libs"),
    # the names file of the CuPy stand-in is generated from the real CuPy, on request
    ("gpu_sparse/testing/_standin/generate.py", "cupy"),
}

# Reads the real CuPy to write the stand-in's list of names (gpu_sparse.testing)
GENERATOR = {"gpu_sparse/testing/_standin/generate.py"}

# Compute primitives of the backend; only the sparse formats call them.
COMPUTE = set(PRIMITIVES) - {"asarray", "to_numpy"}


def _sources():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text())


def _function_imports(tree):
    """(imported module name, line) of every import statement inside a function body."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef,
                                                       ast.AsyncFunctionDef, ast.Lambda))
            if in_function and isinstance(child, ast.Import):
                found.extend((a.name, child.lineno) for a in child.names)
            elif in_function and isinstance(child, ast.ImportFrom):
                found.append((child.module or child.names[0].name, child.lineno))
            visit(child, inside)

    visit(tree, False)
    return found


def test_no_function_local_imports_but_lazy_backend_loading():
    bad = [(path, name, line) for path, tree in _sources()
           for name, line in _function_imports(tree) if (path, name) not in LAZY_IMPORTS]
    assert not bad, bad


def test_no_import_cycles():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph(*PACKAGES)
    internal = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    cycles = []
    for m in sorted(internal):
        for x in graph.find_modules_directly_imported_by(m):
            if x in internal and graph.chain_exists(importer=x, imported=m):
                cycles.append((m, x, graph.find_shortest_chain(importer=x, imported=m)))
    assert not cycles, cycles


def _is_core(path):
    return path.startswith("gpu_sparse/") and not path.startswith("gpu_sparse/cuda/")


def test_core_uses_only_the_named_xp_functions():
    used = {}
    for path, tree in _sources():
        if not _is_core(path):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name,
                                                                            ast.Attribute))
                    and ast.unparse(node.value).split(".")[-1] == "xp"):
                used.setdefault(node.attr, set()).add(path)
    assert used, "the scan found no xp use at all"
    extra = {name: paths for name, paths in used.items() if name not in XP_FUNCTIONS}
    assert not extra, extra


def test_only_the_formats_call_compute_primitives():
    callers = set()
    for path, tree in _sources():
        if not _is_core(path):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in COMPUTE
                    and ast.unparse(node.func.value).lower().endswith("backend")):
                callers.add(path)
    assert callers and all(p.startswith("gpu_sparse/formats/") for p in callers), callers


def test_no_module_imports_cupy_outside_the_cuda_package():
    for path, tree in _sources():
        if path.startswith("gpu_sparse/cuda/") or path in GENERATOR:
            continue
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("cupy", "cupyx", "cupy_backends")
                           for n in names), (path, names)


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter missing")
def test_import_contracts_kept():
    res = subprocess.run([shutil.which("lint-imports")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_importing_gpu_sparse_imports_neither_cupy_nor_the_kernels():
    code = ("import sys, gpu_sparse as gs\n"
            "gs.sparse_coo_tensor([[0], [0]], [1.0], (1, 1), device='cpu')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('cupy', 'cupyx', 'gpu_sparse.cuda.backend')))\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True)
    assert res.stdout.strip() == "[]"
