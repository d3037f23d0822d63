"""The import graph, read from the source with `ast`: the rooms of shared/ import one another
in one direction only, no package has a circle of imports among its modules (imports under
TYPE_CHECKING included: a circle of types is a circle of meaning), and nothing imports `*`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The packages of the project, each a service, the gateway, a client or a tool.
PACKAGES = sorted(
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in {"tests", "shared"}
)


def modules_of(package: Path) -> dict[str, Path]:
    """Every module of a package by dotted name (a package's own name for its __init__)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported_names(path: Path, module: str) -> Iterator[str]:
    """The dotted names a module imports, relative imports resolved; for `from a import b`,
    both `a.b` (b may be a module) and `a`."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def star_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names)
    ]


def graph(modules: dict[str, Path], node_of: dict[str, str]) -> dict[str, set[str]]:
    """Edges between nodes (a node is a module, or a group of modules): an import of a
    name that is, or lies inside, a node's module."""
    edges: dict[str, set[str]] = {node: set() for node in node_of.values()}
    for module, path in modules.items():
        source = node_of[module]
        for name in imported_names(path, module):
            target = node_of.get(name)
            if target is not None and target != source:
                edges[source].add(target)
    return edges


def a_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, as the nodes along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_a_circle_is_found_where_there_is_one() -> None:
    assert a_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert a_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_rooms_of_shared_import_one_another_in_one_direction() -> None:
    """A room is a subpackage (service, web, data, transport, contracts, events) or a
    module at the root (settings, keys, logs, tasks)."""
    modules = modules_of(ROOT / "shared")
    rooms = {name: ".".join(name.split(".")[:2]) for name in modules if name != "shared"}
    del modules["shared"]
    circle = a_circle(graph(modules, rooms))
    assert circle is None, f"shared/ imports back up: {' -> '.join(circle or ())}"


@pytest.mark.parametrize("package", [*PACKAGES, "shared"])
def test_no_module_imports_one_that_imports_it_back(package: str) -> None:
    modules = modules_of(ROOT / package)
    circle = a_circle(graph(modules, {name: name for name in modules}))
    assert circle is None, f"a circle of imports: {' -> '.join(circle or ())}"


@pytest.mark.parametrize("package", [*PACKAGES, "shared", "tests"])
def test_nothing_is_imported_with_a_star(package: str) -> None:
    stars = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / package).rglob("*.py")
        if (lines := star_imports(path))
    }
    assert stars == {}
