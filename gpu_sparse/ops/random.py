"""Random numbers: the counter-based :class:`Generator` (SplitMix64) that draws where a
tensor lives, the default generator and ``manual_seed``, and the samplers ``randn`` and
``rand`` (CuPy's ``cupy/random`` in miniature)."""

from __future__ import annotations

import os
from typing import Any, Tuple

import numpy as np

from ..backend import Array, canonical_device, get_backend
from ..core import validate
from ..core.tensor import Tensor
from .factories import shape_args

# SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
# OOPSLA 2014; the constants of Vigna's splitmix64.c): the k-th output of a stream is a
# mix of state + k * GAMMA, so any stretch of it can be computed at once, on any device.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_MASK = 0xFFFFFFFFFFFFFFFF


def _mix(z: Any) -> Any:
    """SplitMix64's output function on uint64 values (arrays or NumPy scalars), wrapping
    modulo 2**64 as intended (NumPy warns about that for scalars)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)


def _mix_(z: Array) -> Array:
    """:func:`_mix` in place on a uint64 array (no temporaries but the shifts)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


class Generator:
    """A seeded source of random numbers for :func:`randn`, :func:`rand`,
    ``nn.functional.dropout`` and ``nn.init`` (their ``generator=`` argument), as
    ``torch.Generator``: ``Generator().manual_seed(0)``.

    A counter-based stream (SplitMix64): numbers are drawn where the tensor lives, with
    no host copy, and one seed gives the same uniform numbers (and dropout masks) bit for
    bit on every device; normal samples (Box-Muller) agree across devices to the
    rounding of ``log`` and ``cos``. The functions also take a NumPy
    ``np.random.Generator``, which draws on the host (then copies to the device).

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> g = gs.Generator().manual_seed(0)
    >>> a = gs.rand(2, generator=g)
    >>> b = gs.rand(2, generator=gs.Generator().manual_seed(0))
    >>> a.tolist() == b.tolist()
    True
    """

    def __init__(self, device: Any = "cpu"):
        self.device = device
        self._start = _mix(np.uint64(int.from_bytes(os.urandom(8), "little")))
        self._offset = 0

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed: seed must be an integer, got {type(seed).__name__}")
        self._start = _mix(np.uint64(int(seed) & _MASK))
        self._offset = 0
        return self

    def bits(self, n: int, xp: Any) -> Array:
        """The next ``n`` 64-bit outputs of the stream as a uint64 array of ``xp``."""
        z = xp.arange(self._offset, self._offset + n, dtype=np.uint64)
        self._offset += n
        z *= _GAMMA
        z += self._start
        return _mix_(z)

    def random(self, shape: Tuple[int, ...], xp: Any, dtype: Any = np.float64) -> Array:
        """Uniform samples on [0, 1): the top 53 bits of one output (float64), or two
        float32 samples of 24 bits from each output (its top and its middle bits)."""
        n = int(np.prod(shape, dtype=np.int64))
        if np.dtype(dtype) == np.float32:
            z = self.bits((n + 1) // 2, xp)
            hi = (z >> np.uint64(40)).astype(np.float32)
            z >>= np.uint64(16)
            z &= np.uint64(0xFFFFFF)
            u = xp.stack([hi, z.astype(np.float32)], axis=1).reshape(-1)[:n]
            u *= np.float32(2.0 ** -24)
        else:
            z = self.bits(n, xp)
            z >>= np.uint64(11)
            u = z.astype(np.float64) * (2.0 ** -53)
        return u.reshape(shape)

    def standard_normal(self, shape: Tuple[int, ...], xp: Any) -> Array:
        """Standard normal float64 samples (Box-Muller: two uniforms each)."""
        n = int(np.prod(shape, dtype=np.int64))
        u = self.random((2, n), xp)
        r = xp.sqrt(-2.0 * xp.log(1.0 - u[0]))  # 1 - u in (0, 1]: log is finite
        return (r * xp.cos(2.0 * np.pi * u[1])).reshape(shape)


class _HostDraws:
    """A NumPy ``np.random.Generator`` as a source: drawn on the host, copied over."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def random(self, shape: Tuple[int, ...], xp: Any, dtype: Any = np.float64) -> Array:
        return xp.asarray(self.rng.random(shape))

    def standard_normal(self, shape: Tuple[int, ...], xp: Any) -> Array:
        return xp.asarray(self.rng.standard_normal(shape))


_default = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used by :func:`randn`, :func:`rand`, dropout and
    ``nn.init`` when no ``generator`` is given); returns it, as ``torch.manual_seed``.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> _ = gs.manual_seed(0)
    """
    return _default.manual_seed(seed)


def generator_arg(fn: str, generator: Any) -> Any:
    """The source of samples behind ``generator`` (the default one for None): something
    with ``random(shape, xp, dtype)`` and ``standard_normal(shape, xp)``."""
    if generator is None:
        return _default
    if isinstance(generator, Generator):
        return generator
    if isinstance(generator, np.random.Generator):
        return _HostDraws(generator)
    raise TypeError(f"{fn}: generator must be a gpu_sparse.Generator or a NumPy "
                    f"np.random.Generator, got {type(generator).__name__}")


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """A dense tensor of standard normal samples (complex: real and imaginary parts
    each with variance 1/2, as in PyTorch), from ``generator`` or the default one
    (:func:`manual_seed`). dtype float32 unless given.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> _ = gs.manual_seed(0)
    >>> gs.randn(2, 3, dtype="float64").dtype
    dtype('float64')
    """
    shape = shape_args("randn", size)
    src = generator_arg("randn", generator)
    dt = validate.dtype_arg("randn", dtype) or np.dtype(np.float32)
    dev = canonical_device(device, "randn")
    xp = get_backend(dev).xp
    if dt.kind == "c":
        arr = (src.standard_normal(shape, xp) + 1j * src.standard_normal(shape, xp)) \
            / np.sqrt(2)
    elif dt.kind == "f":
        arr = src.standard_normal(shape, xp)
    else:
        raise TypeError(f"randn: dtype must be floating point or complex, got {dt}")
    return _sampled(arr.astype(dt), dev, requires_grad)


def _sampled(arr: Array, dev: str, requires_grad: bool) -> Tensor:
    t = Tensor(get_backend(dev).asarray(arr, copy=True), dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A dense tensor of samples uniform on [0, 1) (complex: both parts), from
    ``generator`` or the default one. dtype float32 unless given.

    Examples
    --------
    >>> import gpu_sparse as gs
    >>> x = gs.rand(1000, generator=gs.Generator().manual_seed(1))
    >>> bool((x >= 0).all()) and bool((x < 1).all())
    True
    """
    shape = shape_args("rand", size)
    src = generator_arg("rand", generator)
    dt = validate.dtype_arg("rand", dtype) or np.dtype(np.float32)
    dev = canonical_device(device, "rand")
    xp = get_backend(dev).xp
    if dt.kind == "c":
        arr = src.random(shape, xp) + 1j * src.random(shape, xp)
    elif dt.kind == "f":
        arr = src.random(shape, xp)
    else:
        raise TypeError(f"rand: dtype must be floating point or complex, got {dt}")
    arr = arr.astype(dt)
    if dt.kind == "f":  # rounding to a narrow dtype can reach 1.0: keep [0, 1)
        arr = xp.where(arr >= 1, np.nextafter(dt.type(1), dt.type(0)), arr)
    return _sampled(arr, dev, requires_grad)
