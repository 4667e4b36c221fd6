"""``clinicadl.stats`` stands alone: numpy and scipy only (no torch, no pandas), no private name of another package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import clinicadl.stats

STATS = Path(clinicadl.stats.__file__).parent
HEAVY = ("torch", "pandas")


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name


def test_no_module_of_stats_imports_torch_or_pandas():
    found = [(path.name, module) for path in STATS.rglob("*.py") for module, _ in _imports(path)
             if module.split(".")[0] in HEAVY]
    assert found == []


def test_stats_takes_no_private_name_from_another_package():
    found = [(path.name, module, name) for path in STATS.rglob("*.py") for module, name in _imports(path)
             if name is not None and name.startswith("_") and module != "__future__"
             and not module.startswith("clinicadl.stats")]
    assert found == []


def test_importing_every_stats_module_loads_neither_torch_nor_pandas():
    code = ("import importlib, pkgutil, sys, clinicadl.stats as s\n"
            "for m in pkgutil.walk_packages(s.__path__, 'clinicadl.stats.'):\n"
            "    importlib.import_module(m.name)\n"
            "assert not [h for h in ('torch', 'pandas') if h in sys.modules], sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", code], check=True)
