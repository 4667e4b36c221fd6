"""The documentation site builds with ``mkdocs build --strict``: no broken link or anchor, no page left out of
the navigation, every API docstring and every command's help rendered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                            cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    cli = (site / "cli.html").read_text()
    for command in ("clinicadl evaluate report", "clinicadl evaluate procedure", "clinicadl train classification",
                    "--n_resamples"):
        assert command in cli, command
    api = (site / "api.html").read_text()
    for name in ("clinicadl.stats.bootstrap.bootstrap_ci", "clinicadl.evaluate.report.write_report"):
        assert f'id="{name}"' in api, name
    assert (site / "benchmarks" / "index.html").is_file()
    assert (site / "tutorials" / "procedure.html").is_file()
