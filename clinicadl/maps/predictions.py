"""Predictions of a trained model on a data group, at image level: the input of every assessment.

Reads the prediction TSVs of a ClinicaDL 1.x MAPS, the per-image values of a 2.0 MAPS, or a bare
prediction TSV, checks them once, and returns a :class:`ModelPredictions` whose ``frame`` has one row
per image (``participant_id``, ``session_id``), sorted by participant then session.

Image level from slices, patches or regions
-------------------------------------------
``<group>_image_level_prediction.tsv`` is preferred. When it is absent, or lacks
``participant_id``/``session_id`` (upstream writes only ``image_id``, 0 on every row, in slice, patch
and roi modes), the image level is rebuilt from ``<group>_<mode>_level_prediction.tsv`` by soft voting:
the unweighted mean of the class probabilities of the rows of each (participant_id, session_id),
``predicted_label`` being the class of highest mean probability (lowest code on ties). Regression
predictions and per-image values are averaged the same way. Row order is never relied upon.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.layout import (
    details_tsv_path,
    group_dir,
    list_data_groups,
    list_selection_metrics,
    list_splits,
    maps_version,
    normalize_selection_metric,
)
from clinicadl.maps.maps_json import label_names, prediction_mode, read_maps_json
from clinicadl.maps.metrics_tsv import read_metrics_tsv
from clinicadl.maps.tables import ID_COLUMNS, read_tsv, require_columns

__all__ = [
    "MODES",
    "PROBABILITY_TOLERANCE",
    "TASKS",
    "ModelPredictions",
    "find_models",
    "read_model_predictions",
    "read_prediction_tsv",
]

TASKS = ("classification", "regression", "per_image")
"""Kinds of predictions: class probabilities, continuous predictions, or per-image metric values."""

MODES = ("image", "slice", "patch", "roi")
"""Upstream modes: the unit one row of a mode-level prediction file describes."""

PROBABILITY_TOLERANCE = 1e-3
"""Largest accepted distance between the sum of the class probabilities of a row and 1."""

_BOUND_TOLERANCE = 1e-6  # float32 softmax outputs may exceed 1 by a rounding error
_PROBA_RE = re.compile(r"^proba(\d+)$")
_LABEL_COLUMNS = ("true_label", "predicted_label")
_NOT_VALUES = ("epoch", "cohort")  # columns of per-image tables that are not metric values
_NETWORK_TASKS = {
    "classification": "classification",
    "regression": "regression",
    "reconstruction": "per_image",
    "segmentation": "per_image",
}


@dataclass(frozen=True, eq=False)
class ModelPredictions:
    """Image-level predictions of one trained model on one data group.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per image, sorted by ``participant_id`` then ``session_id`` (strings), followed by
        the task columns: ``true_label predicted_label proba0 ... proba<K-1>`` (integer codes, float
        probabilities) for classification; ``true_label predicted_label`` (floats) for regression;
        one float column per metric for ``per_image`` (NaN allowed).
    task : str
        ``"classification"``, ``"regression"`` or ``"per_image"``.
    labels : tuple of str
        Class names in code order (``("AD", "CN")`` from ``label_code``); ``("0", "1", ...)`` when the
        names are unknown; empty unless ``task == "classification"``.
    source : Path
        The prediction file the frame was built from.
    mode : str
        Upstream mode the image level was derived from: ``"image"``, ``"slice"``, ``"patch"`` or ``"roi"``.
    split : int or None
        Split of the model (None for a bare TSV).
    selection_metric : str or None
        Selection metric of the model, without ``best-`` (2.0: ``"final"`` for the last model).
    data_group : str or None
        Data group predicted.
    upstream_metrics : dict of str to float
        Point values that upstream computed at image level (``Values`` row of
        ``<group>_image_level_metrics.tsv``, or 2.0 ``aggregated.tsv``); empty when there is none.
    metrics_source : Path or None
        The file ``upstream_metrics`` was read from.
    maps_version : str or None
        ``"1.x"`` or ``"2.0"``; None for a bare TSV.
    dropped_columns : tuple of str
        Per-image value columns left out because they hold no finite value (e.g. the empty ``auc``
        column of a 2.0 ``details.tsv``).
    """

    frame: pd.DataFrame
    task: str
    labels: tuple[str, ...]
    source: Path
    mode: str
    split: int | None = None
    selection_metric: str | None = None
    data_group: str | None = None
    upstream_metrics: dict[str, float] = field(default_factory=dict)
    metrics_source: Path | None = None
    maps_version: str | None = None
    dropped_columns: tuple[str, ...] = ()

    @property
    def n_images(self) -> int:
        """Number of images (rows of ``frame``)."""
        return len(self.frame)

    @property
    def n_subjects(self) -> int:
        """Number of distinct participants."""
        return int(self.frame["participant_id"].nunique())

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Columns of ``frame`` after ``participant_id`` and ``session_id``."""
        return tuple(column for column in self.frame.columns if column not in ID_COLUMNS)

    @property
    def probability_columns(self) -> tuple[str, ...]:
        """``proba0 ... proba<K-1>`` for classification, else empty."""
        return tuple(column for column in self.frame.columns if _PROBA_RE.match(column))


