"""Adding a metric is one registry entry: a toy metric registered once is seen by ``evaluate model``,
``evaluate procedure``, ``evaluate compare``, the report and the simulation harness."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate.test_procedure_maps import write_procedure

from clinicadl.errors import InputError
from clinicadl.evaluate.compare_procedures import CompareOptions, compare_procedures
from clinicadl.evaluate.model import EvaluationOptions, evaluate_model
from clinicadl.evaluate.procedure import evaluate_procedure
from clinicadl.evaluate.report import collect_report, latex_table, methods_paragraph
from clinicadl.stats import IntervalOutcome, Metric, Procedure, bootstrap, make_predictions, register_metric, simulate
from clinicadl.stats.metrics import (
    METRICS,
    accuracy,
    available_metrics,
    display_name,
    higher_is_better,
    unregister_metric,
)

TOY = "toy_error"


def _error_rate(confusion, k):
    return 1 - accuracy(confusion, k)


@pytest.fixture
def toy_metric():
    """``toy_error`` = 1 - accuracy: lower is better, in [0, 1], a headline metric with its own display name."""
    entry = Metric(TOY, ("binary", "multiclass"), "confusion", _error_rate, False, "no image", bounds=(0.0, 1.0),
                   higher_is_better=False, display="toy error rate", headline=True)
    register_metric(entry)
    try:
        yield entry
    finally:
        unregister_metric(TOY)


def test_the_registry_answers_for_the_toy_metric(toy_metric):
    assert METRICS[TOY] is toy_metric and not higher_is_better(TOY) and display_name(TOY) == "toy error rate"
    predictions = make_predictions(np.array([0, 1, 0, 1]), np.array([0.9, 0.8, 0.3, 0.2]), task="binary")
    assert TOY in available_metrics(predictions)
    with pytest.raises(InputError, match="already registered"):
        register_metric(toy_metric)


def test_unregistered_toy_metric_is_unknown():
    predictions = make_predictions(np.array([0, 1, 0, 1]), np.array([0.9, 0.8, 0.3, 0.2]), task="binary")
    assert TOY not in available_metrics(predictions) and higher_is_better(TOY)


def test_evaluate_model_sees_the_toy_metric(toy_metric, example_tsv, tmp_path):
    options = EvaluationOptions(metrics=(TOY, "accuracy"), n_resamples=200)
    table = evaluate_model(example_tsv, options=options, output=tmp_path / "ci.tsv").table.set_index("metric")
    assert table.loc[TOY, "estimate"] == pytest.approx(1 - table.loc["accuracy", "estimate"])
    assert table.loc[TOY, "ci_low"] <= table.loc[TOY, "estimate"] <= table.loc[TOY, "ci_high"]


def test_procedure_compare_and_report_see_the_toy_metric(toy_metric, tmp_path):
    a = write_procedure(tmp_path / "a", n_replicates=3, skill=1.0, salt=1)
    b = write_procedure(tmp_path / "b", n_replicates=3, skill=0.3, salt=2)
    options = EvaluationOptions(metrics=(TOY, "BA"), n_resamples=200)
    result = evaluate_procedure(a, "test", options=options, plots=False)
    expected = result.expected.set_index("metric")
    assert not expected.loc[TOY, "higher_is_better"] and expected.loc["BA", "higher_is_better"]
    assert expected.loc[TOY, "scale"] == "logit"  # its range (0, 1) from the registry
    compared = compare_procedures([a, b], "test", options=CompareOptions(metrics=(TOY,), n_resamples=200),
                                  plots=False)
    probability = compared.tests[compared.tests["test"] == "P(A>B)"].iloc[0]
    assert not probability["higher_is_better"] and probability["estimate"] > 0.5  # fewer errors: A is better
    report = collect_report([a], "test", compute=False)
    assert "toy error rate" in methods_paragraph(report)  # display name, headline metric
    assert "toy\\_error" in latex_table(report)


class _Coins:
    """Binary predictions whose toy error rate is known: each prediction is wrong with probability 0.2."""

    key, truth, description = "toy-error(n=80,p=0.2)", {TOY: 0.2}, "toy metric scenario"

    def draw(self, rng, n_sim):
        y = rng.integers(0, 2, size=(n_sim, 80))
        wrong = rng.random((n_sim, 80)) < 0.2
        return {"y": y, "pred": np.where(wrong, 1 - y, y)}


def _toy_interval(batch, rng):
    outs = []
    for y, pred in zip(batch["y"], batch["pred"]):
        scores = np.where(pred == 1, 0.9, 0.1)
        res = bootstrap(make_predictions(y, scores, task="binary"), metrics=[TOY], n_resamples=200,
                        method="percentile", rng=rng)[0]
        outs.append((res.estimate, res.confidence_interval.low, res.confidence_interval.high))
    estimate, low, high = map(np.array, zip(*outs))
    return IntervalOutcome(estimate, low, high)


def test_simulation_harness_sees_the_toy_metric(toy_metric):
    (result,) = simulate(_Coins(), [Procedure("toy-percentile", "interval", TOY, _toy_interval)], n_sim=40,
                         chunk_size=40, seed=0)
    assert result.n_undefined == 0 and result.truth == 0.2
    assert 0.75 <= result.rate <= 1.0  # coverage of a 95 % interval, within Monte-Carlo error for 40 data sets
