"""Import contracts of the package (DESIGN.md, "Layers"), checked on the source with ``ast``.

The build fails on a new upward import, on ``torch`` or ``pandas`` in ``clinicadl.stats``, on an import of another
package's private name, and on a MAPS file format handled outside ``clinicadl.maps``. Imports inside functions (lazy
imports) count like top-level ones: they are edges of the same graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "clinicadl"

LAYERS = ("cli", "evaluate", "training", "interpret", "predict", "runtime", "models", "data", "maps", "stats")
"""Rooms from top to bottom: a room imports only the rooms below it."""

ENTRY_POINTS = frozenset({"__main__", "demo"})
"""Top-level modules above every room (they start the command line)."""

SHARED = frozenset({"__init__", "errors", "atomic", "worker_process", "examples"})
"""Top-level modules and data every room may import; they import no room."""

MAPS_FILES = frozenset({"maps.json", "replicates.tsv", "replicates.tsv.lock"})
"""File names of MAPS formats: only ``clinicadl.maps`` spells them out (docstrings and help text aside)."""


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` module file imports ``target`` (dotted) at ``line``."""

    source: Path
    target: str
    names: tuple[str, ...]
    line: int

    @property
    def where(self) -> str:
        return f"{self.source.relative_to(PACKAGE.parent)}:{self.line}"


def room_of(path: Path) -> str:
    """The room (first package level) a module file belongs to, or its top-level module name."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def target_room(edge: Edge) -> str | None:
    """The room an import reaches, or None when it is not a clinicadl import."""
    parts = edge.target.split(".")
    if parts[0] != "clinicadl":
        return None
    if len(parts) > 1:
        return parts[1]
    rooms = {room_of(p) for p in modules()}
    named = [n for n in edge.names if n in rooms]
    return named[0] if named else "__init__"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
    return ".".join(package + ((node.module,) if node.module else ()))


def edges() -> Iterator[Edge]:
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                yield Edge(path, _resolve(path, node), tuple(a.name for a in node.names), node.lineno)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield Edge(path, alias.name, (), node.lineno)


def rank(room: str) -> int:
    if room in ENTRY_POINTS:
        return -1
    if room in SHARED:
        return len(LAYERS)
    return LAYERS.index(room)


def test_every_module_belongs_to_a_known_room():
    unknown = {room_of(p) for p in modules()} - set(LAYERS) - ENTRY_POINTS - SHARED
    assert not unknown, f"modules outside the rooms of DESIGN.md: {sorted(unknown)}; add them to a room"


def test_imports_only_go_down_the_layers():
    upward = []
    for edge in edges():
        source, target = room_of(edge.source), target_room(edge)
        if target is None or target == source:
            continue
        if rank(target) <= rank(source) and not (source in SHARED and target in SHARED):
            upward.append(f"{edge.where}: {source} imports {edge.target} ({target} is not below {source})")
    assert not upward, "upward or sideways imports:\n" + "\n".join(upward)


def test_package_graph_has_no_cycle():
    graph: dict[str, set[str]] = {}
    for edge in edges():
        source, target = room_of(edge.source), target_room(edge)
        if target is not None and target != source:
            graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(room for room in graph if reaches(room, room, {room}))
    assert not cycles, f"rooms on an import cycle: {cycles}"


@pytest.mark.parametrize("heavy", ["torch", "pandas"])
def test_stats_imports_neither_torch_nor_pandas(heavy):
    found = [edge.where for edge in edges()
             if room_of(edge.source) == "stats" and edge.target.split(".")[0] == heavy]
    assert not found, f"clinicadl.stats must work on arrays only; {heavy} imported at {found}"


def test_no_import_of_another_room_private_name():
    private = []
    for edge in edges():
        target = target_room(edge)
        if target is None or target == room_of(edge.source):
            continue
        dotted = edge.target.split(".")[2:]
        names = [n for n in (*dotted, *edge.names) if n.startswith("_") and not n.startswith("__")]
        if names:
            private.append(f"{edge.where}: {edge.target} {names}")
    assert not private, "private names imported across rooms:\n" + "\n".join(private)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_maps_file_formats_are_spelled_only_in_maps():
    outside = []
    for path in modules():
        if room_of(path) == "maps":
            continue
        tree = ast.parse(path.read_text(), str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MAPS_FILES
                    and id(node) not in docs):
                outside.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert not outside, "MAPS files read or written outside clinicadl.maps (use its readers):\n" + "\n".join(outside)


def test_the_checks_see_an_upward_import(tmp_path):
    """The contract is not vacuous: a planted upward import is caught by the same code."""
    planted = Edge(PACKAGE / "stats" / "planted.py", "clinicadl.evaluate.model", ("evaluate_model",), 1)
    assert rank(target_room(planted)) < rank(room_of(planted.source))
    private = Edge(PACKAGE / "training" / "loop.py", "clinicadl.runtime.network", ("_state_dict",), 1)
    assert target_room(private) == "runtime" and private.names[0].startswith("_")
