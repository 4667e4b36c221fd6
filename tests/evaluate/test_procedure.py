"""evaluate procedure on synthetic replicate MAPS (no training): tables, files, notes, command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure
from scipy import stats

from clinicadl.cli.evaluate_procedure import plan, procedure
from clinicadl.cli.main import LazyGroup
from clinicadl.errors import InputError
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.procedure import evaluate_procedure, format_procedure_summary
from clinicadl.maps import RESULTS_COLUMNS, read_results_tsv

FAST = EvaluationOptions(metrics=("BA", "accuracy", "AUC"), n_resamples=300, seed=1)


def cli(*args):
    group = LazyGroup(name="evaluate", commands={"procedure": procedure, "plan": plan})
    return CliRunner().invoke(group, [str(a) for a in args])


def test_procedure_tables_files_and_intervals(tmp_path):
    maps = write_procedure(tmp_path / "a", n_replicates=6, n_splits=2, sessions=2)
    result = evaluate_procedure(maps, "test", options=FAST)
    assert len(result.models) == 6 * 2 * 3 and set(result.models["replicate"]) == set(range(6))
    expected = result.expected.set_index("metric")
    for metric in ("BA", "accuracy", "AUC"):
        values = result.models.loc[result.models["metric"] == metric, "estimate"]
        assert expected.loc[metric, "estimate"] == pytest.approx(values.mean())
        assert expected.loc[metric, "ci_low"] < values.mean() < expected.loc[metric, "ci_high"]
    # every metric: the crossed design (R models x the same test participants), with its three components
    for metric in ("BA", "accuracy", "AUC"):
        assert expected.loc[metric, "method"].startswith("crossed-design") and expected.loc[metric, "estimable"]
        assert expected.loc[metric, "conditional_ci_low"] >= expected.loc[metric, "ci_low"]
    assert expected.loc["AUC", "ci_high"] <= 1.0
    components = result.variance[result.variance["metric"] == "BA"].set_index("component")
    assert set(components.index) == {"replicate", "participant", "interaction", "one_model"}
    parts = components.loc[["replicate", "participant", "interaction"], "estimate"]
    assert components.loc["one_model", "estimate"] == pytest.approx(parts.sum())
    assert components.loc[["replicate", "participant", "interaction"], "fraction"].sum() == pytest.approx(1.0)
    assert components["ci_low"].isna().all()  # intervals of the components are not validated: none printed
    assert any("covered 0.30-0.97" in note for note in result.notes)
    folder = maps / "evaluation" / "test"
    for name in ("procedure_models", "procedure_expected", "procedure_variance"):
        table = read_results_tsv(folder / f"{name}.tsv")
        assert list(table.columns[: len(RESULTS_COLUMNS)]) == list(RESULTS_COLUMNS)
        sidecar = json.loads((folder / f"{name}.json").read_text())
        assert sidecar["options"]["seed"] == 1 and sidecar["design"]["replicates"] == list(range(6))
    for name in ("procedure_models.png", "procedure_variance.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"
    text = format_procedure_summary(result)
    assert "6 replicate(s) x 2 split(s) = 12 trained models" in text and "What may not" in text
    assert "confidence interval for a fixed number" in text and "same development sample" in text
    assert "participant (shared test set)" in text
    # same seed, same numbers
    again = evaluate_procedure(maps, "test", options=FAST, output_dir=tmp_path / "again", plots=False)
    assert np.array_equal(again.expected["ci_low"], result.expected["ci_low"])


def test_only_seeds_varied_says_the_estimate_is_biased(tmp_path):
    maps = write_procedure(tmp_path / "a", n_replicates=5, varied=("init",))
    result = evaluate_procedure(maps, "test", options=FAST, plots=False)
    assert any("FixHOptEst" in note for note in result.notes)
    components = result.variance.query("metric == 'BA'")
    assert set(components["replicate_sources"]) == {"seeds (one data split)"}
    assert "replicate (seeds)" in format_procedure_summary(result)


def test_regression_and_three_replicates(tmp_path):
    maps = write_procedure(tmp_path / "r", n_replicates=4, task="regression")
    options = EvaluationOptions(metrics=("MAE", "RMSE"), n_resamples=200, seed=0)
    expected = evaluate_procedure(maps, "test", options=options, plots=False).expected.set_index("metric")
    for metric in ("MAE", "RMSE"):
        assert expected.loc[metric, "scale"] == "identity" and expected.loc[metric, "estimable"]
        assert expected.loc[metric, "ci_low"] < expected.loc[metric, "estimate"] < expected.loc[metric, "ci_high"]
    assert not expected.loc["MAE", "higher_is_better"]


def test_two_replicates_print_no_interval_and_say_why(tmp_path):
    maps = write_procedure(tmp_path / "two", n_replicates=2)
    result = evaluate_procedure(maps, "test", options=FAST, plots=False)
    row = result.expected.set_index("metric").loc["BA"]
    assert not row["estimable"] and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert "1 degree(s) of freedom" in row["reason"]
    assert row["conditional_ci_low"] < row["estimate"] < row["conditional_ci_high"]
    text = format_procedure_summary(result)
    assert "none (see below)" in text
    assert any("train with --replicates 3" in note for note in result.notes)
    three = evaluate_procedure(write_procedure(tmp_path / "three", n_replicates=3), "test", options=FAST, plots=False)
    assert any("2 degrees of freedom" in note for note in three.notes)


def test_a_single_trained_model_is_refused(tmp_path):
    maps = write_procedure(tmp_path / "one", n_replicates=1)
    with pytest.raises(InputError, match="single trained model"):
        evaluate_procedure(maps, "test", options=FAST)
    out = cli("procedure", maps, "test", "--n_resamples", 100)
    assert out.exit_code == 1 and "single trained model" in out.output


def test_procedure_command(tmp_path):
    maps = write_procedure(tmp_path / "a", n_replicates=4)
    out = cli("procedure", maps, "test", "-m", "BA", "-m", "accuracy", "--n_resamples", 200, "--seed", 3)
    assert out.exit_code == 0, out.output
    assert "Expected performance of the procedure" in out.output and "What may be concluded" in out.output
    assert "procedure_expected.tsv" in out.output
    out = cli("procedure", maps, "heldout")
    assert out.exit_code == 1 and "heldout" in out.output


def test_validation_folds_give_the_corrected_repeated_kfold_interval(tmp_path):
    # 3 repetitions of a 5-fold CV of 40 participants: 32 train / 8 validation per fold (Bouckaert & Frank 2004)
    maps = write_procedure(tmp_path / "cv", n_replicates=3, n_splits=5, group="validation")
    result = evaluate_procedure(maps, "validation", options=FAST)
    row = result.expected.set_index("metric").loc["BA"]
    scores = result.models.loc[result.models["metric"] == "BA", "estimate"].to_numpy()
    j = scores.size
    assert j == 15 and row["method"] == "corrected repeated k-fold t"
    quantile = stats.t.ppf(0.975, j - 1)
    se = np.sqrt((1 / j + 8 / 32) * scores.var(ddof=1))
    assert row["estimate"] == pytest.approx(scores.mean())
    bounds = (scores.mean() - quantile * se, scores.mean() + quantile * se)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(bounds)
    assert row["test_train_ratio"] == pytest.approx(0.25)
    # the naive interval ignores the overlap of training sets: (1/15 + 1/4) / (1/15) = 4.75 times the variance
    naive = row["naive_ci_high"] - row["naive_ci_low"]
    assert (row["ci_high"] - row["ci_low"]) / naive == pytest.approx(np.sqrt(4.75))
    assert any("Bates et al. (2023)" in note for note in result.notes)
    assert any("corrected repeated k-fold" in note for note in result.notes)
    out = cli("procedure", maps, "validation", "--n_resamples", 200, "--metrics", "BA")
    assert out.exit_code == 0, out.output
    assert "corrected repeated k-fold t" in out.output


def test_estimator_and_variance_added_by_hyper_parameter_search(tmp_path):
    varied = ("split", "init", "order", "augmentation", "dropout")
    with_hpo = write_procedure(tmp_path / "hpo", varied=(*varied, "hpo"), model_sd=0.8, n_replicates=8)
    fixed = write_procedure(tmp_path / "fixed", varied=varied, model_sd=0.3, n_replicates=8)
    seeds_only = write_procedure(tmp_path / "init", varied=("init",), n_replicates=3)
    result = evaluate_procedure(with_hpo, "test", options=FAST, hpo_reference=fixed)
    assert result.procedure.varied_sources[-1] == "hpo"
    row = result.variance[(result.variance["component"] == "hpo") & (result.variance["metric"] == "BA")].iloc[0]
    reference = evaluate_procedure(fixed, "test", options=FAST)
    variances = [r.models.loc[r.models["metric"] == "BA", "estimate"].var(ddof=1) for r in (result, reference)]
    assert row["estimate"] == pytest.approx(variances[0] - variances[1])
    assert row["fraction"] == pytest.approx(row["estimate"] / variances[0])
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["estimate"] > 0
    summary = format_procedure_summary(result)
    assert "IdealEst" in summary and "re-optimising the hyper-parameters" in summary
    assert "FixHOptEst(k, All)" in format_procedure_summary(reference)
    assert "FixHOptEst(k, Init)" in format_procedure_summary(evaluate_procedure(seeds_only, "test", options=FAST))
    with pytest.raises(InputError, match="did not vary the hyper-parameters"):
        evaluate_procedure(fixed, "test", options=FAST, hpo_reference=with_hpo)
    with pytest.raises(InputError, match="only 'hpo' may differ"):
        evaluate_procedure(with_hpo, "test", options=FAST, hpo_reference=seeds_only)
