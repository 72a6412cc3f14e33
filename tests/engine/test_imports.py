"""The service layer and the command line each form a graph without cycles: a module can be
read, tested and changed knowing only what it imports. Imports inside functions count (they
only hide a cycle from Python, not from the reader); imports under `if TYPE_CHECKING:` do not,
since they never run."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).parents[2] / "engine"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of `known` that `module` imports, wherever the import statement sits."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parent = parts[: len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                # `from engine.services import badges` imports the module ...services.badges;
                # `from engine.services import Runtime`, a name of the package's __init__.
                submodule = f"{base}.{alias.name}"
                names.add(submodule if submodule in known else base)
    return (names & known) - {module}


def import_graph(directory: Path, package: str) -> dict[str, set[str]]:
    """For each module of `package` (found in `directory`), the modules of the same package it
    imports. The package's own `__init__` is a node too, reached by taking one of its names;
    the implicit import of a parent package is not an edge."""
    files = {
        (package if path.stem == "__init__" else f"{package}.{path.stem}"): path
        for path in sorted(directory.glob("*.py"))
    }
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = _imported(tree, module, path.stem == "__init__", set(files))
    return graph


def knots(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or not (Tarjan's strongly
    connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found, key=min)


def shortest_cycle(graph: dict[str, set[str]], knot: set[str]) -> list[str]:
    """The shortest cycle through the knot's first module, written a → b → ... → a."""
    start = min(knot)
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & knot):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per knot: a cycle that shows it, and the other modules caught in it."""
    lines = []
    for knot in knots(graph):
        cycle = shortest_cycle(graph, knot)
        line = " → ".join(cycle)
        others = sorted(knot - set(cycle))
        if others:
            line += f" (also in this knot: {', '.join(others)})"
        lines.append(line)
    return lines


def test_services_import_each_other_without_cycles() -> None:
    found = cycles(import_graph(ENGINE / "services", "engine.services"))
    assert not found, "import cycles:\n" + "\n".join(found)


def test_command_modules_import_each_other_without_cycles() -> None:
    found = cycles(import_graph(ENGINE / "cli", "engine.cli"))
    assert not found, "import cycles:\n" + "\n".join(found)


def test_a_cycle_hidden_in_a_function_is_named(tmp_path: Path) -> None:
    """The guard itself: a late import inside a function still closes a cycle."""
    package = tmp_path / "fake"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from fake import b\n")
    (package / "b.py").write_text("def later():\n    from fake.c import thing\n")
    (package / "c.py").write_text("import fake.a\nimport fake.f\n")
    (package / "f.py").write_text("from fake.c import other\n")
    (package / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fake import e\n"
    )
    (package / "e.py").write_text("from . import d\n")
    found = cycles(import_graph(package, "fake"))
    assert found == ["fake.a → fake.b → fake.c → fake.a (also in this knot: fake.f)"]
