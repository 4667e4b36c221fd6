"""Result rows and their writer: every results table of ``clinicadl evaluate`` is laid out through them.

A :class:`ResultRow` holds the columns that every results TSV has (FORMATS.md section 4: ``metric estimate
ci_low ci_high se method confidence n_resamples n_subjects n_images seed``) and, in order, the extra columns of
its table (``split``, ``component``, ``test``, ``procedure_a``...). :func:`results_frame` turns rows into a table
and :func:`write_results` writes it with its JSON sidecar (:mod:`clinicadl.maps` does the file formats).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinicadl.maps import sidecar_path, write_json_sidecar, write_results_tsv

__all__ = ["ResultRow", "results_frame", "write_results"]

_NAN = np.nan


@dataclass(frozen=True)
class ResultRow:
    """One row of a results table: the FORMATS.md columns, then the table's own columns (``extra``, in order).

    Attributes
    ----------
    metric : str
    estimate, ci_low, ci_high, se : float
        The value and its interval and standard error (NaN when there is none).
    method : str
        How the interval (or test) was computed.
    confidence : float
        Confidence level of the interval.
    n_resamples : int
        Resamples of the bootstrap (0: none).
    n_subjects, n_images : int
        Test participants and images.
    seed : int or None
        Seed of every random draw.
    extra : mapping
        Further columns, in the order they are written.
    """

    metric: str
    estimate: float = _NAN
    ci_low: float = _NAN
    ci_high: float = _NAN
    se: float = _NAN
    method: str = ""
    confidence: float = _NAN
    n_resamples: int = 0
    n_subjects: int = 0
    n_images: int = 0
    seed: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def with_values(self, **values: Any) -> ResultRow:
        """A copy with ``values`` set: FORMATS.md columns replaced, other columns updated in place or appended
        (the order of ``dict | dict``)."""
        names = _FIELDS & values.keys()
        extra = dict(self.extra) | {k: v for k, v in values.items() if k not in names}
        return ResultRow(**{**{n: getattr(self, n) for n in _FIELDS}, **{n: values[n] for n in names}},
                         extra=extra)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ResultRow:
        """A row from a mapping of column -> value (e.g. a row of a results table)."""
        return cls(metric=values["metric"]).with_values(**{k: v for k, v in values.items() if k != "metric"})

    def as_dict(self) -> dict[str, Any]:
        """Column -> value: the FORMATS.md columns first, then the extra ones."""
        return {name: getattr(self, name) for name in _ORDER} | dict(self.extra)


_ORDER = tuple(f.name for f in fields(ResultRow) if f.name != "extra")
_FIELDS = frozenset(_ORDER)


def results_frame(rows: Iterable[ResultRow]) -> pd.DataFrame:
    """The table of ``rows`` (columns in the order of :meth:`ResultRow.as_dict`, extras as they first appear)."""
    return pd.DataFrame([row.as_dict() for row in rows])


def write_results(path: Path, frame: pd.DataFrame, meta: Mapping[str, Any]) -> Path:
    """Write a results TSV and its JSON sidecar (FORMATS.md section 4): both or none; return the TSV's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_results_tsv(path, frame)
    try:
        write_json_sidecar(sidecar_path(path), meta)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
