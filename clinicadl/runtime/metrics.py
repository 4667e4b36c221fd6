"""Upstream's metrics of a model's predictions: their values on a prediction table (no torch).

Metrics are computed with the registry of :mod:`clinicadl.stats.metrics`, in upstream's names and order
(:func:`clinicadl.runtime.metric_names.task_metrics`), ``loss`` last. For two classes the class-specific metrics
are those of class code 0 taken as positive (upstream's convention: the first label in sorted order, e.g. AD).
Undefined metrics (e.g. NPV without a negative prediction) are NaN, where upstream wrote 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from clinicadl.stats.metrics import point_estimates, resolve_metrics
from clinicadl.stats.predictions import make_predictions

__all__ = ["POSITIVE_CLASS_CODE", "compute_metrics", "proba_columns"]

POSITIVE_CLASS_CODE = 0
"""Class code taken as positive for two classes (upstream: the first label in sorted order)."""


def proba_columns(frame: pd.DataFrame) -> list[str]:
    """The ``proba<k>`` columns of a classification prediction table, in class order."""
    return sorted((c for c in frame.columns if c.startswith("proba")), key=lambda c: int(c[5:]))


def compute_metrics(frame: pd.DataFrame, task: str, names: tuple[str, ...], loss: float) -> dict[str, float]:
    """Metrics ``names`` (upstream order, ``loss`` included) of a prediction table."""
    wanted = [n for n in names if n != "loss"]
    values: dict[str, float] = {}
    if task in ("reconstruction", "segmentation"):  # per-image values: their mean (NaN: undefined, left out)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column (HD95 of empty masks) gives NaN
            values = {n: float(np.nanmean(frame[n].to_numpy(dtype=float))) for n in wanted}
    elif task == "classification":
        scores = frame[proba_columns(frame)].to_numpy(dtype=float)
        predictions = make_predictions(
            frame["true_label"].to_numpy(dtype=np.int64), scores,
            y_pred=frame["predicted_label"].to_numpy(dtype=np.int64),
            task="binary" if scores.shape[1] == 2 else "multiclass", pos_label=POSITIVE_CLASS_CODE,
        )
        estimates = point_estimates(predictions, resolve_metrics(wanted, predictions))
        values = dict(zip(wanted, map(float, estimates)))
    else:
        predictions = make_predictions(frame["true_label"].to_numpy(dtype=float),
                                       frame["predicted_label"].to_numpy(dtype=float), task="regression")
        estimates = point_estimates(predictions, resolve_metrics(wanted, predictions))
        values = dict(zip(wanted, map(float, estimates)))
    if "loss" in names:
        values["loss"] = float(loss)
    return {n: values[n] for n in names}
