"""Every shell command of the tutorials runs: the ```bash blocks of docs/tutorials/*.md are executed in order.

Each tutorial runs in its own folder, its blocks one after the other (``bash -euo pipefail``) with the
project's ``clinicadl`` first on the PATH; a tutorial that says it continues another (``<!-- continues:
NAME -->``) runs in that tutorial's folder, after it. Outputs shown to the reader are in ```text blocks, which
are not run; other shell fences (console, sh, shell) are refused, so that no command escapes the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
CONTINUES = re.compile(r"<!--\s*continues:\s*([\w-]+)\s*-->")
EXPECTED = {
    "trained-model": ["report_model.html", "maps_model/split-0/best-loss/test/test_image_level_metrics_ci.tsv"],
    "procedure": ["report_procedure.html", "maps_lr4/evaluation/test/procedure_expected.tsv",
                  "maps_lr4/evaluation/test/procedure_variance.tsv"],
    "compare-procedures": ["report_comparison.html", "maps_lr4/evaluation/test/compare_procedures_maps_lr5.tsv"],
    "segmentation": ["report_segmentation.html", "maps_seg/evaluation/test/procedure_expected.tsv"],
}


def blocks(path: Path) -> list[str]:
    """The ```bash blocks of a Markdown page, in order."""
    found = FENCE.findall(path.read_text())
    refused = sorted({lang for lang, _ in found if lang in ("console", "sh", "shell", "zsh")})
    assert not refused, f"{path.name}: use ```bash for commands (run by this test) and ```text for outputs"
    return [body for lang, body in found if lang == "bash"]


def order() -> list[tuple[str, str | None]]:
    """(tutorial, tutorial it continues) in an order where a tutorial runs after the one it continues."""
    pages = {p.stem: CONTINUES.search(p.read_text()) for p in sorted(TUTORIALS.glob("*.md"))}
    ordered: list[tuple[str, str | None]] = []
    while len(ordered) < len(pages):
        before = len(ordered)
        for name, match in pages.items():
            parent = match.group(1) if match else None
            if name not in dict(ordered) and (parent is None or parent in dict(ordered)):
                ordered.append((name, parent))
        assert len(ordered) > before, f"a tutorial continues one that does not exist: {pages}"
    return ordered


def test_every_tutorial_has_commands_and_expectations():
    names = [name for name, _ in order()]
    assert set(EXPECTED) <= set(names)
    for name in names:
        assert blocks(TUTORIALS / f"{name}.md"), f"{name}.md has no ```bash block"


@pytest.mark.slow
def test_tutorial_commands_run(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               MPLBACKEND="Agg")
    folders: dict[str, Path] = {}
    for name, parent in order():
        folder = folders[parent] if parent else tmp_path / name
        folder.mkdir(exist_ok=True)
        folders[name] = folder
        for i, block in enumerate(blocks(TUTORIALS / f"{name}.md")):
            result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=folder, env=env,
                                    capture_output=True, text=True)
            assert result.returncode == 0, (f"{name}.md, block {i + 1}:\n{block}\n--- stdout\n"
                                            f"{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")
        for expected in EXPECTED.get(name, []):
            assert (folder / expected).is_file(), f"{name}.md did not make {expected}"
