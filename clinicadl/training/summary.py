"""The end-of-training summary: one row per replicate x split x selection metric, read from the MAPS.

For each best model: the epoch it comes from (``model.pth.tar``), its validation metrics
(``validation_image_level_metrics.tsv``) and whether it predicted a single class on the validation group
(``validation_image_level_prediction.tsv``): a model that never learnt is then flagged when it is trained, not
discovered at evaluation. Everything is read from disk, so the summary of a resumed training is complete too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SplitSummary", "format_training_summary", "single_class_warnings", "training_summary"]

_logger = logging.getLogger(__name__)

VALIDATION = "validation"
SHOWN = ("BA", "AUC", "accuracy", "R2_score", "MAE", "PSNR", "SSIM", "Dice", "loss")
"""Validation metrics of the summary table, those present, in this order."""


@dataclass(frozen=True)
class SplitSummary:
    """The best model of one replicate, split and selection metric.

    Attributes
    ----------
    replicate : int or None
        None for a MAPS without replicates.
    split : int
    selection_metric : str
    best_epoch : int or None
        Epoch of ``best-<m>/model.pth.tar`` (0-based as upstream; None when unreadable).
    validation : dict
        Validation metrics of that model.
    predicted_classes : int or None
        Number of distinct classes it predicted on the validation group (classification only).
    """

    replicate: int | None
    split: int
    selection_metric: str
    best_epoch: int | None
    validation: dict = field(default_factory=dict)
    predicted_classes: int | None = None

    @property
    def single_class(self) -> bool:
        return self.predicted_classes == 1


def _best_epoch(model: Path) -> int | None:
    from clinicadl.errors import ClinicaDLError
    from clinicadl.models.checkpoint import load_model_state

    try:
        return int(load_model_state(model)["epoch"])
    except (ClinicaDLError, KeyError, TypeError, ValueError, OSError):
        return None


def _one_maps(maps: Path, replicate: int | None) -> list[SplitSummary]:
    from clinicadl.errors import ClinicaDLError
    from clinicadl.maps import read_metrics_tsv
    from clinicadl.maps.tables import read_tsv

    rows = []
    for split_dir in sorted(maps.glob("split-*"), key=lambda p: int(p.name.split("-")[1])
                            if p.name.split("-")[1].isdigit() else -1):
        if not split_dir.name.split("-")[1].isdigit():
            continue
        for best in sorted(split_dir.glob("best-*")):
            if not (best / "model.pth.tar").is_file():
                continue
            folder = best / VALIDATION
            try:
                metrics = read_metrics_tsv(folder / f"{VALIDATION}_image_level_metrics.tsv")
            except (ClinicaDLError, OSError):
                metrics = {}
            classes = None
            prediction = folder / f"{VALIDATION}_image_level_prediction.tsv"
            if prediction.is_file():
                try:
                    frame = read_tsv(prediction)
                    if "predicted_label" in frame and any(c.startswith("proba") for c in frame.columns):
                        classes = int(frame["predicted_label"].nunique())
                except (ClinicaDLError, OSError):
                    pass
            rows.append(SplitSummary(replicate, int(split_dir.name.split("-")[1]), best.name[len("best-"):],
                                     _best_epoch(best / "model.pth.tar"), metrics, classes))
    return rows


def training_summary(maps: str | Path) -> list[SplitSummary]:
    """Every best model of ``maps`` (every replicate of a MAPS with replicates), read from its files."""
    from clinicadl.maps.replicate_folders import replicate_folders

    maps = Path(maps)
    folders = replicate_folders(maps)
    if not folders:
        return _one_maps(maps, None)
    return [row for r, folder in folders.items() for row in _one_maps(folder, r)]


def single_class_warnings(rows: list[SplitSummary]) -> list[str]:
    """One line per best model that predicted a single class on the validation group."""
    return [f"{'replicate ' + str(r.replicate) + ' ' if r.replicate is not None else ''}split {r.split} "
            f"best-{r.selection_metric} predicts a single class on validation: it has not learnt to tell the "
            "classes apart (check the labels, the learning rate and the number of epochs)" for r in rows
            if r.single_class]


def format_training_summary(rows: list[SplitSummary]) -> str:
    """A table: replicate, split, selection metric, best epoch (1-based, as the progress lines) and validation
    metrics; models that predict a single class are marked with ``*`` and explained below the table."""
    if not rows:
        return "No trained model found."
    present = [m for m in SHOWN if any(m in r.validation for r in rows)]
    header = ["replicate", "split", "selection", "best epoch", *(f"val {m}" for m in present)]
    body = []
    for r in rows:
        values = [f"{r.validation[m]:.4g}" if m in r.validation else "-" for m in present]
        epoch = "-" if r.best_epoch is None else str(r.best_epoch + 1)
        body.append(["-" if r.replicate is None else str(r.replicate), str(r.split),
                     r.selection_metric + (" *" if r.single_class else ""), epoch, *values])
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in (header, *body)]
    lines += [f"* {warning}." for warning in single_class_warnings(rows)]
    return "\n".join(lines)
