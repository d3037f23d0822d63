"""The client stands apart from the server: it speaks only the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import chat_client

PACKAGE = Path(chat_client.__file__).parent
SERVER_PACKAGES = {"shared", "gateway", "devstack", "bench", "tests"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_client_imports_no_server_code() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5

    for module in modules:
        roots = imported_roots(module)
        forbidden = {r for r in roots if r in SERVER_PACKAGES or r.endswith("_service")}
        assert not forbidden, f"{module.name} imports {forbidden}"


def test_every_module_opens_with_a_docstring() -> None:
    for module in sorted(PACKAGE.glob("*.py")):
        assert ast.get_docstring(ast.parse(module.read_text())), module.name
