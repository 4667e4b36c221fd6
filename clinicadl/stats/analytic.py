"""Closed-form intervals of registry metrics, where one exists and its assumptions hold.

Analytic intervals assume independent rows: they are offered only when each participant has one
row (or when images are explicitly the resampling unit). Proportions (accuracy, sensitivity,
specificity, PPV, NPV) get the Wilson score interval, a binary AUC DeLong's interval, means
(per-image values, MAE) Student's t interval, and medians the order-statistic interval.

References
----------
Wilson E. B. (1927). JASA 22(158), 209-212.
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Biometrics 44(3), 837-845.
Conover W. J. (1999). Practical Nonparametric Statistics, 3rd ed., section 3.2.
"""

from __future__ import annotations

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.delong import delong_ci
from clinicadl.stats.location import mean_ci, median_ci
from clinicadl.stats.metrics import MetricRequest, _confusion, _ovr
from clinicadl.stats.predictions import Predictions
from clinicadl.stats.proportion import proportion_interval


def _counts(p: Predictions, name: str, k: int) -> tuple[float, float]:
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


def analytic_interval(
    predictions: Predictions, request: MetricRequest, confidence_level: float
) -> tuple[float, float, float, str] | None:
    """``(low, high, standard_error, method)`` of a closed-form interval, or None when none applies."""
    kind = request.metric.analytic
    if kind is None:
        return None
    base = request.metric.name
    if kind == "proportion":
        k, n = _counts(predictions, base, request.class_code)
        if n == 0:
            return None
        low, high = proportion_interval(k, n, confidence_level=confidence_level, method="wilson")
        p = k / n
        return float(low), float(high), float(np.sqrt(p * (1 - p) / n)), "wilson"
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
