"""Writing the predictions of one model on one group, in upstream's file names (no torch).

In ``split-<i>/best-<m>/<group>/``: ``<group>_<mode>_level_prediction.tsv`` and ``_metrics.tsv`` (ClinicaDL 1.6.1's
transposed layout, :func:`clinicadl.maps.metrics_tsv.write_metrics_tsv`; its interval rows hold ``N/A``: our
participant-level intervals go to ``<group>_image_level_metrics_ci.tsv``), and in patch/slice/roi modes the
soft-voted ``<group>_image_level_prediction.tsv`` and ``_metrics.tsv``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.maps.metrics_tsv import write_metrics_tsv
from clinicadl.predict.tables import soft_vote
from clinicadl.runtime.metrics import compute_metrics

__all__ = ["write_model_predictions"]


def _write(path: Path, frame: pd.DataFrame) -> Path:
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", index=False, na_rep="NaN")
    return atomic_write_text(path, buffer.getvalue())


def write_model_predictions(
    folder: str | Path, group: str, frame: pd.DataFrame, loss: float, *, task: str, mode: str,
    metric_names: Sequence[str], with_labels: bool = True,
) -> dict[str, dict[str, float]]:
    """Write the prediction and metrics files; returns the metrics by level (``mode`` and ``image``)."""
    folder = Path(folder)
    levels = {mode: frame}
    if mode != "image":
        levels["image"] = soft_vote(frame, task, mode)
    metrics: dict[str, dict[str, float]] = {}
    for level, table in levels.items():
        _write(folder / f"{group}_{level}_level_prediction.tsv", table)
        if with_labels or task == "reconstruction":
            metrics[level] = compute_metrics(table, task, tuple(metric_names), loss)
            write_metrics_tsv(folder / f"{group}_{level}_level_metrics.tsv", metrics[level])
    return metrics
