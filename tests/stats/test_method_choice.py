"""``method="auto"``: choose_method follows the coverage study's table, and the table is consistent.

The table (``clinicadl/stats/coverage_table.json``) is written by ``scripts/coverage_study.py``;
``docs/coverage.md`` reports it.
"""

import math

import pytest

from clinicadl.stats import METRICS, bootstrap, make_predictions, method_choice
from clinicadl.stats.method_choice import choose_method, coverage_table

BOOTSTRAP = ("percentile", "basic", "bca")
ALL_METHODS = (*BOOTSTRAP, "analytic")
TABLE = coverage_table()
CELLS = TABLE["cells"]


def _closest(coverage: dict[str, float], nominal: float) -> str:
    return min(coverage, key=lambda m: (abs(coverage[m] - nominal), -coverage[m]))


def _cell_id(cell):
    return f"{cell['metric']}-n{cell['n']}-{'clustered' if cell['clustered'] else 'independent'}"


# ---------------------------------------------------------------------------------------------
# The table file


def test_table_settings_and_fallback():
    settings = TABLE["settings"]
    assert settings["confidence_level"] == 0.95
    assert "provisional" not in settings
    assert isinstance(settings["n_reps"], int) and settings["n_reps"] >= 500
    assert isinstance(settings["root_seed"], int) and settings["n_resamples"] >= 1000
    assert TABLE["fallback"] in BOOTSTRAP
    # the fallback is the method with the best average |coverage - nominal| over all cells (among the methods
    # that apply to every cell: analytic intervals do not exist for every metric and layout)
    error = {m: sum(abs(c["coverage"][m] - 0.95) for c in CELLS) / len(CELLS) for m in BOOTSTRAP}
    assert TABLE["fallback"] == min(error, key=error.get)


def test_table_covers_the_study_design_once():
    keys = [(c["metric"], c["n"], c["clustered"]) for c in CELLS]
    assert len(keys) == len(set(keys)), "duplicate cells make choose_method ambiguous"
    metrics = {"AUC", "BA", "accuracy", "sensitivity", "specificity", "PPV", "F1_score", "MAE", "mean", "median"}
    assert {c["metric"] for c in CELLS} == metrics
    for metric in metrics:
        for clustered in (False, True):
            assert {n for m, n, c in keys if m == metric and c == clustered} == {30, 50, 100, 200, 500}


@pytest.mark.parametrize("cell", CELLS, ids=_cell_id)
def test_every_cell_is_complete_and_valid(cell):
    assert cell["metric"] in METRICS
    analytic = not cell["clustered"] and METRICS[cell["metric"]].analytic is not None
    expected = set(BOOTSTRAP) | ({"analytic"} if analytic else set())
    assert set(cell["coverage"]) == expected  # every method that applies, and only those
    r = cell["n_reps"]
    assert isinstance(r, int) and r == TABLE["settings"]["n_reps"]
    for method, value in cell["coverage"].items():
        assert 0.0 <= value <= 1.0
        assert value * r == pytest.approx(round(value * r), abs=0.01)  # a proportion of r replications
        assert cell["mc_se"][method] == pytest.approx(math.sqrt(value * (1 - value) / r), abs=1e-4)
        assert cell["width"][method] > 0
        misses = cell["miss_low"][method] + cell["miss_high"][method] + cell["undefined"][method]
        assert misses == pytest.approx((1 - value) * r, abs=0.01)
    assert cell["chosen"] == _closest(cell["coverage"], 0.95)


# ---------------------------------------------------------------------------------------------
# choose_method against the table


@pytest.mark.parametrize("cell", CELLS, ids=_cell_id)
def test_choose_method_returns_the_method_closest_to_nominal(cell):
    coverage = cell["coverage"]
    chosen = choose_method(cell["metric"], cell["n"], clustered=cell["clustered"], analytic_available=True)
    assert chosen == _closest(coverage, 0.95)
    assert abs(coverage[chosen] - 0.95) == min(abs(v - 0.95) for v in coverage.values())
    without = choose_method(cell["metric"], cell["n"], clustered=cell["clustered"], analytic_available=False)
    assert without == _closest({m: v for m, v in coverage.items() if m != "analytic"}, 0.95)


@pytest.mark.parametrize("metric", sorted({c["metric"] for c in CELLS}))
@pytest.mark.parametrize("clustered", [False, True])
def test_analytic_is_never_returned_when_unavailable(metric, clustered):
    for n in (2, 10, 29, 30, 31, 40, 75, 150, 350, 1000, 100_000):
        assert choose_method(metric, n, clustered=clustered, analytic_available=False) in BOOTSTRAP
        assert choose_method(metric, n, clustered=clustered, analytic_available=True) in ALL_METHODS
    if clustered:  # no analytic interval is studied (nor offered) for clustered data
        assert choose_method(metric, 100, clustered=True, analytic_available=True) in BOOTSTRAP


