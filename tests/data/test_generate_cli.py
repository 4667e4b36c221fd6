"""The ``generate`` click group: help says what each command makes; options reach the library."""

import json

import pandas as pd
from click.testing import CliRunner

from clinicadl.cli.generate import generate


def run(*args):
    return CliRunner().invoke(generate, [str(a) for a in args])


def test_help_names_what_each_generator_makes():
    result = run("--help")
    assert result.exit_code == 0
    for name in ("cohort", "shepplogan", "random", "trivial"):
        assert name in result.output
    cohort_help = run("cohort", "--help").output
    for option in ("--n_participants", "--sessions", "--effect_size", "--resolution", "--seed", "--n_proc",
                   "Example"):
        assert option in cohort_help


def test_cohort_and_shepplogan_from_the_command_line(tmp_path):
    result = run("cohort", tmp_path / "caps", "--n_participants", 4, "--sessions", 1, 2, "--resolution", 8,
                 "--effect_size", 2.0, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert "Promised AUC" in result.output and "0.921" in result.output
    options = json.loads((tmp_path / "caps" / "generate.json").read_text())
    assert options["effect_size"] == 2.0 and options["sessions"] == [1, 2]
    result = run("shepplogan", tmp_path / "sl", "--n_subjects", 2, "--image_size", 16, "--dimension", 3)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "sl" / "data.tsv", sep="\t")) == 4
    result = run("trivial", tmp_path / "caps", tmp_path / "triv", "--n_subjects", 2)
    assert result.exit_code == 0, result.output
    result = run("random", tmp_path / "caps", tmp_path / "rand", "--n_subjects", 2, "--sigma", 1)
    assert result.exit_code == 0, result.output


def test_bad_values_are_rejected_by_click(tmp_path):
    assert run("cohort", tmp_path / "x", "--resolution", 0).exit_code == 2
    assert run("cohort", tmp_path / "x", "--n_participants", 1).exit_code == 2
    assert not (tmp_path / "x").exists()
