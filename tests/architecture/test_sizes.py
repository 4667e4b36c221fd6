"""Room sizes (DESIGN.md, "one file per concept"): modules of at most 500 lines, functions of at most 80.

A module may be longer when its docstring says why, in a paragraph starting with ``Why this module is long:``.
A function's docstring is not counted: numpy-style docstrings of public functions are long by design, their code
must not be.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "clinicadl"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_MODULE_REASON = "Why this module is long:"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function from its ``def`` to its last statement, its docstring not counted."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_modules_are_short_or_say_why():
    long = []
    for path in modules():
        text = path.read_text()
        n = text.count("\n")
        if n > MAX_MODULE_LINES and LONG_MODULE_REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{path.relative_to(PACKAGE.parent)}: {n} lines")
    assert not long, (f"modules over {MAX_MODULE_LINES} lines (split along concepts, or say in the module "
                      f"docstring '{LONG_MODULE_REASON} ...'):\n" + "\n".join(long))


def test_functions_are_short():
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and code_lines(node) > MAX_FUNCTION_LINES:
                long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {code_lines(node)} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code (split into named steps):\n" + "\n".join(long)


def test_code_lines_does_not_count_the_docstring():
    source = 'def f():\n    """Doc.\n\n    More.\n    """\n    x = 1\n    return x\n'
    node = ast.parse(source).body[0]
    assert code_lines(node) == 3