@pytest.mark.parametrize("metric", ["MCC", "NPV", "LR_plus", "RMSE", "r", "no-such-metric"])
def test_metric_outside_the_study_gets_the_fallback(metric):
    for clustered in (False, True):
        for analytic in (False, True):
            assert choose_method(metric, 100, clustered=clustered, analytic_available=analytic) == TABLE["fallback"]


def test_nearest_sample_size_and_tie_rule(monkeypatch):
    """The cell of the nearest n (relative distance) is used; equal distances to nominal go to the higher coverage.

    A nominal level of 0.5 makes the distances exact in binary floating point, so that the tie is a real tie.
    """
    table = {
        "settings": {"confidence_level": 0.5},
        "fallback": "percentile",
        "cells": [
            {"metric": "AUC", "n": 50, "clustered": False, "coverage": {"basic": 0.25, "bca": 0.75, "analytic": 0.5}},
            {"metric": "AUC", "n": 500, "clustered": False, "coverage": {"basic": 0.5, "bca": 0.625}},
        ],
    }
    monkeypatch.setattr(method_choice, "coverage_table", lambda: table)
    assert choose_method("AUC", 50, clustered=False, analytic_available=True) == "analytic"
    assert choose_method("AUC", 50, clustered=False, analytic_available=False) == "bca"  # tie: higher coverage
    assert choose_method("AUC", 80, clustered=False, analytic_available=False) == "bca"  # 30/50 < 420/500
    assert choose_method("AUC", 150, clustered=False, analytic_available=False) == "basic"  # 100/50 > 350/500
    assert choose_method("AUC", 300, clustered=True, analytic_available=True) == "percentile"  # no such layout


def test_bootstrap_auto_reports_the_chosen_method():
    """End to end: bootstrap(method="auto") uses and names, per metric, what the table prescribes."""
    y = [0, 1] * 25
    score = [0.2 + 0.6 * (i % 2) + 0.003 * i for i in range(50)]
    p = make_predictions(y, [min(s, 0.99) for s in score])
    for res in bootstrap(p, metrics=["AUC", "BA", "sensitivity"], n_resamples=200, rng=0):
        expected = choose_method(res.metric, 50, clustered=False,
                                 analytic_available=METRICS[res.metric].analytic is not None, estimate=res.estimate)
        if res.note:  # a degenerate interval (these scores separate the classes) replaced by a closed form
            assert "not usable" in res.note and res.method in METRICS[res.metric].closed_forms
        elif expected == "analytic":
            assert res.method not in BOOTSTRAP  # the closed form's own name: delong, wilson, ...
        else:
            assert res.method == expected


# ---------------------------------------------------------------------------------------------
# The near-bound rule (part 2 of the study: small n, values up to 0.99, AUC up to 0.9995)

NEAR = TABLE["near_bound"]


def test_near_bound_section_is_complete_and_auto_passes_in_every_cell():
    from clinicadl.stats.method_choice import near_bound_method

    assert NEAR["max_n"] >= 30  # at n <= 30 the closed forms, never shorter than Wilson for a proportion
    assert set(NEAR["methods"]) == {"accuracy", "BA", "sensitivity", "specificity", "PPV", "NPV", "AUC"}
    for metric, form in NEAR["methods"].items():
        assert form in METRICS[metric].closed_forms
    settings = NEAR["settings"]
    assert settings["n_reps"] >= 1000 and set(settings["sizes"]) >= {10, 20, 30, 50, 100, 200, 500}
    assert max(settings["levels"]) >= 0.99 and set(settings["prevalences"]) >= {0.5, 0.3}
    assert settings["library_checked_pairs"] > 100  # bootstrap(method="auto") equals the study's emulation
    expected_cells = len(settings["sizes"]) * len(settings["levels"]) * len(settings["prevalences"]) * 2 * 7
    assert len(NEAR["cells"]) == expected_cells
    for cell in NEAR["cells"]:
        auto = cell["auto"]
        if auto["printed"]:
            assert auto["coverage"] >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / auto["printed"]), cell
        assert cell.get("auto_shorter_than_wilson", 0) == 0
    # the rule as the library applies it
    assert near_bound_method("accuracy", 10, 0.5) == NEAR["methods"]["accuracy"]
    assert near_bound_method("AUC", NEAR["max_n"] + 1, 1.0) == "newcombe"  # at the bound whatever n
    assert near_bound_method("AUC", 10, None) is None and near_bound_method("F1_score", 10, 1.0) is None
    assert near_bound_method("BA", 10_000, 0.5) is None  # far from the bound: the bootstrap table decides
