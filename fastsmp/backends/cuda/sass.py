"""What the walker kernels cost per sample on an H100, read off their machine
code without a GPU.

Each kernel is compiled to PTX for sm_90 (``numba.cuda.compile_ptx``), then
to SASS with the CUDA toolkit's ``ptxas`` and ``nvdisasm`` (the
``nvidia-cuda-nvcc`` and ``nvidia-cuda-nvdisasm`` wheels, or a toolkit on
``PATH``). The steady-state loop is the loop that holds the most global
loads (the compiler unrolls the walk); each load is one new sample, so its
instructions divided by its loads is the cost of a sample. It is a static
count: instructions on branches a sample rarely takes (a peak that closes
under ``height``/``threshold`` filters, a mask store) count as if every
sample took them. At full bandwidth
an H100 has about 44 instruction slots per float32 sample (README, "Speed"),
so a walker under 25 is memory-bound with room to spare.

Run as ``python -m fastsmp.backends.cuda.sass`` (``fastsmp bench
--gpu-static`` does, in a subprocess with the simulator off): one line per
kernel, ``<kernel> <instructions per sample> <registers> <float64
instructions in the loop> <fused multiply-adds in the kernel>`` (the last
must be 0: SPEC 3 forbids contracting the second difference and the floor,
and ``ptxas`` may fuse a PTX ``mul``/``add`` pair that NVVM left apart).
Exit code 3 where the tools are missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import NamedTuple

#: where the toolkit's programs may be, after ``PATH``
_TOOL_DIRS = ("nvidia/cu13/bin", "nvidia/cuda_nvcc/bin", "nvidia/cuda_nvdisasm/bin")
_TOOLKITS = ("/usr/local/cuda", "/usr/local/cuda-13.0", "/usr/local/cuda-12")
#: threads a block of the maps kernel (the backend's default)
MAP_THREADS = 128

_INSTRUCTION = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", re.MULTILINE)
_LABEL = re.compile(r"^(\.L_x_\d+):", re.MULTILINE)
_BRANCH = re.compile(r"\bBRA\b.*`\((\.L_x_\d+)\)")
#: float64 arithmetic, comparisons and conversions
_FLOAT64 = re.compile(r"^(@!?U?P\w+\s+)?(DADD|DMUL|DFMA|DSETP|DMNMX|DMMA|\w+\.F64\b|\w+\.F64\.\w+|F2F\.F32\.F64)")


class ToolMissing(RuntimeError):
    """``ptxas``, ``nvdisasm`` or NVVM/NVRTC is not installed."""


class LoopCost(NamedTuple):
    """The steady-state loop of one kernel: ``instructions`` per sample,
    ``registers`` per thread, and the ``float64`` instructions in it; and
    the ``fused`` multiply-adds (``FFMA``, ``DFMA``; ``HFMA2.MMA`` of zeros is
    how ptxas clears a register, not arithmetic) anywhere in
    the kernel."""

    instructions: float
    registers: int
    float64: int
    fused: int


def find_tool(name):
    """Path of the toolkit program ``name``: on ``PATH``, in an NVIDIA
    wheel, or in a toolkit folder; :class:`ToolMissing` else."""
    found = shutil.which(name)
    if found:
        return found
    site = Path(sysconfig.get_paths()["purelib"])
    for folder in [site / d for d in _TOOL_DIRS] + [Path(t, "bin") for t in _TOOLKITS]:
        if (folder / name).is_file():
            return str(folder / name)
    raise ToolMissing(f"{name} not found (pip install nvidia-cuda-nvcc nvidia-cuda-nvdisasm, "
                      "or put a CUDA toolkit on PATH)")


def steady_loop(sass):
    """Cost of a kernel's steady-state loop in its SASS text (``nvdisasm``
    output): ``(instructions per load, float64 instructions)``.

    The innermost loops with loads (global or shared) are the
    candidates; where some of them
    test for peaks (two float comparisons a load or more: a rise, a fall),
    only those (a walker's other loops, the NaN look-again and the plateau
    followed past a stretch, run a few times a stretch). Of the candidates,
    the one with the most loads (the unrolled walk), and between equals the
    longer body."""
    labels = {m.group(1): m.start() for m in _LABEL.finditer(sass)}
    instructions = [(m.start(), m.group(2).strip()) for m in _INSTRUCTION.finditer(sass)]
    spans = []  # (start, end) of each loop: a backward branch to a label
    for at, text in instructions:
        branch = _BRANCH.search(text)
        if branch and labels.get(branch.group(1), at) < at:
            spans.append((labels[branch.group(1)], at))
    loops = []
    for start, end in spans:
        if any(start <= s2 and e2 <= end and (s2, e2) != (start, end) for s2, e2 in spans):
            continue  # holds another loop: only innermost loops are steady
        body = [t for pos, t in instructions if start <= pos <= end]
        loads = sum(bool(re.search(r"\bLD[GS]\b", t)) for t in body)  # global or shared
        tests = sum(bool(re.search(r"\b[FD]SETP\b", t)) for t in body)
        if loads:
            loops.append((tests >= 2 * loads, loads, len(body), body))
    if not loops:
        raise ValueError("no loop with a global load in this kernel")
    if any(peaks for peaks, *_ in loops):
        loops = [loop for loop in loops if loop[0]]
    _, loads, _, body = max(loops, key=lambda loop: loop[1:3])
    return len(body) / loads, sum(bool(_FLOAT64.match(t)) for t in body)


def sass_of(ptx, workdir):
    """The SASS text and registers per thread of a PTX module, for sm_90."""
    ptx_file = Path(workdir, "kernel.ptx")
    cubin = Path(workdir, "kernel.cubin")
    ptx_file.write_text(ptx)
    done = subprocess.run([find_tool("ptxas"), "-arch=sm_90", "-v", str(ptx_file), "-o", str(cubin)],
                          capture_output=True, text=True, check=True)
    registers = int(re.search(r"Used (\d+) registers", done.stderr).group(1))
    sass = subprocess.run([find_tool("nvdisasm"), "-c", "-g", str(cubin)], capture_output=True, text=True,
                          check=True).stdout
    return sass, registers


def pretend_h100():
    """Device functions ask the current device for its compute capability;
    there is none here, so answer for the card we target."""
    import numba.cuda.api as api
    import numba.cuda.dispatcher as dispatcher

    class H100:
        compute_capability = (9, 0)
        id = 0

    api.get_current_device = dispatcher.get_current_device = lambda: H100()


def variants():
    """Each walker variant a call compiles, by the name :func:`main` prints,
    as ``(kernel, signature)``: float32 and float64 lines, with no filter
    (what ``smp`` and ``find_peaks`` run by default) and with
    ``height``/``threshold``."""
    from numba import types

    from ..spec import KernelFilters
    from .walkers import LineResults, Maps, Stretches, kernels, map_kernel

    def flat(dtype):
        return types.Array(dtype, 1, "C")

    stretches = types.NamedUniTuple(types.int64, len(Stretches._fields), Stretches)
    maps = types.NamedUniTuple(types.int64, len(Maps._fields), Maps)
    filters = types.NamedUniTuple(types.float64, len(KernelFilters._fields), KernelFilters)
    walkers = kernels()
    out = {}
    for name, dt in (("float32", types.float32), ("float64", types.float64)):
        for tag, f in (("", types.none), (",filters", filters)):
            # one axis: the sums in the working dtype, as the call returns them
            results = types.NamedTuple([flat(dt), flat(types.int64), flat(types.float64), flat(types.int64),
                                        flat(types.int32)], LineResults)
            out[f"smp_stretches[{name}{tag}]"] = (walkers["smp_stretches"], (flat(dt), stretches, dt, dt, f, results))
            out[f"find_peaks[{name}{tag}]"] = (walkers["find_peaks"], (flat(dt), stretches, dt, f, flat(types.boolean)))
        out[f"curvature_stretches[{name}]"] = (walkers["curvature_stretches"], (flat(dt), stretches, flat(dt)))
        out[f"smp_maps[{name}]"] = (map_kernel(name, MAP_THREADS), (flat(dt), maps, dt, dt, types.none, flat(dt),
                                                                   flat(types.int64)))
    return out


def costs():
    """``{name: LoopCost}`` for every variant of :func:`variants`."""
    find_tool("ptxas"), find_tool("nvdisasm")
    pretend_h100()
    from numba import cuda

    result = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, (compiled, sig) in variants().items():
            try:
                ptx, _ = cuda.compile_ptx(compiled.py_func, sig, cc=(9, 0))
            except Exception as exc:  # NVVM or NVRTC not installed
                text = f"{type(exc).__name__}: {exc}"
                if any(s in text for s in ("nvvm", "NVVM", "nvrtc", "NVRTC", "libdevice", "CUDA_HOME")):
                    raise ToolMissing(text[:300]) from exc
                raise
            sass, registers = sass_of(ptx, workdir)
            per_sample, float64 = steady_loop(sass)
            fused = len(re.findall(r"\b[DF]FMA\b", sass))
            result[name] = LoopCost(per_sample, registers, float64, fused)
    return result


def environment():
    """The environment the subprocess needs: the real compiler, not the
    simulator, and a toolkit's NVVM where one is installed."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    for home in _TOOLKITS:
        if Path(home, "nvvm").is_dir():
            env.setdefault("CUDA_HOME", home)
            break
    return env


def run():
    """:func:`main` in a subprocess with the simulator off (``numba`` reads
    ``NUMBA_ENABLE_CUDASIM`` once, on import): ``(exit code, stdout,
    stderr)``."""
    done = subprocess.run([sys.executable, "-m", "fastsmp.backends.cuda.sass"], env=environment(),
                          capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout, done.stderr


def main():
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        print("run with NUMBA_ENABLE_CUDASIM=0 (fastsmp bench --gpu-static does)", file=sys.stderr)
        return 2
    try:
        table = costs()
    except ToolMissing as exc:
        print(exc, file=sys.stderr)
        return 3
    for name, cost in table.items():
        print(f"{name} {cost.instructions:.2f} {cost.registers} {cost.float64} {cost.fused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
