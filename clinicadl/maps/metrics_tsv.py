"""Upstream metrics TSVs (``<group>_<level>_level_metrics.tsv``, 2.0 ``aggregated.tsv``), both layouts.

1. Wide (ClinicaDL 1.0-1.5, soft-voted files, 2.0 ``aggregated.tsv``): a header of metric names and one row.
2. Transposed CI layout (ClinicaDL 1.6): the first column is headed ``Metrics`` and its rows are
   ``Values``, ``Lower bound CI``, ``Upper bound CI``, ``SE``; cells without value hold ``N/A`` or nothing.

Both are read; :func:`write_metrics_tsv` writes the transposed layout, as ClinicaDL 1.6.1 does for every
``<group>_<level>_level_metrics.tsv``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import InputError
from clinicadl.maps.tables import read_tsv

__all__ = ["CI_ROWS", "POINT_ROW", "read_metrics_table", "read_metrics_tsv", "write_metrics_tsv"]

POINT_ROW = "Values"
"""Name of the row of point values (the only row of the wide layout)."""

CI_ROWS = ("Lower bound CI", "Upper bound CI", "SE")
"""Rows under ``Values`` in the transposed layout of ClinicaDL 1.6."""

_ROW_HEADER = "Metrics"
_MISSING = {"", "n/a", "na", "nan", "none"}


def _to_float(cell: str, path: Path, row: str, metric: str) -> float:
    text = str(cell).strip()
    if text.lower() in _MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"{path}: row {row!r}, metric {metric!r} holds {text!r}, not a number; "
            "fix the cell (N/A if unknown)."
        ) from None


def read_metrics_table(path: str | Path) -> pd.DataFrame:
    """Read a metrics TSV of either layout into a table of floats.

    Returns
    -------
    pandas.DataFrame
        Index: row names (``"Values"`` only for the wide layout; ``"Values"``, ``"Lower bound CI"``,
        ``"Upper bound CI"``, ``"SE"`` for the transposed one). Columns: metric names.
        ``N/A`` and empty cells are NaN.

    Raises
    ------
    InputError
        If the file is missing or empty, a cell is not a number, the transposed layout has no
        ``Values`` row, or the wide layout has more than one row.
    """
    path = Path(path)
    raw = read_tsv(path, strings=True)
    first = raw.columns[0]
    if first == _ROW_HEADER:
        row_names = [str(name).strip() for name in raw[first]]
        raw = raw.drop(columns=first)
        if POINT_ROW not in row_names:
            raise InputError(
                f"{path} has the transposed layout (first column {_ROW_HEADER!r}) but no {POINT_ROW!r} row "
                f"(rows: {', '.join(row_names)}); re-create it with `clinicadl predict`."
            )
    else:
        if len(raw) != 1:
            raise InputError(
                f"{path} has {len(raw)} rows, expected one row of values under a header of metric names "
                f"(or the transposed layout with a first column {_ROW_HEADER!r}); keep one row."
            )
        row_names = [POINT_ROW]
    values = [
        [_to_float(cell, path, row, metric) for metric, cell in zip(raw.columns, record, strict=True)]
        for row, record in zip(row_names, raw.itertuples(index=False, name=None), strict=True)
    ]
    return pd.DataFrame(values, index=pd.Index(row_names, name=_ROW_HEADER), columns=list(raw.columns))


def read_metrics_tsv(path: str | Path) -> dict[str, float]:
    """Point values of an upstream metrics TSV, either layout.

    Parameters
    ----------
    path : str or Path
        ``<group>_<level>_level_metrics.tsv`` of a 1.x MAPS, or ``aggregated.tsv`` of a 2.0 MAPS.

    Returns
    -------
    dict of str to float
        Metric name -> point value (the ``Values`` row); NaN where the file holds ``N/A`` or nothing.

    Raises
    ------
    InputError
        See :func:`read_metrics_table`.
    """
    table = read_metrics_table(path)
    row = table.loc[POINT_ROW]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    return {str(metric): float(value) for metric, value in row.items()}


def write_metrics_tsv(path: str | Path, values: Mapping[str, float],
                      intervals: Mapping[str, tuple[float, float, float]] | None = None) -> Path:
    """Write ``<group>_<level>_level_metrics.tsv`` in ClinicaDL 1.6.1's transposed layout (atomic).

    Parameters
    ----------
    path : str or Path
        The file to write.
    values : mapping of str to float
        Metric name -> point value, in column order (NaN is written ``NaN``).
    intervals : mapping of str to (float, float, float), optional
        Metric name -> (lower bound, upper bound, standard error); a metric without it gets ``N/A`` in these
        rows (upstream writes ``N/A`` for the loss).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "test_image_level_metrics.tsv"
    >>> print(write_metrics_tsv(path, {"BA": 0.5, "loss": 1.25}).read_text().replace("\\t", " | "), end="")
    Metrics | BA | loss
    Values | 0.5 | 1.25
    Lower bound CI | N/A | N/A
    Upper bound CI | N/A | N/A
    SE | N/A | N/A
    >>> read_metrics_tsv(path)
    {'BA': 0.5, 'loss': 1.25}
    """
    intervals = intervals or {}
    names = list(values)
    rows = [[POINT_ROW, *(_cell(values[n]) for n in names)]]
    for position, row in enumerate(CI_ROWS):
        rows.append([row, *(_cell(intervals[n][position]) if n in intervals else "N/A" for n in names)])
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=[_ROW_HEADER, *names]).to_csv(buffer, sep="\t", index=False)
    return atomic_write_text(path, buffer.getvalue())


def _cell(value: float) -> str:
    value = float(value)
    return "NaN" if math.isnan(value) else repr(value)
