"""Device memory of the CuPy stand-in: allocations apart from host memory, CuPy's pool.

Every array of the stand-in lives in an :class:`Allocation`, a block of host bytes that
only the stand-in's own functions read and write, as only kernels touch device memory:
a host copy (``.get()``, ``cupy.asnumpy``) is a copy, and writing into it changes
nothing on the "device". As in CuPy (``cupy/cuda/memory.pyx``), sizes are rounded up to
:data:`ALLOCATION_UNIT_SIZE` bytes, blocks start on :data:`ALIGNMENT` bytes, a freed block
stays in the pool (``total_bytes``) until ``free_all_blocks`` and is reused for a request
of the same rounded size, a request over the limit frees the cached blocks and tries
again, and fresh memory holds garbage (bytes 0xFF: NaN in every float dtype), never
zeros. CuPy also splits a larger cached block for a smaller request (best fit); the
stand-in does not, so its ``total_bytes`` can run above a GPU's: an upper bound.

Pointers (``MemoryPointer.ptr``, ``ndarray.data.ptr``) are the addresses of those host
bytes, so that the stand-in's cuSPARSE and kernels can check that every pointer they get
lies inside a live allocation (:func:`find`).
"""

from __future__ import annotations

import bisect
import threading
import weakref
from typing import Any, Optional

import numpy as np

#: CuPy rounds every allocation up to this many bytes (ALLOCATION_UNIT_SIZE).
ALLOCATION_UNIT_SIZE = 512
#: cudaMalloc returns 256-byte aligned memory; CuPy's pool keeps that alignment.
ALIGNMENT = 256


class OutOfMemoryError(MemoryError):
    """``cupy.cuda.memory.OutOfMemoryError``: a request beyond the pool's limit."""

    def __init__(self, size: int, total: int, limit: int = 0):
        self._size, self._total, self._limit = size, total, limit
        msg = (f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} "
               f"bytes" + (f", limit set to: {limit:,} bytes" if limit else "") + ").")
        super().__init__(msg)

    def __reduce__(self):
        return type(self), (self._size, self._total, self._limit)


