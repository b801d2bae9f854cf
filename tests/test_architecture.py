"""The shape of the package: which module may import which.

Read from the source with :mod:`ast`, deferred imports inside functions
included: a cycle that a function-level import hides is still a cycle a reader
has to untangle.
"""

import ast
from pathlib import Path

import synlib

PACKAGE = Path(synlib.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules) -> set[str]:
    # "from synlib.plots import data" is an edge to synlib.plots.data; "from synlib.nmf import NMF" to synlib.nmf
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    """synlib module -> the synlib modules it imports (a package's ``__init__`` counts as the package)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name, modules) if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "synlib.schema" in graph and "synlib.results" in graph["synlib.tradeoff"]
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_planted_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_metrics_and_the_schema_import_no_extractor():
    graph = import_graph()
    extractors = {"synlib.nmf", "synlib.autoencoder"}
    for module in ("synlib.metrics", "synlib.schema", "synlib.results"):
        reached = {m for m in graph[module] if m in extractors or m.startswith("synlib.autoencoder.")}
        assert not reached, f"{module} imports {sorted(reached)}"
