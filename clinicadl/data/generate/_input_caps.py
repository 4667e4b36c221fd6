"""The images of an input t1-linear CAPS, for the generators that start from one (``random``, ``trivial``).

Images are found with a case-insensitive match under ``subjects/<sub>/<ses>/`` (the pipeline folder name is not
trusted): ``*_T1w.nii.gz`` with ``_desc-Crop_`` in the name (or without it, with ``use_uncropped_image``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from clinicadl.errors import CAPSError, InputError


@dataclass(frozen=True)
class InputImage:
    """One image of the input CAPS, with the demographics found in its TSV (``""`` when absent)."""

    participant_id: str
    session_id: str
    path: Path
    age: str
    sex: str


def _find_image(session_folder: Path, use_uncropped_image: bool) -> Path | None:
    pattern = re.compile(r"_t1w\.nii(\.gz)?$", re.IGNORECASE)
    found = sorted(path for path in session_folder.rglob("*") if path.is_file() and pattern.search(path.name)
                   and ("_desc-crop_" in path.name.lower()) != use_uncropped_image
                   and "deeplearning_prepare_data" not in path.parts)
    return found[0] if found else None


def input_images(caps_directory: str | Path, *, participants_tsv: str | Path | None = None,
                 use_uncropped_image: bool = False, baseline_only: bool = False) -> list[InputImage]:
    """The t1-linear images of ``caps_directory`` (those listed in ``participants_tsv`` if given), sorted."""
    import pandas as pd

    caps_directory = Path(caps_directory)
    if not (caps_directory / "subjects").is_dir():
        raise CAPSError(f"{caps_directory} is not a CAPS: it has no subjects/ folder. Give the folder that contains "
                        "subjects/ (e.g. one made by `clinicadl generate cohort`).")
    tsv = Path(participants_tsv) if participants_tsv else caps_directory / "data.tsv"
    table = None
    if tsv.is_file():
        table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
        missing = {"participant_id", "session_id"} - set(table.columns)
        if missing:
            raise InputError(f"{tsv} lacks the column(s) {sorted(missing)}; it needs participant_id and session_id.")
    elif participants_tsv:
        raise InputError(f"The participants TSV {tsv} does not exist.")
    if table is not None:
        pairs = list(zip(table.participant_id, table.session_id))
    else:
        pairs = [(s.parent.name, s.name) for s in sorted(caps_directory.glob("subjects/sub-*/ses-*")) if s.is_dir()]
    pairs = sorted(set(pairs))
    if baseline_only:
        first: dict[str, str] = {}
        for participant, session in pairs:
            first.setdefault(participant, session)
        pairs = sorted(first.items())
    demographics = {}
    if table is not None:
        for _, row in table.iterrows():
            demographics[(row.participant_id, row.session_id)] = (row.get("age", ""), row.get("sex", ""))
    images = []
    for participant, session in pairs:
        path = _find_image(caps_directory / "subjects" / participant / session, use_uncropped_image)
        if path is None:
            raise CAPSError(f"No {'uncropped ' if use_uncropped_image else ''}t1-linear image (*_T1w.nii.gz) for "
                            f"{participant} {session} under {caps_directory / 'subjects'}; run t1-linear for it or "
                            "remove it from the participants TSV.")
        age, sex = demographics.get((participant, session), ("", ""))
        images.append(InputImage(participant, session, path, str(age), str(sex)))
    if not images:
        raise CAPSError(f"No t1-linear image found in {caps_directory}.")
    return images


def renamed(path: Path, participant_id: str, session_id: str) -> str:
    """The file name of ``path`` for another participant: ``<new sub>_<ses>_<rest of the name>``."""
    rest = path.name.split("_", 2)[2] if path.name.count("_") >= 2 else path.name
    return f"{participant_id}_{session_id}_{rest}"