# --------------------------------------------------------------------------------------------------
# Parsing one table into image-level predictions


def _images(frame: pd.DataFrame, mask: np.ndarray | pd.Series, limit: int = 3) -> str:
    rows = frame.loc[np.asarray(mask), list(ID_COLUMNS)].drop_duplicates().head(limit)
    return ", ".join(f"{p} {s}" for p, s in rows.itertuples(index=False, name=None))


def _infer_task(columns: Sequence[str]) -> str:
    if any(_PROBA_RE.match(column) for column in columns):
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
    indices = sorted(int(match.group(1)) for column in columns if (match := _PROBA_RE.match(column)))
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
        probabilities = [column for column in values.columns if _PROBA_RE.match(column)]
        means["true_label"] = grouped["true_label"].first()
        means["predicted_label"] = np.argmax(means[probabilities].to_numpy(), axis=1).astype(float)
    elif task == "regression":
        means["true_label"] = grouped["true_label"].first()
    index = means.index.to_frame(index=False)
    return index, means.reset_index(drop=True)


def _image_level(
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
        probabilities = [column for column in values.columns if _PROBA_RE.match(column)]
        frame = frame.loc[:, [*ID_COLUMNS, *_LABEL_COLUMNS, *probabilities]]
    elif task == "regression":
        frame = frame.loc[:, [*ID_COLUMNS, *_LABEL_COLUMNS]]
    frame = frame.sort_values(list(ID_COLUMNS), kind="stable").reset_index(drop=True)
    return frame, task, mode, labels, dropped


def read_prediction_tsv(path: str | Path) -> ModelPredictions:
    """Read a bare prediction TSV into image-level predictions.

    Parameters
    ----------
    path : str or Path
        A TSV with ``participant_id``, ``session_id`` (required), an optional ``<mode>_id`` column
        (``image_id``, ``slice_id``, ``patch_id`` or ``roi_id``), and the task columns. The task is inferred:
        ``proba<k>`` columns -> classification (``true_label``, ``predicted_label`` required);
        else ``true_label``/``predicted_label`` -> regression; else every other numeric column is a
        per-image value (``epoch`` and ``cohort`` are not values).

    Returns
    -------
    ModelPredictions
        With ``labels`` ``("0", "1", ...)``, ``mode`` from the ``<mode>_id`` column (``"image"`` without one),
        and no split, selection metric, data group, upstream metrics or MAPS version.
        Rows of slices, patches or regions are soft-voted to image level (see the module docstring).

    Raises
    ------
    InputError
        Empty file, missing columns, NaN labels/probabilities/predictions, probabilities outside [0, 1] or
        not summing to 1, true label varying within an image, repeated images.
    """
    path = Path(path)
    frame, task, mode, labels, dropped = _image_level(read_tsv(path), path)
    return ModelPredictions(
        frame=frame, task=task, labels=labels, source=path, mode=mode, dropped_columns=dropped
    )


# --------------------------------------------------------------------------------------------------
# MAPS readers


def _prediction_levels(folder: Path, data_group: str) -> list[str]:
    prefix, suffix = f"{data_group}_", "_level_prediction.tsv"
    return sorted(
        file.name[len(prefix) : -len(suffix)] for file in folder.glob(f"{prefix}*{suffix}") if file.is_file()
    )


def _resolve_mode(parameters: Mapping, folder: Path, data_group: str) -> str:
    mode = prediction_mode(parameters)
    if mode:
        return mode
    levels = [level for level in _prediction_levels(folder, data_group) if level != "image"]
    return levels[0] if len(levels) == 1 else "image"


def _read_v1(
    maps: Path, data_group: str, split: int, selection_metric: str
) -> tuple[pd.DataFrame, str, tuple[str, ...], Path, str, dict[str, float], Path | None, tuple[str, ...]]:
    folder = group_dir(maps, data_group, split=split, selection_metric=selection_metric)
    parameters = read_maps_json(maps)
    labels = label_names(parameters)
    network_task = parameters.get("network_task")
    task = _NETWORK_TASKS.get(str(network_task)) if network_task else None
    mode = _resolve_mode(parameters, folder, data_group)
    image_file = folder / f"{data_group}_image_level_prediction.tsv"
    mode_file = folder / f"{data_group}_{mode}_level_prediction.tsv"
    table: pd.DataFrame | None = None
    source = image_file
    if image_file.is_file():
        table = read_tsv(image_file)
        if not set(ID_COLUMNS) <= set(table.columns):
            if mode == "image" or not mode_file.is_file():
                raise InputError(
                    f"{image_file} lacks participant_id/session_id and there is no {mode_file.name} to "
                    "rebuild the image level from; re-run `clinicadl predict` on this group."
                )
            table = None
    if table is None:
        if not mode_file.is_file():
            raise MAPSError(
                f"no prediction file for group {data_group!r} in {folder}: expected {image_file.name}"
                + (f" or {mode_file.name}" if mode != "image" else "")
                + "; run `clinicadl predict` on this group."
            )
        table, source = read_tsv(mode_file), mode_file
    frame, task, _, labels, dropped = _image_level(table, source, task=task, labels=labels)
    metrics_file = folder / f"{data_group}_image_level_metrics.tsv"
    metrics = read_metrics_tsv(metrics_file) if metrics_file.is_file() else {}
    return frame, task, labels, source, mode, metrics, metrics_file if metrics else None, dropped


def _read_v2(
    maps: Path, data_group: str, split: int, selection_metric: str
) -> tuple[pd.DataFrame, str, tuple[str, ...], Path, str, dict[str, float], Path | None, tuple[str, ...]]:
    details = details_tsv_path(maps, data_group, split=split, selection_metric=selection_metric)
    if not details.is_file():
        raise MAPSError(
            f"{details} not found: a ClinicaDL 2.0 MAPS keeps per-image values there; "
            "re-run the test of this model on the group."
        )
    frame, task, _, _, dropped = _image_level(read_tsv(details), details, task="per_image")
    aggregated = details.parent / "aggregated.tsv"
    metrics = read_metrics_tsv(aggregated) if aggregated.is_file() else {}
    return frame, task, (), details, "image", metrics, aggregated if metrics else None, dropped


def read_model_predictions(
    maps_path: str | Path,
    data_group: str,
    *,
    split: int | None = None,
    selection_metric: str | None = None,
) -> ModelPredictions:
    """Read the image-level predictions of one trained model of a MAPS on one data group.

    Parameters
    ----------
    maps_path : str or Path
        Folder of a ClinicaDL 1.x or 2.0 MAPS.
    data_group : str
        Data group (``"test-heldout"``, ``"validation"``...).
    split : int, optional
        Split of the model; may be left out when the group was predicted by a single model.
    selection_metric : str, optional
        Selection metric of the model (``"loss"`` or ``"best-loss"``; ``"final"`` for the last model of a
        2.0 MAPS); may be left out when the group was predicted by a single model.

    Returns
    -------
    ModelPredictions
        See its attributes. 1.x: classification or regression from the prediction files (reconstruction
        gives ``per_image``), class names from ``label_code``, image level rebuilt from the mode level when
        needed (module docstring). 2.0: ``per_image`` values of ``metrics/details.tsv``, columns without
        any finite value dropped and listed in ``dropped_columns``.

    Raises
    ------
    MAPSError
        Not a MAPS; unknown data group, split or selection metric (the message lists the available ones);
        no prediction file.
    InputError
        Malformed prediction file (see :func:`read_prediction_tsv`).
    """
    maps = Path(maps_path)
    version = maps_version(maps)
    if split is None or selection_metric is None:
        models = find_models(
            maps,
            data_group,
            splits=None if split is None else [split],
            selection_metrics=None if selection_metric is None else [selection_metric],
        )
        if len(models) > 1:
            listed = ", ".join(f"split {s} / {m}" for s, m in models)
            raise MAPSError(
                f"group {data_group!r} of MAPS {maps} was predicted by {len(models)} models ({listed}); "
                "choose one with split= and selection_metric=."
            )
        split, selection_metric = models[0]
    selection_metric = normalize_selection_metric(selection_metric)
    reader = _read_v1 if version == "1.x" else _read_v2
    frame, task, labels, source, mode, metrics, metrics_source, dropped = reader(
        maps, data_group, int(split), selection_metric
    )
    return ModelPredictions(
        frame=frame,
        task=task,
        labels=labels,
        source=source,
        mode=mode,
        split=int(split),
        selection_metric=selection_metric,
        data_group=data_group,
        upstream_metrics=metrics,
        metrics_source=metrics_source,
        maps_version=version,
        dropped_columns=dropped,
    )


def _has_predictions(maps: Path, version: str, data_group: str, split: int, selection_metric: str) -> bool:
    try:
        if version == "2.0":
            return details_tsv_path(
                maps, data_group, split=split, selection_metric=selection_metric
            ).is_file()
        folder = group_dir(maps, data_group, split=split, selection_metric=selection_metric)
    except MAPSError:
        return False
    return bool(_prediction_levels(folder, data_group))


def find_models(
    maps_path: str | Path,
    data_group: str,
    splits: Iterable[int] | None = None,
    selection_metrics: Iterable[str] | None = None,
) -> list[tuple[int, str]]:
    """List the trained models of a MAPS that have predictions on a data group.

    Parameters
    ----------
    maps_path : str or Path
        Folder of a ClinicaDL 1.x or 2.0 MAPS.
    data_group : str
        Data group.
    splits : iterable of int, optional
        Splits to consider (default: all splits of the MAPS).
    selection_metrics : iterable of str, optional
        Selection metrics to consider, with or without ``best-`` (default: all those present for the group).

    Returns
    -------
    list of (int, str)
        ``(split, selection_metric)`` pairs whose prediction files exist, sorted.

    Raises
    ------
    MAPSError
        Unknown data group, a requested split or selection metric that does not exist, or no model with
        predictions on the group; the message lists what is available.
    """
    maps = Path(maps_path)
    version = maps_version(maps)
    groups = list_data_groups(maps)
    if data_group not in groups:
        raise MAPSError(
            f"data group {data_group!r} not found in MAPS {maps}; available data groups: "
            f"{', '.join(groups) or 'none'}; run `clinicadl predict` to make it."
        )
    all_splits = list_splits(maps)
    wanted_splits = sorted({int(s) for s in splits}) if splits is not None else all_splits
    unknown_splits = [s for s in wanted_splits if s not in all_splits]
    if unknown_splits:
        raise MAPSError(
            f"splits {', '.join(map(str, unknown_splits))} not found in MAPS {maps}; available splits: "
            f"{', '.join(map(str, all_splits)) or 'none'}."
        )
    present = list_selection_metrics(maps, data_group=data_group)
    if selection_metrics is not None:
        wanted = sorted({normalize_selection_metric(m) for m in selection_metrics})
        unknown = [m for m in wanted if m not in present]
        if unknown:
            raise MAPSError(
                f"selection metrics {', '.join(unknown)} have no predictions on group {data_group!r} in MAPS "
                f"{maps}; available selection metrics: {', '.join(present) or 'none'}."
            )
    else:
        wanted = present
    models = [
        (split, metric)
        for split in wanted_splits
        for metric in wanted
        if _has_predictions(maps, version, data_group, split, metric)
    ]
    if not models:
        raise MAPSError(
            f"no model of MAPS {maps} has predictions on group {data_group!r} "
            f"(splits {', '.join(map(str, wanted_splits)) or 'none'}, selection metrics "
            f"{', '.join(wanted) or 'none'}); run `clinicadl predict` on this group."
        )
    return models
