"""``method="auto"``: the interval method that covered best in our own simulation study.

The study (``scripts/coverage_study.py``, results in ``docs/coverage.md``) measures, for each metric,
number of participants and data layout (one image per participant or several), the coverage of
the 95 % intervals of every method on data with a known truth. Its output,
``coverage_table.json`` beside this module, is read here: for a metric and a sample size, the
method whose coverage is closest to the nominal level (ties broken towards the higher coverage)
wins. Nothing is hand-tuned.

Near the bound of a metric and at small n the table's ``near_bound`` section takes over: the study's
second part (n = 10 to 500 participants, true values up to 0.99 and AUC up to 0.9995, balanced and
unbalanced classes, one to four images per participant) found which closed form keeps its coverage
there for each metric (a Clopper-Pearson interval of the effective counts for proportions, a MOVER
interval for the balanced accuracy, Newcombe's score interval for the AUC), while the bootstrap
intervals fall far short of 95 %. ``auto`` takes that closed form when the number of participants is
at most ``max_n``, or when the estimate is close to the bound: ``n min(estimate, 1 - estimate)``,
the number of participants "on the short side", is below ``min_distance``.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("coverage_table.json")


@cache
def coverage_table() -> dict:
    """The study's table: ``{"settings": {...}, "cells": [{"metric", "n", "clustered", "coverage": {...}}]}``."""
    return json.loads(TABLE.read_text())


def _score(coverage: float, nominal: float) -> tuple[float, float]:
    return (abs(coverage - nominal), -coverage)


def near_bound_form(metric: str) -> str | None:
    """The closed form the study found to hold near the bound of ``metric`` (None: the study has none)."""
    rule = coverage_table().get("near_bound")
    return None if rule is None else rule["methods"].get(metric)


def near_bound_method(metric: str, n_units: int, estimate: float | None) -> str | None:
    """The closed form ``auto`` takes for ``metric`` at this n and estimate, or None (the bootstrap table decides).

    Parameters
    ----------
    metric : str
        Registry name without class suffix.
    n_units : int
        Number of participants.
    estimate : float or None
        The metric's point estimate (None or NaN: no near-bound rule applies).

    Returns
    -------
    str or None
        A name of :data:`clinicadl.stats.analytic.CLOSED_FORMS` when ``n_units <= max_n`` or
        ``n_units * min(estimate, 1 - estimate) < min_distance`` (the table's ``near_bound`` rule).
    """
    rule = coverage_table().get("near_bound")
    if rule is None or metric not in rule["methods"] or estimate is None or not math.isfinite(estimate):
        return None
    distance = n_units * min(estimate, 1.0 - estimate)
    if n_units <= rule["max_n"] or distance < rule["min_distance"]:
        return rule["methods"][metric]
    return None


def choose_method(
    metric: str, n_units: int, *, clustered: bool, analytic_available: bool, estimate: float | None = None
) -> str:
    """Method for ``metric`` with ``n_units`` resampling units, from the coverage study.

    Parameters
    ----------
    metric : str
        Registry name without class suffix (``"AUC"``, ``"sensitivity"``, ...).
    n_units : int
        Number of participants (or of images when images are the unit).
    clustered : bool
        Whether participants have several images.
    analytic_available : bool
        Whether a closed-form interval applies here (independent rows and one exists).
    estimate : float, optional
        The metric's estimate: at small n or near the bound, a closed form that holds there is
        returned (:func:`near_bound_method`).

    Returns
    -------
    str
        ``"percentile"``, ``"basic"``, ``"bca"``, ``"analytic"`` or, near the bound, the name of a
        closed form (``"clopper-pearson"``, ``"mover-wilson"``, ``"newcombe"``, ...). Metrics or
        layouts absent from the study get the method that was best on average over the study (the
        table's ``fallback``).
    """
    near = near_bound_method(metric, n_units, estimate)
    if near is not None:
        return near
    table = coverage_table()
    nominal = table["settings"]["confidence_level"]
    cells = [c for c in table["cells"] if c["metric"] == metric and c["clustered"] == clustered]
    if not cells:
        return table["fallback"]
    cell = min(cells, key=lambda c: (abs(c["n"] - n_units) / c["n"], c["n"]))
    candidates = {m: v for m, v in cell["coverage"].items() if m != "analytic" or analytic_available}
    return min(candidates, key=lambda m: _score(candidates[m], nominal))
