#!/usr/bin/env bash
# Everything a lent GPU session needs, in one run (about 10 minutes on one H200):
#   bash bench/gpu_session.sh        -> bench/results/gpu-<date>/
# 1. the whole test suite on cpu and cuda, 2. bench.gpu_checks (cuSPARSE CSR_ALG3 with
# row-major operands, repeatability, half precision, streams), 3. python -m bench --device
# cuda --quick (cuSPARSE and our kernels vs PyTorch CUDA CSR, fraction of bandwidth).
set -uo pipefail
cd "$(dirname "$0")/.."
out="bench/results/gpu-$(date +%F)"
mkdir -p "$out"
python -m pip install -q ".[test,cuda13]" "torch==2.13.0" matplotlib 2>&1 | tail -3
python -c "import cupy; cupy.show_config()" > "$out/cupy-config.txt" 2>&1
timeout 300 python -m pytest -q -x > "$out/pytest.txt" 2>&1; echo "pytest rc=$?" >> "$out/pytest.txt"
timeout 180 python -m bench.gpu_checks > "$out/checks.md" 2>&1
timeout 240 python -m bench --device cuda --quick > "$out/bench.txt" 2>&1
tail -3 "$out/pytest.txt"; cat "$out/checks.md" | head -60
