"""The CUDA sources compile (nvcc, sm_90) wherever nvcc exists, GPU or not."""

import pathlib
import re
import shutil
import subprocess

import pytest

KERNELS = pathlib.Path(__file__).resolve().parent.parent / "gpu_sparse" / "cuda" / "kernels"
SOURCES = sorted(KERNELS.glob("*.cu"))


def test_kernel_sources_exist():
    names = {p.name for p in SOURCES}
    assert {"sddmm.cu", "spmm.cu", "segment.cu"} <= names
    for p in SOURCES:
        text = p.read_text()
        kernels = re.findall(r"__global__ void (\w+)", text)
        assert kernels and all(k.startswith("gpu_sparse_") for k in kernels), p.name


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
@pytest.mark.parametrize("half", [False, True], ids=["f32-f64-complex", "half"])
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.name)
def test_nvcc_compiles(src, half, tmp_path):
    out = tmp_path / (src.stem + ".ptx")
    cmd = ["nvcc", "-std=c++17", "-arch=sm_90", "--ptx", f"-I{KERNELS}", "-o", str(out),
           str(src)]
    if half:
        cmd.insert(1, "-DGPU_SPARSE_HALF")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-4000:]
    ptx = out.read_text()
    # the explicit instantiations really produced kernels
    entries = re.findall(r"\.entry (\w+)", ptx)
    assert len(entries) >= (6 if half else 4), entries
    assert all("gpu_sparse_" in e for e in entries)
