"""A read-only install imports and computes, whoever runs it: numba's kernel cache falls
back to a per-user directory, then to none, never to an error."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from cpu_backend import _cache

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_cache_prefers_the_package_then_a_user_dir_then_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    saved = _cache.numba.config.CACHE_DIR
    try:
        pkg = tmp_path / "pkg"
        pkg.mkdir()
        assert _cache.kernel_cache(pkg, [])  # writable package: its own __pycache__
        blocked = tmp_path / "file"
        blocked.write_text("")  # a file where a directory would have to be
        user = tmp_path / "user" / "numba"
        assert _cache.kernel_cache(blocked, [blocked / "x", user])
        assert str(user) == _cache.numba.config.CACHE_DIR and user.is_dir()
        assert not _cache.kernel_cache(blocked, [blocked / "y"])  # nowhere: in memory
        monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "given"))
        assert _cache.kernel_cache(blocked, [])
    finally:
        _cache.numba.config.CACHE_DIR = saved


def _nobody_can_run(python: str) -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    res = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          python, "-c", "import numba, scipy"], capture_output=True,
                         timeout=120, check=False)
    return res.returncode == 0


@pytest.mark.skipif(not _nobody_can_run(sys.executable),
                    reason="needs root, setpriv and a Python that user nobody can run")
def test_read_only_install_as_nobody_without_home(tmp_path):
    target = tmp_path / "site"
    for name in ("gpu_sparse", "cpu_backend"):
        shutil.copytree(ROOT / name, target / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for path in [target, *target.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    tmp_path.chmod(0o755)
    code = ("import gpu_sparse as gs, numpy as np\n"
            "a = gs.sparse_coo_tensor([[0, 1], [1, 0]], np.array([1.0, 2.0]), (2, 2))\n"
            "print(gs.sparse.mm(a, gs.tensor(np.eye(2))).tolist())\n")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(target),
           "TMPDIR": str(tmp_path / "no-such-dir")}  # no HOME, no writable tempdir
    res = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "[[0.0, 1.0], [2.0, 0.0]]"
