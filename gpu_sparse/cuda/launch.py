"""Launch geometry of the CUDA kernels, as plain Python (NumPy only, never CuPy).

Every number the kernels and their launches must agree on lives here once: threads per
block, warp width, the SDDMM chunk and tile counts, the smallest SpMM row group, the
vector load width. The backend (:mod:`gpu_sparse.cuda.backend`) takes its grid sizes,
vector widths and template arguments from these functions; the ``.cu`` sources take
the same numbers as ``-D`` options from :func:`compile_options` (NVRTC), or from
``kernels/launch.cuh``, which :func:`constants_header` generates, when a plain ``nvcc``
compiles a file. ``tests/test_cuda_sources.py`` checks that header and compiles with these
options and instantiates every kernel listed by :func:`instantiations`, with or without
a GPU.

All grids are one-dimensional with :data:`THREADS_PER_BLOCK` threads per block. Both
products give each row (SpMM) or nonzero (SDDMM) a sub-warp group of lanes sized to ``p``
(:func:`column_lanes`: ``C`` = the smallest power of two >= ``ceil(p / vec)``, at most
:data:`WARP_SIZE`), so a warp handles several of them at once when ``p < WARP_SIZE * vec``:

* SpMM (``gpu_sparse_spmm_csr``): groups of ``G = max(C, SPMM_MIN_GROUP)`` lanes
  (:func:`spmm_group`), ``WARP_SIZE // G`` rows per warp (:func:`spmm_rows_per_warp`),
  times :func:`spmm_tiles` column tiles of ``C * vec`` columns; each lane owns ``vec``
  consecutive output columns. When ``G > C`` the ``G // C`` lanes of a column split the
  row's nonzeros (every ``G // C``-th) and add their sums by a fixed butterfly.
* Split SpMM, for patterns with a row of at least :data:`SPMM_SPLIT_SEGMENTS` segments
  (:func:`spmm_split`): every row is cut into fixed segments of :data:`SPMM_SEGMENT`
  nonzeros (the last one shorter); ``gpu_sparse_spmm_csr_partial`` maps segments the way
  the single pass maps rows (:func:`spmm_partial_blocks`) and writes one partial sum per
  (segment, column) to a scratch buffer, then ``gpu_sparse_spmm_csr_combine`` (one thread
  per output element, :func:`spmm_combine_blocks`) adds a row's segments in segment order.
* SDDMM (``gpu_sparse_sddmm_coo``): one warp per :data:`SDDMM_CHUNK` consecutive
  nonzeros (the grid depends on ``nnz`` only); inside it groups of ``C`` lanes
  (:func:`sddmm_group`) take ``WARP_SIZE // C`` nonzeros at a time, each group a
  contiguous part of the chunk, reduced by a fixed butterfly of ``log2(C)`` shuffles.
* Segment sum (``gpu_sparse_segment_sum``): one thread per run of equal keys.

Every sum runs in an order fixed by the inputs alone (no atomics, fixed shuffle trees):
the same inputs give the same bits on every run.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any, NamedTuple

import numpy as np

#: Where the ``.cu`` sources and the project's own headers live.
KERNEL_DIR = pathlib.Path(__file__).resolve().parent / "kernels"

#: Threads per block of every launch (a whole number of warps).
THREADS_PER_BLOCK = 256
#: Lanes per warp. The warp shuffles use the full-warp mask 0xffffffff, so the kernels
#: accept only 32 (a ``static_assert`` in ``common.cuh``).
WARP_SIZE = 32
#: Nonzeros one SDDMM warp handles, in storage order, keeping its row of ``a`` in
#: registers while the row does not change.
SDDMM_CHUNK = 32
#: Column tiles of ``WARP_SIZE * vec`` values an SDDMM warp keeps in registers; wider
#: rows are streamed instead.
SDDMM_TILES = 2
#: Fewest lanes per SpMM row group: with fewer column lanes (``p <= 2 * vec``), the
#: spare lanes of the group split the row's nonzeros (a power of two <= WARP_SIZE).
SPMM_MIN_GROUP = 4
#: Nonzeros per segment of the split SpMM: a row of ``n`` nonzeros is cut into
#: ``ceil(n / SPMM_SEGMENT)`` segments of consecutive nonzeros (storage order), each summed
#: by one sub-warp group like a row of the single pass.
SPMM_SEGMENT = 256
#: The split SpMM runs when the longest row has at least this many segments
#: (``SPMM_SPLIT_SEGMENTS * SPMM_SEGMENT`` nonzeros; :func:`spmm_split`).
SPMM_SPLIT_SEGMENTS = 4
#: Bytes of one vector load or store (the widest single memory instruction per thread).
LOAD_BYTES = 16

#: The block shape of every launch, as CuPy takes it.
BLOCK: tuple[int] = (THREADS_PER_BLOCK,)

#: The kernel templates.
SPMM = "gpu_sparse_spmm_csr"
SDDMM = "gpu_sparse_sddmm_coo"
SPMM_PARTIAL = "gpu_sparse_spmm_csr_partial"
SPMM_COMBINE = "gpu_sparse_spmm_csr_combine"
SEGMENT_SUM = "gpu_sparse_segment_sum"
#: Kernel template -> its source file under ``gpu_sparse/cuda/kernels``.
SOURCES: dict[str, str] = {SPMM: "spmm.cu", SPMM_PARTIAL: "spmm.cu",
                           SPMM_COMBINE: "spmm.cu", SDDMM: "sddmm.cu",
                           SEGMENT_SUM: "segment.cu"}

#: NumPy dtype name -> (CUDA C++ value type, size in bytes). Keyed by name so that
#: bfloat16 (an ``ml_dtypes`` dtype, not a NumPy one) needs no import here.
VALUE_TYPES: dict[str, tuple[str, int]] = {
    "float32": ("float", 4),
    "float64": ("double", 8),
    "complex64": ("gs_c64", 8),
    "complex128": ("gs_c128", 16),
    "float16": ("__half", 2),
    "bfloat16": ("__nv_bfloat16", 2),
}
#: Value dtypes that need ``-DGPU_SPARSE_HALF`` (the cuda_fp16.h/cuda_bf16.h headers) and
#: accumulate in float32.
HALF_DTYPES = frozenset({"float16", "bfloat16"})
#: NumPy index dtype name -> CUDA C++ index type.
INDEX_TYPES: dict[str, str] = {"int32": "int", "int64": "long long"}


class Kernel(NamedTuple):
    """One kernel instantiation: what NVRTC (or nvcc) must compile to run it."""

    #: source file under ``gpu_sparse/cuda/kernels``
    source: str
    #: C++ name expression, e.g. ``"gpu_sparse_spmm_csr<float, int, 4>"``
    expression: str
    #: whether it needs ``-DGPU_SPARSE_HALF``
    half: bool


# ---- dtypes -------------------------------------------------------------------------
def _value_name(dtype: Any) -> str:
    name = np.dtype(dtype).name
    if name not in VALUE_TYPES:
        raise TypeError(f"no CUDA kernel for dtype {np.dtype(dtype)}")
    return name


def value_type_name(dtype: Any) -> str:
    """The CUDA C++ value type of a value dtype.

    Raises TypeError for a dtype without kernels.

    Examples
    --------
    >>> value_type_name(np.complex64)
    'gs_c64'
    """
    return VALUE_TYPES[_value_name(dtype)][0]


def index_type_name(dtype: Any) -> str:
    """The CUDA C++ index type of an index dtype (int32 or int64).

    Examples
    --------
    >>> index_type_name(np.int64)
    'long long'
    """
    return INDEX_TYPES[np.dtype(dtype).name]


def is_half(dtype: Any) -> bool:
    """Whether a value dtype is float16 or bfloat16 (compiled with ``GPU_SPARSE_HALF``)."""
    return _value_name(dtype) in HALF_DTYPES


def acc_dtype(dtype: Any) -> np.dtype:
    """The accumulator dtype of a value dtype, also the dtype of the kernels' scalars.

    Examples
    --------
    >>> acc_dtype(np.float16)
    dtype('float32')
    >>> acc_dtype(np.complex128)
    dtype('complex128')
    """
    return np.dtype(np.float32) if is_half(dtype) else np.dtype(dtype)


# ---- vector width -------------------------------------------------------------------
def _max_vec(itemsize: int) -> int:
    return max(1, LOAD_BYTES // itemsize)


def max_vec_width(dtype: Any) -> int:
    """Values of ``dtype`` in one :data:`LOAD_BYTES`-byte load (1 for complex128)."""
    return _max_vec(VALUE_TYPES[_value_name(dtype)][1])


def aligned(*ptrs: int) -> bool:
    """Whether every address (``ndarray.data.ptr``) is :data:`LOAD_BYTES`-aligned."""
    return all(ptr % LOAD_BYTES == 0 for ptr in ptrs)


def vec_width(dtype: Any, p: int, rows_aligned: bool) -> int:
    """Values each lane loads at once from rows of ``p`` values of ``dtype``.

    The widest vector (:func:`max_vec_width`) when it divides ``p`` and the arrays start
    on :data:`LOAD_BYTES` bytes (``rows_aligned``, see :func:`aligned`); then every row
    of a C-contiguous (rows, p) array starts aligned too. Otherwise 1.

    Examples
    --------
    >>> vec_width(np.float32, 100, True), vec_width(np.float32, 102, True)
    (4, 1)
    >>> vec_width(np.float64, 100, False)
    1
    """
    vec = max_vec_width(dtype)
    return vec if vec > 1 and p % vec == 0 and rows_aligned else 1


# ---- grids --------------------------------------------------------------------------
def _ceil_div(a: int, b: int) -> int:
    return (a + b - 1) // b


def blocks(n_threads: int) -> int:
    """Blocks of :data:`THREADS_PER_BLOCK` covering ``n_threads`` threads (at least 1)."""
    return max(1, _ceil_div(n_threads, THREADS_PER_BLOCK))


def column_lanes(p: int, vec: int) -> int:
    """Lanes that split ``p`` columns, ``vec`` consecutive columns each: the smallest power
    of two >= ``ceil(p / vec)``, at least 1 and at most :data:`WARP_SIZE` (as the kernels'
    ``gs_column_lanes``).

    Examples
    --------
    >>> column_lanes(1, 1), column_lanes(8, 4), column_lanes(33, 1), column_lanes(100, 4)
    (1, 2, 32, 32)
    """
    need = max(1, _ceil_div(p, vec))
    g = 1
    while g < need and g < WARP_SIZE:
        g *= 2
    return g


def spmm_group(p: int, vec: int) -> int:
    """Lanes per row of the SpMM kernel: ``max(column_lanes(p, vec), SPMM_MIN_GROUP)``."""
    return max(column_lanes(p, vec), SPMM_MIN_GROUP)


def spmm_rows_per_warp(p: int, vec: int) -> int:
    """Rows one SpMM warp handles at once (``WARP_SIZE // spmm_group(p, vec)``).

    Examples
    --------
    >>> spmm_rows_per_warp(1, 1), spmm_rows_per_warp(32, 4), spmm_rows_per_warp(32, 8)
    (8, 4, 8)
    """
    return WARP_SIZE // spmm_group(p, vec)


def spmm_tiles(p: int, vec: int) -> int:
    """Column tiles of ``column_lanes(p, vec) * vec`` columns covering ``p`` output
    columns (more than 1 only when a row needs the whole warp)."""
    return _ceil_div(p, column_lanes(p, vec) * vec)


def spmm_warps(n_rows: int, p: int, vec: int) -> int:
    """Warps of the SpMM kernel: one per (:func:`spmm_rows_per_warp` rows, column tile)."""
    return _ceil_div(n_rows, spmm_rows_per_warp(p, vec)) * spmm_tiles(p, vec)


def spmm_blocks(n_rows: int, p: int, vec: int) -> int:
    """Grid size of the SpMM kernel: :func:`spmm_warps` warps.

    Examples
    --------
    >>> spmm_blocks(1000, 100, 4)  # 1 row per warp, 1 tile: 1000 warps of 32 threads
    125
    >>> spmm_blocks(1000, 32, 4)  # 4 rows per warp: 250 warps
    32
    """
    return blocks(spmm_warps(n_rows, p, vec) * WARP_SIZE)


def spmm_split(max_row_nnz: int) -> bool:
    """Whether the split (two-pass) SpMM runs for a pattern whose longest row has
    ``max_row_nnz`` nonzeros: when that row has at least :data:`SPMM_SPLIT_SEGMENTS`
    segments of :data:`SPMM_SEGMENT` nonzeros, which one sub-warp group would otherwise
    walk alone. Depends on the pattern only, so a pattern always takes the same path.

    Examples
    --------
    >>> spmm_split(1023), spmm_split(1024), spmm_split(5000)
    (False, True, True)
    """
    return max_row_nnz >= SPMM_SPLIT_SEGMENTS * SPMM_SEGMENT


def spmm_segments(row_nnz: int) -> int:
    """Segments of a row of ``row_nnz`` nonzeros in the split SpMM (0 for an empty row).

    Examples
    --------
    >>> spmm_segments(0), spmm_segments(1), spmm_segments(256), spmm_segments(257)
    (0, 1, 1, 2)
    """
    return _ceil_div(row_nnz, SPMM_SEGMENT)


def spmm_partial_blocks(n_segments: int, p: int, vec: int) -> int:
    """Grid size of the split SpMM's first kernel: segments take the place of rows in
    :func:`spmm_blocks` (:func:`spmm_rows_per_warp` segments per warp, times the column
    tiles).

    Examples
    --------
    >>> spmm_partial_blocks(100, 64, 1)  # 1 segment per warp, 2 tiles: 200 warps
    25
    >>> spmm_partial_blocks(100, 1, 1)  # 8 segments per warp: 13 warps
    2
    """
    return spmm_blocks(n_segments, p, vec)


def spmm_combine_blocks(n_rows: int, p: int) -> int:
    """Grid size of the split SpMM's second kernel: one thread per output element.

    Examples
    --------
    >>> spmm_combine_blocks(1000, 64)  # 64000 threads
    250
    """
    return blocks(n_rows * p)


def sddmm_group(p: int, vec: int) -> int:
    """Lanes per nonzero of the SDDMM kernel (:func:`column_lanes`); a warp takes
    ``WARP_SIZE // sddmm_group(p, vec)`` nonzeros of its chunk at a time."""
    return column_lanes(p, vec)


def sddmm_warps(nnz: int) -> int:
    """Warps of the SDDMM kernel: one per :data:`SDDMM_CHUNK` nonzeros, whatever ``p``."""
    return _ceil_div(nnz, SDDMM_CHUNK)


def sddmm_blocks(nnz: int) -> int:
    """Grid size of the SDDMM kernel.

    Examples
    --------
    >>> sddmm_blocks(33)  # 2 warps
    1
    """
    return blocks(sddmm_warps(nnz) * WARP_SIZE)


def segment_blocks(n_seg: int) -> int:
    """Grid size of the segment-sum kernel: one thread per segment."""
    return blocks(n_seg)


# ---- compilation --------------------------------------------------------------------
def kernel_source(filename: str, kernel_dir: pathlib.Path = KERNEL_DIR) -> str:
    """The text NVRTC compiles for ``kernels/filename``: the ``.cu`` file with the
    project's own headers (``#include "x.cuh"``) inlined, each once.

    CuPy's on-disk cache key hashes the source string and CuPy's own headers, not headers
    found through ``-I`` (``cupy/cuda/compiler.py``): with an include, an edited
    ``common.cuh`` (or a release that changed only it) would keep loading stale cubins.
    Inlined, the header's text is part of the key. System headers (``<cuda_fp16.h>``)
    stay includes.
    """
    seen: set[str] = set()

    def expand(name: str) -> str:
        text = (kernel_dir / name).read_text()

        def include(match: re.Match[str]) -> str:
            header = match.group(1)
            if header in seen:
                return f"// {header}: inlined above"
            seen.add(header)
            return f"// ---- {header} (inlined) ----\n{expand(header)}// ---- end {header}"

        return re.sub(r'^#include "([^"]+)"[ \t]*$', include, text, flags=re.MULTILINE)

    return expand(filename)


def compile_options(half: bool) -> tuple[str, ...]:
    """The ``-D`` options every kernel source needs (NVRTC and nvcc alike).

    ``half`` adds ``-DGPU_SPARSE_HALF`` for the float16/bfloat16 instantiations only: it
    pulls in ``cuda_fp16.h``/``cuda_bf16.h``, which the other dtypes do not need.
    """
    options = tuple(f"-D{name}={value}" for name, value in _defines())
    return options + (("-DGPU_SPARSE_HALF",) if half else ())


def _defines() -> tuple[tuple[str, int], ...]:
    """The compile-time numbers the kernels share with their launches."""
    return (("GS_WARP_SIZE", WARP_SIZE), ("GS_THREADS_PER_BLOCK", THREADS_PER_BLOCK),
            ("GS_SDDMM_CHUNK", SDDMM_CHUNK), ("GS_SDDMM_TILES", SDDMM_TILES),
            ("GS_SPMM_MIN_GROUP", SPMM_MIN_GROUP), ("GS_SPMM_SEGMENT", SPMM_SEGMENT),
            ("GS_LOAD_BYTES", LOAD_BYTES))


def constants_header() -> str:
    """The text of ``kernels/launch.cuh``: the same numbers as :func:`compile_options`,
    for a plain ``nvcc`` of a ``.cu`` file. Generated from this module (a test keeps the
    committed file equal to it); a ``-D`` option takes precedence."""
    lines = ["// Generated by gpu_sparse.cuda.launch.constants_header(); do not edit (the",
             "// numbers live in launch.py, and tests/test_cuda_sources.py keeps this file",
             "// equal to its output). A -D option from compile_options() takes precedence.",
             "#pragma once"]
    for name, value in _defines():
        lines += [f"#ifndef {name}", f"#define {name} {value}", "#endif"]
    return "\n".join(lines) + "\n"


def _kernel(template: str, value: str, *args: str) -> Kernel:
    expression = f"{template}<{', '.join((VALUE_TYPES[value][0],) + args)}>"
    return Kernel(SOURCES[template], expression, value in HALF_DTYPES)


def spmm_kernel(dtype: Any, index_dtype: Any, vec: int) -> Kernel:
    """The SpMM instantiation for values of ``dtype``, indices of ``index_dtype``.

    Examples
    --------
    >>> spmm_kernel(np.float32, np.int32, 4).expression
    'gpu_sparse_spmm_csr<float, int, 4>'
    """
    return _kernel(SPMM, _value_name(dtype), index_type_name(index_dtype), str(vec))


def spmm_partial_kernel(dtype: Any, index_dtype: Any, vec: int) -> Kernel:
    """The split SpMM's first kernel (partial sums per segment).

    Examples
    --------
    >>> spmm_partial_kernel(np.float64, np.int64, 2).expression
    'gpu_sparse_spmm_csr_partial<double, long long, 2>'
    """
    return _kernel(SPMM_PARTIAL, _value_name(dtype), index_type_name(index_dtype),
                   str(vec))


def spmm_combine_kernel(dtype: Any, index_dtype: Any) -> Kernel:
    """The split SpMM's second kernel (segments added in order, alpha, beta * c).

    Examples
    --------
    >>> spmm_combine_kernel(np.float32, np.int32).expression
    'gpu_sparse_spmm_csr_combine<float, int>'
    """
    return _kernel(SPMM_COMBINE, _value_name(dtype), index_type_name(index_dtype))


def sddmm_kernel(dtype: Any, index_dtype: Any, vec: int) -> Kernel:
    """The SDDMM instantiation for values of ``dtype``, indices of ``index_dtype``."""
    return _kernel(SDDMM, _value_name(dtype), index_type_name(index_dtype), str(vec))


def segment_sum_kernel(dtype: Any) -> Kernel:
    """The segment-sum instantiation for values of ``dtype`` (int64 positions)."""
    return _kernel(SEGMENT_SUM, _value_name(dtype))


def instantiations(half: bool) -> tuple[Kernel, ...]:
    """Every instantiation the backend may ask for (the half ones only when ``half``).

    SpMM (single pass and the split one's partial kernel) and SDDMM come in both index
    types and in vector widths 1 and :func:`max_vec_width` (one of them when that is 1);
    the split SpMM's combine kernel in both index types; the segment sum in every value
    type.
    """
    out: list[Kernel] = []
    for value, (_, itemsize) in VALUE_TYPES.items():
        if value in HALF_DTYPES and not half:
            continue
        vecs = sorted({1, _max_vec(itemsize)})
        for template in (SPMM, SPMM_PARTIAL, SDDMM):
            for index in INDEX_TYPES.values():
                out.extend(_kernel(template, value, index, str(v)) for v in vecs)
        out.extend(_kernel(SPMM_COMBINE, value, index) for index in INDEX_TYPES.values())
        out.append(_kernel(SEGMENT_SUM, value))
    return tuple(out)
