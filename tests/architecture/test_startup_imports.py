"""What the evaluate commands load: neither scipy.stats nor matplotlib (about 0.5 s and 0.35 s of start-up each).

``evaluate model | compare | procedure`` compute with numpy, ``scipy.special`` where needed and
:mod:`clinicadl.stats.normal`; their figures are drawn from the written TSVs by
:mod:`clinicadl.evaluate.figure_jobs` (in another process at a terminal). A module-level ``from scipy import
stats`` or a plot imported at the top of a module on these paths fails here, with the import chain to remove.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from evaluate.test_procedure_maps import write_procedure

CHECK = """
import sys
from click.testing import CliRunner
from clinicadl.cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
assert result.exit_code == 0, result.output
heavy = sorted(m for m in ("scipy.stats", "matplotlib", "torch") if m in sys.modules)
print("loaded:", ",".join(heavy))
"""


def _predictions(path, seed):
    y = np.random.default_rng(0).integers(0, 2, 300)  # the same images and labels; the scores differ by seed
    p1 = np.clip(0.5 + (y - 0.5) * 0.5 + np.random.default_rng(seed + 1).normal(0, 0.25, 300), 0.01, 0.99)
    path.write_text("participant_id\tsession_id\ttrue_label\tpredicted_label\tproba0\tproba1\n" + "".join(
        f"sub-{i:04d}\tses-M000\t{y[i]}\t{int(p1[i] > 0.5)}\t{1 - p1[i]:.6f}\t{p1[i]:.6f}\n" for i in range(300)))
    return str(path)


@pytest.mark.parametrize("command", ["model", "compare", "procedure"])
def test_evaluate_commands_load_neither_scipy_stats_nor_matplotlib(command, tmp_path):
    a, b = _predictions(tmp_path / "a.tsv", 0), _predictions(tmp_path / "b.tsv", 1)
    arguments = {
        "model": ["evaluate", "model", a, "-o", str(tmp_path / "m.tsv")],
        "compare": ["evaluate", "compare", a, b, "-o", str(tmp_path / "c.tsv")],
        "procedure": ["evaluate", "procedure", str(write_procedure(tmp_path / "maps", n_replicates=3)), "test"],
    }[command]
    result = subprocess.run([sys.executable, "-c", CHECK, *arguments, "--n_resamples", "20"], capture_output=True,
                            text=True, env={"CLINICADL_FIGURES": "background", "PATH": ""}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "loaded:", (
        f"evaluate {command} imported {result.stdout.split('loaded:')[-1]}: run it under `python -X importtime` "
        "and move that import into the function that needs it (or use clinicadl.stats.normal)")
