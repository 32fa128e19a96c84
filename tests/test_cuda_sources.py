"""The CUDA sources compile (nvcc, sm_90) wherever nvcc exists, GPU or not, and the launch
geometry of :mod:`gpu_sparse.cuda.launch` (which needs no CuPy) gives the right grids.

The nvcc flags and the instantiations compiled come from ``launch.py``, the same place the
backend takes them from: each source is compiled through a small wrapper that includes it
and takes the address of every instantiation the backend may ask NVRTC for.
"""

import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gpu_sparse.cuda import launch

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "gpu_sparse" / "cuda" / "kernels"
SOURCES = sorted(KERNELS.glob("*.cu"))
NVCC = ["nvcc", "-std=c++17", "-arch=sm_90", "--ptx", f"-I{KERNELS}"]
needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")


def test_kernel_sources_exist():
    names = {p.name for p in SOURCES}
    assert set(launch.SOURCES.values()) <= names
    for p in SOURCES:
        text = p.read_text()
        kernels = re.findall(r"__global__ void (\w+)", text)
        assert kernels and all(k.startswith("gpu_sparse_") for k in kernels), p.name
        # launch.py knows every kernel and where it lives
        assert all(launch.SOURCES.get(k) == p.name for k in kernels), (p.name, kernels)


def _wrapper(src, kernels, tmp_path):
    """A translation unit that includes ``src`` and instantiates ``kernels`` by taking
    their addresses in host code (as a launch would)."""
    refs = "".join(f"    reinterpret_cast<void*>(&{k.expression}),\n" for k in kernels)
    path = tmp_path / f"inst_{src.stem}.cu"
    path.write_text(f'#include "{src.name}"\n\nvoid* gs_instances[] = {{\n{refs}}};\n')
    return path


@needs_nvcc
@pytest.mark.parametrize("half", [False, True], ids=["f32-f64-complex", "half"])
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_nvcc_compiles(src, half, tmp_path):
    kernels = [k for k in launch.instantiations(half) if k.source == src.name]
    assert kernels and any(k.half for k in kernels) == half
    assert len({k.expression for k in kernels}) == len(kernels)
    out = tmp_path / (src.stem + ".ptx")
    cmd = NVCC + list(launch.compile_options(half)) + [
        "-o", str(out), str(_wrapper(src, kernels, tmp_path))]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    # every requested instantiation, and nothing else, became a kernel
    entries = set(re.findall(r"\.entry (\w+)", out.read_text()))
    assert len(entries) == len(kernels), sorted(entries)
    assert all(re.match(r"_Z\d+gpu_sparse_", e) for e in entries), sorted(entries)


def test_launch_header_is_launch_py():
    """kernels/launch.cuh (read by a plain nvcc) holds launch.py's numbers, generated."""
    assert (KERNELS / "launch.cuh").read_text() == launch.constants_header()
    for opt in launch.compile_options(False):
        name, value = opt[2:].split("=")
        assert f"#define {name} {value}\n" in launch.constants_header()


@needs_nvcc
@pytest.mark.parametrize("src", SOURCES + [ROOT / "tests" / "cuda_host" / "selftest.cu"],
                         ids=lambda p: p.name)
def test_nvcc_compiles_each_file_alone(src, tmp_path):
    """``nvcc -arch=sm_90 --ptx file.cu`` with no options works (through launch.cuh)."""
    cmd = ["nvcc", "-arch=sm_90", "--ptx", "-o", str(tmp_path / "x.ptx"), str(src)]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]


def test_compile_options():
    opts = launch.compile_options(False)
    assert "-DGS_WARP_SIZE=32" in opts and "-DGS_SDDMM_CHUNK=32" in opts
    assert "-DGS_THREADS_PER_BLOCK=256" in opts and "-DGS_SDDMM_TILES=2" in opts
    assert "-DGS_SPMM_MIN_GROUP=4" in opts and "-DGS_SPMM_SEGMENT=256" in opts
    assert "-DGPU_SPARSE_HALF" not in opts
    assert launch.compile_options(True) == opts + ("-DGPU_SPARSE_HALF",)


def test_launch_imports_without_cupy():
    code = ("import sys\n"
            "for m in ('cupy', 'cupyx', 'cupy_backends'):\n"
            "    sys.modules[m] = None  # any import of them now raises ImportError\n"
            "import gpu_sparse.cuda.launch as launch\n"
            "assert launch.sddmm_blocks(33) == 1\n")
    res = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]


