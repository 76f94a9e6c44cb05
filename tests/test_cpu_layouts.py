"""Each code path of the cpu backend against the reference, on data built to
break it: long lines cut into chunks (plateaus across chunk and block
boundaries), groups of short lines, non-contiguous rows, panels of lines
along a middle axis; and the float32 accuracy bound of SPEC 6 on every
path's summation (panels add float32 partial sums)."""

import math

import numba
import numpy as np
import pytest

import fastsmp
from fastsmp.backends import numpy as reference
from fastsmp.backends.cpu import backend, fills, maps, panels, rows, short_rows, sums, tiling


def plateau_heavy(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=shape).astype(np.float32)
    # long runs of a constant slope give long plateaus of |d| that cross
    # the 1024-sample blocks and the chunk boundaries
    flat = x.reshape(-1, shape[-1])
    for row in flat:
        start = int(rng.integers(0, shape[-1]))
        length = int(rng.integers(0, 3000))
        row[start : start + length] = np.arange(min(length, shape[-1] - start)) * 0.5 + 7
    return x


def assert_same(x, axis, **kw):
    s, k = fastsmp.smp(x, axis=axis, return_counts=True, backend="cpu", **kw)
    es, ek = fastsmp.smp(x, axis=axis, return_counts=True, backend="numpy", **kw)
    np.testing.assert_array_equal(k, ek)
    np.testing.assert_allclose(s, es, rtol=1e-5, atol=1e-30)
    a = np.abs(fastsmp.curvature(x, axis=axis, backend="numpy"))
    np.testing.assert_array_equal(
        fastsmp.find_peaks(a, axis=axis, backend="cpu", **kw), fastsmp.find_peaks(a, axis=axis, backend="numpy", **kw)
    )


@pytest.mark.parametrize("min_chunk", [7, 100, 1 << 16])
@pytest.mark.parametrize("filters", [{}, {"height": 0.4}, {"threshold": (0, 1)}])
def test_long_lines_cut_into_chunks(monkeypatch, min_chunk, filters):
    monkeypatch.setattr(tiling, "MIN_CHUNK", min_chunk)
    x = plateau_heavy((3, 5000), seed=min_chunk)
    lines_per_task, chunks = tiling.rows_tiling(3, 5000)
    assert (chunks > 1) == (min_chunk < 1000)  # the path under test is the one taken
    assert_same(x, -1, **filters)


@pytest.mark.parametrize("n", [5, 6, 56, 1024])
def test_groups_of_short_lines(n):
    x = plateau_heavy((700, n), seed=n)
    x[3, 1] = np.nan
    x[5, -1] = np.inf
    assert_same(x, -1)
    assert np.isnan(fastsmp.smp(x)[[3, 5]]).all()


def test_non_contiguous_rows():
    x = plateau_heavy((40, 2600), seed=1)[:, ::2]
    assert not x.flags.c_contiguous
    assert_same(x, -1)


@pytest.mark.parametrize("inner", [2, 255, 256, 300])
def test_panels_along_a_middle_axis(inner):
    x = plateau_heavy((2, inner, 1500), seed=inner).transpose(0, 2, 1).copy()  # lines along axis 1
    x[1, 7, 0] = np.nan
    assert_same(x, 1)
    assert_same(x, 1, height=(0.5, 6))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_panels_padded_to_whole_vectors(dtype):
    """13-wide panels run 16 lanes (_padded_lanes): the 3 extra lanes read the
    next rows' samples, and past a block's end the next block's, whose NaN
    and plateaus must not leak into the real lines; the last block, whose
    extra lanes would leave the array, runs 13."""
    x = plateau_heavy((3, 30, 13), seed=13).astype(dtype)
    x[1, 0, 0] = np.nan  # what block 0's extra lanes read at its last row
    x[2, 5, 1] = np.inf
    lanes = [panels.padded_lanes(x, o, 0, 13, True) for o in range(3)]
    assert lanes == [16, 16, 13]
    assert_same(x, 1)
    s = fastsmp.smp(x, axis=1, backend="cpu")
    assert np.isnan(s).sum() == 2 and np.isnan(s[1, 0]) and np.isnan(s[2, 1])


