"""The data group an interpretation reads: its images for each split and its CAPS, decided before any write.

Upstream's rules for a data group (ClinicaDL 1.x ``interpret`` and ``predict`` documentation, "data group
consistency"): an existing group is read as it is (``groups/<group>/data.tsv``, or ``groups/<group>/split-<i>/``
for the training groups ``train`` and ``validation``); a new group needs ``--participants_tsv`` (and may not share a
participant with ``groups/train+validation.tsv``, as upstream's leakage check); an existing group given again with
other participants needs ``--overwrite``, which never applies to the training groups. A new or replaced group is
registered only once its maps exist (:func:`register_group`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.groups import read_group_tsv
from clinicadl.maps.maps_json import maps_json_path, read_maps_json
from clinicadl.maps.tables import read_tsv, require_columns
from clinicadl.maps.writer import TRAINING_GROUPS, group_folder, remove_group, write_group

__all__ = ["GroupPlan", "plan_group", "register_group", "resolve_caps"]

_N_LISTED = 3


@dataclass(frozen=True)
class GroupPlan:
    """The images of a data group in one MAPS (one replicate).

    Attributes
    ----------
    frames : dict of int to pandas.DataFrame
        ``participant_id``, ``session_id`` (+ columns of the group) for each split.
    caps : Path
        The CAPS to read the images from.
    register : pandas.DataFrame or None
        Sessions to register as ``groups/<group>/`` once the maps exist, those interpreted (None: the group
        exists as it is).
    replace : bool
        The existing group is replaced (``--overwrite``): its folder and its results are removed first.
    """

    frames: dict[int, pd.DataFrame]
    caps: Path
    register: pd.DataFrame | None = None
    replace: bool = False


def resolve_caps(value: str | Path, maps: Path) -> Path:
    """A CAPS path as written in a MAPS: as it is when it exists (or is absolute), else beside or in the MAPS."""
    path = Path(value)
    if path.is_dir() or path.is_absolute():
        return path
    for base in (maps.parent, maps):
        if (base / path).is_dir():
            return base / path
    return path


def _same_participants(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    keys = ["participant_id", "session_id"]
    return set(map(tuple, a[keys].astype(str).to_numpy())) == set(map(tuple, b[keys].astype(str).to_numpy()))


def _check_leakage(maps: Path, group: str, frame: pd.DataFrame) -> None:
    path = maps / "groups" / "train+validation.tsv"
    if not path.is_file():
        return  # nothing recorded to compare with (a MAPS of another writer)
    shared = sorted(set(frame["participant_id"].astype(str)) & set(read_tsv(path)["participant_id"].astype(str)))
    if shared:
        listed = ", ".join(shared[:_N_LISTED]) + (" ..." if len(shared) > _N_LISTED else "")
        raise MAPSError(f"Data leakage: {len(shared)} participant(s) of group {group!r} were used in training "
                        f"({listed}); interpret the group 'train' or 'validation' for them, or remove them from "
                        "the TSV.")


def _keep_diagnoses(frame: pd.DataFrame, diagnoses: Sequence[str], source: object) -> pd.DataFrame:
    if not diagnoses:
        return frame
    if "diagnosis" not in frame.columns:
        raise InputError(f"{source} has no diagnosis column, so --diagnoses cannot select sessions; remove "
                         "--diagnoses, or give a TSV with a diagnosis column.")
    kept = frame[frame["diagnosis"].astype(str).isin(set(diagnoses))].reset_index(drop=True)
    if kept.empty:
        raise InputError(f"{source} has no session with diagnosis {', '.join(diagnoses)} (present: "
                         f"{', '.join(sorted(set(frame['diagnosis'].astype(str))))}); choose among these.")
    return kept


def _group_caps(maps: Path, folder: Path, parameters: Mapping[str, Any], caps_directory) -> Path:
    path = maps_json_path(folder)
    recorded = read_maps_json(path).get("caps_directory") if path.is_file() else None
    return resolve_caps(caps_directory or recorded or parameters["caps_directory"], maps)


def plan_group(maps: Path, parameters: Mapping[str, Any], group: str, splits: Sequence[int], *,
               participants_tsv: str | Path | None = None, caps_directory: str | Path | None = None,
               overwrite: bool = False, diagnoses: Sequence[str] = ()) -> GroupPlan:
    """Which images of ``group`` each split interprets, from which CAPS; nothing is written.

    Raises
    ------
    MAPSError
        An unknown group without ``participants_tsv``, a training group given a TSV, another group of the same
        name without ``overwrite``, or data leakage.
    InputError
        A TSV without ``participant_id``/``session_id``, or without a session of ``diagnoses``.
    """
    if group in TRAINING_GROUPS:
        if participants_tsv is not None:
            raise MAPSError(f"Group {group!r} is made by training and is never redefined; choose another group name "
                            "for these participants.")
        frames = {}
        for split in splits:
            path = group_folder(maps, group, split=split) / "data.tsv"
            if not path.is_file():
                raise MAPSError(f"{path} is missing: split {split} of {maps} has no {group} group; train it first.")
            frames[split] = _keep_diagnoses(read_group_tsv(path), diagnoses, path)
        caps = _group_caps(maps, group_folder(maps, group, split=splits[0]), parameters, caps_directory)
        return GroupPlan(frames, caps)
    folder = group_folder(maps, group)
    exists = (folder / "data.tsv").is_file()
    if participants_tsv is None:
        if not exists:
            raise MAPSError(f"Group {group!r} does not exist in {maps}; give --participants_tsv (and "
                            "--caps_directory if the CAPS is not the one of training) to define it.")
        frame = _keep_diagnoses(read_group_tsv(folder / "data.tsv"), diagnoses, folder / "data.tsv")
        return GroupPlan(dict.fromkeys(splits, frame), _group_caps(maps, folder, parameters, caps_directory))
    given = read_tsv(participants_tsv)
    require_columns(given, ["participant_id", "session_id"], participants_tsv)
    if given.empty:
        raise InputError(f"{participants_tsv} lists no session; give at least one participant to interpret.")
    _check_leakage(maps, group, given)
    frame = _keep_diagnoses(given, diagnoses, participants_tsv)
    replace = exists and overwrite
    if exists and not replace:
        if not _same_participants(read_group_tsv(folder / "data.tsv"), frame):
            raise MAPSError(f"Group {group!r} already exists in {maps} with other participants; add --overwrite to "
                            "replace it (with its predictions), or choose another name.")
        return GroupPlan(dict.fromkeys(splits, frame), _group_caps(maps, folder, parameters, caps_directory))
    caps = resolve_caps(caps_directory or parameters["caps_directory"], maps)
    return GroupPlan(dict.fromkeys(splits, frame), caps, register=frame, replace=replace)


def register_group(maps: Path, group: str, plan: GroupPlan, parameters: Mapping[str, Any]) -> None:
    """Write ``groups/<group>/`` for a new or replaced group (removing the replaced one and its results first)."""
    if plan.register is None:
        return
    if plan.replace:
        remove_group(maps, group)
    write_group(maps, group, plan.register, caps_directory=plan.caps, label=parameters.get("label"))
