"""No degenerate interval from finite data: the 8-participant perfect classifier (API and command line).

A bootstrap whose resamples all hold the same value gives a zero-width interval ([1, 1]) and se = 0:
that is not a statement of certainty. The library replaces it by the metric's closed form that holds
near the bound (Clopper-Pearson of the effective counts, MOVER for BA, Newcombe 2006 for the AUC), or
reports it "not estimable" with the reason; every row's se is that of the method used.

References: Clopper & Pearson (1934); Zou & Donner (2008); Newcombe (2006).
"""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.evaluate.model import EvaluationOptions, evaluate_model
from clinicadl.stats import METRICS, bootstrap, make_predictions

Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
SCORE = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
WITH_CLOSED_FORM = {"BA", "accuracy", "AUC", "sensitivity", "specificity", "PPV", "NPV"}


def _check_rows(metrics, estimates, lows, highs, ses, methods, notes):
    for name, est, low, high, se, method, note in zip(metrics, estimates, lows, highs, ses, methods, notes):
        if np.isnan(low):  # no interval: it says why
            assert np.isnan(high) and np.isnan(se)
            assert note.startswith("not estimable") or np.isnan(est), (name, note)
            assert name not in WITH_CLOSED_FORM, name
            continue
        assert high - low > 0.05, (name, low, high)  # no zero-width interval
        assert se > 0, (name, se)  # no se = 0
        assert low <= est <= high
        base = name.partition("-")[0]
        if base in WITH_CLOSED_FORM:  # a closed form that holds at the bound, named, with its own se
            assert method in METRICS[base].closed_forms, (name, method)
            assert se == pytest.approx((high - low) / (2 * 1.959963984540054), rel=1e-9)


@pytest.mark.parametrize("method", ["auto", "bca", "percentile", "basic", "analytic"])
@pytest.mark.parametrize("stratify", [False, True])
def test_perfect_classifier_on_8_participants_api(method, stratify):
    p = make_predictions(Y, SCORE)
    results = bootstrap(p, n_resamples=1000, method=method, stratify=stratify, rng=0)
    _check_rows([r.metric for r in results], [r.estimate for r in results],
                [r.confidence_interval.low for r in results], [r.confidence_interval.high for r in results],
                [r.standard_error for r in results], [r.method for r in results], [r.note for r in results])
    by_name = {r.metric: r for r in results}
    assert by_name["accuracy"].estimate == 1.0
    # F1 has no closed form: not estimable, and the reason is given
    assert "not estimable" in by_name["F1_score"].note and "resamples" in by_name["F1_score"].note


def test_perfect_classifier_with_sessions_uses_cluster_adjusted_forms():
    groups = np.repeat(np.arange(4), 2)  # 4 participants, 2 images each
    results = bootstrap(make_predictions(Y, SCORE, groups=groups), metrics=["accuracy", "BA", "AUC"],
                        n_resamples=500, rng=0)
    plain = bootstrap(make_predictions(Y, SCORE), metrics=["accuracy", "BA", "AUC"], n_resamples=500, rng=0)
    for clustered, independent in zip(results, plain):
        assert clustered.method.endswith("-clustered")
        # 4 participants carry less information than 8 independent images: a wider interval
        assert clustered.confidence_interval.low < independent.confidence_interval.low
        assert clustered.standard_error > independent.standard_error > 0


def test_wilson_row_reports_the_wilson_se_not_the_wald_zero():
    (res,) = bootstrap(make_predictions(Y, SCORE), metrics=["accuracy"], method="analytic", n_resamples=100, rng=0)
    assert res.method == "wilson" and res.standard_error > 0
    low, high = res.confidence_interval
    assert res.standard_error == pytest.approx((high - low) / (2 * 1.959963984540054))


@pytest.fixture
def perfect_tsv(tmp_path):
    path = tmp_path / "perfect.tsv"
    pd.DataFrame({
        "participant_id": [f"sub-{i:02d}" for i in range(8)], "session_id": "ses-M000", "image_id": 0,
        "true_label": Y, "predicted_label": (SCORE > 0.5).astype(int), "proba0": 1 - SCORE, "proba1": SCORE,
    }).to_csv(path, sep="\t", index=False)
    return path


def test_perfect_classifier_on_8_participants_evaluate_model(perfect_tsv, tmp_path):
    table = evaluate_model(perfect_tsv, options=EvaluationOptions(n_resamples=1000, seed=3),
                           output=tmp_path / "r.tsv").table
    _check_rows(table["metric"], table["estimate"], table["ci_low"], table["ci_high"], table["se"], table["method"],
                table["note"])


def test_perfect_classifier_on_8_participants_command_line(perfect_tsv, tmp_path):
    out = tmp_path / "cli.tsv"
    result = CliRunner().invoke(cli, ["evaluate", "model", str(perfect_tsv), "--n_resamples", "1000", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "[1.000, 1.000]" not in result.output  # no zero-width interval printed
    assert "not estimable" in result.output  # F1, MCC, ...: said, not hidden
    table = pd.read_csv(out, sep="\t", keep_default_na=True)
    table["note"] = table["note"].fillna("")
    _check_rows(table["metric"], table["estimate"], table["ci_low"], table["ci_high"], table["se"], table["method"],
                table["note"])
    assert not (table["se"] == 0).any()


def test_two_perfect_models_get_no_zero_width_difference():
    """Newcombe's (1998a) paired interval replaces a degenerate bootstrap of a difference of proportions."""
    from clinicadl.stats import newcombe_paired_difference, paired_bootstrap

    a, b = make_predictions(Y, SCORE), make_predictions(Y, 0.05 + 0.9 * SCORE)
    for res in paired_bootstrap(a, b, n_resamples=500, rng=0):
        low, high = res.confidence_interval
        if np.isnan(low):
            assert np.isnan(res.difference) or "not estimable" in res.note
            continue
        assert high - low > 0.1 and res.standard_error > 0, res.metric
    by_name = {r.metric: r for r in paired_bootstrap(a, b, metrics=["accuracy"], n_resamples=500, rng=0)}
    _, low, high = newcombe_paired_difference(8, 0, 0, 0)
    assert tuple(by_name["accuracy"].confidence_interval) == pytest.approx((low, high))
    assert by_name["accuracy"].method == "newcombe-paired"