@pytest.mark.parametrize("layout", ["rows", "short rows", "panels", "panels, plateaus", "maps"])
def test_float32_accuracy_bound(layout):
    """SMP within 1e-5 of math.fsum of the kept peak heights (SPEC 6); with
    plateaus, a whole long column goes through the exact scan."""

    rng = np.random.default_rng(11)
    if layout == "maps":  # both axes of 128 x 128 maps, summed in float32 runs of MAP_RUN_LONG candidates
        x = np.maximum(rng.standard_normal((2, 128, 128)), 0).astype(np.float32) * np.float32(1e-3)
        x[:, 0, :9] += np.float32(1e4) * np.abs(np.arange(9, dtype=np.float32) - 4)
        got = backend.smp_maps(x, np.float32(2.0**-20), (None,) * 4)[0]
        for block, block_smp in zip(x, got):
            heights = []
            for v in list(block) + list(block.T):
                a = reference.floored_magnitude(v[None, :, None], np.float32(2.0**-20))
                heights += list(a[reference.peak_mask(a, (None,) * 4)].astype(np.float64))
            exact = math.fsum(heights)
            assert len(heights) > 5000 and abs(float(block_smp) - exact) <= 1e-5 * exact
        return
    shape, axis = {"rows": ((1, 1 << 20), 1), "short rows": ((1 << 14, 64), 1), "panels": ((1 << 18, 3), 0),
                   "panels, plateaus": ((1 << 18, 3), 0)}[layout]
    x = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
    if layout == "panels, plateaus":  # few levels: equal neighbours in |d| all along
        x = rng.integers(0, 4, shape).astype(np.float32)
    # one huge kink first, then many tiny peaks: a float32 running sum would
    # round every tiny height away against the huge one
    x *= np.float32(1e-3)
    line = np.moveaxis(x, axis, -1)
    line[..., :9] += np.float32(1e4) * np.abs(np.arange(9, dtype=np.float32) - 4)
    got = fastsmp.smp(x, axis=axis)
    lines = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    rtol = np.float32(2.0**-20)
    for v, line_smp in zip(lines, got):
        a = reference.floored_magnitude(v[None, :, None], rtol)
        heights = a[reference.peak_mask(a, (None,) * 4)].astype(np.float64)
        exact = math.fsum(heights)
        assert heights.size > 1000 or layout == "short rows"
        assert abs(float(line_smp) - exact) <= 1e-5 * exact


def _height_sum_signatures():
    from numba import types as t

    f32, i64 = t.float32[::1], t.int64
    return {
        "sum_strict_peaks": (rows, (f32, i64, t.none)),
        "_sum_short_lines": (short_rows, (f32, i64, i64, t.none, t.float64[::1], t.int64[::1])),
        "_sum_map_axis": (maps, (f32, f32, i64, i64, i64, t.none)),
        "_sum_map_axis_long": (maps, (f32, f32, i64, i64, i64, t.none)),
    }


