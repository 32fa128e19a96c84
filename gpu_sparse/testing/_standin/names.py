"""CuPy 14.2's public names and signatures (``cupy14.json``, written by
:mod:`.generate` from the real wheel), and the keyword check every stand-in callable
makes against them."""

from __future__ import annotations

import functools
import inspect
import json
import pathlib
from typing import Any, Callable, Optional

_FILE = pathlib.Path(__file__).resolve().parent / "cupy14.json"
_KINDS = {
    "positional_only": inspect.Parameter.POSITIONAL_ONLY,
    "positional_or_keyword": inspect.Parameter.POSITIONAL_OR_KEYWORD,
    "var_positional": inspect.Parameter.VAR_POSITIONAL,
    "keyword_only": inspect.Parameter.KEYWORD_ONLY,
    "var_keyword": inspect.Parameter.VAR_KEYWORD,
}


@functools.cache
def data() -> dict[str, Any]:
    """The whole file: ``{"cupy_version", "modules": {module: {name: entry}},
    "classes": {class path: {member: entry}}}``."""
    return json.loads(_FILE.read_text())


def module(name: str) -> dict[str, Any]:
    """The entries of one module (``"cupy"``, ``"cupyx.scipy.sparse"``, ...)."""
    return data()["modules"][name]


def members(cls: str) -> dict[str, Any]:
    """The entries of one class (``"cupy.ndarray"``, ``"cupy.ufunc"``, ...)."""
    return data()["classes"][cls]


class _Default:
    """The default of a recorded parameter (only its presence is recorded)."""

    def __repr__(self) -> str:
        return "..."


_DEFAULT = _Default()


def signature(entry: Optional[dict[str, Any]]) -> Optional[inspect.Signature]:
    """The recorded parameters as an ``inspect.Signature`` (None when unknown)."""
    params = (entry or {}).get("params")
    if params is None:
        return None
    if params and params[0][0] == "self":
        params = params[1:]
    out = []
    for name, kind, has_default in params:
        if not name.isidentifier():  # e.g. "x1, x2[, out1, out2]": check nothing
            return None
        default = _DEFAULT if has_default else inspect.Parameter.empty
        if kind in ("var_positional", "var_keyword"):
            default = inspect.Parameter.empty
        out.append(inspect.Parameter(name, _KINDS[kind], default=default))
    try:
        return inspect.Signature(out)
    except ValueError:  # an odd docstring order: check nothing rather than guess
        return None


def checker(qualname: str, entry: Optional[dict[str, Any]]) -> Callable[..., None]:
    """A function raising TypeError, as Python does for CuPy's own function, when the
    arguments do not bind to CuPy 14.2's signature of ``qualname``."""
    sig = signature(entry)
    if sig is None:
        return lambda *args, **kwargs: None

    def check(*args: Any, **kwargs: Any) -> None:
        try:
            sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{qualname}(): {e} (CuPy 14.2: {qualname}{sig})") from None

    return check
