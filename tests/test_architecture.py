"""The house rules of issue 9: no import loops, dependencies flow one way.

Every ``import`` of the project's packages counts, module level or inside a
function; imports under ``if TYPE_CHECKING:`` do not (they never run). Run this
file as a script to print the offending edges:
``.venv/bin/python tests/test_architecture.py``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES: tuple[str, ...] = ("aggregation", "grid", "learners", "scenarios")
# package -> packages it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "aggregation": ("learners", "scenarios"),
    "grid": ("learners", "scenarios"),
    "learners": ("scenarios",),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """``module name -> file`` of every module of the project's packages."""
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported dotted name lives in (longest known prefix)."""
    parts = target.split(".")
    for k in range(len(parts), 0, -1):
        name = ".".join(parts[:k])
        if name in modules:
            return name
    return None


def import_edges(modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """``module -> project modules it imports`` (explicit imports only, parents' ``__init__`` not implied)."""
    modules = project_modules() if modules is None else modules
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                # ``from pkg import mod`` imports the module; ``from mod import name`` the module itself.
                targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix for a in node.names]
            for t in targets:
                dep = _resolve(t, modules)
                if dep is not None and dep != mod:
                    edges[mod].add(dep)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return sorted(out)


def cycle_edges(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """The edges inside import loops (both ends in the same loop)."""
    out = []
    for comp in cycles(edges):
        members = set(comp)
        out += [(a, b) for a in comp for b in sorted(edges[a]) if b in members]
    return out


def forbidden_edges(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Edges that break the one-way flow (e.g. ``aggregation`` importing ``learners``)."""
    out = []
    for a, deps in sorted(edges.items()):
        banned = FORBIDDEN.get(a.split(".")[0], ())
        out += [(a, b) for b in sorted(deps) if b.split(".")[0] in banned]
    return out


def test_the_walker_sees_function_level_imports_and_skips_type_checking(tmp_path):
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\ndef f():\n    from .c import d\n"
    names = [n.module if isinstance(n, ast.ImportFrom) else n.names[0].name for n in _imports(ast.parse(src))]
    assert "c" in names and "a.b" not in names
    assert cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z"]]


def test_no_import_loops():
    loops = cycle_edges(import_edges())
    assert not loops, "import loops:\n" + "\n".join(f"  {a} -> {b}" for a, b in loops)


def test_dependencies_flow_one_way():
    bad = forbidden_edges(import_edges())
    assert not bad, "forbidden imports:\n" + "\n".join(f"  {a} -> {b}" for a, b in bad)


if __name__ == "__main__":
    e = import_edges()
    for title, rows in (("import-loop edges", cycle_edges(e)), ("forbidden edges", forbidden_edges(e))):
        print(f"{title}: {len(rows)}")
        for a, b in rows:
            print(f"  {a} -> {b}")
    sys.exit(1 if cycle_edges(e) or forbidden_edges(e) else 0)
