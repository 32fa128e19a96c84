"""Where numba keeps the compiled CPU kernels: decided once, before they are declared.

numba caches machine code next to the source (``__pycache__``) or in a per-user
directory, and raises "no locator available" at import when it can write to neither
(a read-only install run by a user without a writable home). The kernels must import
anyway. In order of preference:

1. ``NUMBA_CACHE_DIR`` when the user set it (numba honours it);
2. ``cpu_backend/__pycache__`` when it is writable (a normal install);
3. a per-user directory: ``$XDG_CACHE_HOME/gpu_sparse/numba``, ``~/.cache/gpu_sparse/
   numba``, then ``<tempdir>/gpu_sparse-numba-<uid>``, the first one that can be created
   and written;
4. no disk cache: the kernels compile in memory in every process (slower first calls,
   said once through ``logging``).
"""

from __future__ import annotations

import logging
import os
import pathlib
import tempfile
from typing import Iterable, Optional

import numba
from numba.core.caching import FunctionCache

_log = logging.getLogger("gpu_sparse")


def compiled_before(dispatcher: object) -> bool:
    """Whether numba's disk cache holds a compiled version of ``dispatcher`` (a look at
    numba's cache index; True when it cannot tell, so that nothing is announced)."""
    try:
        cache = FunctionCache(dispatcher.py_func)  # type: ignore[attr-defined]
        return os.path.exists(cache._cache_file._index_path)
    except Exception:  # numba internals moved: stay quiet rather than wrong
        return True


def announce_first_compile(dispatcher: object, cached: bool) -> None:
    """Say once, through the ``gpu_sparse`` logger, that the first products will compile
    kernels for a few seconds (when numba has nothing compiled on disk yet)."""
    if cached and compiled_before(dispatcher):
        return
    where = ("cached on disk for later processes" if cached else
             "compiled in memory: no writable cache directory")
    _log.warning("gpu_sparse: compiling the CPU kernels on first use, 3-5 s for each new "
                 "dtype (%s); `python -m gpu_sparse.warmup` does it ahead of time", where)


def _writable_dir(path: pathlib.Path) -> bool:
    """Whether ``path`` is (or can be made) a directory this process can write into."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = path / f".gpu_sparse-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return True
    except OSError:
        return False


def _user_dirs() -> Iterable[pathlib.Path]:
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        yield pathlib.Path(xdg) / "gpu_sparse" / "numba"
    home = os.environ.get("HOME")
    if home:
        yield pathlib.Path(home) / ".cache" / "gpu_sparse" / "numba"
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    yield pathlib.Path(tempfile.gettempdir()) / f"gpu_sparse-numba-{uid}"


def kernel_cache(package_dir: Optional[pathlib.Path] = None,
                 user_dirs: Optional[Iterable[pathlib.Path]] = None) -> bool:
    """True when the kernels may be declared with ``cache=True`` (after pointing numba at
    a writable directory when the package's own is not), False for no disk cache."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return True
    here = package_dir or pathlib.Path(__file__).resolve().parent
    if _writable_dir(here / "__pycache__"):
        return True
    for candidate in (user_dirs if user_dirs is not None else _user_dirs()):
        if _writable_dir(candidate):
            numba.config.CACHE_DIR = str(candidate)  # type: ignore[attr-defined]  # read per kernel
            return True
    _log.warning("gpu_sparse: no writable directory for the compiled CPU kernels "
                 "(set NUMBA_CACHE_DIR to one); they compile in memory in every process")
    return False
