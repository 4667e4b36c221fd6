"""Prediction tables: image-level soft voting (no torch).

The metrics themselves are computed by :func:`clinicadl.runtime.metrics.compute_metrics` (re-exported here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinicadl.runtime.metric_names import TASK_METRICS
from clinicadl.runtime.metrics import POSITIVE_CLASS_CODE, compute_metrics, proba_columns

__all__ = ["POSITIVE_CLASS_CODE", "RECONSTRUCTION_VALUES", "compute_metrics", "soft_vote"]

RECONSTRUCTION_VALUES = TASK_METRICS["reconstruction"]


def soft_vote(frame: pd.DataFrame, task: str, mode: str) -> pd.DataFrame:
    """Image-level predictions from patch/slice/ROI ones: the mean of the probabilities (or values) per image.

    Keeps ``participant_id`` and ``session_id`` (upstream's image-level files may lack them), image order as first
    seen, ``image_id`` 0.
    """
    keys = ["participant_id", "session_id"]
    grouped = frame.groupby(keys, sort=False)
    if task == "classification":
        probas = proba_columns(frame)
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
