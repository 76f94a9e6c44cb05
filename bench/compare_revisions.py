"""Time the ``cpu`` backend of another revision against the working tree's,
side by side, with the bandwidth ceiling.

    python bench/compare_revisions.py d955954            # every case
    python bench/compare_revisions.py HEAD~1 --cases ab --rounds 25
    python bench/compare_revisions.py d955954 --cases abcdg --size short
    python bench/compare_revisions.py /tmp/variant       # a package tree instead

The revision's whole ``fastsmp/`` folder (``git archive REV fastsmp``) is
extracted and imported as a package of its own, ``fastsmp_old_<commit>``
(e.g. ``fastsmp_old_d955954254c9``), beside the working tree's ``fastsmp``,
so that nothing here depends on which files hold the kernels or the
dispatcher of either: both are called only through their public API, each
case's call (``fastsmp.bench.CASES``: ``case.call(package, x,
backend="cpu")``, i.e. ``package.smp(x, axis=..., backend="cpu", ...)`` or
``package.find_peaks(...)``) made on each package with the same
arguments. Inside the package, ``smp`` reaches its dispatcher and backends
through relative imports, so the old package runs its own kernels; this is
checked, not assumed (:func:`call_old_checked`): the old package's first call
of each case must import no module of the working tree's ``fastsmp``, and
during a second call no Python code of the working tree's ``fastsmp`` may
run. The case table, the ceiling and the timing loop are the working tree's
(``fastsmp.bench``).

Instead of a revision, ``REV`` may be a directory that holds a ``fastsmp``
package tree (``DIR/fastsmp/__init__.py``) or is one (``DIR/__init__.py``),
e.g. a copy of the working tree's ``fastsmp/`` with an experiment in it; it is
copied and imported as ``fastsmp_dir_<hash of its files>``. (A path to a
single ``_cpu.py`` file, which older versions of this script took, is no
longer accepted: the kernels need not live in one file.)

Compiled kernels are cached by Numba as usual, in ``NUMBA_CACHE_DIR``; where
that is not set, this script sets it, as the test run does (conftest.py), to
``.numba_cache/<hash of the working tree's fastsmp/ sources>``, so that an
edit to any file of the working tree gives a fresh cache rather than a stale
kernel (Numba checks a cached kernel only against its own file). The old
package is extracted under ``$NUMBA_CACHE_DIR/compare/<commit>/`` (or
``.../dir-<hash>/``) and kept there, with the same file times, so its kernels
are compiled on the first run only; after an edit of the working tree the
cache folder is a new one, and both packages' kernels are compiled again
(tens of seconds; the first call of each case then takes seconds, before any
timing), and the next test run removes the old folder, extracted trees
included. An explicit ``NUMBA_CACHE_DIR`` is used as it is.

In every round each case is called on the old package, the new one and the
ceiling in turn. On a shared machine whose speed drifts from second to second
(bench/RESULTS.md), the drift then falls on all three alike; the best time of
each over the rounds is printed, with the ratios
(:func:`fastsmp.bench.interleaved_best_times`). Before the timing, the old and
new results of each case are checked to agree (:func:`assert_same_answer`).
"""

import argparse
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW_PACKAGE = ROOT / "fastsmp"


def _sources_hash(package):
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def working_tree_cache_dir():
    """The folder the test run caches the working tree's kernels in (the same
    key as conftest.py's ``_numba_cache_dir``, which also removes the folders
    of older keys)."""
    return str(ROOT / ".numba_cache" / _sources_hash(NEW_PACKAGE)[:16])


# Before Numba is imported (the kernels import it on their first call), and
# the working tree's fastsmp first on the path (not an installed one).
if not os.environ.get("NUMBA_CACHE_DIR"):  # an explicit one is used as it is
    os.environ["NUMBA_CACHE_DIR"] = working_tree_cache_dir()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import fastsmp  # noqa: E402
from fastsmp import bench  # noqa: E402

# --------------------------------------------------------------------------
# the old package
# --------------------------------------------------------------------------


def _git(*args, binary=False):
    out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=False)
    if out.returncode != 0:
        why = out.stderr.decode(errors="replace").strip() or f"exit status {out.returncode}"
        raise RuntimeError(f"git {' '.join(args)}: {why}")
    return out.stdout if binary else out.stdout.decode().strip()


