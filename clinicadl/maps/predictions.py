"""Predictions of a trained model on a data group, at image level: the input of every assessment.

Reads the prediction TSVs of a ClinicaDL 1.x MAPS, the per-image values of a 2.0 MAPS, or a bare
prediction TSV, checks them once, and returns a :class:`ModelPredictions` whose ``frame`` has one row
per image (``participant_id``, ``session_id``), sorted by participant then session.

The checks and the image level from slices, patches or regions are in :mod:`clinicadl.maps.image_level`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.image_level import MODES, PROBA_COLUMN, PROBABILITY_TOLERANCE, image_level
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
from clinicadl.maps.tables import ID_COLUMNS, read_tsv

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
        return tuple(column for column in self.frame.columns if PROBA_COLUMN.match(column))


# --------------------------------------------------------------------------------------------------
# Parsing one table into image-level predictions


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
    frame, task, mode, labels, dropped = image_level(read_tsv(path), path)
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
    frame, task, _, labels, dropped = image_level(table, source, task=task, labels=labels)
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
    frame, task, _, _, dropped = image_level(read_tsv(details), details, task="per_image")
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
