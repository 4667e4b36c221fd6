"""The registry of metrics, each written once as a function of row weights.

A metric is computed from a *sufficient statistic* of weighted rows (a confusion matrix, weighted
moments, a weighted rank sum). With unit weights it is the usual point estimate; with a (B, n)
matrix of bootstrap counts it is B bootstrap replicates at once; with leave-one-unit-out weights it
is the jackknife. Every statistic is linear or a cumulative sum in the weights, so a weight matrix is
never expanded into resampled data.

Names follow ClinicaDL 1.x (``BA accuracy F1_score sensitivity specificity PPV NPV MCC MK LR_plus
LR_minus``, ``MAE RMSE R2_score``) plus ``AUC``, Pearson ``r`` and, for per-image values, ``mean`` and
``median``. For more than two classes, class-specific metrics take a ``-<k>`` suffix (``sensitivity-2``),
``BA`` is the macro-averaged recall and ``AUC`` the macro-averaged one-vs-rest AUC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.predictions import AucLayout, Predictions
from clinicadl.stats.resampling import LeaveOneOut


@dataclass(frozen=True)
class Metric:
    """One entry of the registry.

    Attributes
    ----------
    name : str
        Registry name (upstream spelling).
    tasks : tuple of str
        Tasks it applies to.
    statistic : str
        Sufficient statistic it is computed from (``"confusion"``, ``"auc"``, ``"moments"``,
        ``"values"``, ``"median"``).
    compute : callable
        ``compute(statistic, class_code) -> ndarray`` of shape (B,).
    per_class : bool
        For more than two classes, computed per class with a ``-<k>`` suffix.
    undefined_when : str
        What makes it undefined (reported with the count of dropped resamples).
    analytic : str or None
        Closed-form interval available for independent rows (``"proportion"``, ``"delong"``,
        ``"t"``, ``"order-statistic"``), or None: what ``method="analytic"`` uses.
    closed_forms : tuple of str
        Closed-form intervals that hold near the bound of the metric and respect participant
        clustering (:mod:`clinicadl.stats.analytic`): ``method="auto"`` chooses among them near the
        bound and at small n, and a degenerate bootstrap falls back to the first one.
    bounds : tuple of float or None
        Range of the metric when it is bounded (``(0, 1)``, ``(-1, 1)``): procedure-level intervals are built
        on the logit or Fisher z scale of that range (:mod:`clinicadl.stats.crossed_inference`).
    """

    name: str
    tasks: tuple[str, ...]
    statistic: str
    compute: Callable[[np.ndarray, int], np.ndarray]
    per_class: bool
    undefined_when: str
    analytic: str | None = None
    closed_forms: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None


_PROPORTION_FORMS = ("clopper-pearson", "wilson", "jeffreys")
_P = _PROPORTION_FORMS
_MOVER_FORMS = ("mover-clopper-pearson", "mover-wilson", "mover-jeffreys")
_AUC_FORMS = ("newcombe", "delong-logit")


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(a, b)
    return np.where(b == 0, np.nan, out)


def _ovr(c: np.ndarray, k: int):
    """One-vs-rest counts (tp, fn, fp, tn) of class k from confusion matrices of shape (B, K, K)."""
    tp = c[:, k, k]
    fn = c[:, k, :].sum(axis=1) - tp
    fp = c[:, :, k].sum(axis=1) - tp
    tn = c.sum(axis=(1, 2)) - tp - fn - fp
    return tp, fn, fp, tn


def sensitivity(c, k):
    tp, fn, _, _ = _ovr(c, k)
    return _div(tp, tp + fn)


def specificity(c, k):
    _, _, fp, tn = _ovr(c, k)
    return _div(tn, tn + fp)


def ppv(c, k):
    tp, _, fp, _ = _ovr(c, k)
    return _div(tp, tp + fp)


def npv(c, k):
    _, fn, _, tn = _ovr(c, k)
    return _div(tn, tn + fn)


def balanced_accuracy(c, k):
    if k < 0:  # macro-averaged recall over all classes
        return np.mean([sensitivity(c, j) for j in range(c.shape[1])], axis=0)
    return (sensitivity(c, k) + specificity(c, k)) / 2


def accuracy(c, k):
    return _div(np.trace(c, axis1=1, axis2=2), c.sum(axis=(1, 2)))


def f1_score(c, k):
    tp, fn, fp, _ = _ovr(c, k)
    return _div(2 * tp, 2 * tp + fp + fn)


def mcc(c, k):
    tp, fn, fp, tn = _ovr(c, k)
    with np.errstate(invalid="ignore"):
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return _div(tp * tn - fp * fn, denominator)


def markedness(c, k):
    return ppv(c, k) + npv(c, k) - 1


def lr_plus(c, k):
    return _div(sensitivity(c, k), 1 - specificity(c, k))


def lr_minus(c, k):
    return _div(1 - sensitivity(c, k), specificity(c, k))


def auc(stat, k):
    return stat[:, k]


def _moment(i):
    return lambda m, k: _div(m[:, i], m[:, 0])


def rmse(m, k):
    return np.sqrt(_div(m[:, 2], m[:, 0]))


def r2_score(m, k):
    ss_tot = m[:, 4] - _div(m[:, 3] ** 2, m[:, 0])
    return 1 - _div(m[:, 2], ss_tot)


def pearson_r(m, k):
    w = m[:, 0]
    cov = m[:, 7] - _div(m[:, 3] * m[:, 5], w)
    var_y = m[:, 4] - _div(m[:, 3] ** 2, w)
    var_p = m[:, 6] - _div(m[:, 5] ** 2, w)
    with np.errstate(invalid="ignore"):
        return _div(cov, np.sqrt(var_y * var_p))


_CLS = ("binary", "multiclass")
_UNIT = (0.0, 1.0)
_SIGNED = (-1.0, 1.0)
_REGISTRY: tuple[Metric, ...] = (
    Metric("BA", _CLS, "confusion", balanced_accuracy, True, "a class absent", None, _MOVER_FORMS, bounds=_UNIT),
    Metric("accuracy", _CLS, "confusion", accuracy, False, "no image", "proportion", _PROPORTION_FORMS, bounds=_UNIT),
    Metric("F1_score", _CLS, "confusion", f1_score, True, "no positive case nor positive prediction", bounds=_UNIT),
    Metric("sensitivity", _CLS, "confusion", sensitivity, True, "no positive case", "proportion", _P, bounds=_UNIT),
    Metric("specificity", _CLS, "confusion", specificity, True, "no negative case", "proportion", _P, bounds=_UNIT),
    Metric("PPV", _CLS, "confusion", ppv, True, "no positive prediction", "proportion", _P, bounds=_UNIT),
    Metric("NPV", _CLS, "confusion", npv, True, "no negative prediction", "proportion", _P, bounds=_UNIT),
    Metric("MCC", _CLS, "confusion", mcc, True, "a constant prediction or a class absent", bounds=_SIGNED),
    Metric("MK", _CLS, "confusion", markedness, True, "a constant prediction", bounds=_SIGNED),
    Metric("LR_plus", _CLS, "confusion", lr_plus, True, "specificity of 1 or a class absent"),
    Metric("LR_minus", _CLS, "confusion", lr_minus, True, "specificity of 0 or a class absent"),
    Metric("AUC", _CLS, "auc", auc, False, "a class absent", "delong", _AUC_FORMS, bounds=_UNIT),
    Metric("MAE", ("regression",), "moments", _moment(1), False, "no image", "t"),
    Metric("RMSE", ("regression",), "moments", rmse, False, "no image"),
    Metric("R2_score", ("regression",), "moments", r2_score, False, "constant true values"),
    Metric("r", ("regression",), "moments", pearson_r, False, "constant true or predicted values", bounds=_SIGNED),
    Metric("mean", ("values",), "values", _moment(1), False, "no image", "t"),
    Metric("median", ("values",), "median", lambda s, k: s[:, 0], False, "no image", "order-statistic"),
)

METRICS: dict[str, Metric] = {m.name: m for m in _REGISTRY}
"""All metrics by name."""

DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("BA", "accuracy", "AUC", "sensitivity", "specificity", "PPV", "NPV", "F1_score", "MCC",
               "MK", "LR_plus", "LR_minus"),
    "multiclass": ("BA", "accuracy", "AUC"),
    "regression": ("MAE", "RMSE", "R2_score", "r"),
    "values": ("mean", "median"),
}
"""Metrics reported when none are asked for, by task."""


@dataclass(frozen=True)
class MetricRequest:
    """A resolved metric name: the registry entry and the class it applies to (-1: none or all)."""

    name: str
    metric: Metric
    class_code: int


def resolve_metrics(names: Sequence[str] | None, predictions: Predictions) -> tuple[MetricRequest, ...]:
    """Check metric names against the task and resolve ``-<k>`` class suffixes.

    Raises
    ------
    InputError
        For an unknown name or one that does not apply to the task; the message lists the valid names.
    """
    task = predictions.task
    names = DEFAULT_METRICS[task] if not names else tuple(names)
    valid = available_metrics(predictions)
    out = []
    for name in names:
        base, _, suffix = name.partition("-")
        metric = METRICS.get(base)
        if metric is None or task not in metric.tasks or name not in valid:
            raise InputError(f"Unknown metric {name!r} for a {task} task; available: {', '.join(valid)}.")
        if task == "binary":
            k = predictions.pos_label if metric.per_class else -1
        else:
            k = int(suffix) if suffix else -1
        out.append(MetricRequest(name, metric, k))
    return tuple(out)


def available_metrics(predictions: Predictions) -> tuple[str, ...]:
    """Names of the metrics that apply to these predictions."""
    task = predictions.task
    names = []
    for m in _REGISTRY:
        if task not in m.tasks:
            continue
        if task == "multiclass" and m.per_class:
            if m.name == "BA":
                names.append("BA")
            names.extend(f"{m.name}-{k}" for k in range(predictions.n_classes))
        else:
            names.append(m.name)
    return tuple(names)


def _confusion(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Confusion matrices (B, K, K): the sum of the weights of the rows of each (true, predicted) cell.

    Rows are stored by true class and score, so the rows of a cell usually form a few runs of
    consecutive rows: the weights are then summed run by run (``np.add.reduceat``, one pass over
    ``w``) rather than multiplied by a one-hot matrix. This also keeps BLAS threads out of the
    bootstrap loop, whose spinning slows everything else down on a loaded machine. With many runs
    (an arbitrary ``y_pred``), the matrix product is used. Leave-one-out weights: all-row counts
    minus the counts of the left-out unit.
    """
    k = p.n_classes
    cells = p.y_true * k + p.y_pred
    if isinstance(w, LeaveOneOut):
        per_unit = np.bincount(w.row_units() * (k * k) + cells, minlength=w.n_units * k * k)
        total = np.bincount(cells, minlength=k * k)
        return (total - per_unit.reshape(w.n_units, k * k)[w.left_out]).astype(np.float64).reshape(-1, k, k)
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    if starts.size * 8 > p.n_rows:
        onehot = np.zeros((p.n_rows, k * k))
        onehot[np.arange(p.n_rows), cells] = 1.0
        return (w @ onehot).reshape(-1, k, k)
    runs = np.add.reduceat(w, starts, axis=1)
    run_cells = cells[starts]
    out = np.zeros((w.shape[0], k * k))
    for cell in np.unique(run_cells):  # a loop over cells, not over resamples
        out[:, cell] = runs[:, run_cells == cell].sum(axis=1)
    return out.reshape(-1, k, k)


