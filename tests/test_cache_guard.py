"""Numba's cache is keyed on every kernel source (fastsmp/backends/cache_guard.py):
Numba alone checks a cached kernel only against the file that defines it, so an
edit of a helper in another file would load a stale kernel."""

import shutil

import numpy as np

import fastsmp
from fastsmp.backends import cache_guard


def test_every_kernel_is_stamped_with_the_whole_package():
    from fastsmp.backends.cpu import maps, rows

    fastsmp.smp(np.zeros((2, 8)))  # the kernels exist and have a cache
    for dispatcher in (rows.smp_rows, maps.smp_maps, rows.sum_strict_peaks):
        locator = dispatcher._cache._impl.locator
        assert type(locator) in cache_guard.install(), type(locator)
        assert locator.get_source_stamp() == cache_guard.source_stamp() == cache_guard.stamp_of(cache_guard.PACKAGE)


def test_an_edit_of_any_file_changes_the_stamp(tmp_path):
    copy = tmp_path / "backends"
    shutil.copytree(cache_guard.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache_guard.stamp_of(copy)
    assert before == cache_guard.source_stamp()
    helper = copy / "cpu" / "sums.py"
    helper.write_text(helper.read_text() + "\n# a comment\n")
    assert cache_guard.stamp_of(copy) != before
    (copy / "cpu" / "new_module.py").write_text("")
    assert len({before, cache_guard.stamp_of(copy)}) == 2


def test_files_outside_the_package_keep_numba_s_own_stamp():
    import numba

    @numba.njit(cache=True)
    def outside(x):
        return x + 1

    assert outside(1) == 2
    assert type(outside._cache._impl.locator) not in cache_guard.install()
