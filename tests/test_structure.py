"""The house's shape: no import cycle, modules a newcomer can hold, lazy imports that say why.

The layers themselves (which package may import which) are import-linter's contracts
in pyproject.toml, run by CI as ``lint-imports``; these tests cover what it does not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import personakit

SRC = Path(personakit.__file__).resolve().parent
#: No module over about 1,000 lines; this is the hard ceiling.
MAX_LINES = 1200


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(path: Path) -> Iterator[tuple[ast.stmt, str, bool]]:
    """Each personakit module a file imports: (statement, module, inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    package = _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + (path.name == "__init__.py")]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the submodule when there is one
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != "personakit":
                yield node, name, id(node) in inside


def _graph() -> dict[str, set[str]]:
    return {
        name: {target for _, target, _ in _imports(path) if target != name}
        for name, path in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_type_checking_imports_included() -> None:
    # The package face imports everything (lazily) and nothing imports it back.
    graph = {k: v for k, v in _graph().items() if k != "personakit"}
    assert _cycles(graph) == []


def test_no_module_is_too_big_to_hold() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


#: Modules imported inside functions to keep ``import personakit`` cheap (heavy or
#: optional third-party packages): the reason is this list, not a comment each.
HEAVY = frozenset(
    {"pandas", "pyarrow", "numpy", "scipy", "boto3", "botocore", "tqdm", "matplotlib"}
    | {"threadpoolctl", "IPython", "ipywidgets"}
)


def _function_imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    yield from ((node.lineno, a.name) for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    yield node.lineno, node.module or ""


def test_imports_inside_functions_are_for_start_up_and_say_why() -> None:
    """Inside a function only to keep start-up cheap: a heavy package, or a reason on the
    line (personakit's own modules always need one)."""
    silent = set()
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for lineno, module in _function_imports(path):
            if module.split(".")[0] not in HEAVY and "#" not in lines[lineno - 1]:
                silent.add(f"{name}:{lineno} imports {module}")
    assert sorted(silent) == []
