#!/usr/bin/env bash
# Everything a lent GPU session measures, in one command under 8 minutes, on a fresh
# H100/H200 machine with only this repository (its image has python3 with CuPy 14,
# PyTorch CUDA, numba, SciPy, ml_dtypes and pytest; nothing can be installed there):
#
#   bash bench/gpu_session.sh            # writes $OUT/gpu-<date>.md (the device tool's
#                                        # folder), else bench/results/gpu-<date>.md
#   bash bench/gpu_session.sh DIR        # writes DIR/gpu-<date>.md
#
# 1. the CUDA tests: parity with the CPU, the device semantics, the products on cuda
#    (at most 200 s); 2. python -m bench.gpu_checks: cuSPARSE's row-major CSR_ALG3,
#    bitwise determinism over 3 runs, memory-pool high-water marks, float16/bfloat16
#    accuracy, a non-default stream (at most 120 s); 3. python -m bench --device cuda
#    --quick against PyTorch CUDA where torch sees the GPU (at most 150 s). Each step has
#    its own timeout, one failing step does not stop the others, and the report says
#    each step's exit status. Under GPU_SPARSE_CUDA_STANDIN=1 (the CuPy stand-in, no GPU)
#    it runs end to end as a check of the script; its timings are no GPU timings, and
#    the report says so at the top.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-bench/results}}"
mkdir -p "$out"
py="$(command -v python3 || command -v python)"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
day="$(date +%F)"
report="$out/gpu-$day.md"
t0=$(date +%s)

{
  echo "# GPU session, $day"
  echo
  if [ -n "${GPU_SPARSE_CUDA_STANDIN:-}" ] && [ "${GPU_SPARSE_CUDA_STANDIN}" != 0 ]; then
    echo "**CuPy stand-in (GPU_SPARSE_CUDA_STANDIN=1), no GPU: a check of this script."
    echo "Every time below is a host time of NumPy models, not a GPU timing.**"
    echo
  fi
  echo "- command: \`${GPU_SPARSE_CUDA_STANDIN:+GPU_SPARSE_CUDA_STANDIN=$GPU_SPARSE_CUDA_STANDIN }bash bench/gpu_session.sh${1:+ $1}\` (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'none visible to nvidia-smi')"
  echo "- host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
  echo "- python: $("$py" -c 'import sys, numpy, scipy; print(sys.version.split()[0], "numpy", numpy.__version__, "scipy", scipy.__version__)' 2>&1)"
  echo "- cupy: $("$py" -c 'import gpu_sparse, cupy; print(cupy.__version__, "devices", cupy.cuda.runtime.getDeviceCount())' 2>&1 | tail -1)"
  echo "- torch: $("$py" -c 'import torch; print(torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1)"
  echo
} > "$report"

step() {  # step NAME SECONDS COMMAND...: run, log to $out/NAME.log, note the status
  local name=$1 limit=$2
  shift 2
  local s=$(date +%s)
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local note="exit $rc"
  [ $rc = 124 ] && note="stopped at its ${limit} s limit"
  echo "- $name: $note, $(( $(date +%s) - s )) s (log: $name.log)" >> "$out/steps.txt"
  return 0
}

: > "$out/steps.txt"
step tests 200 "$py" -m pytest -q -p no:cacheprovider -o addopts="" -rfEs \
  tests/test_cuda_parity.py tests/test_device_semantics.py tests/test_cuda_standin.py \
  tests/test_addmm.py tests/test_sampled_addmm.py tests/test_sparse_grads.py \
  tests/test_memory.py -k "cuda or parity or device or standin"
step checks 120 "$py" -m bench.gpu_checks
step bench 150 "$py" -m bench --device cuda --quick --out "$out"

{
  echo "## Steps"
  echo
  cat "$out/steps.txt"
  echo
  echo "## Tests (the last lines)"
  echo
  echo '```'
  tail -n 25 "$out/tests.log"
  echo '```'
  echo
  cat "$out/checks.log"
  echo
  echo "## python -m bench --device cuda --quick"
  echo
  echo '```'
  tail -n 60 "$out/bench.log"
  echo '```'
  echo
  echo "Total: $(( $(date +%s) - t0 )) s."
} >> "$report"
rm -f "$out/steps.txt"
cat "$report"
