"""CUDA's and cuSPARSE's error classes, with CuPy's messages ``NAME: description``."""

from __future__ import annotations

_RUNTIME = {
    0: ("cudaSuccess", "no error"),
    1: ("cudaErrorInvalidValue", "invalid argument"),
    2: ("cudaErrorMemoryAllocation", "out of memory"),
    100: ("cudaErrorNoDevice", "no CUDA-capable device is detected"),
    101: ("cudaErrorInvalidDevice", "invalid device ordinal"),
    700: ("cudaErrorIllegalAddress", "an illegal memory access was encountered"),
    716: ("cudaErrorMisalignedAddress", "misaligned address"),
}
_DRIVER = {
    1: ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
    700: ("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"),
    701: ("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"),
    716: ("CUDA_ERROR_MISALIGNED_ADDRESS", "misaligned address"),
    500: ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
}
_CUSPARSE = {
    1: ("CUSPARSE_STATUS_NOT_INITIALIZED", "initialization error"),
    3: ("CUSPARSE_STATUS_INVALID_VALUE", "invalid value"),
    7: ("CUSPARSE_STATUS_INTERNAL_ERROR", "internal operation failed"),
    8: ("CUSPARSE_STATUS_MATRIX_TYPE_NOT_SUPPORTED", "matrix type not supported"),
    10: ("CUSPARSE_STATUS_NOT_SUPPORTED", "operation not supported"),
}

ILLEGAL_ADDRESS = 700
MISALIGNED_ADDRESS = 716
INVALID_VALUE = 1
CUSPARSE_INVALID_VALUE = 3
CUSPARSE_NOT_SUPPORTED = 10


class _StatusError(RuntimeError):
    """CuPy's error classes: ``status`` and the message ``NAME: description``."""

    _NAMES: dict[int, tuple[str, str]] = {}
    _UNKNOWN = "{}"

    def __init__(self, status: int, detail: str = ""):
        self.status = status
        name, msg = self._NAMES.get(status, (self._UNKNOWN.format(status), "unknown error"))
        super().__init__(f"{name}: {msg}" + (f" ({detail})" if detail else ""))

    def __reduce__(self):
        return type(self), (self.status,)


class CUDARuntimeError(_StatusError):
    """``cupy.cuda.runtime.CUDARuntimeError``."""

    _NAMES, _UNKNOWN = _RUNTIME, "cudaError{}"


class CUDADriverError(_StatusError):
    """``cupy.cuda.driver.CUDADriverError`` (what a bad kernel launch raises)."""

    _NAMES, _UNKNOWN = _DRIVER, "CUDA_ERROR_{}"


class CuSparseError(_StatusError):
    """``cupy_backends.cuda.libs.cusparse.CuSparseError``; ``status`` is the
    cusparseStatus_t."""

    _NAMES, _UNKNOWN = _CUSPARSE, "CUSPARSE_STATUS_{}"