def weighted_auc(layout: AucLayout | None, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted Mann-Whitney AUC (ties count one half) for each row of weights ``w`` (B, n).

    The numerator is, for each positive, its weight times the weight of the negatives below it: one
    cumulative sum over the negatives (sorted by score) and a gather at ``below`` (and ``up_to``
    when there are ties). Leave-one-unit-out weights are done in closed form, O(n log n) for all
    units: twice the numerator is the total pair count minus the pairs of the left-out unit's rows,
    plus the pairs inside that unit (subtracted twice). All counts are integers, so the result is
    the same as with the dense weights.
    """
    if layout is None:
        return np.full(w.shape[0], np.nan)
    n0 = layout.n_neg
    below, up_to = layout.below, layout.up_to
    if isinstance(w, LeaveOneOut):
        units = w.row_units() if layout.order is None else w.row_units()[layout.order]
        neg_units, pos_units = units[:n0], units[n0:]
        n1, m = pos_units.size, w.n_units
        twice_pos = below + up_to  # twice the (tie-halved) count of negatives below each positive
        rank = np.arange(n0)
        twice_neg = 2 * n1 - np.searchsorted(below, rank, side="right") - np.searchsorted(up_to, rank, side="right")
        # negatives of the same unit below each positive: search (unit, rank) keys
        keys = np.sort(neg_units * (n0 + 1) + rank)
        base = pos_units * (n0 + 1)
        twice_within = (np.searchsorted(keys, base + below) + np.searchsorted(keys, base + up_to)
                        - 2 * np.searchsorted(keys, base))
        lost = (np.bincount(neg_units, twice_neg, m) + np.bincount(pos_units, twice_pos, m)
                - np.bincount(pos_units, twice_within, m))
        left = w.left_out
        numerator = (twice_pos.sum() - lost[left]) / 2
        n_pos = n1 - np.bincount(pos_units, minlength=m)[left]
        n_neg = n0 - np.bincount(neg_units, minlength=m)[left]
        return _div(numerator, (n_pos * n_neg).astype(np.float64))
    ws = w if layout.order is None else w[:, layout.order]
    cum = np.zeros((ws.shape[0], n0 + 1))
    np.cumsum(ws[:, :n0], axis=1, out=cum[:, 1:])
    w_pos = ws[:, n0:]
    if np.array_equal(below, up_to):  # no tied scores across classes: one gather (same result, exactly)
        numerator = np.einsum("bi,bi->b", w_pos, cum[:, below])
    else:
        numerator = np.einsum("bi,bi->b", w_pos, cum[:, below] + cum[:, up_to]) / 2
    return _div(numerator, w_pos.sum(axis=1) * cum[:, -1])


def _auc_statistic(p: Predictions, w: np.ndarray) -> np.ndarray:
    if p.task == "binary":
        out = np.full((w.shape[0], 2), np.nan)
        out[:, p.pos_label] = weighted_auc(p.auc[0], w)
        out[:, 1 - p.pos_label] = out[:, p.pos_label]
        return out
    per_class = np.column_stack([weighted_auc(layout, w) for layout in p.auc])
    with np.errstate(invalid="ignore"):
        return np.column_stack([per_class, per_class.mean(axis=1)])  # last column: macro average


def _moments(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted sums of 1, |e|, e^2, y, y^2, q, q^2, yq (e = q - y).

    Leave-one-out weights are densified chunk by chunk rather than done as total minus unit sums:
    R2 and r take differences of these sums, which would amplify the rounding of the subtraction.
    """
    if isinstance(w, LeaveOneOut):
        return np.concatenate([_moments(p, chunk.dense()) for chunk in w.chunks()], axis=0)
    y, q = p.y_true, p.y_pred
    e = q - y
    columns = np.column_stack([np.ones_like(y), np.abs(e), e * e, y, y * y, q, q * q, y * q])
    return w @ columns


def _values(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted sums of 1 and the values; leave-one-out: total minus unit sums."""
    columns = np.column_stack([np.ones(p.n_rows), p.y_pred])
    return w.linear(columns) if isinstance(w, LeaveOneOut) else w @ columns


def _median(p: Predictions, w: np.ndarray | LeaveOneOut) -> np.ndarray:
    """Weighted median (mean of the lower and upper weighted medians; rows are sorted by value)."""
    if isinstance(w, LeaveOneOut):  # not linear in the weights: dense weights, chunk by chunk
        return np.concatenate([_median(p, chunk.dense()) for chunk in w.chunks()], axis=0)
    cum = np.cumsum(w, axis=1)
    half = cum[:, -1:] / 2
    low = np.argmax(cum >= half, axis=1)
    high = np.argmax(cum > half, axis=1)
    out = (p.y_pred[low] + p.y_pred[high]) / 2
    return np.where(cum[:, -1] > 0, out, np.nan)[:, None]


_STATISTICS = {"confusion": _confusion, "auc": _auc_statistic, "moments": _moments, "values": _values,
               "median": _median}


def evaluate_metrics(
    predictions: Predictions, requests: Sequence[MetricRequest], weights: np.ndarray
) -> np.ndarray:
    """Compute metrics for each row of a weight matrix.

    Parameters
    ----------
    predictions : Predictions
    requests : sequence of MetricRequest
        From :func:`resolve_metrics`.
    weights : numpy.ndarray of shape (B, n)
        Non-negative row weights in the stored row order of ``predictions``.

    Returns
    -------
    numpy.ndarray of shape (B, len(requests))
        NaN where a metric is undefined for a weighting.
    """
    cache: dict[str, np.ndarray] = {}
    out = np.empty((weights.shape[0], len(requests)))
    for j, request in enumerate(requests):
        key = request.metric.statistic
        if key not in cache:
            cache[key] = _STATISTICS[key](predictions, weights)
        k = request.class_code
        if key == "auc" and k < 0:
            k = cache[key].shape[1] - 1 if predictions.task == "multiclass" else predictions.pos_label
        out[:, j] = request.metric.compute(cache[key], k)
    return out


def point_estimates(predictions: Predictions, requests: Sequence[MetricRequest]) -> np.ndarray:
    """Metrics on the data as observed (unit weights), shape (len(requests),)."""
    return evaluate_metrics(predictions, requests, np.ones((1, predictions.n_rows)))[0]
