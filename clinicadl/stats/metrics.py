"""The one registry of metrics: every fact about a metric lives here.

Two kinds of entries:

- :class:`Metric`, a metric of a set of predictions, written once as a function of row weights. It is
  computed from a *sufficient statistic* of weighted rows (:mod:`clinicadl.stats.weighted_statistics`: a
  confusion matrix, weighted moments, a weighted rank sum). With unit weights it is the usual point estimate;
  with a (B, n) matrix of bootstrap counts it is B bootstrap replicates at once; with leave-one-unit-out weights
  it is the jackknife.
- :class:`PerImageMetric`, a value computed for each image by ``clinicadl predict`` (Dice, HD95, SSIM, the
  loss...) and summarised over images by the ``mean`` and ``median`` entries of the first kind.

Each entry records its function, its direction (:func:`higher_is_better`), its range (``bounds``), its display
name (:func:`display_name`), the tasks that have it and the interval methods that apply
(:func:`interval_methods`). Every other module asks these functions, which understand the ``_median`` suffix of
a per-image summary and the ``-<k>`` class suffix; :func:`register_metric` adds an entry.

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
from clinicadl.stats.intervals import BOOTSTRAP_METHODS
from clinicadl.stats.predictions import Predictions
from clinicadl.stats.segmentation_metrics import dice, hausdorff_95, iou, normalized_surface_distance
from clinicadl.stats.weighted_statistics import STATISTICS
from clinicadl.stats.weighted_statistics import safe_divide as _div


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
    higher_is_better : bool
        Direction: False for error-like metrics (MAE, RMSE, LR_minus).
    display : str
        Name in sentences (the methods paragraph of the report); empty: the registry name.
    headline : bool
        Reported first (methods paragraph, LaTeX table) when present.
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
    higher_is_better: bool = True
    display: str = ""
    headline: bool = False


@dataclass(frozen=True)
class PerImageMetric:
    """An entry of the registry for a value computed per image (a column of the prediction files).

    Its summaries over images (``<name>`` the mean, ``<name>_median`` the median) are computed with the
    ``mean`` and ``median`` entries of :class:`Metric`, whose interval methods apply.

    Attributes
    ----------
    name : str
        Column name in the prediction files (``Dice``, ``SSIM``...).
    tasks : tuple of str
        Tasks whose predictions carry it (``segmentation``, ``reconstruction``; the loss: every task).
    function : callable or None
        ``function(prediction, reference) -> float`` for one image; None when computed elsewhere (on tensors,
        by :mod:`clinicadl.predict.outputs`, or by the training criterion).
    higher_is_better : bool
    bounds : tuple of float or None
        Range of the value: procedure-level intervals of a bounded value are built on the logit scale.
    display : str
        Name in sentences; empty: the registry name.
    headline : bool
        Reported first (methods paragraph, LaTeX table) when present.
    """

    name: str
    tasks: tuple[str, ...]
    function: Callable[..., float] | None
    higher_is_better: bool = True
    bounds: tuple[float, float] | None = None
    display: str = ""
    headline: bool = False


_PROPORTION_FORMS = ("clopper-pearson", "wilson", "jeffreys")
_P = _PROPORTION_FORMS
_MOVER_FORMS = ("mover-clopper-pearson", "mover-wilson", "mover-jeffreys")
_AUC_FORMS = ("newcombe", "delong-logit")


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
_LOWER = {"higher_is_better": False}
_REGISTRY: tuple[Metric, ...] = (
    Metric("BA", _CLS, "confusion", balanced_accuracy, True, "a class absent", None, _MOVER_FORMS, bounds=_UNIT,
           display="balanced accuracy", headline=True),
    Metric("accuracy", _CLS, "confusion", accuracy, False, "no image", "proportion", _PROPORTION_FORMS, bounds=_UNIT,
           display="accuracy"),
    Metric("F1_score", _CLS, "confusion", f1_score, True, "no positive case nor positive prediction", bounds=_UNIT,
           display="F1 score"),
    Metric("sensitivity", _CLS, "confusion", sensitivity, True, "no positive case", "proportion", _P, bounds=_UNIT,
           display="sensitivity"),
    Metric("specificity", _CLS, "confusion", specificity, True, "no negative case", "proportion", _P, bounds=_UNIT,
           display="specificity"),
    Metric("PPV", _CLS, "confusion", ppv, True, "no positive prediction", "proportion", _P, bounds=_UNIT,
           display="positive predictive value"),
    Metric("NPV", _CLS, "confusion", npv, True, "no negative prediction", "proportion", _P, bounds=_UNIT,
           display="negative predictive value"),
    Metric("MCC", _CLS, "confusion", mcc, True, "a constant prediction or a class absent", bounds=_SIGNED,
           display="Matthews correlation coefficient"),
    Metric("MK", _CLS, "confusion", markedness, True, "a constant prediction", bounds=_SIGNED, display="markedness"),
    Metric("LR_plus", _CLS, "confusion", lr_plus, True, "specificity of 1 or a class absent",
           display="positive likelihood ratio"),
    Metric("LR_minus", _CLS, "confusion", lr_minus, True, "specificity of 0 or a class absent",
           display="negative likelihood ratio", **_LOWER),
    Metric("AUC", _CLS, "auc", auc, False, "a class absent", "delong", _AUC_FORMS, bounds=_UNIT,
           display="area under the ROC curve (AUC)", headline=True),
    Metric("MAE", ("regression",), "moments", _moment(1), False, "no image", "t", display="mean absolute error",
           headline=True, **_LOWER),
    Metric("RMSE", ("regression",), "moments", rmse, False, "no image", display="root mean squared error", **_LOWER),
    Metric("R2_score", ("regression",), "moments", r2_score, False, "constant true values", display="R2",
           headline=True),
    Metric("r", ("regression",), "moments", pearson_r, False, "constant true or predicted values", bounds=_SIGNED),
    Metric("mean", ("values",), "values", _moment(1), False, "no image", "t"),
    Metric("median", ("values",), "median", lambda s, k: s[:, 0], False, "no image", "order-statistic"),
)

_SEG, _REC = ("segmentation",), ("reconstruction",)
_PER_IMAGE: tuple[PerImageMetric, ...] = (
    PerImageMetric("Dice", _SEG, dice, bounds=_UNIT, display="Dice coefficient", headline=True),
    PerImageMetric("IoU", _SEG, iou, bounds=_UNIT, display="intersection over union"),
    PerImageMetric("HD95", _SEG, hausdorff_95, False, display="95th percentile Hausdorff distance", headline=True),
    PerImageMetric("NSD", _SEG, normalized_surface_distance, bounds=_UNIT, display="normalised surface Dice"),
    PerImageMetric("MAE", _REC, None, False, display="mean absolute error"),
    PerImageMetric("RMSE", _REC, None, False, display="root mean squared error"),
    PerImageMetric("MSE", _REC, None, False),
    PerImageMetric("PSNR", _REC, None, display="PSNR"),
    PerImageMetric("SSIM", _REC, None, bounds=_UNIT, display="SSIM", headline=True),
    PerImageMetric("MS-SSIM", _REC, None, bounds=_UNIT, display="MS-SSIM"),
    PerImageMetric("loss", ("classification", "regression", "reconstruction", "segmentation"), None, False),
)

METRICS: dict[str, Metric] = {m.name: m for m in _REGISTRY}
"""All metrics of predictions by name (:func:`register_metric` adds to it)."""

PER_IMAGE_METRICS: dict[str, PerImageMetric] = {m.name: m for m in _PER_IMAGE}
"""All per-image values by name (:func:`register_metric` adds to it)."""

MEDIAN_SUFFIX = "_median"
"""Suffix of the median over images of a per-image value (``SSIM_median``); the plain name is the mean."""

DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("BA", "accuracy", "AUC", "sensitivity", "specificity", "PPV", "NPV", "F1_score", "MCC",
               "MK", "LR_plus", "LR_minus"),
    "multiclass": ("BA", "accuracy", "AUC"),
    "regression": ("MAE", "RMSE", "R2_score", "r"),
    "values": ("mean", "median"),
}
"""Metrics reported when none are asked for, by task."""


# ------------------------------------------------------------------------------------------- look-ups


def metric_entry(name: str, *, per_image: bool | None = None) -> Metric | PerImageMetric | None:
    """The registry entry of a name as outputs spell it, or None for a name the registry does not know.

    ``<name>_median`` (median over images of a per-image value) and ``<name>-<k>`` (class ``k``) are looked up
    as ``<name>``.

    Parameters
    ----------
    name : str
    per_image : bool or None, default None
        True: per-image values only; False: metrics of predictions only; None: both (metrics of predictions
        first).

    Examples
    --------
    >>> metric_entry("sensitivity-2").name, metric_entry("HD95_median").higher_is_better
    ('sensitivity', False)
    """
    base = name.removesuffix(MEDIAN_SUFFIX)
    stem, _, suffix = base.rpartition("-")
    candidates = (base, stem) if suffix.isdigit() and stem else (base,)
    tables = {None: (METRICS, PER_IMAGE_METRICS), False: (METRICS,), True: (PER_IMAGE_METRICS,)}[per_image]
    for candidate in candidates:
        for table in tables:
            if candidate in table:
                return table[candidate]
    return None


def higher_is_better(name: str) -> bool:
    """Direction of a metric or per-image value; True for a name the registry does not know.

    Examples
    --------
    >>> higher_is_better("BA"), higher_is_better("MAE"), higher_is_better("LR_minus-1"), higher_is_better("loss")
    (True, False, False, False)
    """
    entry = metric_entry(name)
    return True if entry is None else entry.higher_is_better


def lower_is_better_names() -> frozenset[str]:
    """Names of the registered metrics and per-image values for which a lower value is better."""
    entries = [*METRICS.values(), *PER_IMAGE_METRICS.values()]
    return frozenset(e.name for e in entries if not e.higher_is_better)


def display_name(name: str) -> str:
    """Name of a metric in sentences: ``"balanced accuracy"``, ``"sensitivity (class 2)"``; unknown: itself.

    Examples
    --------
    >>> display_name("BA"), display_name("sensitivity-2"), display_name("SSIM_median")
    ('balanced accuracy', 'sensitivity (class 2)', 'SSIM_median')
    """
    entry = metric_entry(name)
    if entry is None or name.endswith(MEDIAN_SUFFIX):
        return name
    words = entry.display or entry.name
    return words if name == entry.name else f"{words} (class {name.rpartition('-')[2]})"


def metric_bounds(name: str, *, per_image: bool | None = None) -> tuple[float, float] | None:
    """Range of a metric or per-image value (None: unbounded or unknown); see :func:`metric_entry`."""
    entry = metric_entry(name, per_image=per_image)
    return None if entry is None else entry.bounds


def interval_methods(name: str) -> tuple[str, ...]:
    """Interval methods that apply to a metric: the bootstrap ones, ``analytic`` and the closed forms it has.

    A per-image value is summarised by its mean (``<name>``) or median (``<name>_median``): the methods of
    the ``mean`` or ``median`` entry. Empty for an unknown name.
    """
    entry = metric_entry(name)
    if isinstance(entry, PerImageMetric):
        entry = METRICS["median" if name.endswith(MEDIAN_SUFFIX) else "mean"]
    if entry is None:
        return ()
    return (*BOOTSTRAP_METHODS, *(("analytic",) if entry.analytic else ()), *entry.closed_forms)


def headline_metrics() -> tuple[str, ...]:
    """Names reported first when present (methods paragraph, LaTeX table), in registry order."""
    entries = [*METRICS.values(), *PER_IMAGE_METRICS.values()]
    return tuple(dict.fromkeys(e.name for e in entries if e.headline))


def per_image_metrics(task: str) -> tuple[str, ...]:
    """Names of the per-image values that the predictions of ``task`` carry, in registry order."""
    return tuple(m.name for m in PER_IMAGE_METRICS.values() if task in m.tasks)


def register_metric(entry: Metric | PerImageMetric, *, replace: bool = False) -> None:
    """Add a metric to the registry: every command, table and report then knows it.

    Parameters
    ----------
    entry : Metric or PerImageMetric
    replace : bool, default False
        Replace an entry of the same name and kind.

    Raises
    ------
    InputError
        A name already registered (without ``replace``), or an unknown sufficient statistic.
    """
    table = PER_IMAGE_METRICS if isinstance(entry, PerImageMetric) else METRICS
    if entry.name in table and not replace:
        raise InputError(f"A metric named {entry.name!r} is already registered; pass replace=True to replace it.")
    if isinstance(entry, Metric) and entry.statistic not in STATISTICS:
        raise InputError(f"Unknown statistic {entry.statistic!r} of metric {entry.name!r}; choose among "
                         f"{', '.join(STATISTICS)}.")
    table[entry.name] = entry


def unregister_metric(name: str, *, per_image: bool = False) -> Metric | PerImageMetric | None:
    """Remove a metric from the registry (the inverse of :func:`register_metric`); return what was removed."""
    return (PER_IMAGE_METRICS if per_image else METRICS).pop(name, None)


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
    for m in METRICS.values():
        if task not in m.tasks:
            continue
        if task == "multiclass" and m.per_class:
            if m.name == "BA":
                names.append("BA")
            names.extend(f"{m.name}-{k}" for k in range(predictions.n_classes))
        else:
            names.append(m.name)
    return tuple(names)


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
            cache[key] = STATISTICS[key](predictions, weights)
        k = request.class_code
        if key == "auc" and k < 0:
            k = cache[key].shape[1] - 1 if predictions.task == "multiclass" else predictions.pos_label
        out[:, j] = request.metric.compute(cache[key], k)
    return out


def point_estimates(predictions: Predictions, requests: Sequence[MetricRequest]) -> np.ndarray:
    """Metrics on the data as observed (unit weights), shape (len(requests),)."""
    return evaluate_metrics(predictions, requests, np.ones((1, predictions.n_rows)))[0]
