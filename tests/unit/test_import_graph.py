"""The import graph of `academy/`: features do not import each other in circles, and the
low-level modules (top-level `academy/*.py`, `academy/content/`) import no feature.

Built with `ast`, so it sees imports inside functions too (marked `in function`), which
plain import-time checks miss. Run it as a script to print the graph's cycles and the
low-level modules' feature imports:

    python tests/unit/test_import_graph.py
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "academy"

FEATURES = (
    "auth",
    "audit",
    "regions",
    "roster",
    "catalogue",
    "learning",
    "content",
    "activity",
    "certification",
    "analytics",
    "questions",
    "exams",
    "practice",
    "handbook",
    "competition",
    "main",
    "demo",
    "simulations",
)
# The composition roots: they wire every feature together and nothing imports them.
ROOTS = ("academy", "academy.cli")
# Packages that count as low level although they are directories.
LOW_LEVEL_PACKAGES = ("content",)
# What a low-level module may still use of a feature: content files are written against
# the catalogue of service items (its table and enums), the root every content file names.
LOW_LEVEL_MAY_USE = ("academy.catalogue.models",)


@dataclass(frozen=True)
class Edge:
    source: str  # module, e.g. academy.roster.services
    target: str  # module, e.g. academy.learning.services
    line: int
    in_function: bool

    def __str__(self) -> str:
        where = "in function" if self.in_function else "module level"
        return f"{self.source}:{self.line} -> {self.target} ({where})"


def module_name(path: Path) -> str:
    parts = ["academy", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST):
    """(node, in_function) for every import node of the tree."""

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            nested = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            yield from walk(child, nested)

    yield from walk(tree, False)


def edges() -> list[Edge]:
    found = []
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    for path in paths:
        source = module_name(path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, in_function in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    package = source.split(".")
                    if not is_package:
                        package = package[:-1]
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join([*package, base] if base else package)
                # `from package import module` imports the module; otherwise the name
                # comes from `base` itself.
                targets = sorted(
                    {
                        f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                        for a in node.names
                    }
                )
            for target in targets:
                if target == "academy" or target.startswith("academy."):
                    found.append(Edge(source, target, node.lineno, in_function))
    return found


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in FEATURES and (ROOT / parts[1]).is_dir():
        return parts[1]
    return None


def is_low_level(module: str) -> bool:
    if module in ROOTS:
        return False
    parts = module.split(".")
    if len(parts) == 2 and (ROOT / f"{parts[1]}.py").is_file():
        return True
    return len(parts) >= 2 and parts[1] in LOW_LEVEL_PACKAGES


WEB_MODULES = ("views", "forms")


def layer_of(module: str) -> str | None:
    """`roster.models` (its tables), `roster.web` (views and forms) or `roster` (the rest:
    rules, services, queries…). Tables may reference other features' tables; the web layer
    of a feature sits on top of every feature; the logic of features must not go round."""
    feature = feature_of(module)
    if feature is None:
        return None
    parts = module.split(".")[2:]
    if parts[:1] == ["models"]:
        return f"{feature}.models"
    if any(p in WEB_MODULES or p.endswith(tuple(f"_{w}" for w in WEB_MODULES)) for p in parts):
        return f"{feature}.web"
    return feature


def feature_graph(node=layer_of) -> dict[str, dict[str, list[Edge]]]:
    graph: dict[str, dict[str, list[Edge]]] = {}
    for edge in edges():
        a, b = node(edge.source), node(edge.target)
        if a and b and a != b:
            graph.setdefault(a, {}).setdefault(b, []).append(edge)
    return graph


def cycles(node=layer_of) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    graph = feature_graph(node)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycle_edges(component: list[str], node=layer_of) -> list[Edge]:
    graph = feature_graph(node)
    return [
        edge
        for a in component
        for b, found in graph.get(a, {}).items()
        if b in component
        for edge in found
    ]


def low_level_violations() -> list[Edge]:
    return [
        edge
        for edge in edges()
        if is_low_level(edge.source)
        and feature_of(edge.target)
        and feature_of(edge.target) != feature_of(edge.source)
        and edge.target not in LOW_LEVEL_MAY_USE
    ]


def test_graph_sees_imports_at_module_level_and_in_functions():
    found = edges()
    assert any(not e.in_function for e in found)
    assert any(e.in_function for e in found)
    # The app factory wires every feature: a sanity check that names resolve.
    assert {feature_of(e.target) for e in found if e.source == "academy"} >= {"auth", "exams"}


def test_no_cycle_between_feature_packages():
    found = cycles()
    details = "\n".join(
        " <-> ".join(c) + "\n  " + "\n  ".join(map(str, cycle_edges(c))) for c in found
    )
    assert not found, f"features importing each other in a circle:\n{details}"


def test_low_level_modules_import_no_feature():
    found = low_level_violations()
    assert not found, "low-level modules importing features:\n" + "\n".join(map(str, found))


if __name__ == "__main__":
    import sys

    whole = "--packages" in sys.argv  # whole packages as nodes, views included
    node = feature_of if whole else layer_of
    for component in cycles(node):
        print("cycle:", " <-> ".join(component))
        for edge in cycle_edges(component, node):
            print("   ", edge)
    print("low-level modules importing features:")
    for edge in low_level_violations():
        print("   ", edge)
