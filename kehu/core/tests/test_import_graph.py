"""The import graph of kehu.core has no cycles.

Every import counts, at module level or inside a function: a function-level import that
only dodges a cycle is a cycle all the same. ``import_graph`` is reusable for rules
between apps.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kehu

KEHU_DIR = Path(kehu.__file__).resolve().parent


def module_name(path: Path) -> str:
    """``…/kehu/core/views/org.py`` → ``kehu.core.views.org`` (``__init__`` is the package)."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:  # relative: resolve against the importing module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    # ``from pkg import name``: name may be a submodule or an attribute; keep both.
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def import_graph(package_dir: Path | str) -> dict[str, set[str]]:
    """Module → the modules of the same package tree it imports (tests excluded).

    Counts imports anywhere in a module, including inside functions. Importing
    ``a.b.c`` from outside package ``a.b`` also runs ``a.b/__init__``, so that package
    is an edge too. ``TYPE_CHECKING`` imports count too. Given the whole ``kehu``
    directory, the graph holds the edges between apps as well.
    """
    root = Path(package_dir).resolve()
    files = {module_name(p): p for p in root.rglob("*.py")
             if "tests" not in p.relative_to(root).parts}
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for name in _imported(node, module, is_package):
                parts = name.split(".")
                for i in range(len(parts), 0, -1):
                    candidate = ".".join(parts[:i])
                    if candidate not in known:
                        continue
                    # The target and every package above it that the importer is not in.
                    if not (module == candidate or module.startswith(candidate + ".")):
                        edges.add(candidate)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_kehu_core_has_no_import_cycles() -> None:
    graph = import_graph(KEHU_DIR / "core")
    assert graph, "no modules found"
    assert find_cycles(graph) == []


def test_function_level_and_package_imports_are_edges(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for init in (pkg / "__init__.py", pkg / "sub" / "__init__.py"):
        init.write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.leaf import x\n")
    (pkg / "sub" / "leaf.py").write_text("x = 1\n")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("from pkg.sub.leaf import x\nfrom . import a\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == {"pkg.a", "pkg.sub", "pkg.sub.leaf"}
    assert graph["pkg.sub"] == {"pkg.sub.leaf"}
    assert find_cycles(graph) == [["pkg.a", "pkg.b"]]