def round_size(size: int) -> int:
    """``size`` rounded up to whole allocation units (CuPy's ``_round_size``)."""
    return -(-int(size) // ALLOCATION_UNIT_SIZE) * ALLOCATION_UNIT_SIZE


class Allocation:
    """One block of device memory: ``nbytes`` (rounded) bytes at ``ptr`` on ``device``."""

    __slots__ = ("raw", "ptr", "nbytes", "device_id", "owner", "__weakref__")

    def __init__(self, raw: np.ndarray, device_id: int):
        self.raw = raw
        self.owner: Any = None  # weakref to the ndarray that owns it (views: its base)
        self.ptr = int(raw.ctypes.data) if raw.nbytes else 0
        self.nbytes = raw.nbytes
        self.device_id = device_id


class _Registry:
    """Live allocations by address, to tell whether a raw pointer is device memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: list[int] = []
        self._blocks: dict[int, weakref.ref] = {}

    def add(self, alloc: Allocation) -> None:
        if not alloc.nbytes:
            return
        with self._lock:
            bisect.insort(self._starts, alloc.ptr)
            self._blocks[alloc.ptr] = weakref.ref(alloc)

    def remove(self, ptr: int) -> None:
        with self._lock:
            if self._blocks.pop(ptr, None) is not None:
                i = bisect.bisect_left(self._starts, ptr)
                if i < len(self._starts) and self._starts[i] == ptr:
                    del self._starts[i]

    def find(self, ptr: int, nbytes: int = 1) -> Optional[Allocation]:
        with self._lock:
            i = bisect.bisect_right(self._starts, ptr) - 1
            if i < 0:
                return None
            alloc = self._blocks[self._starts[i]]()
        if alloc is None or not alloc.ptr <= ptr or ptr + nbytes > alloc.ptr + alloc.nbytes:
            return None
        return alloc


_REGISTRY = _Registry()
# id(the NumPy array owning an allocation's bytes) -> the live Allocation using them
_BY_OWNER: dict[int, weakref.ref] = {}


def owner_of(arr: np.ndarray) -> Optional[Allocation]:
    """The live allocation whose bytes the NumPy array ``arr`` views, or None (host
    memory). NumPy points ``base`` of every view at the array that owns the memory."""
    owner = arr.base if arr.base is not None else arr
    ref = _BY_OWNER.get(id(owner))
    alloc = ref() if ref is not None else None
    if alloc is None or alloc.raw.base is not owner:
        return None
    return alloc


def find(ptr: int, nbytes: int = 1) -> Optional[Allocation]:
    """The live allocation holding ``nbytes`` bytes at ``ptr``, or None."""
    return _REGISTRY.find(ptr, nbytes)


class MemoryPool:
    """``cupy.cuda.MemoryPool`` as the memory tests read it: bytes in use, bytes held
    (in use + cached free blocks), the free blocks, a limit."""

    def __init__(self, allocator: Any = None):
        self._lock = threading.Lock()
        self._used = 0
        self._free: dict[int, list[np.ndarray]] = {}  # rounded size -> cached raw blocks
        self._free_bytes = 0
        self._limit = 0

    # ---- what the stand-in calls -----------------------------------------------------
    def _allocate(self, size: int, device_id: int) -> Allocation:
        rounded = round_size(size) if size else 0
        with self._lock:
            cached = self._free.get(rounded)
            if cached:
                raw = cached.pop()
                self._free_bytes -= rounded
            else:
                if self._limit and self._used + self._free_bytes + rounded > self._limit:
                    self._free.clear()  # CuPy frees the cached blocks and tries again
                    self._free_bytes = 0
                total = self._used + self._free_bytes
                if self._limit and total + rounded > self._limit:
                    raise OutOfMemoryError(size, total, self._limit)
                raw = None
            self._used += rounded
        if raw is None:
            block = np.empty(rounded + ALIGNMENT, np.uint8)
            start = (-block.ctypes.data) % ALIGNMENT
            raw = block[start:start + rounded]
        raw.fill(0xFF)  # uninitialised device memory: garbage, not zeros
        alloc = Allocation(raw, device_id)
        _REGISTRY.add(alloc)
        _BY_OWNER[id(raw.base)] = weakref.ref(alloc)
        weakref.finalize(alloc, self._release, raw, alloc.ptr)
        return alloc

    def _release(self, raw: np.ndarray, ptr: int) -> None:
        _REGISTRY.remove(ptr)
        with self._lock:
            self._used -= raw.nbytes
            self._free.setdefault(raw.nbytes, []).append(raw)
            self._free_bytes += raw.nbytes

    # ---- CuPy's API ------------------------------------------------------------------
    def malloc(self, size: int) -> MemoryPointer:
        return MemoryPointer(Memory(self._allocate(int(size), current_device_id())), 0)

    def used_bytes(self) -> int:
        return self._used

    def free_bytes(self) -> int:
        return self._free_bytes

    def total_bytes(self) -> int:
        return self._used + self._free_bytes

    def n_free_blocks(self) -> int:
        return sum(len(v) for v in self._free.values())

    def free_all_blocks(self, stream: Any = None) -> None:
        with self._lock:
            self._free.clear()
            self._free_bytes = 0

    def free_all_free(self) -> None:
        self.free_all_blocks()

    def set_limit(self, size: Optional[int] = None, fraction: Optional[float] = None
                  ) -> None:
        if size is not None and fraction is not None:
            raise ValueError("size and fraction cannot be specified at one time")
        if fraction is not None:
            raise NotImplementedError("the CuPy stand-in has no device memory size: "
                                      "set_limit(fraction=...) is not modelled")
        self._limit = int(size or 0)

    def get_limit(self) -> int:
        return self._limit


_local = threading.local()


def current_device_id() -> int:
    """The device ``with cupy.cuda.Device(i):`` selected on this thread (0 by default)."""
    return getattr(_local, "device", 0)


def set_current_device_id(device_id: int) -> None:
    _local.device = int(device_id)


_POOLS: dict[int, MemoryPool] = {}
_DEFAULT_POOL = MemoryPool()


def get_default_memory_pool() -> MemoryPool:
    """CuPy's default pool (one object; CuPy keeps one per device inside it)."""
    return _DEFAULT_POOL


def allocate(nbytes: int, device_id: Optional[int] = None) -> Allocation:
    """A fresh allocation of ``nbytes`` bytes from the default pool."""
    return _DEFAULT_POOL._allocate(nbytes, current_device_id() if device_id is None
                                   else device_id)


class Memory:
    """``cupy.cuda.Memory``: one allocation (``ptr``, ``size``, ``device_id``)."""

    def __init__(self, alloc: Allocation):
        self._alloc = alloc
        self.ptr = alloc.ptr
        self.size = alloc.nbytes
        self.device_id = alloc.device_id

    @property
    def device(self) -> Any:
        return make_device(self.device_id)


class MemoryPointer:
    """``cupy.cuda.MemoryPointer``: an address inside a :class:`Memory`."""

    def __init__(self, mem: Memory, offset: int):
        self.mem = mem
        self.ptr = mem.ptr + int(offset)
        self.device_id = mem.device_id

    @property
    def device(self) -> Any:
        return make_device(self.device_id)

    def __int__(self) -> int:
        return self.ptr

    def __add__(self, offset: int) -> MemoryPointer:
        return MemoryPointer(self.mem, self.ptr - self.mem.ptr + int(offset))


# cupy.cuda.Device is defined with the rest of cupy.cuda; memory needs to make one
_device_factory: list[Any] = []


def make_device(device_id: int) -> Any:
    return _device_factory[0](device_id)
