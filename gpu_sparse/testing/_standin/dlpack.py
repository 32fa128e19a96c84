"""DLPack for the stand-in's arrays: ``ndarray.__dlpack__`` exports a ``"dltensor"``
capsule of device memory (``kDLCUDA``), as CuPy's; ``cupy.from_dlpack`` views such a
capsule without a copy. Consumers of host memory (``numpy.from_dlpack``) refuse it, as
they refuse real GPU memory. Only the stand-in's own device memory can be imported (no
other CUDA producer exists on a machine without a GPU).

Structures from ``dlpack.h`` (v0.8, the unversioned ABI every consumer reads).
"""

from __future__ import annotations

import ctypes
import sys
import threading
import weakref
from typing import Any

import numpy as np

from . import core, memory
from .core import ndarray

_KDL_CUDA = 2
_KDL_CPU = 1
_CODES = {"i": 0, "u": 1, "f": 2, "c": 5, "b": 6}
_NAME = b"dltensor"
_USED = b"used_dltensor"


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


_DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                            ("deleter", _DELETER)]

_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]

_lock = threading.Lock()
# address of a DLManagedTensor -> (it, its shape and strides, the array, its capsule)
_live: dict[int, tuple] = {}


@_DELETER
def _delete(managed: Any) -> None:
    with _lock:
        _live.pop(ctypes.addressof(managed.contents), None)


def _sweep() -> None:
    """Forget capsules nobody consumed and nobody holds (a consumer that refused one, say
    NumPy refusing GPU memory). Capsules get no destructor: one written in Python would
    run while the refusing consumer's exception is pending."""
    with _lock:
        for addr, entry in list(_live.items()):
            cap = entry[4]
            if sys.getrefcount(cap) <= 3 and _api.PyCapsule_IsValid(cap, _NAME):
                del _live[addr]


def _dtype_code(dt: np.dtype) -> tuple[int, int]:
    if dt.name == "bfloat16":
        return 4, 16
    return _CODES[dt.kind], dt.itemsize * 8


def export(x: ndarray, stream: Any, max_version: Any, dl_device: Any, copy: Any) -> Any:
    """``ndarray.__dlpack__``: a ``"dltensor"`` capsule of ``x``'s device memory."""
    if copy is True:
        raise BufferError("copy=True is not supported for CUDA arrays")
    if dl_device is not None and tuple(dl_device) != (_KDL_CUDA, x._alloc.device_id):
        raise BufferError(f"the array is on CUDA device {x._alloc.device_id}, not "
                          f"{tuple(dl_device)}")
    a = x._a
    managed = DLManagedTensor()
    shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
    strides = (ctypes.c_int64 * max(a.ndim, 1))(*(s // a.itemsize for s in a.strides))
    code, bits = _dtype_code(a.dtype)
    t = managed.dl_tensor
    t.data = int(a.ctypes.data) if a.size else None
    t.device = DLDevice(_KDL_CUDA, x._alloc.device_id)
    t.ndim = a.ndim
    t.dtype = DLDataType(code, bits, 1)
    t.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
    t.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64))
    t.byte_offset = 0
    managed.deleter = _delete
    _sweep()
    capsule = _api.PyCapsule_New(ctypes.addressof(managed), _NAME, None)
    with _lock:
        _live[ctypes.addressof(managed)] = (managed, shape, strides, x, capsule)
    return capsule


_DTYPES = {(0, 8): np.int8, (0, 16): np.int16, (0, 32): np.int32, (0, 64): np.int64,
           (1, 8): np.uint8, (1, 16): np.uint16, (1, 32): np.uint32, (1, 64): np.uint64,
           (2, 16): np.float16, (2, 32): np.float32, (2, 64): np.float64,
           (5, 64): np.complex64, (5, 128): np.complex128, (6, 8): np.bool_}


def from_dlpack(obj: Any, *, device: Any = None, copy: Any = None) -> ndarray:
    """``cupy.from_dlpack``: a zero-copy view of a CUDA DLPack producer's memory."""
    if device is not None:
        raise NotImplementedError("from_dlpack: device is not supported")
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: {type(obj).__name__} has no __dlpack__")
    kind, dev = obj.__dlpack_device__()
    if int(kind) == _KDL_CPU:
        raise TypeError("from_dlpack: the producer holds host memory; use cupy.asarray to "
                        "copy it to the device")
    if int(kind) != _KDL_CUDA:
        raise BufferError(f"from_dlpack: unsupported device type {kind}")
    capsule = obj.__dlpack__(stream=1)
    addr = _api.PyCapsule_GetPointer(capsule, _NAME)
    managed = DLManagedTensor.from_address(addr)
    t = managed.dl_tensor
    code, bits = t.dtype.code, t.dtype.bits
    dt = core.bfloat16_dtype() if (code, bits) == (4, 16) else np.dtype(_DTYPES[(code, bits)])
    shape = tuple(t.shape[i] for i in range(t.ndim))
    strides = (tuple(t.strides[i] * dt.itemsize for i in range(t.ndim)) if t.strides
               else None)
    ptr = (t.data or 0) + t.byte_offset
    n = int(np.prod(shape, dtype=np.int64))
    _api.PyCapsule_SetName(capsule, _USED)
    if n == 0:
        managed.deleter(ctypes.pointer(managed))
        return core.empty(shape, dt)
    span = max((s - 1) * abs(st) for s, st in zip(shape, strides)) + dt.itemsize \
        if strides else n * dt.itemsize
    alloc = memory.find(ptr, span)
    if alloc is None:
        managed.deleter(ctypes.pointer(managed))
        raise BufferError("from_dlpack: the CuPy stand-in can only import its own device "
                          "memory")
    view = np.ndarray(shape, dt, buffer=alloc.raw, offset=ptr - alloc.ptr, strides=strides)
    out = core.adopt(view)
    weakref.finalize(out, managed.deleter, ctypes.pointer(managed))
    return out
