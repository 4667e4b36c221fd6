"""``method="auto"``: the interval method that covered best in our own simulation study.

The study (``scripts/coverage_study.py``, results in ``docs/coverage.md``) measures, for each metric,
number of participants and data layout (one image per participant or several), the coverage of
the 95 % intervals of every method on data with a known truth. Its output,
``coverage_table.json`` beside this module, is read here: for a metric and a sample size, the
method whose coverage is closest to the nominal level (ties broken towards the higher coverage)
wins. Nothing is hand-tuned.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("coverage_table.json")


@cache
def coverage_table() -> dict:
    """The study's table: ``{"settings": {...}, "cells": [{"metric", "n", "clustered", "coverage": {...}}]}``."""
    return json.loads(TABLE.read_text())


def _score(coverage: float, nominal: float) -> tuple[float, float]:
    return (abs(coverage - nominal), -coverage)


def choose_method(metric: str, n_units: int, *, clustered: bool, analytic_available: bool) -> str:
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

    Returns
    -------
    str
        ``"percentile"``, ``"basic"``, ``"bca"`` or ``"analytic"``. Metrics or layouts absent from
        the study get the method that was best on average over the study (the table's ``fallback``).
    """
    table = coverage_table()
    nominal = table["settings"]["confidence_level"]
    cells = [c for c in table["cells"] if c["metric"] == metric and c["clustered"] == clustered]
    if not cells:
        return table["fallback"]
    cell = min(cells, key=lambda c: (abs(c["n"] - n_units) / c["n"], c["n"]))
    candidates = {m: v for m, v in cell["coverage"].items() if m != "analytic" or analytic_available}
    return min(candidates, key=lambda m: _score(candidates[m], nominal))