def _compare_dir():
    return Path(os.environ["NUMBA_CACHE_DIR"]) / "compare"


def _materialise(key, name, fill):
    """``$NUMBA_CACHE_DIR/compare/<key>/<name>``, filled by ``fill(folder)``
    (which must leave a ``fastsmp`` package tree in ``folder``) unless an
    earlier run left it there. Two runs at once cannot see half a tree: each
    fills a folder of its own and renames it into place."""
    final = _compare_dir() / key
    package = final / name
    if (package / "__init__.py").is_file():
        return package
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
    try:
        fill(scratch)
        (scratch / "fastsmp").rename(scratch / name)
        if not (scratch / name / "__init__.py").is_file():
            raise RuntimeError(f"{key}: no fastsmp/__init__.py")
        try:
            scratch.rename(final)
        except OSError:  # another run put it there first
            if not (package / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return package


def extract_revision(revision):
    """The ``fastsmp/`` tree of git revision ``revision``, extracted (with
    the commit's file times) as ``.../compare/<commit>/fastsmp_old_<commit[:12]>``."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")

    def fill(folder):
        archive = _git("archive", "--format=tar", commit, "fastsmp", binary=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # the "data" filter where this Python has it (3.10.12+, 3.11.4+)
            tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))

    return _materialise(commit, f"fastsmp_old_{commit[:12]}", fill)


def copy_directory(path):
    """A ``fastsmp`` package tree (``path/fastsmp/`` or ``path`` itself),
    copied as ``.../compare/dir-<hash>/fastsmp_dir_<hash[:12]>``, the hash
    that of its files (without compiled ones)."""
    path = Path(path).resolve()
    source = path / "fastsmp" if (path / "fastsmp" / "__init__.py").is_file() else path
    if not (source / "__init__.py").is_file():
        raise RuntimeError(f"{path} holds no fastsmp package tree (no fastsmp/__init__.py, no __init__.py)")
    compiled = ("__pycache__", "*.pyc", "*.nbi", "*.nbc")  # not hashed, not copied
    digest = hashlib.sha256()
    for file in sorted(source.rglob("*")):
        relative = file.relative_to(source)
        if file.is_file() and "__pycache__" not in relative.parts and file.suffix not in (".pyc", ".nbi", ".nbc"):
            digest.update(relative.as_posix().encode() + b"\0" + file.read_bytes())
    key = digest.hexdigest()[:16]
    ignore = shutil.ignore_patterns(*compiled)
    return _materialise(f"dir-{key}", f"fastsmp_dir_{key[:12]}",
                        lambda folder: shutil.copytree(source, folder / "fastsmp", ignore=ignore))


def load_package(folder):
    """Import the package tree in ``folder`` under the folder's name (once
    per process: a second call returns the module already imported)."""
    folder = Path(folder).resolve()
    name = folder.name
    if name in sys.modules:
        module = sys.modules[name]
        if Path(module.__file__).resolve().parent != folder:
            raise RuntimeError(f"a package {name} from {module.__file__} is already imported")
        return module
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_old(revision):
    """The package to compare against: a directory (see the module's
    docstring) or git revision ``revision``'s ``fastsmp/``."""
    if Path(revision).is_file():
        raise RuntimeError(f"{revision} is a file: give a git revision, or a directory holding a fastsmp package "
                           "tree (e.g. a copy of fastsmp/ with the variant in it)")
    if Path(revision).is_dir():
        return load_package(copy_directory(revision))
    try:
        folder = extract_revision(revision)
    except RuntimeError as e:
        raise RuntimeError(f"{revision} is neither a directory nor a git revision of {ROOT} with a fastsmp/ "
                           f"folder ({e})") from None
    return load_package(folder)


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------


def _modules_of(package_name):
    return {m for m in sys.modules if m == package_name or m.startswith(package_name + ".")}


def _folder(package):
    return Path(package.__file__).resolve().parent


def python_files_run(fn):
    """The source files of the Python functions that ran during ``fn()`` (in
    this thread; the compiled kernels run no Python code)."""
    files = set()
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call":
            files.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(previous)
    return {Path(os.path.realpath(f)) for f in files if not f.startswith("<")}