def test_launch_geometry():
    geometry = (launch.THREADS_PER_BLOCK, launch.WARP_SIZE, launch.SDDMM_CHUNK,
                launch.SDDMM_TILES, launch.SPMM_MIN_GROUP)
    assert geometry == (256, 32, 32, 2, 4)
    assert launch.BLOCK == (256,)
    # lanes across the columns: the smallest power of two >= ceil(p / vec), in [1, 32]
    assert [launch.column_lanes(p, 1) for p in (0, 1, 2, 3, 5, 8, 16, 31, 32, 33, 100)] == [
        1, 1, 2, 4, 8, 8, 16, 32, 32, 32, 32]
    assert launch.column_lanes(8, 4) == 2 and launch.column_lanes(32, 8) == 4
    assert launch.column_lanes(128, 4) == 32 and launch.column_lanes(132, 4) == 32
    # SDDMM: one warp per 32 nonzeros whatever p, 8 warps per block; inside a warp
    # groups of column_lanes(p, vec) lanes, 32 / that many nonzeros at a time
    assert launch.sddmm_warps(33) == 2 and launch.sddmm_blocks(33) == 1  # ceil(2*32 / 256)
    assert launch.sddmm_warps(32) == 1 and launch.sddmm_blocks(1) == 1
    assert launch.sddmm_warps(257) == 9 and launch.sddmm_blocks(257) == 2  # ceil(9*32 / 256)
    assert launch.sddmm_blocks(10**6) == 3907  # ceil(31250 * 32 / 256)
    assert launch.sddmm_group(1, 1) == 1  # 32 nonzeros at once, no shuffle
    assert launch.sddmm_group(32, 4) == 8 and launch.sddmm_group(32, 8) == 4
    assert launch.sddmm_group(64, 1) == 32  # one nonzero at a time, 2 tiles
    # SpMM: groups of max(column_lanes, 4) lanes per row, 32 / group rows per warp
    assert launch.vec_width(np.float32, 100, True) == 4
    assert launch.spmm_tiles(100, 4) == 1
    assert launch.spmm_blocks(1000, 100, 4) == 125  # 1 row per warp: 32000 / 256
    assert launch.vec_width(np.float32, 100, False) == 1  # unaligned: scalar loads
    assert launch.spmm_tiles(100, 1) == 4
    assert launch.spmm_blocks(1000, 100, 1) == 500  # 128000 / 256
    assert launch.vec_width(np.float64, 3, True) == 1  # 2 does not divide 3
    assert launch.vec_width(np.float64, 300, True) == 2
    assert launch.spmm_tiles(300, 2) == 5
    assert launch.spmm_blocks(7, 300, 2) == 5  # ceil(7 * 5 * 32 / 256)
    assert launch.vec_width(np.float16, 8, True) == 8 and launch.spmm_blocks(1, 8, 8) == 1
    # p = 1: 1 column lane, groups of 4 (4 nonzero slots), 8 rows per warp
    assert launch.spmm_group(1, 1) == 4 and launch.spmm_rows_per_warp(1, 1) == 8
    assert launch.spmm_warps(1000, 1, 1) == 125 and launch.spmm_blocks(1000, 1, 1) == 16
    # float32 p = 8 (vec 4): 2 column lanes x 2 slots per row, 8 rows per warp
    assert launch.spmm_group(8, 4) == 4 and launch.spmm_blocks(1000, 8, 4) == 16
    # float32 p = 32 (vec 4): 8 lanes per row, 4 rows per warp: ceil(250 * 32 / 256)
    assert launch.spmm_rows_per_warp(32, 4) == 4 and launch.spmm_blocks(1000, 32, 4) == 32
    # float16 p = 32 (vec 8): 4 lanes per row, 8 rows per warp
    assert launch.spmm_rows_per_warp(32, 8) == 8 and launch.spmm_blocks(1000, 32, 8) == 16
    # rows not a multiple of the rows per warp: ceil(1001 / 8) = 126 warps
    assert launch.spmm_warps(1001, 16, 4) == 126 and launch.spmm_blocks(1001, 16, 4) == 16
    # p = 64 (vec 4): 16 lanes, 2 rows per warp: ceil(500 * 32 / 256)
    assert launch.spmm_rows_per_warp(64, 4) == 2 and launch.spmm_blocks(1000, 64, 4) == 63
    # p = 33 (vec 1): a whole warp per row, 2 tiles
    assert launch.spmm_tiles(33, 1) == 2 and launch.spmm_warps(5, 33, 1) == 10
    assert launch.spmm_blocks(1, 0, 1) == 1  # never an empty grid
    # split SpMM: segments of 256 nonzeros, taken when the longest row has >= 4 of them;
    # segments map like rows, the combine runs one thread per output element
    assert (launch.SPMM_SEGMENT, launch.SPMM_SPLIT_SEGMENTS) == (256, 4)
    assert not launch.spmm_split(1023) and launch.spmm_split(1024)
    assert [launch.spmm_segments(n) for n in (0, 1, 256, 257, 3000)] == [0, 1, 1, 2, 12]
    assert launch.spmm_partial_blocks(37, 1, 1) == launch.spmm_blocks(37, 1, 1) == 1
    assert launch.spmm_partial_blocks(100, 64, 1) == 25  # 2 tiles: 200 warps
    assert launch.spmm_combine_blocks(3, 33) == 1 and launch.spmm_combine_blocks(9, 64) == 3
    assert launch.vec_width(np.complex128, 64, True) == 1  # 16 bytes already
    assert launch.vec_width(np.complex64, 64, True) == 2
    # segment sum: one thread per segment
    assert launch.segment_blocks(0) == 1 and launch.segment_blocks(256) == 1
    assert launch.segment_blocks(257) == 2
    assert launch.aligned(0, 256, 4096) and not launch.aligned(256, 8)


