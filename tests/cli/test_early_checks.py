"""Options checked before any heavy import or work; no output inside the installed package; plain numbers in
messages; unknown TOML sections refused like unknown keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from faults import ROOT, run_clinicadl

from clinicadl.errors import InputError
from clinicadl.models.names import ARCHITECTURE_TASKS

PACKAGE = ROOT / "clinicadl"

IN_PROCESS = """
import sys
from clinicadl.cli.main import cli
try:
    cli.main({arguments!r}, prog_name="clinicadl")
except SystemExit as end:
    print("exit", end.code)
print("torch imported" if "torch" in sys.modules else "torch not imported")
"""


def run_in_process(*arguments, cwd: Path) -> subprocess.CompletedProcess:
    code = IN_PROCESS.format(arguments=[str(a) for a in arguments])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def inputs(tmp_path):
    """A CAPS folder with an extraction JSON and a split folder: enough for the checks made before torch."""
    caps = tmp_path / "caps"
    (caps / "subjects").mkdir(parents=True)
    (caps / "tensor_extraction").mkdir()
    (caps / "tensor_extraction" / "image.json").write_text(json.dumps({"mode": "image"}))
    split = tmp_path / "split"
    split.mkdir()
    rows = pd.DataFrame({"participant_id": [f"sub-{i}" for i in range(8)], "session_id": "ses-M000",
                         "diagnosis": ["AD", "CN"] * 4})
    rows.iloc[:6].to_csv(split / "train.tsv", sep="\t", index=False)
    rows.iloc[6:].to_csv(split / "validation_baseline.tsv", sep="\t", index=False)
    return caps, split, tmp_path / "maps"


@pytest.mark.parametrize(("options", "expected"), [
    (["-a", "NoSuchNet"], "Unknown architecture 'NoSuchNet'"),
    (["--vary", "init,bogus"], "Unknown source(s) of variance bogus"),
    (["-d", "MCI"], "no session left with diagnoses MCI"),
])
def test_a_bad_train_option_is_reported_before_torch_is_imported(inputs, tmp_path, options, expected):
    caps, split, maps = inputs
    result = run_in_process("train", "classification", caps, "image.json", split, maps, *options, cwd=tmp_path)
    assert "exit 1" in result.stdout or "exit 2" in result.stdout, result.stdout + result.stderr
    assert "torch not imported" in result.stdout and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not maps.exists()


def test_a_missing_extraction_json_is_reported_before_torch_is_imported(inputs, tmp_path):
    caps, split, maps = inputs
    result = run_in_process("train", "classification", caps, "missing.json", split, maps, cwd=tmp_path)
    assert "torch not imported" in result.stdout and "missing.json does not exist (found: image.json)" in \
        result.stderr


def test_the_static_architecture_table_is_the_registry():
    from clinicadl.models.registry import MODELS

    assert ARCHITECTURE_TASKS == {name: tuple(entry.tasks) for name, entry in MODELS.items()}


def test_the_readme_example_writes_in_the_current_folder_not_in_the_package(tmp_path):
    before = sorted(p.name for p in (PACKAGE / "examples").iterdir())
    result = run_clinicadl("evaluate", "model", PACKAGE / "examples" / "predictions.tsv", "--n_resamples", "100",
                           cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (PACKAGE / "examples").iterdir()) == before
    assert (tmp_path / "predictions_metrics_ci.tsv").is_file() and (tmp_path / "predictions_metrics_ci.json").is_file()
    assert "inside the installed clinicadl package" in result.stdout
    assert f"Written: {tmp_path / 'predictions_metrics_ci.tsv'}" in result.stdout


def test_unknown_toml_section_is_refused_like_an_unknown_key(tmp_path):
    from clinicadl.training.config import read_toml

    config = tmp_path / "train.toml"
    config.write_text("[Modle]\narchitecture = 'Conv5_FC3'\n[Optimization]\nepochs = 3\n")
    with pytest.raises(InputError, match=r"unknown section\(s\) \[Modle\]; the sections are \[Model\]"):
        read_toml(config)
    config.write_text("[Model]\narchitecture = 'Conv5_FC3'\n[Launcher]\nn_jobs = 2\n")
    assert read_toml(config) == {"architecture": "Conv5_FC3", "n_jobs": 2}


def test_messages_print_plain_numbers():
    from clinicadl.stats.bootstrap import _check_options
    from clinicadl.stats.sample_size import noether_sample_size

    with pytest.raises(InputError) as error:
        _check_options(100, np.float64(1.3), "percentile", "participant")
    assert "got 1.3" in str(error.value) and "np.float64" not in str(error.value)
    with pytest.raises(InputError) as error:
        noether_sample_size(np.float64(0.3))
    assert "0.3" in str(error.value) and "np." not in str(error.value)


def test_plan_gamma_states_one_range():
    from click.testing import CliRunner

    from clinicadl.cli.main import cli

    refused = CliRunner().invoke(cli, ["evaluate", "plan", "--gamma", "0.5"])
    assert refused.exit_code == 2 and "0.5<x<=1" in refused.output
    assert CliRunner().invoke(cli, ["evaluate", "plan", "--gamma", "1"]).exit_code == 0
