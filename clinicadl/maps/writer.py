"""Writing a ClinicaDL 1.x MAPS: the folder, ``maps.json``, environment, logs and data groups.

Everything is written atomically (:mod:`clinicadl.atomic`). Layout (FORMATS.md, section 2)::

    <maps>/maps.json, environment.txt, information.log
    <maps>/groups/train+validation.tsv
    <maps>/groups/<train|validation>/split-<i>/{data.tsv, maps.json}   (data.tsv with an unnamed index column)
    <maps>/groups/<group>/{data.tsv, maps.json}                        (groups made by predict, no index)
    <maps>/split-<i>/best-<m>/<group>/description.log
"""

from __future__ import annotations

import datetime
import io
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import MAPSError
from clinicadl.maps.maps_json import write_maps_json

__all__ = [
    "TRAINING_GROUPS",
    "group_folder",
    "prepare_maps_dir",
    "refuse_existing_maps",
    "remove_group",
    "write_description_log",
    "write_environment",
    "write_group",
    "write_information_log",
    "write_maps_json",
    "write_training_groups",
]

TRAINING_GROUPS = ("train", "validation")
"""Groups written by training, one ``data.tsv`` per split; never overwritten by predict."""

COHORT = "single"


def refuse_existing_maps(path: str | Path, *, overwrite: bool = False) -> None:
    """Raise :class:`MAPSError` if ``path`` exists and is not empty (or is a file) and ``overwrite`` is false."""
    path = Path(path)
    if not overwrite and path.exists() and (path.is_file() or any(path.iterdir())):
        raise MAPSError(f"Output MAPS {path} already exists; choose another OUTPUT_MAPS_DIRECTORY, or add "
                        "--overwrite to replace it.")


def prepare_maps_dir(path: str | Path, *, overwrite: bool = False) -> Path:
    """Make the output folder of a training; refuse an existing non-empty folder unless ``overwrite``.

    Raises
    ------
    MAPSError
        If ``path`` exists and is not empty (or is a file) and ``overwrite`` is false.
    """
    path = Path(path)
    refuse_existing_maps(path, overwrite=overwrite)
    if path.exists() and (path.is_file() or any(path.iterdir())):
        if path.is_file() or path.is_symlink():
            path.unlink()
        else:
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_environment(maps_dir: str | Path) -> Path:
    """``environment.txt``: the installed distributions as ``name==version`` lines (like ``pip freeze``)."""
    from importlib.metadata import distributions

    lines = sorted({f"{d.metadata['Name']}=={d.version}" for d in distributions() if d.metadata["Name"]},
                   key=str.lower)
    return atomic_write_text(Path(maps_dir) / "environment.txt", "\n".join(lines) + "\n")


def write_information_log(maps_dir: str | Path, model_description: str, *, extra: Mapping[str, Any] = {}) -> Path:
    """``information.log``: date, path, the network's description and ``extra`` lines (free text, as upstream)."""
    date = datetime.datetime.now().strftime("%d %b %Y, %H:%M:%S")
    text = f"- Date :\t{date}\n\n- Path :\t{maps_dir}\n\n"
    for key, value in extra.items():
        text += f"- {key} :\t{value}\n\n"
    text += f"- Model :\t{model_description}\n\n"
    return atomic_write_text(Path(maps_dir) / "information.log", text)


def _group_json(caps_directory: str | Path) -> dict[str, Any]:
    return {"caps_directory": str(caps_directory), "multi_cohort": False}


def _data_frame(frame: pd.DataFrame, label: str | None) -> pd.DataFrame:
    columns = ["participant_id", "session_id"]
    out = frame[columns].copy()
    out["cohort"] = frame["cohort"] if "cohort" in frame.columns else COHORT
    if label and label in frame.columns:
        out[label] = frame[label].to_numpy()
    return out.reset_index(drop=True)


def _write_tsv(path: Path, frame: pd.DataFrame, *, index: bool) -> Path:
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", index=index)
    return atomic_write_text(path, buffer.getvalue())


def group_folder(maps_dir: str | Path, group: str, *, split: int | None = None) -> Path:
    folder = Path(maps_dir) / "groups" / group
    return folder / f"split-{split}" if split is not None else folder


def write_group(
    maps_dir: str | Path, group: str, frame: pd.DataFrame, *, caps_directory: str | Path, label: str | None = None,
    split: int | None = None,
) -> Path:
    """Write ``groups/<group>[/split-<i>]/{data.tsv, maps.json}``; returns the folder.

    Per-split (training) groups carry an unnamed index column like upstream's; others do not.
    """
    folder = group_folder(maps_dir, group, split=split)
    _write_tsv(folder / "data.tsv", _data_frame(frame, label), index=split is not None)
    write_maps_json(folder / "maps.json", _group_json(caps_directory))
    return folder


def remove_group(maps_dir: str | Path, group: str) -> None:
    """Delete a (predicted) group: its ``groups/<group>/`` folder and every ``split-<i>/best-<m>/<group>/``."""
    if group in TRAINING_GROUPS:
        raise MAPSError(f"Group {group!r} is made by training and is never overwritten; choose another name.")
    maps = Path(maps_dir)
    shutil.rmtree(group_folder(maps, group), ignore_errors=True)
    for folder in maps.glob(f"split-*/best-*/{group}"):
        shutil.rmtree(folder, ignore_errors=True)


def write_training_groups(
    maps_dir: str | Path, splits: Iterable[tuple[int, pd.DataFrame, pd.DataFrame]], *, caps_directory: str | Path,
    label: str | None,
) -> None:
    """Write ``groups/train+validation.tsv`` and the per-split ``train`` and ``validation`` groups."""
    seen = []
    for split, train, validation in splits:
        write_group(maps_dir, "train", train, caps_directory=caps_directory, label=label, split=split)
        write_group(maps_dir, "validation", validation, caps_directory=caps_directory, label=label, split=split)
        seen += [train[["participant_id", "session_id"]], validation[["participant_id", "session_id"]]]
    union = pd.concat(seen, ignore_index=True).drop_duplicates().sort_values(["participant_id", "session_id"])
    path = Path(maps_dir) / "groups" / "train+validation.tsv"
    existing = None
    if path.is_file():
        existing = pd.read_csv(path, sep="\t", dtype=str)[["participant_id", "session_id"]]
        union = pd.concat([existing, union], ignore_index=True).drop_duplicates()
        union = union.sort_values(["participant_id", "session_id"])
    _write_tsv(path, union.reset_index(drop=True), index=False)


def write_description_log(folder: str | Path, group: str, frame: pd.DataFrame, *, caps_directory: str | Path) -> Path:
    """``description.log`` of the predictions of one model on one group (date, CAPS, counts)."""
    text = (f"Prediction {group} group - {datetime.datetime.now()}\n"
            f"Data loaded from CAPS directories: {{'{COHORT}': '{caps_directory}'}}\n"
            f"Number of participants: {frame['participant_id'].nunique()}\n"
            f"Number of sessions: {len(frame)}\n")
    return atomic_write_text(Path(folder) / "description.log", text)
