"""Bootstrap confidence intervals of evaluation metrics, at the participant level by default.

Resamples are never materialised: each chunk of resamples is a matrix of row weights (how many
times each participant was drawn), and every metric is computed from it in a few matrix products
(:mod:`clinicadl.stats.metrics`). The only Python loop is over chunks.

References
----------
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.
Davison A. C., Hinkley D. V. (1997). Bootstrap Methods and their Application, section 3.8.
Field C. A., Welsh A. H. (2007). Bootstrapping clustered data. JRSS B 69(3), 369-390.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from clinicadl.errors import InputError, plain
from clinicadl.stats.analytic import CLOSED_FORMS, analytic_interval, closed_form_interval
from clinicadl.stats.intervals import BOOTSTRAP_METHODS, bootstrap_interval, standard_error
from clinicadl.stats.method_choice import choose_method, near_bound_form
from clinicadl.stats.metrics import MetricRequest, evaluate_metrics, point_estimates, resolve_metrics
from clinicadl.stats.predictions import Predictions, make_predictions
from clinicadl.stats.resampling import (
    ResamplingPlan,
    bootstrap_counts,
    bootstrap_weights,
    jackknife_weights,
    make_plan,
)
from clinicadl.stats.results import BootstrapResult, ConfidenceInterval
from clinicadl.stats.row_groups import row_groups

UNITS = ("participant", "image")
CI_METHODS = ("auto", *BOOTSTRAP_METHODS, "analytic")


def make_rng(rng) -> tuple[np.random.Generator, int | None]:
    """Normalise ``rng`` (None, int seed or Generator) and return it with the seed to record.

    With None a fresh seed is drawn from the operating system and returned, so that even an
    unseeded result can be reproduced.
    """
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        rng = int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng)), int(rng)
    raise InputError(f"rng must be a non-negative integer seed, a numpy Generator or None, got {plain(rng)}.")


def _check_options(n_resamples, confidence_level, method, unit):
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 2:
        raise InputError(f"n_resamples must be an integer >= 2, got {plain(n_resamples)}.")
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level must lie strictly between 0 and 1, got {plain(confidence_level)}.")
    if method not in CI_METHODS:
        raise InputError(f"Unknown interval method {method!r}; choose one of {', '.join(CI_METHODS)}.")
    if unit not in UNITS:
        raise InputError(f"Unknown resampling unit {unit!r}; choose one of {', '.join(UNITS)}.")


def resampling_plan(
    predictions: Predictions, *, unit: str = "participant", stratify: bool = False, paired: bool = False
) -> ResamplingPlan:
    """The resampling plan of a set of predictions.

    ``unit="participant"`` resamples participants with all their rows (cluster bootstrap);
    ``unit="image"`` resamples rows. ``stratify`` resamples within each true class (classification
    only; a participant's class is that of its first row), so that no resample lacks a class.
    ``paired=True`` names row units by their original position, so that two models laid out in
    different orders can share the same draws.
    """
    if unit == "participant" and predictions.has_clusters:
        units, n_units = predictions.units, predictions.n_units
    else:
        units, n_units = (predictions.row_index if paired else None), predictions.n_rows
    unit_strata = None
    if stratify:
        if predictions.task not in ("binary", "multiclass"):
            raise InputError("Stratified resampling needs class labels; it applies to classification only.")
        if units is None:
            unit_strata = predictions.y_true
        else:
            unit_strata = np.empty(n_units, dtype=np.int64)
            unit_strata[units[::-1]] = predictions.y_true[::-1]  # the first row of each unit wins
    return make_plan(units, n_units, unit_strata)


def bootstrap_distribution(
    predictions: Predictions,
    requests: Sequence[MetricRequest],
    plan: ResamplingPlan,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    batch: int | None = None,
) -> np.ndarray:
    """Replicates of each requested metric, shape (n_resamples, len(requests)).

    The weights are integer counts: every sufficient statistic of a count matrix is then an exact integer
    sum, the same as with float counts, without converting each chunk. Where every requested metric sees the
    rows only through sums over a few blocks of rows (binary confusion-matrix metrics and AUC, one row per
    resampling unit), the drawn rows are counted by block and the metrics computed on the blocks
    (:mod:`.row_groups`): the same replicates, bit for bit, for less work.
    """
    groups = row_groups(predictions, requests, plan)
    if groups is not None:
        counts = bootstrap_counts(plan, n_resamples, rng, batch=batch, dtype=np.int64, blocks=groups.block_of_row)
        return np.concatenate([evaluate_metrics(groups.predictions, requests, c) for c in counts], axis=0)
    weights = bootstrap_weights(plan, n_resamples, rng, batch=batch, dtype=np.int64)
    return np.concatenate([evaluate_metrics(predictions, requests, w) for w in weights], axis=0)


def jackknife_distribution(
    predictions: Predictions, requests: Sequence[MetricRequest], plan: ResamplingPlan
) -> np.ndarray:
    """Each requested metric with one resampling unit left out in turn, shape (n_units, len(requests))."""
    return np.concatenate([evaluate_metrics(predictions, requests, w) for w in jackknife_weights(plan)], axis=0)


def interval_methods(
    predictions: Predictions,
    requests: Sequence[MetricRequest],
    method: str,
    plan: ResamplingPlan,
    estimate: np.ndarray | None = None,
) -> list[str]:
    """The interval method of each metric: as asked, or chosen by evidence with ``"auto"``.

    ``"analytic"`` applies where a closed form exists and rows are independent; elsewhere (and for
    ``"auto"`` where the study prefers it) a bootstrap method is used. With ``"auto"`` and the point
    ``estimate`` given, a metric at small n or near its bound gets the closed form that holds there
    (:func:`clinicadl.stats.method_choice.near_bound_method`). The results name the method actually used.
    """
    independent = plan.units is None or plan.n_units == plan.n_rows
    chosen = []
    for j, request in enumerate(requests):
        analytic = independent and request.metric.analytic is not None
        if method == "auto":
            value = None if estimate is None else float(estimate[j])
            chosen.append(choose_method(request.metric.name, plan.n_units, clustered=not independent,
                                        analytic_available=analytic, estimate=value))
        elif method == "analytic" and not analytic:
            chosen.append("bca")
        else:
            chosen.append(method)
    return chosen


def fallback_form(request: MetricRequest) -> str | None:
    """Closed form used when an interval is degenerate: the one ``auto`` takes near the bound, else the first listed."""
    near = near_bound_form(request.metric.name)
    if near is not None and near in request.metric.closed_forms:
        return near
    return request.metric.closed_forms[0] if request.metric.closed_forms else None


def _is_degenerate(low: float, high: float, se: float) -> bool:
    """True when an interval shows no spread: zero width or a zero standard error (finite data never justify it)."""
    return bool(np.isfinite(low) and np.isfinite(high) and (high - low <= 1e-12 or se == 0))


def _independent(predictions: Predictions) -> Predictions:
    """The same predictions with every row its own unit (closed forms for ``unit="image"``)."""
    return replace(predictions, units=np.arange(predictions.n_rows), n_units=predictions.n_rows)


def bootstrap(
    predictions: Predictions,
    *,
    metrics: Sequence[str] | None = None,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    method: str = "auto",
    unit: str = "participant",
    stratify: bool = False,
    batch: int | None = None,
    rng=None,
) -> tuple[BootstrapResult, ...]:
    """Confidence intervals of several metrics, sharing the same bootstrap resamples.

    Parameters
    ----------
    predictions : Predictions
        From :func:`clinicadl.stats.make_predictions`.
    metrics : sequence of str, optional
        Metric names (see :data:`clinicadl.stats.METRICS`); the task's defaults when omitted.
    n_resamples : int, default 10000
    confidence_level : float, default 0.95
    method : {"auto", "bca", "percentile", "basic", "analytic"}, default "auto"
        ``"auto"`` takes, per metric and sample size, the method with the best coverage in our
        simulation study (:mod:`clinicadl.stats.method_choice`); at small n and near the bound of
        accuracy, sensitivity, specificity, PPV, NPV, BA and AUC it takes the closed form that keeps
        its coverage there (Clopper-Pearson, MOVER, Newcombe; cluster-adjusted with several images per
        participant). ``"analytic"`` uses a closed form (Wilson, DeLong, t, order statistics) where one
        exists and rows are independent, BCa elsewhere. ``BootstrapResult.method`` names the method used.
    unit : {"participant", "image"}, default "participant"
        Resampling unit. With ``"participant"`` all rows (sessions) of a participant are drawn
        together, which is what makes the interval valid when a participant has several images.
    stratify : bool, default False
        Resample within each class.
    batch : int, optional
        Resamples per chunk (default: about 2**18 / n rows, which bounds memory).
    rng : int, numpy.random.Generator or None
        Seed; recorded in the results.

    Returns
    -------
    tuple of BootstrapResult
        One per metric, in the order asked.

    Notes
    -----
    A resample on which a metric is undefined (a class absent, a zero denominator) gives NaN; it is
    excluded from that metric's interval and counted in ``n_dropped``. The BCa acceleration is
    computed from the jackknife over the resampling unit (participants are left out, not images).
    The bootstrap distribution is reported whatever the interval method; ``standard_error`` is that
    of the method used (the bootstrap one for bootstrap intervals, the closed form's otherwise).

    A bootstrap (or DeLong) interval with no spread, which is what resampling gives when every
    resample holds the same value (a perfect classifier on a few participants), is never reported:
    the metric's closed form that holds near the bound replaces it, or, for a metric without one, the
    interval is NaN and ``note`` says that it is not estimable and why.
    """
    _check_options(n_resamples, confidence_level, method, unit)
    generator, seed = make_rng(rng)
    requests = resolve_metrics(metrics, predictions)
    plan = resampling_plan(predictions, unit=unit, stratify=stratify)
    estimate = point_estimates(predictions, requests)
    methods = interval_methods(predictions, requests, method, plan, estimate)
    forms_data = predictions if unit == "participant" else _independent(predictions)
    closed = _closed_form_intervals(predictions, forms_data, requests, methods, confidence_level)
    replicates = bootstrap_distribution(predictions, requests, plan, n_resamples, generator, batch=batch)
    se = standard_error(replicates)
    jackknife = jackknife_distribution(predictions, requests, plan) if "bca" in methods else None
    bounds = {
        m: bootstrap_interval(m, replicates, estimate, confidence_level, jackknife)
        for m in set(methods) if m in BOOTSTRAP_METHODS
    }
    dropped = np.isnan(replicates).sum(axis=0)
    results = []
    for j, request in enumerate(requests):
        if closed.get(j) is not None:
            low, high, se_j, used = closed[j]
        else:
            used = methods[j]
            low, high, se_j = bounds[used][0][j], bounds[used][1][j], se[j]
        low, high, se_j, used, note = _usable_interval(
            (low, high, se_j, used), estimate[j], int(dropped[j]), n_resamples, request, forms_data, confidence_level)
        results.append(
            BootstrapResult(
                metric=request.name,
                estimate=float(estimate[j]),
                confidence_interval=ConfidenceInterval(float(low), float(high)),
                standard_error=float(se_j),
                bootstrap_distribution=replicates[:, j].copy(),
                method=used,
                confidence_level=float(confidence_level),
                n_resamples=int(n_resamples),
                n_dropped=int(dropped[j]),
                drop_reason=f"undefined with {request.metric.undefined_when}" if dropped[j] else "",
                unit=unit,
                n_units=plan.n_units,
                n_rows=predictions.n_rows,
                seed=seed,
                note=note,
            )
        )
    return tuple(results)


def _closed_form_intervals(predictions: Predictions, forms_data: Predictions, requests: Sequence[MetricRequest],
                           methods: list[str], confidence_level: float
                           ) -> dict[int, tuple[float, float, float, str] | None]:
    """``(low, high, standard error, method)`` of each metric whose method is a closed form, by metric index.

    A metric with no closed form on these data (too few values, a class absent) falls back to ``"bca"``:
    ``methods`` is updated in place and its entry is None.
    """
    closed: dict[int, tuple[float, float, float, str] | None] = {}
    for j, request in enumerate(requests):
        if methods[j] == "analytic":
            closed[j] = analytic_interval(predictions, request, confidence_level)
        elif methods[j] in CLOSED_FORMS:
            form = closed_form_interval(forms_data, request, confidence_level, methods[j])
            closed[j] = None if form is None else (form.low, form.high, form.standard_error, form.method)
        else:
            continue
        if closed[j] is None:  # no closed form on these data (too few values, a class absent)
            methods[j] = "bca"
    return closed


def _usable_interval(interval: tuple[float, float, float, str], estimate: float, dropped: int, n_resamples: int,
                     request: MetricRequest, forms_data: Predictions, confidence_level: float
                     ) -> tuple[float, float, float, str, str]:
    """The interval to report, ``(low, high, standard error, method, note)``: NaN when the metric is undefined;
    a degenerate or undefined interval replaced by the closed form that holds near the bound, or NaN with a note
    saying why it is not estimable."""
    low, high, se_j, used = interval
    note = ""
    if np.isnan(estimate) or dropped == n_resamples:
        low = high = se_j = float("nan")
    elif _is_degenerate(low, high, se_j) or not (np.isfinite(low) and np.isfinite(high)):
        valid = n_resamples - dropped
        if not (np.isfinite(low) and np.isfinite(high)):
            why = f"the {used} interval is undefined on these data"
        elif used in BOOTSTRAP_METHODS:
            why = f"every one of the {valid} valid resamples gives {estimate:.4g}"
        else:
            why = f"the {used} interval has no width"
        form_name = fallback_form(request)
        form = None if form_name is None else closed_form_interval(forms_data, request, confidence_level, form_name)
        if form is not None:
            note = f"{used} interval not usable ({why}); replaced by the {form.method} interval"
            low, high, se_j, used = form.low, form.high, form.standard_error, form.method
        else:
            note = f"not estimable: {why} and {request.name} has no closed form that holds near its bound"
            low = high = se_j = float("nan")
    return low, high, se_j, used, note


def bootstrap_ci(
    y_true,
    y_score=None,
    *,
    metric: str,
    y_pred=None,
    groups=None,
    pos_label: int = 1,
    task: str | None = None,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    method: str = "auto",
    stratify: bool = False,
    batch: int | None = None,
    rng=None,
) -> BootstrapResult:
    """Bootstrap confidence interval of one metric, resampling participants when ``groups`` is given.

    Parameters
    ----------
    y_true : array_like of shape (n,) or None
        True class codes or values (None for per-image values).
    y_score : array_like, optional
        Probabilities (n, K) or of the positive class (n,), predicted values, or per-image values.
    metric : str
        A name of :data:`clinicadl.stats.METRICS`, e.g. ``"AUC"``, ``"BA"``, ``"MAE"``, ``"mean"``.
    y_pred, pos_label, task :
        See :func:`clinicadl.stats.make_predictions`.
    groups : array_like of shape (n,), optional
        Participant of each row: rows of a participant are resampled together.
    n_resamples, confidence_level, method, stratify, batch, rng :
        See :func:`bootstrap`.

    Returns
    -------
    BootstrapResult

    References
    ----------
    Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
    Field C. A., Welsh A. H. (2007). Bootstrapping clustered data. JRSS B 69(3), 369-390.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats import bootstrap_ci
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> score = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(size=200))))
    >>> res = bootstrap_ci(y, score, metric="AUC", n_resamples=2000, method="bca", rng=0)
    >>> round(res.estimate, 3), res.method, res.n_dropped
    (0.91, 'bca', 0)
    >>> res.confidence_interval.low < res.estimate < res.confidence_interval.high
    True
    """
    predictions = make_predictions(y_true, y_score, y_pred=y_pred, task=task, groups=groups, pos_label=pos_label)
    (result,) = bootstrap(
        predictions, metrics=[metric], n_resamples=n_resamples, confidence_level=confidence_level, method=method,
        stratify=stratify, batch=batch, rng=rng,
    )
    return result
