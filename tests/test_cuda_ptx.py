"""The CUDA kernels compile for an H100 (sm_90) on a machine without a GPU,
and the float32 kernels contain no fused multiply-add and no fast-math
(SPEC section 3: the second difference and the noise floor are neither
contracted nor reassociated), nor do the float64 peak-table kernels (SciPy's
width arithmetic, uncontracted). Skipped where the
CUDA toolkit's NVVM/NVRTC libraries are not installed."""

import subprocess
import sys
from pathlib import Path

import pytest

from fastsmp.backends.cuda import sass


@pytest.mark.slow
def test_kernels_compile_to_ptx_without_fma():
    env = sass.environment()  # the real compiler, and the toolkit's NVVM where there is one
    script = Path(__file__).with_name("ptx_check.py")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode == 3:
        pytest.skip("CUDA toolkit libraries (NVVM, NVRTC) not installed: " + done.stderr.strip()[:200])
    assert done.returncode == 0, done.stderr[-3000:]
    fma = dict(line.split() for line in done.stdout.splitlines())
    assert set(fma) >= {"smp_stretches[float32]", "find_peaks[float32]", "curvature_stretches[float32]",
                        "smp_stretches[float64,filters]", "elementwise.curvature", "elementwise.magnitude",
                        "peak_table.maxima_stretches", "peak_table.measure_peaks",
                        "peak_table.distance_round", "peak_table.sum_segments"}
    assert all(count == "0" for count in fma.values()), fma
