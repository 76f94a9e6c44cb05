"""The package's layout rules (issue #15, README "Architecture"), read from
its ``ast``:

* no import cycle between its modules, imports inside functions included;
* no private name imported across packages: a name or module with a leading
  underscore is visible to the package that holds it and to that package's
  subpackages, nowhere else (``fastsmp._args`` is fastsmp's and so every
  module's; ``fastsmp.backends.cpu.rows._task`` is the cpu backend's only);
* imports inside the package are relative, so that a copy of the package
  under another name (bench/compare_revisions.py) runs its own code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fastsmp

PACKAGE = Path(fastsmp.__file__).resolve().parent


def _module_name(path):
    parts = ["fastsmp", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _package_of(module):
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module, node):
    """The absolute module an ``ImportFrom`` names."""
    if node.level == 0:
        return node.module
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module):
    """``(target module, imported name or None, line)`` for every import of
    ``module``, at any depth; only targets inside the package."""
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "fastsmp":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != "fastsmp":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:  # ``from . import rows``: the module itself
                    yield submodule, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def _module_attributes(module):
    """``(target module, attribute, line)`` for every ``alias.attr`` where
    ``alias`` is a module of the package imported by ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield aliases[node.value.id], node.attr, node.lineno


def _graph():
    graph = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in _imports(module):
            if target in MODULES and target != module:
                graph[module].add(target)
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _private_owner(target, name):
    """The package a private import belongs to, or None if nothing in it is
    private: the package holding the first private module on the path, or
    for a private name the package of the module that defines it."""
    parts = target.split(".")
    for k in range(1, len(parts)):
        if parts[k].startswith("_") and not parts[k].startswith("__"):
            return ".".join(parts[:k])
    if name and name.startswith("_") and not name.startswith("__"):
        return _package_of(target) if target in MODULES else target
    return None


def test_the_walk_sees_the_package():
    assert {"fastsmp._api", "fastsmp.backends.cpu.rows", "fastsmp.backends.cuda.kernels", "fastsmp.scan"} <= set(MODULES)
    assert ("fastsmp.backends.cpu.rows", "smp_rows") in {(t, n) for t, n, _ in _imports("fastsmp.backends.cpu.backend")}
    assert ("fastsmp.backends.cpu.arithmetic", None) in {(t, n) for t, n, _ in _imports("fastsmp.bench")}


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_private_rule_reads_paths_and_names():
    assert _private_owner("fastsmp._args", "axes") == "fastsmp"
    assert _private_owner("fastsmp.backends.cpu.rows", "_task") == "fastsmp.backends.cpu"
    assert _private_owner("fastsmp.backends.cpu.rows", "smp_rows") is None
    assert _private_owner("fastsmp", "__version__") is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_imported_across_packages(module):
    here = _package_of(module)
    for target, name, line in [*_imports(module), *_module_attributes(module)]:
        owner = _private_owner(target, name)
        if owner is None:
            continue
        assert here == owner or here.startswith(owner + "."), (
            f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}"
            f"{'.' + name if name else ''}, private to {owner}"
        )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_inside_the_package_are_relative(module):
    """``import fastsmp`` inside a function (to call the public API, e.g.
    from an application module) is allowed; ``from fastsmp.x import y`` is not."""
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "fastsmp":
            pytest.fail(f"{module}:{node.lineno}: from {node.module} import ... (use a relative import)")


@pytest.mark.parametrize("name", ["numpy", "cpu", "cuda"])
def test_every_backend_implements_the_protocol_in_full(name):
    """Each backend module has every member of ``backends.base.Backend``,
    callable where the protocol has a method, and says who it is."""
    from fastsmp import backends
    from fastsmp.backends.base import Backend

    module = backends.get(name)
    assert isinstance(module, Backend)
    members = [m for m in vars(Backend) if not m.startswith("_")] + list(Backend.__annotations__)
    for member in members:
        assert hasattr(module, member), f"backend {name!r} lacks {member}"
        if callable(getattr(Backend, member, None)):
            assert callable(getattr(module, member)), f"backend {name!r}: {member} is not callable"
    assert module.name == name and module.on_device == (name == "cuda")
