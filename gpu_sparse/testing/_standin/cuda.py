"""``cupy.cuda`` of the stand-in: devices, streams, events, the runtime's queries, the
memory pool, and ``RawModule``/``RawKernel``.

There is no GPU: :data:`DEVICE_COUNT` devices exist (``GPU_SPARSE_CUDA_STANDIN_DEVICES``,
default 1), each with compute capability 9.0; work runs at once on the host, so streams
and events only keep order trivially, and ``get_elapsed_time`` measures host time (no GPU
timing can come from the stand-in).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any, Optional

from . import errors, kernels, memory

DEVICE_COUNT = int(os.environ.get("GPU_SPARSE_CUDA_STANDIN_DEVICES", "1") or 1)
_PROPERTIES = {"name": b"gpu_sparse CuPy stand-in, no GPU", "totalGlobalMem": 80 * 2**30,
               "sharedMemPerBlock": 48 * 1024, "warpSize": 32, "maxThreadsPerBlock": 1024,
               "maxThreadsDim": (1024, 1024, 64), "maxGridSize": (2**31 - 1, 65535, 65535),
               "major": 9, "minor": 0, "multiProcessorCount": 132,
               "sharedMemPerBlockOptin": 227 * 1024, "pciBusID": 0, "pciDeviceID": 0}


def _check_device(device_id: int) -> int:
    device_id = int(device_id)
    if not 0 <= device_id < DEVICE_COUNT:
        raise errors.CUDARuntimeError(101, f"device {device_id} of {DEVICE_COUNT}")
    return device_id


# ---- runtime ------------------------------------------------------------------------
def getDeviceCount() -> int:
    return DEVICE_COUNT


def getDevice() -> int:
    return memory.current_device_id()


def setDevice(device: int) -> None:
    memory.set_current_device_id(_check_device(device))


def deviceSynchronize() -> None:
    pass


def getDeviceProperties(device: int) -> dict:
    _check_device(device)
    return dict(_PROPERTIES)


def runtimeGetVersion() -> int:
    return 13000


def driverGetVersion() -> int:
    return 13000


def memGetInfo() -> tuple[int, int]:
    total = _PROPERTIES["totalGlobalMem"]
    return total - memory.get_default_memory_pool().total_bytes(), total


RUNTIME = {"getDeviceCount": getDeviceCount, "getDevice": getDevice, "setDevice": setDevice,
           "deviceSynchronize": deviceSynchronize, "getDeviceProperties": getDeviceProperties,
           "runtimeGetVersion": runtimeGetVersion, "driverGetVersion": driverGetVersion,
           "memGetInfo": memGetInfo, "CUDARuntimeError": errors.CUDARuntimeError}


# ---- devices ------------------------------------------------------------------------
class Device:
    """``cupy.cuda.Device``: a context manager selecting the current device."""

    def __init__(self, device: Any = None):
        if device is None:
            device = memory.current_device_id()
        elif hasattr(device, "id"):
            device = device.id
        self.id = _check_device(device)
        self._stack: list[int] = []

    def __enter__(self) -> Device:
        self._stack.append(memory.current_device_id())
        memory.set_current_device_id(self.id)
        return self

    def __exit__(self, *exc: Any) -> bool:
        memory.set_current_device_id(self._stack.pop())
        return False

    def use(self) -> None:
        memory.set_current_device_id(self.id)

    def synchronize(self) -> None:
        pass

    @property
    def compute_capability(self) -> str:
        return "90"

    @property
    def mem_info(self) -> tuple[int, int]:
        return memGetInfo()

    @property
    def attributes(self) -> dict:
        return {"MaxThreadsPerBlock": 1024, "WarpSize": 32, "MultiProcessorCount": 132,
                "ComputeCapabilityMajor": 9, "ComputeCapabilityMinor": 0}

    @property
    def cusparse_handle(self) -> int:
        return get_cusparse_handle()

    @property
    def pci_bus_id(self) -> str:
        return f"0000:{self.id:02x}:00.0"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("Device", self.id))

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


memory._device_factory.append(Device)

_HANDLES: dict[int, int] = {}


def get_cusparse_handle() -> int:
    """A cuSPARSE handle of the current device (an int, as CuPy's)."""
    dev = memory.current_device_id()
    return _HANDLES.setdefault(dev, 0x5A000 + dev)


def get_device_id() -> int:
    return memory.current_device_id()


def get_compute_capability(device_id: int) -> str:
    _check_device(device_id)
    return "90"


# ---- streams and events -------------------------------------------------------------
_current = threading.local()


class Stream:
    """``cupy.cuda.Stream``; the stand-in runs everything at once, in order."""

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False,
                 priority: Optional[int] = None):
        self.ptr = 0 if null else id(self)
        self.device_id = memory.current_device_id()
        self.priority = priority or 0
        self.is_non_blocking = non_blocking
        self._prev: list[Any] = []

    def __enter__(self) -> Stream:
        self._prev.append(get_current_stream())
        _current.stream = self
        return self

    def __exit__(self, *exc: Any) -> bool:
        _current.stream = self._prev.pop()
        return False

    def use(self) -> Stream:
        _current.stream = self
        return self

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True

    def record(self, event: Optional[Event] = None) -> Event:
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event: Event) -> None:
        pass

    def add_callback(self, callback: Any, arg: Any) -> None:
        callback(self, 0, arg)

    def launch_host_func(self, callback: Any, arg: Any) -> None:
        callback(arg)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Stream) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(("Stream", self.ptr))


