"""One prediction table checked and brought to image level (the checks every reader of predictions shares).

Image level from slices, patches or regions
-------------------------------------------
``<group>_image_level_prediction.tsv`` is preferred. When it is absent, or lacks
``participant_id``/``session_id`` (upstream writes only ``image_id``, 0 on every row, in slice, patch
and roi modes), the image level is rebuilt from ``<group>_<mode>_level_prediction.tsv`` by soft voting:
the unweighted mean of the class probabilities of the rows of each (participant_id, session_id),
``predicted_label`` being the class of highest mean probability (lowest code on ties). Regression
predictions and per-image values are averaged the same way. Row order is never relied upon.

Checks: identifiers present and unique per image (per element in slice, patch and roi modes), labels constant
within an image, finite values, class probabilities in [0, 1] summing to 1 (within :data:`PROBABILITY_TOLERANCE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.maps.tables import ID_COLUMNS, require_columns

__all__ = ["MODES", "PROBABILITY_TOLERANCE", "PROBA_COLUMN", "image_level"]

MODES = ("image", "slice", "patch", "roi")
"""Upstream modes: the unit one row of a mode-level prediction file describes."""

PROBABILITY_TOLERANCE = 1e-3
"""Largest accepted distance between the sum of the class probabilities of a row and 1."""

_BOUND_TOLERANCE = 1e-6  # float32 softmax outputs may exceed 1 by a rounding error
PROBA_COLUMN = re.compile(r"^proba(\d+)$")
"""Name of a class-probability column: ``proba<k>``."""
_LABEL_COLUMNS = ("true_label", "predicted_label")
_NOT_VALUES = ("epoch", "cohort")  # columns of per-image tables that are not metric values


def _images(frame: pd.DataFrame, mask: np.ndarray | pd.Series, limit: int = 3) -> str:
    rows = frame.loc[np.asarray(mask), list(ID_COLUMNS)].drop_duplicates().head(limit)
    return ", ".join(f"{p} {s}" for p, s in rows.itertuples(index=False, name=None))


def _infer_task(columns: Sequence[str]) -> str:
    if any(PROBA_COLUMN.match(column) for column in columns):
        return "classification"
    if any(column in columns for column in _LABEL_COLUMNS):
        return "regression"
    return "per_image"


def _mode_column(columns: Sequence[str]) -> str | None:
    for mode in MODES:
        if f"{mode}_id" in columns:
            return f"{mode}_id"
    return None


def _numeric(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> pd.DataFrame:
    """Columns converted to float; a cell that is present but not a number is an error."""
    converted = {}
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            example = frame.loc[bad, column].iloc[0]
            raise InputError(
                f"{path}: column {column!r} holds {int(bad.sum())} non-numeric values (first: {example!r} "
                f"for {_images(frame, bad, 1)}); fix or re-create the file."
            )
        converted[column] = values.astype(float)
    return pd.DataFrame(converted, index=frame.index)


def _check_finite(values: pd.DataFrame, frame: pd.DataFrame, path: Path) -> None:
    for column in values.columns:
        bad = ~np.isfinite(values[column].to_numpy())
        if bad.any():
            raise InputError(
                f"{path}: column {column!r} has {int(bad.sum())} NaN or infinite values (first images: "
                f"{_images(frame, bad)}); predictions must be complete, re-run `clinicadl predict`."
            )


def _probability_columns(columns: Sequence[str], path: Path, labels: tuple[str, ...]) -> list[str]:
    indices = sorted(int(match.group(1)) for column in columns if (match := PROBA_COLUMN.match(column)))
    if indices != list(range(len(indices))):
        raise InputError(
            f"{path} has the probability columns {', '.join(f'proba{i}' for i in indices)}; expected "
            f"proba0 ... proba{len(indices) - 1} without gaps."
        )
    if labels and len(labels) != len(indices):
        raise InputError(
            f"{path} has {len(indices)} probability columns but maps.json label_code names {len(labels)} "
            f"classes ({', '.join(labels)}); the predictions do not belong to this MAPS."
        )
    if len(indices) < 2:
        raise InputError(
            f"{path} has {len(indices)} probability column; classification needs proba0 and proba1."
        )
    return [f"proba{i}" for i in indices]


def _classification_values(frame: pd.DataFrame, path: Path, labels: tuple[str, ...]) -> pd.DataFrame:
    probabilities = _probability_columns(list(frame.columns), path, labels)
    require_columns(frame, [*ID_COLUMNS, *_LABEL_COLUMNS], path, fix="classification predictions need them")
    values = _numeric(frame, [*_LABEL_COLUMNS, *probabilities], path)
    _check_finite(values, frame, path)
    n_classes = len(probabilities)
    for column in _LABEL_COLUMNS:
        codes = values[column].to_numpy()
        bad = (codes != np.round(codes)) | (codes < 0) | (codes >= n_classes)
        if bad.any():
            raise InputError(
                f"{path}: column {column!r} has {int(bad.sum())} values that are not class codes "
                f"0..{n_classes - 1} "
                f"(first: {codes[bad][0]!r} for {_images(frame, bad, 1)}); fix or re-create the file."
            )
    matrix = values[probabilities].to_numpy()
    outside = ((matrix < -_BOUND_TOLERANCE) | (matrix > 1 + _BOUND_TOLERANCE)).any(axis=1)
    if outside.any():
        raise InputError(
            f"{path}: {int(outside.sum())} rows have probabilities outside [0, 1] (first images: "
            f"{_images(frame, outside)}); the proba columns must hold softmax outputs, not logits."
        )
    off = np.abs(matrix.sum(axis=1) - 1.0) > PROBABILITY_TOLERANCE
    if off.any():
        raise InputError(
            f"{path}: {int(off.sum())} rows have probabilities that do not sum to 1 within "
            f"{PROBABILITY_TOLERANCE:g} (first images: {_images(frame, off)}); the proba columns must "
            "hold one softmax output per class."
        )
    return values


def _regression_values(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    require_columns(frame, [*ID_COLUMNS, *_LABEL_COLUMNS], path, fix="regression predictions need them")
    values = _numeric(frame, _LABEL_COLUMNS, path)
    _check_finite(values, frame, path)
    return values


def _per_image_values(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    require_columns(frame, ID_COLUMNS, path)
    columns = [
        column
        for column in frame.columns
        if column not in ID_COLUMNS and not column.endswith("_id") and column not in _NOT_VALUES
    ]
    if not columns:
        raise InputError(
            f"{path} has no prediction or per-image value column (found: {', '.join(frame.columns)}); "
            "expected true_label, predicted_label (+ proba0...) or per-image metric columns."
        )
    values = _numeric(frame, columns, path)
    finite = np.isfinite(values.to_numpy())
    kept = [column for column, any_finite in zip(columns, finite.any(axis=0), strict=True) if any_finite]
    dropped = tuple(column for column in columns if column not in kept)
    if not kept:
        raise InputError(
            f"{path}: the per-image value columns {', '.join(columns)} hold no finite value; "
            "re-run the test of the model."
        )
    return values[kept], dropped


def _constant_per_image(values: pd.Series, keys: pd.DataFrame, path: Path) -> None:
    counts = values.groupby([keys[c] for c in ID_COLUMNS]).nunique()
    varying = counts[counts > 1]
    if len(varying):
        examples = ", ".join(f"{p} {s}" for p, s in varying.index[:3])
        raise InputError(
            f"{path}: true_label differs between the rows of {len(varying)} images (first: {examples}); "
            "all slices/patches/regions of an image must carry the image's label."
        )


def _soft_vote(
    keys: pd.DataFrame, values: pd.DataFrame, task: str, path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Image-level values: mean per (participant_id, session_id), labels checked constant."""
    if task in ("classification", "regression"):
        _constant_per_image(values["true_label"], keys, path)
    grouped = values.groupby([keys[c] for c in ID_COLUMNS], sort=True)
    means = grouped.mean()
    if task == "classification":
        probabilities = [column for column in values.columns if PROBA_COLUMN.match(column)]
        means["true_label"] = grouped["true_label"].first()
        means["predicted_label"] = np.argmax(means[probabilities].to_numpy(), axis=1).astype(float)
    elif task == "regression":
        means["true_label"] = grouped["true_label"].first()
    index = means.index.to_frame(index=False)
    return index, means.reset_index(drop=True)


