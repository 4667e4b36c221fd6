"""Frozen result objects shared by every statistical procedure of :mod:`clinicadl.stats`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided confidence interval.

    Attributes
    ----------
    low, high : float
        Lower and upper bounds (NaN when the interval is undefined).
    """

    low: float
    high: float

    def __iter__(self):
        yield self.low
        yield self.high


@dataclass(frozen=True)
class IntervalResult:
    """A point estimate with an analytic (closed-form) confidence interval.

    Attributes
    ----------
    estimate : float
        The point estimate.
    confidence_interval : ConfidenceInterval
        The interval at ``confidence_level``.
    standard_error : float
        Standard error of the estimate (NaN where the method defines none).
    method : str
        Name of the interval method (``"wilson"``, ``"delong"``, ``"t"``, ...).
    confidence_level : float
        Nominal coverage of the interval.
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    method: str
    confidence_level: float


@dataclass(frozen=True)
class BootstrapResult:
    """Result of a bootstrap of one metric.

    Attributes
    ----------
    metric : str
        Metric name (see :data:`clinicadl.stats.METRICS`).
    estimate : float
        The metric on the original data.
    confidence_interval : ConfidenceInterval
        The interval at ``confidence_level`` computed with ``method``.
    standard_error : float
        Standard error of the method used: the standard deviation of the valid bootstrap replicates
        (ddof=1) for a bootstrap interval, the closed form's own (DeLong, t) or implied one
        (``(high - low) / (2 z)``: Wilson, Clopper-Pearson, Jeffreys, MOVER, Newcombe) otherwise.
    bootstrap_distribution : numpy.ndarray
        The ``n_resamples`` replicates, NaN where the metric was undefined on a resample.
    method : str
        Interval method actually used (``"percentile"``, ``"basic"``, ``"bca"``, or an analytic one).
    confidence_level : float
        Nominal coverage.
    n_resamples : int
        Number of resamples drawn.
    n_dropped : int
        Resamples on which the metric was undefined (excluded from the interval).
    drop_reason : str
        Why they were dropped (empty when none were).
    unit : str
        Resampling unit: ``"participant"`` (cluster bootstrap) or ``"image"``.
    n_units, n_rows : int
        Number of resampling units (participants) and of rows (images).
    seed : int or None
        Entropy of the random generator, to reproduce the result exactly.
    note : str
        Why the interval is not the one asked for: a degenerate bootstrap replaced by a closed form,
        or "not estimable" with the reason (the interval is then NaN). Empty otherwise.
    """

    metric: str
    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    bootstrap_distribution: np.ndarray = field(repr=False)
    method: str
    confidence_level: float
    n_resamples: int
    n_dropped: int
    drop_reason: str
    unit: str
    n_units: int
    n_rows: int
    seed: int | None
    note: str = ""


@dataclass(frozen=True)
class TestResult:
    """Result of a hypothesis test.

    Attributes
    ----------
    statistic : float
        The test statistic (its meaning is given by ``method``).
    pvalue : float
        Two-sided p-value unless ``alternative`` says otherwise.
    method : str
        Name of the test (``"mcnemar-exact"``, ``"delong"``, ``"permutation"``, ...).
    alternative : str
        ``"two-sided"``, ``"less"`` or ``"greater"``.
    """

    __test__ = False  # not a pytest test class

    statistic: float
    pvalue: float
    method: str
    alternative: str = "two-sided"
