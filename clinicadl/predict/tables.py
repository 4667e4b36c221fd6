"""Prediction tables: upstream metrics (wide layout) and image-level soft voting (no torch).

Metrics are computed with the registry of :mod:`clinicadl.stats.metrics`, in upstream's names and order
(:func:`clinicadl.training.config.task_metrics`), ``loss`` last. For two classes the class-specific metrics are those
of class code 0 taken as positive (upstream's convention: the first label in sorted order, e.g. AD). Undefined
metrics (e.g. NPV without a negative prediction) are NaN, where upstream wrote 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from clinicadl.stats.metrics import point_estimates, resolve_metrics
from clinicadl.stats.predictions import make_predictions

__all__ = ["POSITIVE_CLASS_CODE", "RECONSTRUCTION_VALUES", "compute_metrics", "metrics_table", "soft_vote"]

POSITIVE_CLASS_CODE = 0
RECONSTRUCTION_VALUES = ("MAE", "RMSE", "PSNR", "SSIM")


def _proba_columns(frame: pd.DataFrame) -> list[str]:
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
        scores = frame[_proba_columns(frame)].to_numpy(dtype=float)
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


def metrics_table(metrics: dict[str, float]) -> pd.DataFrame:
    """The wide layout of ``<group>_<level>_level_metrics.tsv``: a header of names, one row of values."""
    return pd.DataFrame([metrics])


def soft_vote(frame: pd.DataFrame, task: str, mode: str) -> pd.DataFrame:
    """Image-level predictions from patch/slice/ROI ones: the mean of the probabilities (or values) per image.

    Keeps ``participant_id`` and ``session_id`` (upstream's image-level files may lack them), image order as first
    seen, ``image_id`` 0.
    """
    keys = ["participant_id", "session_id"]
    grouped = frame.groupby(keys, sort=False)
    if task == "classification":
        probas = _proba_columns(frame)
        out = grouped[probas].mean()
        out.insert(0, "predicted_label", np.argmax(out[probas].to_numpy(), axis=1))
        out.insert(0, "true_label", grouped["true_label"].first())
    elif task == "regression":
        out = grouped[["predicted_label"]].mean()
        out.insert(0, "true_label", grouped["true_label"].first())
    else:
        out = grouped[list(RECONSTRUCTION_VALUES)].mean()
    out = out.reset_index()
    out.insert(2, "image_id", 0)
    return out
