"""What the CUDA walkers cost per sample on an H100, read off their SASS
without a GPU (``fastsmp bench --gpu-static``): the rows and columns kernel
(one kernel, ``smp_stretches``: the layout only changes the stride) and
``find_peaks`` stay within 25 instructions per float32 sample, hold no
float64 instruction in the per-sample loop, and nothing is fused into a
multiply-add (SPEC 3). Skipped where ptxas, nvdisasm or NVVM/NVRTC are
missing; the parser is tested everywhere."""

import pytest

from fastsmp.backends.cuda import sass

#: the budget per float32 sample (issue 16; an H100 has about 44 at full
#: bandwidth)
BUDGET = 25

_SASS = """
.L_x_1:
        /*0100*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0110*/                   FADD R3, R2, R2 ;
        /*0120*/               @P0 BRA `(.L_x_1) ;
        /*0130*/                   MOV R1, R2 ;
.L_x_2:
        /*0140*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0150*/                   FADD R3, R2, R2 ;
        /*0160*/                   LDG.E R6, desc[UR4][R8.64] ;
        /*0170*/                   DADD R10, R12, R14 ;
        /*0180*/                   FSETP.GT.AND P1, PT, R3, R6, PT ;
        /*0190*/                   IADD3 R4, P2, R4, UR8, RZ ;
        /*01a0*/               @P1 BRA `(.L_x_3) ;
        /*01b0*/               @P0 BRA `(.L_x_2) ;
.L_x_3:
        /*01c0*/                   EXIT ;
"""

_PEAK_LOOP = """
.L_x_4:
        /*0200*/                   LDG.E R2, desc[UR4][R4.64] ;
        /*0210*/                   FSETP.GT.AND P1, PT, R2, R6, PT ;
        /*0220*/                   FSETP.LT.AND P2, PT, R2, R6, P3 ;
        /*0230*/                   FSEL R7, R2, R7, P1 ;
        /*0240*/               @P0 BRA `(.L_x_4) ;
"""


def test_the_steady_loop_is_the_one_with_most_loads():
    # .L_x_2: 8 instructions, 2 loads (a forward branch inside is not a loop)
    per_sample, float64 = sass.steady_loop(_SASS)
    assert per_sample == 4.0
    assert float64 == 1


def test_a_loop_that_tests_for_peaks_wins_over_one_with_more_loads():
    # the walk (one load, two comparisons) over the NaN look-again (two loads)
    assert sass.steady_loop(_SASS + _PEAK_LOOP) == (5.0, 0)


def test_a_kernel_without_a_loop_is_an_error():
    with pytest.raises(ValueError, match="no loop"):
        sass.steady_loop("        /*0000*/                   EXIT ;\n")


@pytest.mark.slow
def test_walkers_stay_within_the_instruction_budget():
    code, out, err = sass.run()
    if code == 3:
        pytest.skip("ptxas, nvdisasm or the CUDA toolkit's NVVM/NVRTC not installed: " + err.strip()[:200])
    assert code == 0, err[-3000:]
    table = {}
    for line in out.splitlines():
        name, per_sample, registers, float64, fused = line.split()
        table[name] = (float(per_sample), int(registers), int(float64), int(fused))
    assert set(table) == set(sass.variants())
    for name in ("smp_stretches[float32]", "find_peaks[float32]", "curvature_stretches[float32]", "smp_maps[float32]"):
        per_sample, registers, float64, _ = table[name]
        assert per_sample <= BUDGET, (name, table[name])
        assert float64 == 0, (name, table[name])
        # at most 64 registers: at least half of an H100 SM's 2048 threads resident
        assert registers <= 64, (name, table[name])
    assert all(fused == 0 for *_, fused in table.values()), table