def test_launch_templates():
    assert launch.value_type_name(np.float32) == "float"
    assert launch.value_type_name(np.complex128) == "gs_c128"
    assert launch.value_type_name(np.float16) == "__half"
    assert launch.index_type_name(np.int32) == "int"
    assert launch.index_type_name(np.int64) == "long long"
    assert launch.acc_dtype(np.float16) == np.float32
    assert launch.acc_dtype(np.float64) == np.float64
    assert not launch.is_half(np.complex64) and launch.is_half(np.float16)
    with pytest.raises(TypeError):
        launch.value_type_name(np.int32)
    k = launch.sddmm_kernel(np.complex64, np.int64, 2)
    assert k == launch.Kernel("sddmm.cu", "gpu_sparse_sddmm_coo<gs_c64, long long, 2>", False)
    k = launch.spmm_kernel(np.float16, np.int32, 8)
    assert k == launch.Kernel("spmm.cu", "gpu_sparse_spmm_csr<__half, int, 8>", True)
    assert launch.segment_sum_kernel(np.float64).expression == "gpu_sparse_segment_sum<double>"
    # what the backend can ask for is among the compiled instantiations
    assert k in launch.instantiations(True) and k not in launch.instantiations(False)
    # 4 value types x 3 kernels (SpMM, split SpMM partial, SDDMM) x 2 index types x 2
    # widths (1 for complex128) + the split SpMM combine per value and index type + sums
    assert len(launch.instantiations(False)) == 3 * 12 + 6 + 4 * 2 + 4
    assert len(launch.instantiations(True)) == 5 * 12 + 6 + 6 * 2 + 6
    k = launch.spmm_partial_kernel(np.float16, np.int64, 8)
    assert k == launch.Kernel("spmm.cu", "gpu_sparse_spmm_csr_partial<__half, long long, 8>",
                              True)
    assert k in launch.instantiations(True) and k not in launch.instantiations(False)
    k = launch.spmm_combine_kernel(np.complex128, np.int32)
    assert k == launch.Kernel("spmm.cu", "gpu_sparse_spmm_csr_combine<gs_c128, int>", False)
    assert k in launch.instantiations(False)


def test_launch_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    assert launch.value_type_name(bf16) == "__nv_bfloat16" and launch.is_half(bf16)
    assert launch.acc_dtype(bf16) == np.float32 and launch.vec_width(bf16, 16, True) == 8


def test_kernel_source_inlines_the_project_headers(tmp_path):
    """CuPy's cache key hashes the source string only: the header must be in it."""
    for name in launch.SOURCES.values():
        text = launch.kernel_source(name)
        assert '#include "' not in text and "GS_WARP_SIZE" in text, name
    for p in KERNELS.iterdir():  # a private copy whose header we edit
        (tmp_path / p.name).write_text(p.read_text())
    before = launch.kernel_source("sddmm.cu", tmp_path)
    header = tmp_path / "common.cuh"
    header.write_text(header.read_text() + "\n// a release that changed only the header\n")
    after = launch.kernel_source("sddmm.cu", tmp_path)
    assert before != after and after.count("a release that changed only the header") == 1


@needs_nvcc
def test_inlined_source_compiles_without_include_path(tmp_path):
    src = tmp_path / "sddmm_inlined.cu"
    src.write_text(launch.kernel_source("sddmm.cu"))
    kernels = [k for k in launch.instantiations(False) if k.source == "sddmm.cu"][:2]
    unit = _wrapper(src, kernels, tmp_path)
    out = tmp_path / "out.ptx"
    cmd = ["nvcc", "-std=c++17", "-arch=sm_90", "--ptx", *launch.compile_options(False),
           "-o", str(out), str(unit)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(re.findall(r"\.entry ", out.read_text())) == len(kernels)
