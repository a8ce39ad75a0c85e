"""The domain modules import each other without cycles, so each can be read (and imported) alone.

Every ``import``/``from ... import`` of a ``mock_iotprov`` module counts, at module level or inside a
function (a deferred import hides a cycle from Python, not from a reader). The lifecycle and the doors
(``mock``, ``active``, ``doors``, ``cli``) are left out: they sit above the domain and wire it to botocore.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mock_iotprov

PACKAGE = Path(mock_iotprov.__file__).parent
OUTSIDE_THE_DOMAIN = (
    "mock_iotprov",
    "mock_iotprov.mock",
    "mock_iotprov.active",
    "mock_iotprov.cli",
    "mock_iotprov.__main__",
    "mock_iotprov.doors",
)


def _module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("mock_iotprov",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _in_domain(name: str) -> bool:
    return (
        not any(name == outside or name.startswith(outside + ".") for outside in OUTSIDE_THE_DOMAIN[1:])
        and name != OUTSIDE_THE_DOMAIN[0]
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:`` (type names only)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the domain modules it imports (a ``from package import module`` names the module)."""
    modules = _module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if not _in_domain(name):
            continue
        imported: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module:
                    for alias in node.names:
                        full = f"{node.module}.{alias.name}"
                        imported.add(full if full in modules else node.module)
            else:
                imported.update(alias.name for alias in node.names)
        graph[name] = {
            found for found in imported if found in modules and _in_domain(found) and found != name
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
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
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_deferred_imports_not_type_only_ones() -> None:
    graph = import_graph()
    # state names the persistence journal for type hints only
    assert "mock_iotprov.persistence.journal" not in graph["mock_iotprov.state"]
    assert "mock_iotprov.registry.memberships" in graph["mock_iotprov.registry.things"]
    # policy_attachments imports groups inside functions only
    assert "mock_iotprov.registry.groups" in graph["mock_iotprov.registry.policy_attachments"]


def test_domain_modules_have_no_import_cycles() -> None:
    assert cycles(import_graph()) == []
