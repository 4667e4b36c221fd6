"""What the files of a MAPS say about its training, whatever ``replicates.tsv`` records.

A split is *done* when its models and training log are there and no ``tmp/`` is left, *interrupted* when its
``tmp/`` checkpoint folder is still there, *not started* otherwise. A trained MAPS (one replicate) is done
when every split it should have is done; the splits and selection metrics it should have are read from
its ``maps.json`` (``n_splits``, ``split``, ``selection_metrics``); without them (a MAPS written by another
tool) the folders found are taken as the expected ones.

Nothing here trains or writes: :mod:`clinicadl.training.status` and :func:`~clinicadl.training.replicates.
resume_maps` use these facts so that a deleted replicate folder, or a training killed after its first epoch,
is never reported as done.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DISK_STATES", "MapsDiskState", "maps_disk_state", "split_is_complete", "split_state"]

DISK_STATES: tuple[str, ...] = ("done", "interrupted", "incomplete", "missing", "unknown")
"""States of a trained MAPS read from its files (see :class:`MapsDiskState`)."""

VALIDATION = "validation"


def split_is_complete(maps_dir: str | Path, split: int, selection_metrics: list[str], *,
                      intervals: bool = True) -> bool:
    """True when the split has no ``tmp/``, a training log, and every best model (with its validation intervals
    when ``intervals``)."""
    folder = Path(maps_dir) / f"split-{split}"
    if (folder / "tmp").exists() or not (folder / "training_logs" / "training.tsv").is_file():
        return False
    for metric in selection_metrics:
        best = folder / f"best-{metric}"
        if not (best / "model.pth.tar").is_file():
            return False
        if intervals and not (best / VALIDATION / f"{VALIDATION}_image_level_metrics_ci.tsv").is_file():
            return False
    return True


def split_state(maps_dir: str | Path, split: int, selection_metrics: list[str] | None) -> str:
    """``done``, ``interrupted`` (a ``tmp/`` checkpoint folder) or ``not started`` / ``incomplete``.

    Done: no ``tmp/``, a training log and the model of every selection metric (our trainer removes ``tmp/``
    only once the validation predictions and intervals are written, so a split it did not finish keeps it).

    Without ``selection_metrics`` (unknown), a split is done when it has no ``tmp/`` and at least one
    ``best-<m>/model.pth.tar``.
    """
    folder = Path(maps_dir) / f"split-{split}"
    if not folder.exists() and (Path(maps_dir) / f"fold-{split}").is_dir():  # old MAPS: fold-<i>
        folder = Path(maps_dir) / f"fold-{split}"
    if (folder / "tmp").exists():
        return "interrupted"
    if selection_metrics is None:
        return "done" if any(folder.glob("best-*/model.pth.tar")) else ("incomplete" if folder.exists()
                                                                         else "not started")
    trained = (folder / "training_logs" / "training.tsv").is_file() and all(
        (folder / f"best-{metric}" / "model.pth.tar").is_file() for metric in selection_metrics)
    if trained:  # the validation intervals are ours: a split trained by ClinicaDL 1.x is done without them
        return "done"
    return "incomplete" if folder.exists() else "not started"


@dataclass(frozen=True)
class MapsDiskState:
    """The state of one trained MAPS (a plain MAPS or one ``replicate-<r>/``) read from its files.

    Attributes
    ----------
    state : str
        ``done`` (every expected split complete), ``interrupted`` (a split has its ``tmp/`` checkpoint),
        ``incomplete`` (a split not complete and not interrupted), ``missing`` (no folder or no ``maps.json``),
        ``unknown`` (nothing tells which splits to expect and none was found).
    splits : dict
        Split index -> :func:`split_state`.
    """

    state: str
    splits: dict[int, str]

    @property
    def detail(self) -> str:
        """A few words for ``train status``: the splits that are not done."""
        if self.state == "missing":
            return "folder or maps.json missing: 'clinicadl train resume' trains it again"
        pending = [f"split-{s} {state}" for s, state in self.splits.items() if state != "done"]
        return ", ".join(pending)


def _read_parameters(maps_dir: Path) -> dict | None:
    try:
        content = json.loads((maps_dir / "maps.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _expected_splits(maps_dir: Path, parameters: dict) -> list[int]:
    found = sorted(int(m.group(1)) for p in maps_dir.glob("*-*")
                   if (m := re.fullmatch(r"(?:split|fold)-(\d+)", p.name)) and p.is_dir())
    try:
        n_splits = int(parameters["n_splits"])
    except (KeyError, TypeError, ValueError):
        return found
    wanted = [int(s) for s in parameters.get("split") or []]
    return wanted or (list(range(n_splits)) if n_splits > 1 else [0])


def _selection_metrics(parameters: dict) -> list[str] | None:
    metrics = parameters.get("selection_metrics")
    if isinstance(metrics, str):
        return [metrics]
    return [str(m) for m in metrics] if isinstance(metrics, (list, tuple)) and metrics else None


def maps_disk_state(maps_dir: str | Path) -> MapsDiskState:
    """Read the state of a trained MAPS (or of one replicate folder) from its files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> maps_disk_state(pathlib.Path(tempfile.mkdtemp()) / "replicate-1").state
    'missing'
    """
    maps_dir = Path(maps_dir)
    parameters = _read_parameters(maps_dir) if maps_dir.is_dir() else None
    if parameters is None:
        return MapsDiskState("missing", {})
    metrics = _selection_metrics(parameters)
    splits = {s: split_state(maps_dir, s, metrics) for s in _expected_splits(maps_dir, parameters)}
    if not splits:
        return MapsDiskState("unknown", {})
    states = set(splits.values())
    if states == {"done"}:
        return MapsDiskState("done", splits)
    if "interrupted" in states:
        return MapsDiskState("interrupted", splits)
    return MapsDiskState("incomplete", splits)
