"""evaluate plan: replicates (Noether) and test participants (from a pilot MAPS or a given variance)."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure
from scipy import stats

from clinicadl.cli.evaluate_procedure import plan
from clinicadl.cli.main import LazyGroup
from clinicadl.errors import InputError
from clinicadl.evaluate.plan import plan_participants, plan_replicates


def cli(*args):
    group = LazyGroup(name="evaluate", commands={"plan": plan})
    return CliRunner().invoke(group, ["plan", *map(str, args)])


def test_noether_replicates():
    # the default plans at the one-sided 0.025 of compare's default 95 % interval; 0.05 gives the published 29
    assert plan_replicates(0.75).n == 35 and plan_replicates(0.75).alpha == 0.025
    assert plan_replicates(0.75, alpha=0.05).n == 29
    out = cli("--gamma", 0.75)
    assert out.exit_code == 0 and "Paired replicates to compare two procedures: 35" in out.output
    assert "alpha = 0.05 (Bouthillier et al. 2021) it would be 29" in out.output
    out = cli("--gamma", 0.75, "--alpha", 0.05)
    assert out.exit_code == 0 and "procedures: 29" in out.output and "--confidence_level 0.9" in out.output
    assert plan_replicates(0.9).n < 35 < plan_replicates(0.7).n


def test_participants_from_a_given_variance():
    result = plan_participants(0.1, metric_variance=0.25, metrics=["accuracy"])
    assert result.table["n"].iloc[0] == 385
    out = cli("--width", 0.1, "--metric_variance", 0.25)
    assert out.exit_code == 0 and "385" in out.output


def test_participants_from_a_pilot_maps(tmp_path):
    maps = write_procedure(tmp_path / "pilot", n_replicates=3)
    result = plan_participants(0.1, pilot=maps, data_group="test", metrics=["BA", "accuracy"], n_resamples=300)
    table = result.table.set_index("metric")
    z = stats.norm.ppf(0.975)
    for metric in ("BA", "accuracy"):
        se, n = table.loc[metric, "standard_error"], table.loc[metric, "n_pilot"]
        assert n == 60 and table.loc[metric, "n_models"] == 3
        assert table.loc[metric, "n"] == math.ceil(n * (2 * z * se / 0.1) ** 2 - 1e-9)
    out = cli("--width", 0.1, "--pilot", maps, "--data_group", "test", "-m", "BA", "--n_resamples", 200)
    assert out.exit_code == 0, out.output
    assert "Test participants for a 95% interval of full width 0.1" in out.output


def test_bad_plans():
    with pytest.raises(InputError, match="Give one of"):
        plan_participants(0.1)
    out = cli("--width", 0.1)
    assert out.exit_code == 1 and "Give one of" in out.output
    out = cli("--metric_variance", 0.25)
    assert out.exit_code != 0 and "--width" in out.output
    out = cli("--width", 0.1, "--standard_error", 0.03)
    assert out.exit_code == 1 and "--n_pilot" in out.output
