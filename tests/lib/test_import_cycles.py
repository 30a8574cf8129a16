"""No import cycles among maip_drlib's modules (issue 16: rooms a newcomer can find).

The graph is built from the source's AST, not by importing: an edge is a module-level
``import`` or ``from ... import`` of another maip_drlib module. Imports inside functions or
classes and under ``if TYPE_CHECKING:`` are excluded (they run late or never, so they cannot
make a cycle at import time). ``from package import name`` counts as an import of
``package.name`` when that is a module, else of ``package``; importing ``a.b.c`` also imports
the packages ``a`` and ``a.b`` (their ``__init__`` runs first), except a module's own
packages, which are imported before it anyway (an explicit import of one is an edge).

Not covered: imports built at run time (``importlib.import_module``) and modules outside
maip_drlib.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "maip_drlib"

# Cycles that could not be broken yet, each as the sorted tuple of its modules, with why.
KNOWN_CYCLES: dict[tuple[str, ...], str] = {}


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every maip_drlib module by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: at module level, also inside module-level
    ``if``/``try``/``with`` blocks, except under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                pending += node.body
            pending += node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                pending += handler.body
        elif isinstance(node, ast.With):
            pending += node.body
    return found


def _with_parents(name: str, modules: dict[str, Path]) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)
            if ".".join(parts[:end]) in modules]


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _module_level_imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    targets.append(child if child in modules else base)
            for target in targets:
                for module in _with_parents(target, modules):
                    # A module's own packages are imported before it: only an explicit
                    # import of one is an edge (its __init__ may import this module back).
                    implicit = name.startswith(module + ".") and module != target
                    if module != name and not implicit:
                        graph[name].add(module)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def _one_cycle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the component's first module back to itself, for the message."""
    start = component[0]
    members = set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    return [*paths[node], start]
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    following.append(child)
        frontier = following
    return component


def test_maip_drlib_has_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [component for component in find_cycles(graph)
              if tuple(component) not in KNOWN_CYCLES]
    assert not cycles, "import cycles in maip_drlib (module-level imports): " + "; ".join(
        " -> ".join(_one_cycle(component, graph)) for component in cycles)


def test_known_cycles_are_still_cycles() -> None:
    """An allowance for a cycle that is gone is removed, so it cannot hide a new one."""
    found = {tuple(component) for component in find_cycles(import_graph())}
    stale = [cycle for cycle in KNOWN_CYCLES if cycle not in found]
    assert not stale, f"KNOWN_CYCLES lists cycles that no longer exist: {stale}"


def test_the_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert _one_cycle(["a", "b", "c"], graph) == ["a", "b", "c", "a"]


def test_type_checking_and_function_imports_are_not_edges() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "import maip_drlib.errors\n"
        "if TYPE_CHECKING:\n    import maip_drlib.config\n"
        "def late():\n    import maip_drlib.waits\n"
    )
    names = [alias.name for node in _module_level_imports(tree) for alias in node.names]
    assert sorted(names) == ["TYPE_CHECKING", "maip_drlib.errors"]


def test_a_cycle_in_a_package_tree_is_named(tmp_path: Path) -> None:
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .one import ONE\n")
    (package / "sub" / "one.py").write_text("from maip_drlib import two\nONE = 1\n")
    (package / "two.py").write_text(
        "from typing import TYPE_CHECKING\nfrom maip_drlib.sub import one\n"
        "if TYPE_CHECKING:\n    from maip_drlib import three\n")
    (package / "three.py").write_text("import maip_drlib.two\n")
    graph = import_graph(tmp_path)
    assert find_cycles(graph) == [["maip_drlib.sub", "maip_drlib.sub.one", "maip_drlib.two"]]
    assert "maip_drlib.three" not in graph["maip_drlib.two"]