def image_level(
    table: pd.DataFrame, path: Path, *, task: str | None = None, labels: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str, str, tuple[str, ...], tuple[str, ...]]:
    """Check one prediction table and bring it to image level.

    Returns the frame, the task, the mode read from the ``<mode>_id`` column (``"image"`` without one),
    the class names and the dropped per-image columns.
    """
    inferred = _infer_task(list(table.columns))
    task = task or inferred
    require_columns(table, ID_COLUMNS, path)
    missing_ids = table[list(ID_COLUMNS)].isna().any(axis=1).to_numpy()
    if missing_ids.any():
        raise InputError(
            f"{path}: {int(missing_ids.sum())} rows have an empty participant_id or session_id "
            f"(first at data row {int(np.argmax(missing_ids)) + 1}); every row must name its image."
        )
    if task == "classification" and inferred != "classification":
        raise InputError(
            f"{path} has no probability columns proba0 ... proba<K-1> (found: {', '.join(table.columns)}); "
            "classification predictions need true_label, predicted_label and one proba column per class."
        )
    dropped: tuple[str, ...] = ()
    if task == "classification":
        values = _classification_values(table, path, labels)
        labels = labels or tuple(str(i) for i in range(len(values.columns) - 2))
    elif task == "regression":
        values = _regression_values(table, path)
        labels = ()
    else:
        values, dropped = _per_image_values(table, path)
        labels = ()
    keys = table.loc[:, list(ID_COLUMNS)].astype(str)
    mode_column = _mode_column(list(table.columns))
    mode = mode_column[: -len("_id")] if mode_column else "image"
    if mode != "image":
        duplicated = table.duplicated([*ID_COLUMNS, mode_column], keep=False)
        if duplicated.any():
            raise InputError(
                f"{path}: {int(duplicated.sum())} rows repeat a ({', '.join(ID_COLUMNS)}, {mode_column}) "
                f"triple (first images: {_images(table, duplicated)}); keep one row per {mode}."
            )
        keys, values = _soft_vote(keys, values, task, path)
    else:
        duplicated = keys.duplicated(keep=False)
        if duplicated.any():
            raise InputError(
                f"{path}: {int(duplicated.sum())} rows repeat an image "
                f"(first: {_images(table, duplicated)}); "
                "an image-level file needs one row per participant_id, session_id."
            )
    frame = pd.concat([keys.reset_index(drop=True), values.reset_index(drop=True)], axis=1)
    if task == "classification":
        frame[list(_LABEL_COLUMNS)] = frame[list(_LABEL_COLUMNS)].astype(np.int64)
        probabilities = [column for column in values.columns if PROBA_COLUMN.match(column)]
        frame = frame.loc[:, [*ID_COLUMNS, *_LABEL_COLUMNS, *probabilities]]
    elif task == "regression":
        frame = frame.loc[:, [*ID_COLUMNS, *_LABEL_COLUMNS]]
    frame = frame.sort_values(list(ID_COLUMNS), kind="stable").reset_index(drop=True)
    return frame, task, mode, labels, dropped
