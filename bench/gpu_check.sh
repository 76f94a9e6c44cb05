#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (run it from the repository
# root; nothing is installed: it needs numpy, numba, numba-cuda, torch with
# CUDA, pytest and hypothesis, and uses CuPy where present). It runs
#   1. the CUDA tests on the real device (tests marked `gpu`, plus the whole
#      cuda-backend agreement suite with the simulator off, SciPy's other
#      peak rules included),
#   2. the GPU benchmark (bench/gpu_bench.py): issue 16's table: rows,
#      columns, maps, few long lines, find_peaks and return_counts at
#      8192 x 8192 and larger against torch.sum (the ceiling there), the same
#      SMP in torch ops, cupyx.scipy.signal.find_peaks in a loop, the host
#      time per call, scan_model on a ResNet-style CNN against the bare
#      forward, SciPy's other peak rules (cases h-k: find_peaks with
#      distance, prominence, width) against the SciPy loop and the cpu
#      backend, and a sweep of launch configurations (threads, stretch),
# and writes the logs and a Markdown results table to $OUT (default
# bench/gpu_results). Budget: under 6 minutes, so one lease can run it twice.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/gpu_results}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export NUMBA_ENABLE_CUDASIM=0   # the real device, not the simulator
PY=${PYTHON:-python3}

date -u +"%Y-%m-%d %H:%M UTC" | tee "$OUT/date.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
$PY -c "import numba, numba_cuda, torch; print('numba', numba.__version__, 'numba-cuda', numba_cuda.__version__, 'torch', torch.__version__)" | tee -a "$OUT/gpu.txt"

# 1. tests on the device (bounded: the benchmark must still fit)
timeout 120 $PY -m pytest -q -p no:cacheprovider -o addopts="--benchmark-disable" -rs \
    tests/test_gpu.py tests/test_cuda_walkers.py tests/test_agreement.py tests/test_scipy_parity.py tests/test_dispatch.py \
    tests/test_find_peaks_full.py -k "gpu or cuda" 2>&1 | tee "$OUT/gpu_tests.log"
tests_rc=${PIPESTATUS[0]}

# 2. the benchmark
timeout 200 $PY bench/gpu_bench.py --out "$OUT/gpu_bench.md" "$@" 2>&1 | tee "$OUT/gpu_bench.log"
bench_rc=${PIPESTATUS[0]}

# 3. Nsight Compute on the walker, where ncu is installed (speed of light:
#    memory and SM throughput, one launch of case (a))
if command -v ncu >/dev/null; then
    timeout 40 ncu --kernel-name regex:smp_stretches --launch-skip 1 --launch-count 1 --section SpeedOfLight \
        --section Occupancy $PY -c "import torch, fastsmp; x = torch.randn(8192, 8192, device='cuda').relu_(); \
[fastsmp.smp(x) for _ in range(2)]; torch.cuda.synchronize()" 2>&1 | tee "$OUT/ncu.log" | tail -40
fi

echo "tests rc=$tests_rc bench rc=$bench_rc"
exit $(( tests_rc || bench_rc ))
