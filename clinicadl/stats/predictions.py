"""Validated, resampling-ready predictions of one model on one test set.

:func:`make_predictions` checks the arrays once (at the boundary) and stores them in the layout the
metric engine needs: rows grouped by resampling unit (participant), and for binary classification
negatives then positives, each sorted by score, so that the AUC of any weighting of the rows costs
one cumulative sum and no sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinicadl.errors import InputError

TASKS = ("binary", "multiclass", "regression", "values")


@dataclass(frozen=True)
class AucLayout:
    """Precomputed ranks for a weighted one-vs-rest AUC of one class.

    Attributes
    ----------
    order : numpy.ndarray or None
        Stored rows in the layout ``[negatives by score, positives by score]`` (None: already so).
    n_neg : int
        Number of negatives (the first ``n_neg`` rows of the layout).
    below, up_to : numpy.ndarray
        For each positive, the number of negatives with a strictly lower score and with a lower or
        equal score (ties count one half).
    """

    order: np.ndarray | None
    n_neg: int
    below: np.ndarray
    up_to: np.ndarray


@dataclass(frozen=True)
class Predictions:
    """Predictions of one model, validated and laid out for fast weighted metrics.

    Build it with :func:`make_predictions`. Rows are stored in an internal order; ``row_index``
    gives, for each stored row, its position in the arrays the user passed.

    Attributes
    ----------
    task : str
        ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"values"`` (per-image values such as a
        reconstruction SSIM or a segmentation Dice, summarised by their mean or median).
    y_true : numpy.ndarray
        True class codes (int) or true values (float); empty for ``"values"``.
    y_pred : numpy.ndarray
        Predicted class codes, predicted values, or the per-image values.
    y_score : numpy.ndarray or None
        Class probabilities, shape (n, n_classes), for classification.
    units : numpy.ndarray
        Resampling unit (participant) code of each row, in ``0 .. n_units - 1``.
    n_units : int
        Number of resampling units.
    n_classes : int
        Number of classes (0 for regression and values).
    pos_label : int
        Code of the positive class of binary metrics.
    row_index : numpy.ndarray
        Original position of each stored row.
    auc : tuple of AucLayout
        One layout per class whose one-vs-rest AUC is needed (binary: the positive class only).
    """

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray | None
    units: np.ndarray
    n_units: int
    n_classes: int
    pos_label: int
    row_index: np.ndarray
    auc: tuple[AucLayout | None, ...]

    @property
    def n_rows(self) -> int:
        return int(self.y_pred.shape[0])

    @property
    def has_clusters(self) -> bool:
        """True when at least one unit holds several rows (participant-level resampling matters)."""
        return self.n_units < self.n_rows


def _as_1d(x, name: str, dtype=float) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        raise InputError(f"{name} is empty: there is nothing to evaluate.")
    if dtype is float:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be numeric ({exc}).") from None
        if not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise InputError(f"{name} contains NaN or infinite values (first at row {bad}); remove or fix them.")
    return arr


def _unit_codes(groups, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups)
    if g.shape != (n,):
        raise InputError(f"groups must have one entry per row ({n}), got shape {g.shape}.")
    _, codes = np.unique(g, return_inverse=True)
    codes = codes.reshape(-1)
    return codes, int(codes.max()) + 1


def _auc_layout(score: np.ndarray, positive: np.ndarray) -> AucLayout | None:
    neg = np.flatnonzero(~positive)
    pos = np.flatnonzero(positive)
    if neg.size == 0 or pos.size == 0:
        return None
    neg = neg[np.argsort(score[neg], kind="stable")]
    pos = pos[np.argsort(score[pos], kind="stable")]
    neg_scores = score[neg]
    below = np.searchsorted(neg_scores, score[pos], side="left")
    up_to = np.searchsorted(neg_scores, score[pos], side="right")
    return AucLayout(np.concatenate([neg, pos]), int(neg.size), below, up_to)


def make_predictions(
    y_true,
    y_score=None,
    *,
    y_pred=None,
    task: str | None = None,
    groups=None,
    pos_label: int = 1,
) -> Predictions:
    """Validate predictions and lay them out for resampling.

    Parameters
    ----------
    y_true : array_like of shape (n,) or None
        True class codes ``0 .. K-1`` (classification) or true values (regression). None for
        per-image values (``task="values"``).
    y_score : array_like of shape (n, K) or (n,), optional
        Classification: class probabilities (rows summing to 1), or for two classes the
        probability of class 1. Regression: the predicted values. Values: the per-image values.
    y_pred : array_like of shape (n,), optional
        Predicted class codes; by default the arg-max of ``y_score``.
    task : {"binary", "multiclass", "regression", "values"}, optional
        Inferred when omitted: ``values`` if ``y_true`` is None, classification if ``y_true`` has
        an integer dtype or ``y_score`` is two-dimensional, regression otherwise.
    groups : array_like of shape (n,), optional
        Resampling unit of each row (participant identifier). Rows of one participant are
        resampled together. By default every row is its own unit.
    pos_label : int, default 1
        Class code taken as positive by binary metrics (ClinicaDL 1.x MAPS use 0).

    Returns
    -------
    Predictions
    """
    if task is not None and task not in TASKS:
        raise InputError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    if y_true is None or task == "values":
        values = _as_1d(y_score if y_score is not None else y_pred, "values")
        units, n_units = _unit_codes(groups, values.size)
        order = np.argsort(values, kind="stable")
        return Predictions("values", np.empty(0), values[order], None, units[order], n_units, 0, 0,
                           order, ())
    y_true_arr = np.asarray(y_true)
    if y_true_arr.ndim != 1 or y_true_arr.size == 0:
        raise InputError(f"y_true must be a non-empty one-dimensional array, got shape {y_true_arr.shape}.")
    n = y_true_arr.size
    score = None if y_score is None else np.asarray(y_score, dtype=np.float64)
    if task is None:
        # integer labels (or a probability matrix) mean classification; float truth means regression
        integer_labels = np.issubdtype(y_true_arr.dtype, np.integer) or np.issubdtype(y_true_arr.dtype, np.bool_)
        task = "classification" if integer_labels or (score is not None and score.ndim == 2) else "regression"
    if task == "regression":
        truth = _as_1d(y_true_arr, "y_true")
        pred = _as_1d(score if score is not None else y_pred, "predictions")
        if pred.size != n:
            raise InputError(f"y_true has {n} rows but the predictions have {pred.size}.")
        units, n_units = _unit_codes(groups, n)
        order = np.argsort(units, kind="stable")
        return Predictions("regression", truth[order], pred[order], None, units[order], n_units, 0, 0,
                           order, ())
    return _classification(y_true_arr, score, y_pred, groups, pos_label, task)


def _classification(y_true, score, y_pred, groups, pos_label, task) -> Predictions:
    n = y_true.size
    truth = _as_1d(y_true, "y_true")
    if np.any(np.mod(truth, 1) != 0) or truth.min() < 0:
        raise InputError("y_true must hold class codes 0, 1, ..., K-1 for classification.")
    truth = truth.astype(np.int64)
    if score is not None:
        if score.ndim == 1:
            score = np.column_stack([1.0 - score, score])
        if score.ndim != 2 or score.shape[0] != n:
            raise InputError(f"y_score must have shape (n, K) with n = {n}, got {score.shape}.")
        if not np.all(np.isfinite(score)):
            raise InputError("y_score contains NaN or infinite probabilities; fix the prediction file.")
        if np.any(score < 0) or np.any(score > 1):
            raise InputError("y_score holds values outside [0, 1]: probabilities are expected (apply softmax).")
        if np.any(np.abs(score.sum(axis=1) - 1) > 1e-3):
            raise InputError("rows of y_score do not sum to 1: class probabilities (softmax outputs) are expected.")
    n_classes = max(int(truth.max()) + 1, 2, 0 if score is None else score.shape[1])
    if score is not None and score.shape[1] != n_classes:
        raise InputError(f"y_true has class code {truth.max()} but y_score has only {score.shape[1]} columns.")
    if y_pred is None:
        if score is None:
            raise InputError("Give y_pred or y_score for classification.")
        pred = np.argmax(score, axis=1)
    else:
        pred = _as_1d(y_pred, "y_pred")
        if pred.size != n or np.any(np.mod(pred, 1) != 0) or pred.min() < 0 or pred.max() >= n_classes:
            raise InputError(f"y_pred must hold {n} class codes in 0..{n_classes - 1}.")
        pred = pred.astype(np.int64)
    kind = "binary" if n_classes == 2 else "multiclass"
    if task not in (None, "classification", kind):
        raise InputError(f"task={task!r} but the labels define {n_classes} classes.")
    if not 0 <= pos_label < n_classes:
        raise InputError(f"pos_label={pos_label} is not a class code (0..{n_classes - 1}).")
    units, n_units = _unit_codes(groups, n)
    if kind == "binary":
        # Store negatives then positives, each by increasing score: the AUC layout needs no gather.
        positive = truth == pos_label
        layout = _auc_layout(score[:, pos_label], positive) if score is not None else None
        order = layout.order if layout is not None else np.argsort(units, kind="stable")
        if layout is not None:
            layout = AucLayout(None, layout.n_neg, layout.below, layout.up_to)
        aucs: tuple[AucLayout | None, ...] = (layout,)
    else:
        order = np.argsort(units, kind="stable")
        aucs = tuple(
            _auc_layout(score[order, k], truth[order] == k) if score is not None else None
            for k in range(n_classes)
        )
    return Predictions(kind, truth[order], pred[order], None if score is None else score[order],
                       units[order], n_units, n_classes, int(pos_label), order, aucs)
