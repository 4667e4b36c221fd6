"""evaluate compare on procedures: synthetic replicate MAPS whose true difference is known."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure

from clinicadl.cli.evaluate_procedure import is_procedure_comparison, split_inputs
from clinicadl.cli.main import cli as clinicadl
from clinicadl.evaluate.compare_procedures import CompareOptions, compare_procedures
from clinicadl.maps import RESULTS_COLUMNS, read_results_tsv
from clinicadl.stats.corrected_ttest import OverconfidentTestWarning, corrected_repeated_kfold_ttest
from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t

FAST = CompareOptions(n_resamples=500, seed=0)


def cli(*args):
    return CliRunner().invoke(clinicadl, ["evaluate", "compare", *map(str, args)])


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    root = tmp_path_factory.mktemp("procedures")
    return {
        "a": write_procedure(root / "a", n_replicates=10, skill=1.0, salt=1),
        "b": write_procedure(root / "b", n_replicates=10, skill=1.0, salt=2),  # same procedure as a
        "c": write_procedure(root / "c", n_replicates=10, skill=0.2, salt=3),  # much worse
    }


def test_equal_procedures_are_not_significantly_different(three):
    out = cli(three["a"], three["b"], "test", "--n_resamples", 500, "-m", "BA")
    assert out.exit_code == 0, out.output
    assert "P(A>B) is not significant" in out.output
    assert "crossed-design test finds no significant difference" in out.output
    assert "participant population" in out.output and "What may not" in out.output
    assert "corrected_t, bayesian and 5x2cv not run" in out.output  # a shared test group: not their design


def test_a_large_difference_is_significant_and_meaningful(three, tmp_path):
    out = cli(three["a"], three["c"], "test", "--n_resamples", 500, "-m", "BA", "-o", tmp_path / "ac.tsv")
    assert out.exit_code == 0, out.output
    assert "P(A>B) is significant and meaningful" in out.output
    assert "crossed-design test finds a significant difference" in out.output
    table = read_results_tsv(tmp_path / "ac.tsv")
    assert list(table.columns[: len(RESULTS_COLUMNS)]) == list(RESULTS_COLUMNS)
    assert set(table["test"]) == {"P(A>B)", "expected difference"}
    assert set(table["scope"]) == {"population (replicates and test participants resampled)"}
    probability = table[table["test"] == "P(A>B)"].iloc[0]
    assert probability["estimate"] == 1.0 and bool(probability["meaningful"])
    difference = table[table["test"] == "expected difference"].iloc[0]
    assert difference["ci_low"] > 0 and difference["pvalue"] < 0.05
    sidecar = json.loads((tmp_path / "ac.json").read_text())
    assert sidecar["options"]["gamma"] == 0.75 and sidecar["options"]["paired"] is True
    assert (tmp_path / "ac_probability.png").read_bytes()[:4] == b"\x89PNG"
    # reversed order: B better, said as such
    reverse = compare_procedures([three["c"], three["a"]], "test", options=FAST, output=tmp_path / "ca.tsv",
                                 plots=False)
    row = reverse.tests[reverse.tests["test"] == "P(A>B)"].iloc[0]
    assert row["verdict"] == "significant in favour of B" and row["estimate"] == 0.0


def test_default_output_and_three_procedures(three):
    result = compare_procedures([three["a"], three["b"], three["c"]], "test", options=FAST)
    folder = three["a"] / "evaluation" / "test"
    assert folder / "compare_procedures_b_c.tsv" in result.written
    assert (folder / "compare_procedures_b_c_cd_BA.png").read_bytes()[:4] == b"\x89PNG"
    ranks = read_results_tsv(folder / "compare_procedures_b_c_ranks.tsv").set_index("procedure")
    assert ranks.loc["c", "estimate"] == 3.0 and ranks["friedman_pvalue"].iloc[0] < 0.01
    assert ranks["critical_difference"].iloc[0] > 0
    tests = result.tests
    wilcoxon = tests[tests["test"] == "Wilcoxon signed-rank (Holm)"]
    assert len(wilcoxon) == 3 and (wilcoxon["adjusted_pvalue"] >= wilcoxon["pvalue"]).all()
    crossed = tests[tests["test"] == "expected difference"]
    assert len(crossed) == 3 and (crossed["adjusted_pvalue"] >= crossed["pvalue"] - 1e-12).all()
    assert any("about this test set" in note for note in result.notes)  # ranks of replicates: conditional


def test_unpaired_inputs_are_refused_unless_asked(three, tmp_path):
    other = write_procedure(tmp_path / "other", n_replicates=10, root_seed=5, skill=0.2)
    out = cli(three["a"], other, "test", "--n_resamples", 200)
    assert out.exit_code == 1 and "not paired" in out.output and "--unpaired" in out.output
    assert "Traceback" not in out.output
    out = cli(three["a"], other, "test", "--n_resamples", 200, "--unpaired", "-o", tmp_path / "u.tsv")
    assert out.exit_code == 0, out.output
    assert set(read_results_tsv(tmp_path / "u.tsv")["test"]) == {"P(A>B)", "expected difference"}
    out = cli(three["a"], other, "test", "--unpaired", "--tests", "corrected_t")
    assert out.exit_code == 1 and "same test group" in out.output


def test_different_test_participants_are_refused(three, tmp_path):
    other = write_procedure(tmp_path / "fewer", n_replicates=10, n_participants=40)
    out = cli(three["a"], other, "test")
    assert out.exit_code == 1 and "same participants" in out.output


def test_a_single_replicate_is_refused(tmp_path):
    a = write_procedure(tmp_path / "a", n_replicates=1)
    b = write_procedure(tmp_path / "b", n_replicates=1, skill=0.5)
    out = cli(a, b, "test", "--n_resamples", 100)
    assert out.exit_code == 1 and "No test applies" in out.output and "at least 2 replicates" in out.output


def test_5x2cv_design(tmp_path):
    # the t-tests of resampled designs apply to the validation folds of the cross-validation, not to a test group
    a = write_procedure(tmp_path / "a", n_replicates=5, n_splits=2, skill=1.0, salt=1, group="validation")
    b = write_procedure(tmp_path / "b", n_replicates=5, n_splits=2, skill=0.6, salt=2, group="validation")
    result = compare_procedures([a, b], "validation", options=FAST, plots=False)
    assert set(result.tests["scope"]) == {"these validation folds (cross-validation design)"}
    tests = result.tests.set_index("test")
    assert {"5x2cv t", "5x2cv F", "corrected repeated k-fold t"} <= set(tests.index)
    grid = lambda t: t[t["metric"] == "BA"].pivot(index="replicate", columns="split", values="estimate")  # noqa: E731
    from clinicadl.evaluate.model import EvaluationOptions
    from clinicadl.evaluate.procedure import model_table

    options = EvaluationOptions(metrics=("BA",), n_resamples=500, seed=0)
    differences = (grid(model_table(result.procedures[0], options)) - grid(model_table(result.procedures[1], options)))
    differences = differences.to_numpy()
    assert tests.loc["5x2cv t", "pvalue"] == pytest.approx(five_by_two_t(differences).pvalue)
    assert tests.loc["5x2cv F", "pvalue"] == pytest.approx(five_by_two_f(differences).pvalue)
    kfold = corrected_repeated_kfold_ttest(differences, n_folds=2, n_repeats=5, n_train=20, n_test=20)
    assert tests.loc["corrected repeated k-fold t", "pvalue"] == pytest.approx(kfold.pvalue)


def test_5x2cv_on_another_design_is_refused(three, tmp_path):
    out = cli(three["a"], three["b"], "test", "--tests", "5x2cv")
    assert out.exit_code == 1 and "same test group" in out.output and "validation folds" in out.output
    a = write_procedure(tmp_path / "a", n_replicates=4, n_splits=2, salt=1, group="validation")
    b = write_procedure(tmp_path / "b", n_replicates=4, n_splits=2, salt=2, group="validation")
    out = cli(a, b, "validation", "--tests", "5x2cv")
    assert out.exit_code == 1 and "5 replicates of a 2-fold" in out.output
    assert "4 replicate(s) x 2 split(s)" in out.output


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    root = tmp_path_factory.mktemp("folds")
    return {"a": write_procedure(root / "a", n_replicates=5, n_splits=3, skill=1.0, salt=1, group="validation"),
            "b": write_procedure(root / "b", n_replicates=5, n_splits=3, skill=1.0, salt=2, group="validation")}


def test_naive_t_test_only_with_a_warning(folds, tmp_path):
    three = folds
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverconfidentTestWarning)
        result = compare_procedures([three["a"], three["b"]], "validation", output=tmp_path / "n.tsv", plots=False,
                                    options=CompareOptions(n_resamples=200, tests=("naive_t", "corrected_t")))
    assert result.warnings and "over" in result.warnings[0]
    assert any(t.startswith("UNCORRECTED") for t in result.tests["test"])
    default = compare_procedures([three["a"], three["b"]], "validation", options=FAST, output=tmp_path / "d.tsv",
                                 plots=False)
    assert not any(t.startswith("UNCORRECTED") for t in default.tests["test"])
    assert "corrected repeated k-fold t" in set(default.tests["test"])
    out = cli(three["a"], three["b"], "validation", "--tests", "naive_t", "--n_resamples", 200, "-o",
              tmp_path / "c.tsv")
    assert out.exit_code == 0 and "Warning: The uncorrected resampled t-test" in out.output


def test_mismatched_seeds_between_replicates(three, tmp_path):
    other = write_procedure(tmp_path / "other", n_replicates=10, skill=1.0)
    table = pd.read_csv(other / "replicates.tsv", sep="\t")
    table.loc[3, "seed_init"] += 1
    table.to_csv(other / "replicates.tsv", sep="\t", index=False)
    out = cli(three["a"], other, "test")
    assert out.exit_code == 1 and "replicate 3 has different seed_init" in out.output


def test_fixed_split_and_lower_is_better(tmp_path):
    a = write_procedure(tmp_path / "a", n_replicates=6, varied=("init",), task="regression", skill=2.0, salt=1)
    b = write_procedure(tmp_path / "b", n_replicates=6, varied=("init",), task="regression", skill=0.5, salt=2)
    result = compare_procedures([a, b], "test", options=FAST, plots=False)
    assert any("FixHOptEst" in n for n in result.notes)
    assert any("corrected_t, bayesian and 5x2cv not run" in n for n in result.notes)
    row = result.tests[result.tests["test"] == "P(A>B)"].iloc[0]
    assert row["metric"] == "MAE" and not row["higher_is_better"] and row["estimate"] == 1.0  # lower MAE wins


def test_dispatch_helpers(three, tmp_path):
    assert is_procedure_comparison([three["a"], three["b"]])
    plain = write_procedure(tmp_path / "plain", n_replicates=1, plain=True)
    assert not is_procedure_comparison([plain, plain])
    assert split_inputs([str(three["a"]), str(three["b"]), "test"]) == ([str(three["a"]), str(three["b"])], "test")
    assert np.isclose(CompareOptions().gamma, 0.75)
