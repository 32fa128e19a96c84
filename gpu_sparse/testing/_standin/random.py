"""``cupy.random`` of the stand-in.

CuPy's generators (cuRAND's XORWOW by default) give other numbers than NumPy's for the
same seed. The stand-in keeps that difference: its streams come from NumPy's Philox
keyed by a hash of the seed, so code that expects ``cupy.random`` and ``numpy.random`` to
agree fails here as it would on a GPU. Draws land on the device (no host copy counted).
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

import numpy as np

from . import core
from .core import ndarray, wrap
from .functions import fill_class, fill_module


def _bits(seed: Any) -> np.random.Generator:
    if seed is None:
        return np.random.Generator(np.random.Philox())
    if isinstance(seed, ndarray):
        seed = seed.get()
    digest = hashlib.sha256(b"gpu_sparse stand-in cuRAND " +
                            np.asarray(seed, dtype=np.uint64).tobytes()).digest()
    return np.random.Generator(np.random.Philox(key=int.from_bytes(digest[:16], "little")))


def _size(size: Any) -> Any:
    if isinstance(size, tuple) and len(size) == 1 and isinstance(size[0], tuple):
        return size[0]
    return size


def _float(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"cupy.random: dtype must be float32 or float64, got {dt}")
    return dt


class RandomState:
    """``cupy.random.RandomState`` (its common methods)."""

    def __init__(self, seed: Any = None, method: Any = None):
        self._rng = _bits(seed)

    def seed(self, seed: Any = None) -> None:
        self._rng = _bits(seed)

    def random_sample(self, size: Any = None, dtype: Any = float) -> ndarray:
        return wrap(np.asarray(self._rng.random(size, dtype=_float(dtype))))

    random = ranf = sample = random_sample

    def rand(self, *size: Any, **kwargs: Any) -> ndarray:
        return self.random_sample(size or None, kwargs.pop("dtype", float))

    def randn(self, *size: Any, **kwargs: Any) -> ndarray:
        return self.standard_normal(size or None, kwargs.pop("dtype", float))

    def standard_normal(self, size: Any = None, dtype: Any = float) -> ndarray:
        return wrap(np.asarray(self._rng.standard_normal(size, dtype=_float(dtype))))

    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None,
               dtype: Any = float) -> ndarray:
        return wrap(np.asarray(self._rng.normal(core.unwrap(loc), core.unwrap(scale), size)
                               .astype(_float(dtype))))

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None,
                dtype: Any = float) -> ndarray:
        return wrap(np.asarray(self._rng.uniform(core.unwrap(low), core.unwrap(high), size)
                               .astype(_float(dtype))))

    def randint(self, low: Any, high: Any = None, size: Any = None, dtype: Any = int
                ) -> ndarray:
        if high is None:
            low, high = 0, low
        return wrap(np.asarray(self._rng.integers(low, high, size, dtype=dtype)))

    def permutation(self, num: Any) -> ndarray:
        if isinstance(num, ndarray):
            return wrap(self._rng.permutation(num._a))
        return wrap(self._rng.permutation(int(num)))

    def shuffle(self, a: Any) -> None:
        if not isinstance(a, ndarray):
            raise TypeError("The array must be cupy.ndarray")
        self._rng.shuffle(a._a)

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None
               ) -> ndarray:
        src = a._a if isinstance(a, ndarray) else a
        prob = p._a if isinstance(p, ndarray) else p
        return wrap(np.asarray(self._rng.choice(src, size, replace, prob)))


class Generator:
    """``cupy.random.Generator`` (``default_rng``): CuPy's has fewer methods than
    NumPy's (no ``normal``, ``choice``, ``permutation``, ``shuffle``)."""

    def __init__(self, bit_generator: Any):
        self.bit_generator = bit_generator
        self._rng = bit_generator._rng

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> ndarray:
        res = np.asarray(self._rng.random(size, dtype=_float(dtype)))
        if out is not None:
            out._a[...] = res
            return out
        return wrap(res)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64, out: Any = None
                        ) -> ndarray:
        res = np.asarray(self._rng.standard_normal(size, dtype=_float(dtype)))
        if out is not None:
            out._a[...] = res
            return out
        return wrap(res)

    def integers(self, low: Any, high: Any = None, size: Any = None, dtype: Any = np.int64,
                 endpoint: bool = False) -> ndarray:
        return wrap(np.asarray(self._rng.integers(low, high, size, dtype=dtype,
                                                  endpoint=endpoint)))

    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Any = None,
                dtype: Any = np.float64) -> ndarray:
        return wrap(np.asarray(self._rng.uniform(low, high, size).astype(_float(dtype))))


class BitGenerator:
    """``cupy.random.BitGenerator`` and its kinds (XORWOW, MRG32k3a, Philox4x3210)."""

    def __init__(self, seed: Any = None, *, size: int = -1):
        self._rng = _bits(seed)


class XORWOW(BitGenerator):
    pass


class MRG32k3a(BitGenerator):
    pass


class Philox4x3210(BitGenerator):
    pass


def default_rng(seed: Any = None) -> Generator:
    return Generator(XORWOW(seed))


_state: list[Optional[RandomState]] = [None]


def get_random_state() -> RandomState:
    if _state[0] is None:
        _state[0] = RandomState()
    return _state[0]


def set_random_state(rs: RandomState) -> None:
    _state[0] = rs


def reset_states() -> None:
    _state[0] = None


def seed(seed: Any = None) -> None:
    get_random_state().seed(seed)


def _module_level(name: str) -> Any:
    def f(*args: Any, **kwargs: Any) -> Any:
        return getattr(get_random_state(), name)(*args, **kwargs)

    f.__name__ = name
    return f


def build(module: Any) -> None:
    implemented = {"RandomState": RandomState, "Generator": Generator,
                   "BitGenerator": BitGenerator, "XORWOW": XORWOW, "MRG32k3a": MRG32k3a,
                   "Philox4x3210": Philox4x3210, "default_rng": default_rng,
                   "get_random_state": get_random_state,
                   "set_random_state": set_random_state, "reset_states": reset_states,
                   "seed": seed}
    fill_module(module, "cupy.random", implemented,
                lambda name: _module_level(name) if hasattr(RandomState, name) else None)
    fill_class(RandomState, "cupy.random.RandomState", "cupy.random")
    fill_class(Generator, "cupy.random.Generator", "cupy.random")
