"""Interval of the expected performance of a learning procedure on the crossed design.

R trained models of a procedure (replicates, with their data splits) are all scored on the same n test
participants. The target is the **expected performance** of the procedure: the mean of its metric over
replicates (new splits of the development sample and new seeds) and over test sets of this size drawn from the
participant population. Its estimate is the mean over the R models; its variance has a replicate part (R - 1
degrees of freedom) and a participant part (test-set sampling shared by all models, plus the interaction
divided by R; Satterthwaite degrees of freedom over the class strata, each corrected for the kurtosis of its
participant means), estimated without bias by :mod:`clinicadl.stats.crossed_design`.

The interval is built on a scale where the metric is not bounded (logit for metrics in [0, 1], Fisher's z for
metrics in [-1, 1]) because near its bound the mean of R models is skewed and its standard error shrinks with
it, and each part gets its own Student multiplier::

    g(est) +- g'(est) sqrt(t^2_{R-1} V_replicate + t^2_{df_p} V_participant)

(a component-wise form of Satterthwaite's approximation that stays valid when one part has very few degrees of
freedom; Satterthwaite 1946; Welch 1947). With fewer than three replicates the replicate variance has at most
one degree of freedom and no useful interval exists: the result says so and gives only the interval conditional
on these trained models (test-set sampling only). The comparison of two procedures is in
:mod:`clinicadl.stats.crossed_comparison`.

References
----------
Satterthwaite F. E. (1946). An approximate distribution of estimates of variance components. Biometrics
Bulletin 2(6), 110-114.
Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, chapter 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from clinicadl.errors import InputError
from clinicadl.stats.crossed_design import CrossedComponents, CrossedValues, crossed_components, crossed_values
from clinicadl.stats.metrics import metric_bounds as registry_bounds
from clinicadl.stats.results import ConfidenceInterval

METHOD = "crossed-design variance components, logit-scale interval with per-component t"
CONDITIONAL_METHOD = "test-set sampling only (conditional on these trained models)"
MIN_REPLICATES = 3
"""Fewest replicates for which an interval of the expected performance is printed."""

TOO_FEW_REPLICATES = (
    "no interval of the expected performance: with {r} replicate(s) the variance between replicates has {df} "
    "degree(s) of freedom, too few for an interval that covers at the requested level; train with --replicates 3 "
    "or more (10 for a width near the ideal). The conditional interval covers test-set sampling only: it is about "
    "these trained models, not about the procedure."
)


MIN_PARTICIPANTS = 10
"""Fewest participants a metric must rest on (those of the classes it depends on) for an interval to be printed."""

TOO_FEW_PARTICIPANTS = (
    "no interval of the expected performance: {metric} rests on {m} test participants (the class(es) it depends "
    "on), fewer than 10; with so few, the test-set part of the interval does not keep its coverage (validation: "
    "sensitivity on 8 positives covered 0.915). Test on more participants; the conditional interval is given."
)


def informative_participants(values: CrossedValues) -> int:
    """Participants of the classes on which the metric depends (whose pseudo-values vary): sensitivity rests on
    the positives only, BA and the AUC on both classes. 0 when no class varies (every model at the bound)."""
    total = 0
    for code in np.unique(values.strata):
        block = values.pseudo[:, values.strata == code]
        if np.ptp(block, axis=1).max() > 1e-12:
            total += block.shape[1]
    return total


def metric_bounds(metric: str) -> tuple[float, float] | None:
    """Range of a metric from the registry (None when unbounded or unknown): drives the scale of the interval."""
    return registry_bounds(metric, per_image=False)


@dataclass(frozen=True)
class ExpectedPerformance:
    """Expected performance of a learning procedure with its interval and variance components.

    Attributes
    ----------
    metric : str
    estimate : float
        Mean of the metric over the R models (the expected performance's unbiased estimate).
    confidence_interval : ConfidenceInterval
        Interval of the expected performance (NaN bounds when ``estimable`` is False).
    standard_error : float
        ``sqrt(components.variance_of_mean)`` on the metric's scale.
    method : str
    components : CrossedComponents
        Replicate, participant and interaction variances (metric scale, this test size).
    conditional_interval : ConfidenceInterval
        Interval for the mean over these R trained models in the participant population (test-set sampling
        only): valid whatever R, but not an interval of the procedure.
    estimable : bool
        False when no interval of the expected performance is printed; ``reason`` says why.
    reason : str
    confidence_level : float
    n_replicates, n_participants : int
    scale : str
        ``"logit"``, ``"fisher-z"`` or ``"identity"``.
    """

    metric: str
    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    method: str
    components: CrossedComponents
    conditional_interval: ConfidenceInterval
    estimable: bool
    reason: str
    confidence_level: float
    n_replicates: int
    n_participants: int
    scale: str


@dataclass(frozen=True)
class Scale:
    """A scale on which a bounded metric is unbounded: ``g``, its inverse and its first two derivatives."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    second_derivative: Callable[[np.ndarray], np.ndarray]


SCALES: dict[str, Scale] = {
    "logit": Scale("logit", special.logit, special.expit, lambda x: 1.0 / (x * (1.0 - x)),
                   lambda x: (2.0 * x - 1.0) / (x * (1.0 - x)) ** 2),
    "fisher-z": Scale("fisher-z", np.arctanh, np.tanh, lambda x: 1.0 / (1.0 - x * x),
                      lambda x: 2.0 * x / (1.0 - x * x) ** 2),
    "identity": Scale("identity", lambda x: x, lambda z: z, np.ones_like, np.zeros_like),
}
"""Scale of a metric by its range: logit on [0, 1], Fisher's z on [-1, 1], none when unbounded."""


def _scale(bounds: tuple[float, float] | None) -> str:
    return {(0.0, 1.0): "logit", (-1.0, 1.0): "fisher-z"}.get(bounds, "identity")


def transformed_interval(estimate, replicate_part, participant_part, df_replicate, df_participant,
                         confidence_level: float, scale: str):
    """Interval ``g(est) +- g'(est) sqrt(t^2_R V_R + t^2_p V_p)`` back on the metric's scale (vectorised).

    The centre is corrected for the bias of ``g(mean)`` (``g''(est) V / 2``, the second-order delta method):
    near the bound, the logit of a mean is biased upwards by about a quarter of its standard error.
    An estimate on the bound of the scale (a mean of perfect models) has no finite transform: NaN bounds.
    """
    q = 0.5 + confidence_level / 2
    estimate = np.asarray(estimate, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        # t quantiles as scipy.stats.t.ppf computes them (stdtrit), without importing scipy.stats
        t_r = np.where(df_replicate > 0, special.stdtrit(np.maximum(df_replicate, 1), q), 0.0)
        t_p = special.stdtrit(np.maximum(df_participant, 1), q)
        g = SCALES[scale]
        half = np.sqrt(t_r**2 * replicate_part + t_p**2 * participant_part) * g.derivative(estimate)
        # second-order delta method: E g(mean) ~ g(E mean) + g''/2 Var(mean); remove that bias of the centre
        variance = np.asarray(replicate_part) + np.asarray(participant_part)
        centre = g.forward(estimate) - 0.5 * g.second_derivative(estimate) * variance
        low, high = g.inverse(centre - half), g.inverse(centre + half)
    inside = np.isfinite(centre) & np.isfinite(half)
    return np.where(inside, low, np.nan), np.where(inside, high, np.nan)


def _at_bound(estimate: float, bounds: tuple[float, float], values: CrossedValues, confidence_level: float
              ) -> ConfidenceInterval:
    """One-sided interval when every model is at the bound: no variance is observable, so the participant
    count of the smallest class gives a Clopper-Pearson bound (zero failures in ``m`` trials; Clopper &
    Pearson 1934), mapped onto the metric's range."""
    m = int(np.bincount(values.strata).min())
    reach = (0.5 - confidence_level / 2) ** (1.0 / m)  # lower bound of a proportion with m successes out of m
    low, high = bounds
    if estimate == high:
        return ConfidenceInterval(float(low + (high - low) * reach), float(high))
    return ConfidenceInterval(float(low), float(high - (high - low) * reach))


def check_crossed_options(confidence_level, n_resamples) -> None:
    """Raise InputError unless ``0 < confidence_level < 1`` and ``n_resamples`` is an integer >= 2."""
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}.")
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 2:
        raise InputError(f"n_resamples must be an integer >= 2, got {n_resamples!r}.")


def interval_from_values(values: CrossedValues, *, confidence_level: float = 0.95,
                         bounds: tuple[float, float] | None = None) -> ExpectedPerformance:
    """:func:`expected_performance` from precomputed :class:`CrossedValues`."""
    sizes = np.unique(values.strata, return_counts=True)[1]
    if np.any(sizes < 2):
        raise InputError("every class needs at least two test participants for the crossed-design variance; found "
                         f"class sizes {sizes.tolist()}.")
    if not np.all(np.isfinite(values.values)) or not np.all(np.isfinite(values.pseudo)):
        raise InputError(f"{values.metric} is undefined for some model or when some participant is left out "
                         "(e.g. a class with one participant, no positive prediction): no crossed-design interval.")
    comp = crossed_components(values)
    bounds = bounds if bounds is not None else metric_bounds(values.metric)
    scale = _scale(bounds)
    estimate = float(values.values.mean())
    r = values.n_models
    c_low, c_high = transformed_interval(estimate, 0.0, comp.participant_part, 0.0, comp.df_participant,
                                         confidence_level, scale)
    conditional = ConfidenceInterval(float(c_low), float(c_high))
    informative = informative_participants(values)
    if r < MIN_REPLICATES:
        interval, estimable = ConfidenceInterval(np.nan, np.nan), False
        reason = TOO_FEW_REPLICATES.format(r=r, df=max(r - 1, 0))
    elif 0 < informative < MIN_PARTICIPANTS:
        interval, estimable = ConfidenceInterval(np.nan, np.nan), False
        reason = TOO_FEW_PARTICIPANTS.format(metric=values.metric, m=informative)
    else:
        low, high = transformed_interval(estimate, comp.replicate_part, comp.participant_part, comp.df_replicate,
                                         comp.df_participant, confidence_level, scale)
        interval, estimable, reason = ConfidenceInterval(float(low), float(high)), True, ""
        if not np.isfinite(low) and bounds is not None and estimate in bounds:
            interval = _at_bound(estimate, bounds, values, confidence_level)
            reason = (f"every model reaches the bound of {values.metric} ({estimate:g}): Clopper-Pearson bound "
                      "on the participants of the smallest class, as if no participant could fail.")
    return ExpectedPerformance(
        metric=values.metric, estimate=estimate, confidence_interval=interval,
        standard_error=float(np.sqrt(max(comp.variance_of_mean, 0.0))), method=METHOD if r > 1 else CONDITIONAL_METHOD,
        components=comp, conditional_interval=conditional, estimable=estimable, reason=reason,
        confidence_level=float(confidence_level), n_replicates=r, n_participants=values.n_participants, scale=scale,
    )


def expected_performance(
    y_true,
    y_score,
    *,
    metric: str,
    groups=None,
    pos_label: int = 1,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    rng=None,
    replicates=None,
    bounds: tuple[float, float] | None = None,
) -> ExpectedPerformance:
    """Interval of the expected performance of a learning procedure from R models on one shared test set.

    Parameters
    ----------
    y_true : array_like of shape (n,) or None
        True class codes (integers), true values (regression) or None (per-image values: Dice, SSIM, ...).
    y_score : array_like of shape (R, n) or (R, n, K)
        One row per trained model: probabilities of ``pos_label`` (binary), class probabilities (R, n, K),
        predicted values or per-image values.
    metric : str
        A name of :data:`clinicadl.stats.METRICS`: ``"BA"``, ``"AUC"``, ``"sensitivity"``, ``"accuracy"``,
        ``"MAE"``, ``"mean"`` (of per-image values), ...
    groups : array_like of shape (n,), optional
        Participant of each row: all sessions of a participant are resampled together.
    pos_label : int, default 1
    n_resamples : int, default 2000
        Not used by the interval (closed form); kept for API symmetry with
        :func:`compare_expected_performance`, whose ``P(A>B)`` interval is a bootstrap.
    confidence_level : float, default 0.95
    rng : int, numpy.random.Generator or None
        Unused (the interval is deterministic); accepted for API symmetry.
    replicates : array_like of shape (R,), optional
        Replicate of each model row; models of one replicate (its splits) are averaged first.
    bounds : (float, float), optional
        Range of the metric (default from the registry; pass ``(0, 1)`` for a Dice given as per-image values).

    Returns
    -------
    ExpectedPerformance
        ``estimate``, ``confidence_interval``, ``method``, ``components`` (replicate, participant,
        interaction), ``conditional_interval``, ``estimable`` and ``reason``.

    Notes
    -----
    The interval is a confidence interval for a fixed number, the expected performance of the procedure
    *conditional on the development data set*: replicates re-split and re-seed the same development sample, so
    the interval does not cover what another cohort, scanner or development sample would give. Validated by
    simulation on the crossed design with replicate, participant and interaction effects, unequal classes and
    several sessions per participant (docs/validation.md, section "Crossed design").

    References
    ----------
    Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components, chapter 4.
    Satterthwaite F. E. (1946). Biometrics Bulletin 2(6), 110-114.
    Bouthillier X. et al. (2021). MLSys 3.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats import expected_performance
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 40)
    >>> margin = (2 * y - 1) + rng.normal(0, 0.8, 80) + rng.normal(0, 0.3, (10, 1)) + rng.normal(0, 0.5, (10, 80))
    >>> res = expected_performance(y, 1 / (1 + np.exp(-margin)), metric="BA")
    >>> round(res.estimate, 3), res.estimable
    (0.877, True)
    >>> res.confidence_interval.low < res.estimate < res.confidence_interval.high
    True
    """
    check_crossed_options(confidence_level, n_resamples)
    values = crossed_values(y_true, y_score, metric=metric, groups=groups, pos_label=pos_label,
                            replicates=replicates)
    return interval_from_values(values, confidence_level=confidence_level, bounds=bounds)
