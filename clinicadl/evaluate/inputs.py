"""From what the user points at (a MAPS or a prediction TSV) to validated statistical inputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps import ModelPredictions, find_models, read_model_predictions, read_prediction_tsv
from clinicadl.stats import Predictions, make_predictions
from clinicadl.stats.metrics import MEDIAN_SUFFIX

POSITIVE_CLASS_CODE = 0
"""ClinicaDL 1.x convention: class code 0 (the first label in sorted order, e.g. AD) is positive."""



def is_maps(path: Path) -> bool:
    return path.is_dir()


def load_models(
    input_path: str | Path,
    data_group: str | None,
    *,
    splits: Sequence[int] | None = None,
    selection_metrics: Sequence[str] | None = None,
) -> list[ModelPredictions]:
    """Predictions of every model asked for: one per (split, selection metric) of a MAPS, or one TSV."""
    path = Path(input_path)
    if not path.exists():
        raise InputError(f"{path} does not exist: give a MAPS folder or a prediction TSV file.")
    if not is_maps(path):
        return [read_prediction_tsv(path)]
    if data_group is None:
        raise MAPSError(f"{path} is a MAPS: name the DATA_GROUP to evaluate (e.g. test).")
    models = find_models(path, data_group, splits=splits or None, selection_metrics=selection_metrics or None)
    return [read_model_predictions(path, data_group, split=s, selection_metric=m) for s, m in models]


def positive_class(model: ModelPredictions) -> str:
    """Name of the positive class of binary metrics (empty unless binary classification)."""
    if model.task == "classification" and len(model.labels) == 2:
        return model.labels[POSITIVE_CLASS_CODE]
    return ""


def to_predictions(model: ModelPredictions, column: str | None = None) -> Predictions:
    """Statistical view of a model's image-level predictions; participants are the resampling units.

    For per-image values (reconstruction, 2.0 ``details.tsv``) one value column is taken at a time;
    images whose value is NaN are left out.
    """
    frame = model.frame
    groups = frame["participant_id"].to_numpy()
    if model.task == "classification":
        scores = frame[list(model.probability_columns)].to_numpy(dtype=float)
        return make_predictions(
            frame["true_label"].to_numpy(dtype=np.int64),
            scores,
            y_pred=frame["predicted_label"].to_numpy(dtype=np.int64),
            task="binary" if scores.shape[1] == 2 else "multiclass",
            groups=groups,
            pos_label=POSITIVE_CLASS_CODE,
        )
    if model.task == "regression":
        return make_predictions(
            frame["true_label"].to_numpy(dtype=float), frame["predicted_label"].to_numpy(dtype=float),
            task="regression", groups=groups,
        )
    values = frame[column].to_numpy(dtype=float)
    keep = np.isfinite(values)
    if not keep.any():
        raise InputError(f"{model.source}: column {column!r} holds no finite value.")
    return make_predictions(None, values[keep], task="values", groups=groups[keep])


def split_value_metrics(model: ModelPredictions, names: Sequence[str] | None) -> dict[str, list[str]]:
    """For per-image values: which statistic ("mean"/"median") of which column each name asks for.

    ``SSIM`` is the mean SSIM over images (upstream's image-level value), ``SSIM_median`` its median.
    """
    columns = list(model.value_columns)
    available = columns + [c + MEDIAN_SUFFIX for c in columns]
    wanted = list(names) if names else available
    plan: dict[str, list[str]] = {c: [] for c in columns}
    for name in wanted:
        if name not in available:
            raise InputError(f"Unknown metric {name!r} for {model.source}; available: {', '.join(available)}.")
        column = name[: -len(MEDIAN_SUFFIX)] if name.endswith(MEDIAN_SUFFIX) else name
        plan[column].append(name)
    return {c: v for c, v in plan.items() if v}
