"""What a report shows: tables, figures, comparisons, one section per MAPS, and the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Comparison", "Figure", "MapsReport", "Report", "Table"]


@dataclass(frozen=True)
class Table:
    """A table ready to render: a caption, a header and rows of strings."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A PNG written by ``clinicadl evaluate``, with its caption."""

    caption: str
    path: Path


@dataclass(frozen=True)
class Comparison:
    """A comparison found (or computed) in ``evaluation/<group>/`` of a MAPS.

    Attributes
    ----------
    title : str
    kind : str
        ``"procedures"`` (``compare_procedures_*.tsv``) or ``"models"`` (``comparison_*.tsv``).
    frame : pandas.DataFrame
        The results TSV as written.
    source : Path
    figures : tuple of Figure
    """

    title: str
    kind: str
    frame: pd.DataFrame
    source: Path
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class MapsReport:
    """What the report says about one MAPS.

    Attributes
    ----------
    path : Path
    data_group, selection_metric : str
    kind : str
        ``"procedure"`` (two or more trained models) or ``"model"`` (one trained model).
    parameters : dict
        ``maps.json`` (with the ``replicates`` record when there are replicates).
    seeds : pandas.DataFrame or None
        ``replicates.tsv``; None for a MAPS without replicates.
    expected, variance : pandas.DataFrame or None
        ``procedure_expected.tsv`` and ``procedure_variance.tsv`` (procedures only).
    models : pandas.DataFrame
        Every trained model's metrics with their intervals (``procedure_models.tsv`` or the model's
        ``<group>_image_level_metrics_ci.tsv``).
    evaluation : dict
        The JSON sidecar of the main results file (command, version, date, options).
    figures : tuple of Figure
    sources : tuple of Path
        Results TSVs read.
    computed : tuple of Path
        Results files computed for the report (empty when everything was on disk).
    variance_sources, estimators : pandas.DataFrame or None
        ``sources.tsv`` and ``estimators.tsv`` of ``evaluate sources`` (a variance study), when present.
    """

    path: Path
    data_group: str
    selection_metric: str
    kind: str
    parameters: dict
    seeds: pd.DataFrame | None
    expected: pd.DataFrame | None
    variance: pd.DataFrame | None
    models: pd.DataFrame
    evaluation: dict
    figures: tuple[Figure, ...]
    sources: tuple[Path, ...]
    computed: tuple[Path, ...] = ()
    label: str = ""
    variance_sources: pd.DataFrame | None = None
    estimators: pd.DataFrame | None = None
    """Name in the report: the folder name, or the part of the path that tells it from the other MAPS."""

    @property
    def name(self) -> str:
        return self.label or self.path.resolve().name

    @property
    def varied_sources(self) -> tuple[str, ...]:
        return tuple(self.parameters.get("replicates", {}).get("varied_sources", ()))

    @property
    def n_replicates(self) -> int:
        return int(self.models["replicate"].nunique()) if "replicate" in self.models else 1

    @property
    def n_splits(self) -> int:
        return int(self.models["split"].nunique()) if "split" in self.models else 1


@dataclass(frozen=True)
class Report:
    """Everything the report shows.

    Attributes
    ----------
    maps : tuple of MapsReport
    comparisons : tuple of Comparison
    created : str
        UTC date of the report.
    version : str
        clinicadl version.
    notes : tuple of str
    """

    maps: tuple[MapsReport, ...]
    comparisons: tuple[Comparison, ...]
    created: str
    version: str
    notes: tuple[str, ...] = field(default=())

