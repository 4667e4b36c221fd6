"""Atomic writing of results into a MAPS: results TSVs, JSON sidecars, and where they go.

Every write goes to a temporary file of the same folder, then replaces the target with
:func:`os.replace`, so that an interrupted run never leaves a half-written file (FORMATS.md, section 4).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.layout import details_tsv_path, group_dir, maps_version

__all__ = [
    "RESULTS_COLUMNS",
    "atomic_write_text",
    "evaluation_dir",
    "model_ci_path",
    "read_results_tsv",
    "sidecar_path",
    "to_jsonable",
    "write_json_sidecar",
    "write_results_tsv",
]

RESULTS_COLUMNS: tuple[str, ...] = (
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "se",
    "method",
    "confidence",
    "n_resamples",
    "n_subjects",
    "n_images",
    "seed",
)
"""Columns every results TSV starts with, in this order; extra columns follow."""

_NA_REP = "NaN"


def write_results_tsv(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a results table atomically as a TSV (FORMATS.md, section 4).

    Parameters
    ----------
    path : str or Path
        Target file.
    frame : pandas.DataFrame
        One row per (model or procedure, metric), with at least the columns of
        :data:`RESULTS_COLUMNS`; they are written first, in that order, extra columns after.
        Missing values are written ``NaN``; no index column.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        If a required column is missing.
    """
    missing = [column for column in RESULTS_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(
            f"results table for {path} lacks the columns {', '.join(missing)} "
            f"(found: {', '.join(map(str, frame.columns))}); "
            f"every results TSV needs {' '.join(RESULTS_COLUMNS)}."
        )
    extra = [column for column in frame.columns if column not in RESULTS_COLUMNS]
    ordered = frame.loc[:, [*RESULTS_COLUMNS, *extra]]
    text = ordered.to_csv(sep="\t", index=False, na_rep=_NA_REP, lineterminator="\n")
    return atomic_write_text(path, text)


def read_results_tsv(path: str | Path) -> pd.DataFrame:
    """Read a results TSV written by :func:`write_results_tsv`.

    Raises
    ------
    InputError
        If the file is missing, empty, or lacks a required column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"results file {path} not found; run `clinicadl evaluate` to make it.")
    try:
        frame = pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        raise InputError(
            f"results file {path} is empty; delete it and run `clinicadl evaluate` again."
        ) from None
    missing = [column for column in RESULTS_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(
            f"results file {path} lacks the columns {', '.join(missing)} "
            f"(found: {', '.join(map(str, frame.columns))}); delete it and run `clinicadl evaluate` again."
        )
    return frame


def to_jsonable(value: Any) -> Any:
    """A copy of ``value`` that :func:`json.dumps` accepts in strict mode.

    Paths become strings, numpy scalars and arrays become Python numbers and lists, tuples and sets
    become lists, and non-finite floats become ``None`` (JSON has no NaN).

    Examples
    --------
    >>> to_jsonable({"ci": (0.5, float("nan")), "path": Path("a/b")})
    {'ci': [0.5, None], 'path': 'a/b'}
    """
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(item) for item in items]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def sidecar_path(path: str | Path) -> Path:
    """Path of the JSON sidecar of a results file: the same name with the suffix ``.json``."""
    return Path(path).with_suffix(".json")


def write_json_sidecar(path: str | Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` atomically as indented, strict JSON (see :func:`to_jsonable` for the conversions).

    ``path`` is the JSON file itself; use :func:`sidecar_path` to derive it from a results TSV.

    Returns
    -------
    Path
        The file written.
    """
    text = json.dumps(to_jsonable(dict(data)), indent=2, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def model_ci_path(maps_path: str | Path, split: int, selection_metric: str, data_group: str) -> Path:
    """Where the confidence intervals of one trained model on one data group are written.

    1.x: ``<maps>/split-<i>/best-<m>/<group>/<group>_image_level_metrics_ci.tsv`` (in the existing
    ``fold-<i>`` folder of an old MAPS). 2.0: ``<group>_image_level_metrics_ci.tsv`` next to
    ``metrics/details.tsv``.

    Raises
    ------
    MAPSError
        If the model has no outputs for this group (the folder must exist).
    """
    if maps_version(maps_path) == "2.0":
        folder = details_tsv_path(
            maps_path, data_group, split=split, selection_metric=selection_metric
        ).parent
        if not folder.is_dir():
            raise MAPSError(f"{folder} not found; test the model on group {data_group!r} first.")
        return folder / f"{data_group}_image_level_metrics_ci.tsv"
    folder = group_dir(maps_path, data_group, split=split, selection_metric=selection_metric)
    return folder / f"{data_group}_image_level_metrics_ci.tsv"


def evaluation_dir(maps_path: str | Path, data_group: str) -> Path:
    """Folder of the procedure-level results and comparisons of a data group: ``<maps>/evaluation/<group>/``.

    The folder is not created; the writers create it.
    """
    maps_version(maps_path)
    return Path(maps_path) / "evaluation" / data_group