Stream.null = Stream(null=True)  # type: ignore[attr-defined]


def get_current_stream(device_id: int = -1) -> Stream:
    return getattr(_current, "stream", Stream.null)  # type: ignore[attr-defined]


class Event:
    """``cupy.cuda.Event``; ``record`` notes the host clock."""

    def __init__(self, block: bool = False, disable_timing: bool = False,
                 interprocess: bool = False):
        self.disable_timing = disable_timing
        self._t: Optional[float] = None

    def record(self, stream: Any = None) -> None:
        self._t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    """Milliseconds between two recorded events (host time: no GPU timing)."""
    if start_event._t is None or end_event._t is None:
        raise errors.CUDARuntimeError(1, "an event was not recorded")
    return (end_event._t - start_event._t) * 1e3


# ---- compiled code --------------------------------------------------------------------
class CompileException(Exception):  # noqa: N818 (CuPy's name)
    """``cupy.cuda.compiler.CompileException``."""


class RawKernel:
    """``cupy.RawKernel`` / what ``RawModule.get_function`` returns: a launch runs the
    checks and the NumPy model of :mod:`.kernels`."""

    def __init__(self, code: str, name: str, options: tuple = (), backend: str = "nvrtc",
                 *, translate_cucomplex: bool = False, enable_cooperative_groups: bool = False,
                 jitify: Any = None):
        if not isinstance(options, tuple):
            raise TypeError(f"Argument 'options' has incorrect type (expected tuple, got "
                            f"{type(options).__name__})")
        self.code, self.name, self.options, self.backend = code, name, options, backend
        self.enable_cooperative_groups = enable_cooperative_groups
        kernels.parse_kernel(code, name)  # an unknown kernel fails here, as NVRTC would

    def __call__(self, grid: Any, block: Any, args: Any, **kwargs: Any) -> None:
        unknown = set(kwargs) - {"shared_mem", "stream"}
        if unknown:
            raise TypeError(f"__call__() got an unexpected keyword argument "
                            f"'{sorted(unknown)[0]}'")
        kernels.launch(self.code, self.name, grid, block, args,
                       kwargs.get("shared_mem", 0), kwargs.get("stream"))

    @property
    def attributes(self) -> dict:
        return {"max_threads_per_block": 1024, "shared_size_bytes": 0, "num_regs": 32}

    @property
    def max_threads_per_block(self) -> int:
        return 1024

    def compile(self, log_stream: Any = None) -> None:
        pass


class RawModule:
    """``cupy.RawModule(code=..., options=(), name_expressions=...)``."""

    def __init__(self, code: Optional[str] = None, *, path: Optional[str] = None,
                 options: tuple = (), backend: str = "nvrtc",
                 translate_cucomplex: bool = False, enable_cooperative_groups: bool = False,
                 name_expressions: Any = None, jitify: Any = None):
        if not isinstance(options, tuple):
            raise TypeError(f"Argument 'options' has incorrect type (expected tuple, got "
                            f"{type(options).__name__})")
        if (code is None) == (path is None):
            raise TypeError("Exactly one of `code` and `path` keyword arguments must be "
                            "given.")
        if name_expressions is not None and (code is None or backend != "nvrtc"):
            raise ValueError("need specialized name_expressions with code and the nvrtc "
                             "backend")
        if jitify is not None:
            warnings.warn("jitify is staged for removal in v15", DeprecationWarning,
                          stacklevel=2)
        if path is not None:
            with open(path) as f:
                code = f.read()
        self.code, self.options, self.backend = code, options, backend
        self.name_expressions = tuple(name_expressions) if name_expressions else None
        self.enable_cooperative_groups = enable_cooperative_groups

    def get_function(self, name: str) -> RawKernel:
        if self.name_expressions is not None and name not in self.name_expressions \
                and "<" in name:
            raise errors.CUDADriverError(500, f"{name} is not among name_expressions")
        return RawKernel(self.code or "", name, self.options, self.backend,
                         enable_cooperative_groups=self.enable_cooperative_groups)

    def compile(self, log_stream: Any = None) -> None:
        pass