def call_old_checked(old, call, new=fastsmp, harness=()):
    """``call()``, a call of the old package ``old``, made twice: the first
    (which compiles or loads its kernels) must not import any module of the
    ``new`` package, and during the second no Python code of ``new`` may run
    (but for the files in ``harness``: the bench module whose cases make the
    call) while some of ``old`` must. Returns the first call's result; raises
    RuntimeError where the old call path reaches the new package (an absolute
    ``import fastsmp...`` on it)."""
    loaded = _modules_of(new.__name__)
    result = call()
    problems = [f"it imported {m} (from {getattr(sys.modules[m], '__file__', '?')})"
                for m in sorted(_modules_of(new.__name__) - loaded)]
    files = python_files_run(call)
    new_dir, old_dir = _folder(new), _folder(old)
    harness = {Path(os.path.realpath(f)) for f in harness}
    problems += [f"it ran {f}" for f in sorted(files - harness) if new_dir in f.parents]
    if not any(old_dir in f.parents for f in files):
        problems.append(f"it ran no Python code of {old_dir}")
    if problems:
        raise RuntimeError(f"the call of {old.__name__} is not isolated from {new.__name__} ({new_dir}): "
                           + "; ".join(problems))
    return result


def assert_same_answer(old, new):
    """Masks and counts equal; SMPs within SPEC 6's float32 bound (the two
    revisions may add the heights in different orders)."""
    if isinstance(old, tuple):
        for a, b in zip(old, new, strict=True):
            assert_same_answer(a, b)
        return
    old, new = np.asarray(old), np.asarray(new)
    if old.dtype.kind in "biu":
        np.testing.assert_array_equal(old, new)
    else:
        np.testing.assert_allclose(old, new, rtol=1e-5)


# --------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("revision", help="a git revision of this repository (e.g. HEAD~1), or a directory holding "
                                    "a fastsmp package tree (DIR/fastsmp/__init__.py or DIR/__init__.py)")
    p.add_argument("--cases", default="abcdefg")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--size", choices=("full", "short", "smoke"), default="full")
    args = p.parse_args(argv)
    unknown = set(args.cases) - set(bench.CASES_BY_NAME)
    if unknown:
        p.error(f"unknown case(s) {''.join(sorted(unknown))}; valid: {''.join(bench.CASES_BY_NAME)}")
    if _folder(fastsmp) != NEW_PACKAGE.resolve():
        raise RuntimeError(f"fastsmp was imported from {fastsmp.__file__}, not from the working tree {ROOT}")
    try:
        old = load_old(args.revision)
    except RuntimeError as e:
        print(f"compare_revisions: {e}", file=sys.stderr)
        return 2
    print(f"machine: {bench.machine()}; {args.revision} against the working tree")
    print(f"old: {old.__name__} from {_folder(old)}; new: fastsmp from {NEW_PACKAGE}; "
          f"NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']}")
    print("case  old ms   new ms   new/old  x ceiling (old, new)", flush=True)
    for name in args.cases:
        case = bench.CASES_BY_NAME[name]
        x = case.make(args.size)

        def call_old():
            return case.call(old, x, backend="cpu")

        def call_new():
            return case.call(fastsmp, x, backend="cpu")

        harness = [sys.modules[type(case).__module__].__file__]  # Case.call: fastsmp/bench.py
        assert_same_answer(call_old_checked(old, call_old, harness=harness), call_new())
        t_old, t_new, t_ceiling = bench.interleaved_best_times(
            call_old,
            call_new,
            lambda: bench.ceiling_read(x),
            rounds=args.rounds,
            min_time=float("inf"),  # every round
        )
        print(f"{name:4}  {t_old * 1e3:7.2f}  {t_new * 1e3:7.2f}  {t_new / t_old:7.2f}"
              f"  {t_ceiling / t_old:.2f}, {t_ceiling / t_new:.2f}", flush=True)
    modules = sorted(m[len(old.__name__):] for m in _modules_of(old.__name__) if m != old.__name__)
    print(f"the old calls ran {old.__name__}'s own code only (its modules loaded: {', '.join(modules)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
