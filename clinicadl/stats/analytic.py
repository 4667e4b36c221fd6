"""Closed-form intervals of registry metrics, with participant clustering respected.

Two families live here.

- The intervals of ``method="analytic"`` (the registry's ``Metric.analytic``), for independent rows:
  Wilson for proportions, DeLong for a binary AUC, Student's t for means, order statistics for medians.
- The intervals that hold near the bound of a metric (the registry's ``Metric.closed_forms``), for one
  or several images per participant: for accuracy, sensitivity, specificity, PPV and NPV the Wilson,
  Clopper-Pearson and Jeffreys intervals of the effective counts (the counts divided by the
  participant design effect, :mod:`clinicadl.stats.effective_size`); for the balanced accuracy the
  MOVER combination of the class-wise recall intervals (Zou & Donner 2008); for a binary AUC
  Newcombe's (2006) score interval with effective numbers of positive and negative images, or
  DeLong's interval on the logit scale with the participant-level (Obuchowski 1997) variance.
  ``method="auto"`` uses them at small n and near the bound, and a bootstrap that cannot show any
  spread (every resample gives the same value) falls back to them.

The standard error reported with an interval is the one implied by it, ``(high - low) / (2 z)``,
for the score, exact, Bayesian and MOVER intervals (which have no plug-in standard error of their
own that is consistent with the interval: the Wald one is 0 at an estimate of 0 or 1), and the
method's own standard error for DeLong, t and order-statistic intervals.

References
----------
Wilson E. B. (1927). JASA 22(158), 209-212.
Clopper C. J., Pearson E. S. (1934). Biometrika 26(4), 404-413.
Brown L. D., Cai T. T., DasGupta A. (2001). Interval estimation for a binomial proportion.
Statistical Science 16(2), 101-133 (Jeffreys interval).
Newcombe R. G. (1998b). Statistics in Medicine 17(8), 873-890.
Zou G. Y., Donner A. (2008). Statistical Methods in Medical Research 17(5), 527-540.
Newcombe R. G. (2006). Statistics in Medicine 25(4), 559-573.
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Biometrics 44(3), 837-845.
Obuchowski N. A. (1997). Biometrics 53(2), 567-578.
Conover W. J. (1999). Practical Nonparametric Statistics, 3rd ed., section 3.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.auc_interval import auc_sample_sizes, logit_delong_interval, newcombe_auc_interval
from clinicadl.stats.delong import delong_ci
from clinicadl.stats.effective_size import effective_counts
from clinicadl.stats.location import mean_ci, median_ci
from clinicadl.stats.metrics import MetricRequest, _ovr
from clinicadl.stats.mover import mover_linear
from clinicadl.stats.normal import ndtri
from clinicadl.stats.predictions import Predictions
from clinicadl.stats.proportion import PROPORTION_METHODS
from clinicadl.stats.proportion import _interval as _proportion_bounds
from clinicadl.stats.weighted_statistics import confusion_matrices as _confusion

#: Closed forms that hold near the bound (the values of ``Metric.closed_forms``).
CLOSED_FORMS = (*PROPORTION_METHODS, *(f"mover-{m}" for m in PROPORTION_METHODS), "newcombe", "delong-logit")


@dataclass(frozen=True)
class ClosedFormInterval:
    """A closed-form interval of one metric on one data set.

    Attributes
    ----------
    low, high : float
        The bounds.
    standard_error : float
        The method's standard error (DeLong, t, order statistics) or the one implied by the interval,
        ``(high - low) / (2 z)`` (score, exact, Bayesian, MOVER, Newcombe).
    method : str
        The method, with ``-clustered`` appended when the counts were divided by a design effect.
    design_effect : float
        Design effect used (1 with one image per participant; the largest one for the BA's classes).
    """

    low: float
    high: float
    standard_error: float
    method: str
    design_effect: float


def _implied_se(low: float, high: float, confidence_level: float) -> float:
    return float((high - low) / (2 * ndtri(0.5 + confidence_level / 2)))


def _legacy_counts(p: Predictions, name: str, k: int) -> tuple[float, float]:
    c = _confusion(p, np.ones((1, p.n_rows)))
    if name == "accuracy":
        return float(np.trace(c[0])), float(c.sum())
    tp, fn, fp, tn = (float(x[0]) for x in _ovr(c, k))
    return {
        "sensitivity": (tp, tp + fn),
        "specificity": (tn, tn + fp),
        "PPV": (tp, tp + fp),
        "NPV": (tn, tn + fn),
    }[name]


def proportion_rows(p: Predictions, name: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows in the denominator of a proportion metric and rows that are successes (boolean arrays)."""
    truth, pred = p.y_true, p.y_pred
    if name == "accuracy":
        return np.ones(p.n_rows, dtype=bool), truth == pred
    is_k, said_k = truth == k, pred == k
    return {
        "sensitivity": (is_k, said_k),
        "specificity": (~is_k, ~said_k),
        "PPV": (said_k, is_k),
        "NPV": (~said_k, ~is_k),
    }[name]


def _effective(p: Predictions, denominator: np.ndarray, success: np.ndarray):
    trials = np.bincount(p.units, weights=denominator.astype(float), minlength=p.n_units)
    hits = np.bincount(p.units, weights=(denominator & success).astype(float), minlength=p.n_units)
    return effective_counts(hits, trials)


def _suffix(method: str, p: Predictions) -> str:
    return f"{method}-clustered" if p.has_clusters else method


def _proportion_form(p: Predictions, name: str, k: int, method: str, confidence_level: float):
    denominator, success = proportion_rows(p, name, k)
    if not denominator.any():
        return None
    eff = _effective(p, denominator, success)
    low, high = _proportion_bounds(eff.successes, eff.trials, confidence_level, method)
    low, high = float(low), float(high)
    return ClosedFormInterval(low, high, _implied_se(low, high, confidence_level), _suffix(method, p),
                              float(eff.design_effect))


def _mover_form(p: Predictions, k: int, method: str, confidence_level: float):
    base = method.removeprefix("mover-")
    classes = [p.pos_label, 1 - p.pos_label] if p.task == "binary" else list(range(p.n_classes))
    estimates, lows, highs, deffs = [], [], [], []
    for j in classes:
        denominator, success = proportion_rows(p, "sensitivity", j)
        if not denominator.any():
            return None
        eff = _effective(p, denominator, success)
        low, high = _proportion_bounds(eff.successes, eff.trials, confidence_level, base)
        estimates.append(float(eff.successes / eff.trials))
        lows.append(float(low))
        highs.append(float(high))
        deffs.append(float(eff.design_effect))
    _, low, high = mover_linear(estimates, lows, highs, np.full(len(classes), 1 / len(classes)))
    low, high = float(low), float(high)
    return ClosedFormInterval(low, high, _implied_se(low, high, confidence_level), _suffix(method, p), max(deffs))


def _auc_form(p: Predictions, method: str, confidence_level: float):
    if p.task != "binary" or p.y_score is None:
        return None
    positive = p.y_true == p.pos_label
    if positive.all() or not positive.any():
        return None
    sizes = auc_sample_sizes(positive, p.y_score[:, p.pos_label], p.units)
    if method == "newcombe":
        low, high = newcombe_auc_interval(sizes.auc, sizes.n_pos, sizes.n_neg, confidence_level=confidence_level)
    else:
        low, high = logit_delong_interval(sizes.auc, np.sqrt(sizes.variance), confidence_level=confidence_level)
    low, high = float(low), float(high)
    if not np.isfinite(low) or not np.isfinite(high):
        return None
    return ClosedFormInterval(low, high, _implied_se(low, high, confidence_level), _suffix(method, p),
                              sizes.design_effect)


def closed_form_interval(
    predictions: Predictions, request: MetricRequest, confidence_level: float, method: str
) -> ClosedFormInterval | None:
    """A near-bound closed form (one of ``request.metric.closed_forms``), or None where it does not apply.

    Parameters
    ----------
    predictions : Predictions
        Rows of a participant are clustered through ``predictions.units``.
    request : MetricRequest
    confidence_level : float
    method : str
        One of :data:`CLOSED_FORMS` listed in the metric's ``closed_forms``.

    Returns
    -------
    ClosedFormInterval or None
        None when the metric has no such form, its denominator is empty (e.g. PPV with no positive
        prediction), or the form is undefined on these data (the logit interval at AUC = 1).

    Examples
    --------
    >>> from clinicadl.stats import make_predictions
    >>> from clinicadl.stats.analytic import closed_form_interval
    >>> from clinicadl.stats.metrics import resolve_metrics
    >>> p = make_predictions([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    >>> (request,) = resolve_metrics(["accuracy"], p)
    >>> res = closed_form_interval(p, request, 0.95, "clopper-pearson")  # 8 of 8 correct
    >>> print(f"[{res.low:.3f}, {res.high:.3f}] se {res.standard_error:.3f} {res.method}")
    [0.631, 1.000] se 0.094 clopper-pearson
    """
    metric = request.metric
    if method not in metric.closed_forms:
        return None
    if method in PROPORTION_METHODS:
        return _proportion_form(predictions, metric.name, request.class_code, method, confidence_level)
    if method.startswith("mover-"):
        return _mover_form(predictions, request.class_code, method, confidence_level)
    return _auc_form(predictions, method, confidence_level)


def analytic_interval(
    predictions: Predictions, request: MetricRequest, confidence_level: float
) -> tuple[float, float, float, str] | None:
    """``(low, high, standard_error, method)`` of the ``method="analytic"`` interval, or None when none applies.

    For proportions the standard error is the one implied by the Wilson interval (``(high - low) / (2 z)``),
    never the Wald one, which is 0 at an estimate of 0 or 1 although the interval is not degenerate.
    """
    kind = request.metric.analytic
    if kind is None:
        return None
    base = request.metric.name
    if kind == "proportion":
        k, n = _legacy_counts(predictions, base, request.class_code)
        if n == 0:
            return None
        low, high = _proportion_bounds(np.asarray(k), np.asarray(n), confidence_level, "wilson")
        low, high = float(low), float(high)
        return low, high, _implied_se(low, high, confidence_level), "wilson"
    try:
        if kind == "delong":
            if predictions.task != "binary" or predictions.y_score is None:
                return None
            pos = predictions.pos_label
            positive = (predictions.y_true == pos).astype(int)
            res = delong_ci(positive, predictions.y_score[:, pos], confidence_level=confidence_level)
        elif kind == "t":
            x = predictions.y_pred if base == "mean" else np.abs(predictions.y_pred - predictions.y_true)
            res = mean_ci(x, confidence_level=confidence_level)
        else:
            res = median_ci(predictions.y_pred, confidence_level=confidence_level)
    except InputError:  # too few values or a class absent: no closed form here
        return None
    ci = res.confidence_interval
    return float(ci.low), float(ci.high), float(res.standard_error), res.method