@pytest.mark.parametrize("name", ["sum_strict_peaks", "_sum_short_lines", "_sum_map_axis", "_sum_map_axis_long"])
def test_height_sums_add_in_explicit_lanes_not_reassociated(name):
    """The order of every height sum is the source's (SUM_LANES lanes, then
    pairwise), never the compiler's: the optimised IR of a fresh, uncached
    compile holds no fast-math flag at all, yet the lanes became vector
    registers (8-wide float32 adds), so the order costs no speed. A
    ``reassoc`` would let LLVM pick another order in another inlining
    context, which is how cold and warm processes gave other bits (SPEC 10)."""
    import re

    module, sig = _height_sum_signatures()[name]
    fresh = numba.njit(getattr(module, name).py_func)
    fresh.compile(sig)
    ir = fresh.inspect_llvm(sig)
    assert not re.search(r"\b(reassoc|fast|nnan|ninf|nsz|arcp|contract|afn)\b", ir)
    assert re.search(r"fadd <(8|16) x float>", ir), "the lanes were not vectorised"
    lane_heights = max(sums.SUM_RUN // sums.SUM_LANES, maps.MAP_RUN_LONG // sums.SUM_LANES)
    assert (lane_heights + math.log2(sums.SUM_LANES)) * 2.0**-24 < 1e-5  # SPEC 6's float32 bound


def test_lanes_total_is_pairwise_in_a_fixed_order():
    """The lanes are added pairwise, (l, l + half) first: values chosen so
    that any other order rounds differently."""
    half = sums.SUM_LANES // 2
    lanes = np.zeros(sums.SUM_LANES, np.float32)
    lanes[0] = np.float32(2**24)
    lanes[1] = lanes[1 + half] = np.float32(1)

    @numba.njit
    def total(lanes):
        return sums.lanes_total(lanes.copy())

    # pairwise: lanes 1 and 1 + half make 2, which 2**24 then takes exactly;
    # adding left to right would round each 1 away (2**24 + 1 -> 2**24)
    assert total(lanes) == np.float32(2**24 + 2)
    assert np.float32(np.float32(2**24) + np.float32(1)) + np.float32(1) == np.float32(2**24)
    lanes = np.arange(sums.SUM_LANES, dtype=np.float32)
    assert total(lanes) == lanes.sum()  # every lane counted once


@numba.njit
def _run_panel_rows(x3, j, width, rtol, ring, part, count, rows):
    if rows == 1:  # a constant, as in smp_panel
        panels._add_panel_rows(x3, 0, j, 0, width, rtol, None, ring, part, count, 1)
    else:
        panels._add_panel_rows(x3, 0, j, 0, width, rtol, None, ring, part, count, panels.PANEL_ROWS)


def _add_panel_rows(x3, j, width, rtol, ring, rows):
    """Run the panels' fused pass (inlined where it is used, so called here
    through a jitted wrapper) over rows ``j .. j+rows-1`` of lines ``0 ..
    width-1``; it leaves the floored ``|d|`` of the last two in ``ring``."""
    _run_panel_rows(x3, j, width, rtol, ring, np.zeros(width, x3.dtype), np.zeros(width, np.int32), rows)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floored_curvature_bit_identical_in_every_fill_loop(dtype):
    """The loops that compute |d| and the floor must not reassociate (SPEC
    3/4): on data full of cancellations a reassociated or contracted loop
    gives other bits. Each fill loop of the cpu backend against the
    reference, bit for bit, with the floor off and on."""

    rng = np.random.default_rng(5)
    big = rng.choice([-1e8, 1e8, 3e7], size=(4, 2000))
    x = (big + rng.standard_normal((4, 2000)) * rng.choice([1e-3, 1.0, 10.0], size=(4, 2000))).astype(dtype)
    for rtol in (dtype(0), dtype(8 * np.finfo(dtype).eps)):
        expected = reference.floored_magnitude(x[:, :, None], rtol)[:, :, 0]
        rows = np.empty(2000 - 2, dtype)
        for line in range(4):
            fills.fill_row(x, line, 0, 2000 - 2, rtol, rows)
            np.testing.assert_array_equal(rows.view(np.uint8), expected[line].view(np.uint8))
        flat = np.empty(4 * 2000 - 2, dtype)
        fills.fill_flat(x.reshape(-1), 0, flat.size, 1, rtol, flat)  # short rows: lines back to back
        for line in range(4):
            got = flat[line * 2000 : line * 2000 + 1998]
            np.testing.assert_array_equal(got.view(np.uint8), expected[line].view(np.uint8))
        x3 = np.ascontiguousarray(x.T)[None]  # lines along axis 1, 4 of them side by side
        ring = np.empty((2, 4), dtype)
        for j in range(0, 1998, 97):
            fills.fill_panel_row(x3, 0, j, 0, 4, rtol, ring, 0)
            np.testing.assert_array_equal(ring[0].view(np.uint8), expected[:, j].copy().view(np.uint8))
        for j in range(2, 1990, 97):  # the fill fused into the panels' peak test
            for rows in (1, panels.PANEL_ROWS):
                fills.fill_panel_row(x3, 0, j - 2, 0, 4, rtol, ring, 0)  # the ring as the pass expects it
                fills.fill_panel_row(x3, 0, j - 1, 0, 4, rtol, ring, 1)
                _add_panel_rows(x3, j, 4, rtol, ring, rows)
                got = np.concatenate([ring[0], ring[1]])
                want = np.concatenate([expected[:, j + rows - 2], expected[:, j + rows - 1]])
                np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
        # the maps fill, along rows (step 1) and along columns (step = 4 lines side by side)
        rows = np.empty(2000 - 2, dtype)
        fills.fill_flat(x[2], 0, rows.size, 1, rtol, rows)
        np.testing.assert_array_equal(rows.view(np.uint8), expected[2].view(np.uint8))
        cols = np.empty(4 * (2000 - 2), dtype)
        fills.fill_flat(np.ascontiguousarray(x.T).reshape(-1), 0, cols.size, 4, rtol, cols)
        np.testing.assert_array_equal(cols.view(np.uint8), np.ascontiguousarray(expected.T).reshape(-1).view(np.uint8))
    assert (expected > 0).mean() > 0.5  # the comparison saw real values, not zeros


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fill_loops_flag_every_non_finite_floor(dtype):
    """Every fill (rows, short rows, panels, maps) stores NaN where the noise
    floor's s is not finite (the flag the sums carry; a d that is not
    finite always has such an s), and the floored |d| everywhere else. The
    0.6 big, 0.3 big, -0.6 big stretch overflows s with a finite d."""

    big = np.finfo(dtype).max
    with np.errstate(all="ignore"):
        x = np.array([[0, 1, 3, 0, 1, np.nan, 0, 3, 1, 2, 0, np.inf, 1, 3, 0, 2, 1, -np.inf, 0, 2, 1, 0, 3,
                       big, -big, big, 0, 5, 1, 0, 2, 0.6 * big, 0.3 * big, -0.6 * big, 0, 1]], dtype)
        x = np.tile(x, (1, 4))  # past one FILL_GROUP: the grouped loop and its remainder
        d = (x[:, :-2] + x[:, 2:]) - (x[:, 1:-1] + x[:, 1:-1])
        s = (abs(x[:, :-2]) + abs(x[:, 2:])) + abs(x[:, 1:-1] + x[:, 1:-1])
        floored = reference.floored_magnitude(x[:, :, None], dtype(2**-20))[:, :, 0]
    assert (np.isfinite(d) & ~np.isfinite(s)).any() and not (~np.isfinite(d) & np.isfinite(s)).any()
    expected = np.where(np.isfinite(s), floored, np.nan)
    assert np.isnan(expected).sum() >= 9 and (expected > 0).sum() >= 10
    assert x.shape[1] - 2 > fills.FILL_GROUP and (x.shape[1] - 2) % fills.FILL_GROUP
    rows = np.empty(x.shape[1] - 2, dtype)
    fills.fill_row(x, 0, 0, rows.size, dtype(2**-20), rows)
    np.testing.assert_array_equal(rows, expected[0])
    rows = np.empty(x.shape[1] - 2, dtype)
    fills.fill_flat(x[0], 0, rows.size, 1, dtype(2**-20), rows)
    np.testing.assert_array_equal(rows, expected[0])
    ring = np.empty((2, 1), dtype)
    x3 = np.ascontiguousarray(x.T)[None]
    for j in range(rows.size):
        fills.fill_panel_row(x3, 0, j, 0, 1, dtype(2**-20), ring, j % 2)
        np.testing.assert_array_equal(ring[j % 2], expected[:, j])
    for j in range(2, rows.size - panels.PANEL_ROWS):
        for n in (1, panels.PANEL_ROWS):
            fills.fill_panel_row(x3, 0, j - 2, 0, 1, dtype(2**-20), ring, 0)
            fills.fill_panel_row(x3, 0, j - 1, 0, 1, dtype(2**-20), ring, 1)
            _add_panel_rows(x3, j, 1, dtype(2**-20), ring, n)
            np.testing.assert_array_equal(ring[:, 0], expected[0, j + n - 2 : j + n])


@pytest.mark.parametrize(
    "layout, shape, axis",
    [
        ("short rows", (3, 40), -1),
        ("rows, several blocks", (3, 2 * 1024 + 37), -1),
        ("panels", (40, 3), 0),
        ("panels of a middle axis", (2, 40, 3), 1),
        ("lines too short for a peak", (3, 4), -1),
        ("lines too short for a peak, middle axis", (2, 4, 3), 1),
    ],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_sample_anywhere_poisons_only_its_line(layout, shape, axis, bad):
    """The NaN/inf check is folded into the fill loops (and their block and
    chunk edges): every position of a line, first and last two included,
    must make that line NaN with count 0 and leave the others alone."""
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    clean_s, clean_k = fastsmp.smp(x, axis=axis, return_counts=True)
    n = shape[axis]
    for j in sorted({0, 1, 2, n // 2, 1023, 1024, 1025, 1026, n - 3, n - 2, n - 1} & set(range(n))):
        y = x.copy()
        index = [0] * len(shape)
        index[axis] = j
        y[tuple(index)] = bad
        s, k = fastsmp.smp(y, axis=axis, return_counts=True)
        line = tuple(0 for _ in range(s.ndim))
        assert np.isnan(s[line]) and k[line] == 0, (layout, j)
        others = np.ones(s.shape, bool)
        others[line] = False
        np.testing.assert_array_equal(s[others], clean_s[others])
        np.testing.assert_array_equal(k[others], clean_k[others])


def test_a_non_finite_sample_in_any_chunk_of_a_long_line(monkeypatch):
    """Long lines cut into chunks (rows layout): the chunks' checks together
    cover every sample; tried at the chunk edges."""
    monkeypatch.setattr(backend, "rows_tiling", lambda lines, n: (1, 4))
    x = np.random.default_rng(2).standard_normal((2, 5000)).astype(np.float32)
    clean = fastsmp.smp(x)
    edges = {0, 1, 2, 3, 4997, 4998, 4999} | {c * 4996 // 4 + d for c in range(1, 4) for d in (-2, -1, 0, 1, 2)}
    for j in sorted(edges):
        y = x.copy()
        y[1, j] = np.nan
        s, k = fastsmp.smp(y, return_counts=True)
        assert np.isnan(s[1]) and k[1] == 0, j
        assert s[0] == clean[0]


def test_no_kernel_carries_fastmath():
    """SPEC 3 forbids reassociating d, s and the floor, and SPEC 10 asks for
    the same bits from every compile: no cpu kernel has fast-math flags (the
    height sums fix their order in the source, see SUM_LANES)."""
    from fastsmp.backends import spec
    from fastsmp.backends.cpu import arithmetic, peaks

    modules = (spec, fills, maps, panels, peaks, rows, short_rows, sums, arithmetic)
    dispatchers = {f"{m.__name__}.{n}": f for m in modules for n, f in vars(m).items()
                   if isinstance(f, numba.core.registry.CPUDispatcher)}
    assert {"fastsmp.backends.cpu.rows.sum_strict_peaks", "fastsmp.backends.cpu.short_rows._sum_short_lines",
            "fastsmp.backends.cpu.fills.fill_row", "fastsmp.backends.cpu.rows.smp_rows"} <= set(dispatchers)
    for name, f in dispatchers.items():
        assert not f.targetoptions.get("fastmath"), name


def test_fastmath_anywhere_in_the_package_only_on_the_ceiling():
    """The compiled-options test above covers the CPU kernels; this one reads
    the source of every module, so that a ``fastmath`` that creeps in
    elsewhere (a CUDA kernel, a new njit in the scan or model code) fails
    too. Allowed: reassoc and nsz on the bandwidth ceiling's row sum in
    fastsmp.bench (a measuring stick that computes no d)."""
    import ast
    from pathlib import Path

    allowed = {("bench.py", "row_sum")}
    found = set()
    for path in sorted(Path(fastsmp.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                for keyword in getattr(decorator, "keywords", []):
                    if keyword.arg == "fastmath":
                        assert (path.name, node.name) in allowed, (path.name, node.name)
                        assert isinstance(keyword.value, ast.Set), (path.name, node.name)  # not True
                        assert {e.value for e in keyword.value.elts} <= {"reassoc", "nsz"}, (path.name, node.name)
                        found.add((path.name, node.name))
    assert found == allowed  # the walk saw them all: it would see a new one


def maps_vs_lines(x, monkeypatch, **kw):
    """The maps kernel (both last axes in one pass) against the per-axis
    line kernels and against the reference."""
    real, used = backend.smp_maps, []

    def spy(*args):
        used.append(real(*args))
        return used[-1]

    with monkeypatch.context() as m:
        m.setattr(backend, "smp_maps", spy)
        s, k = fastsmp.smp(x, axis=(-2, -1), return_counts=True, **kw)
    assert len(used) == 1 and used[0] is not None  # the maps kernel gave the result
    with monkeypatch.context() as m:
        m.setattr(backend, "smp_maps", lambda *a: None)
        ls, lk = fastsmp.smp(x, axis=(-2, -1), return_counts=True, **kw)
    es, ek = fastsmp.smp(x, axis=(-2, -1), return_counts=True, backend="numpy", **kw)
    for got_s, got_k in ((s, k), (ls, lk)):
        np.testing.assert_array_equal(got_k, ek)
        np.testing.assert_allclose(got_s, es, rtol=1e-5 if x.dtype == np.float32 else 1e-12, atol=1e-30)
    return s, k


MAP_SHAPES = [(3, 8, 8), (2, 5, 5), (2, 9, 6), (2, 6, 9), (1, 56, 56), (2, 7, 130), (2, 3, 16, 16)]


def test_map_shapes_cover_both_run_lengths():
    runs = {tiling.map_run(shape[-2] * shape[-1]) for shape in MAP_SHAPES}
    assert runs == {maps.MAP_RUN, maps.MAP_RUN_LONG}


@pytest.mark.parametrize("shape", MAP_SHAPES)
@pytest.mark.parametrize("data", ["random", "plateaus", "filters", "float64"])
def test_maps_agree_with_the_line_kernels(monkeypatch, shape, data):
    """Small maps along both last axes: the fused kernel's masked flat sums
    (no plateau), and its exact fallback (integer data: plateaus in most
    maps), give the reference's SMP and counts."""
    rng = np.random.default_rng(sum(shape))
    if data == "plateaus":
        x = rng.integers(0, 3, size=shape).astype(np.float32)
    else:
        x = np.maximum(rng.standard_normal(shape), 0).astype(np.float64 if data == "float64" else np.float32)
    kw = dict(height=(0.2, 3.0), threshold=0.05) if data == "filters" else {}
    s, k = maps_vs_lines(x, monkeypatch, **kw)
    assert k.sum() > 0  # peaks were found and counted


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, "overflow"])
def test_maps_a_bad_sample_anywhere(monkeypatch, bad):
    """A NaN or inf at every position of a 6 x 7 map (edges and corners
    included) makes that map NaN with the other lines' counts, and leaves
    the other maps alone; finite samples whose d overflows do not. The last
    map is read from a padded copy, the others in place."""
    x = np.maximum(np.random.default_rng(3).standard_normal((3, 6, 7)), 0).astype(np.float32)
    clean = fastsmp.smp(x, axis=(-2, -1))
    for j in range(6):
        for i in range(7):
            y = x.copy()
            if bad == "overflow":
                y[1, j, i] = 3.4e38
                y[1, (j + 1) % 6, i] = -3.4e38
            else:
                y[1, j, i] = bad
            with np.errstate(all="ignore"):
                s, k = maps_vs_lines(y, monkeypatch)
            assert np.isnan(s[1]) == (bad != "overflow"), (j, i)
            # map 0's padded loops read map 1's samples: a bad one there sends
            # map 0 down the exact path, which adds its lines in another order
            np.testing.assert_allclose(s[[0, 2]], clean[[0, 2]], rtol=1e-6)


def test_maps_nan_policy_raise_names_the_line():
    """nan_policy='raise' must name the first bad line and its axis, which the
    maps kernel (one value per map) cannot: such calls take the line kernels."""
    x = np.ones((2, 3, 8, 8), np.float32)
    x[1, 2, 5, 6] = np.nan
    with pytest.raises(ValueError, match=r"the line x\[1, 2, :, 6\] along axis 2 "):
        fastsmp.smp(x, axis=(-2, -1), nan_policy="raise")
    assert np.isnan(fastsmp.smp(x, axis=(-2, -1))[1, 2])


def test_warmup_prepares_every_layout(monkeypatch):
    """``fastsmp.warmup`` calls the kernel of every layout, with and without
    filters: a first call after it compiles nothing. Read from the calls
    it makes (spies on the backend's kernels), not from what earlier tests
    of this process happened to compile."""
    names = ("smp_rows", "smp_short_rows", "smp_panels", "_smp_maps", "find_peaks_rows", "find_peaks_panels",
             "curvature_rows", "curvature_panels")
    seen = set()
    for name in names:
        kernel = getattr(backend, name)

        def spy(*args, _name=name, _kernel=kernel):
            filters = "filters" if any(isinstance(a, tuple) for a in args[1:]) else "none"  # KernelFilters
            seen.add((_name, args[0].dtype.name, filters))
            return _kernel(*args)

        monkeypatch.setattr(backend, name, spy)
    fastsmp.warmup(dtypes=["float64"])
    for name in names:
        wanted = {"none"} if name.startswith("curvature") else {"none", "filters"}
        assert {f for n, d, f in seen if n == name and d == "float64"} == wanted, name


def test_warmup_compiles_the_peak_table_kernels():
    """``fastsmp.warmup`` also prepares SciPy's other rules: after it, every
    kernel of the peak table has a compiled (or cache-loaded) variant."""
    from fastsmp.backends.cpu import selection

    fastsmp.warmup(dtypes=["float64"])
    for name in ("maxima_lines", "marked_lines", "keep_distant_lines_unsorted", "measure_lines",
                 "count_kept_lines", "compact_lines", "mark_lines", "total_lines", "floored_lines", "select_lines"):
        assert getattr(selection, name).signatures, name
