"""The images of an input CAPS, for the generators that start from one (``random``, ``trivial``).

Images are found with a case-insensitive match under ``subjects/<sub>/<ses>/`` (the pipeline folder name is not
trusted): ``*_T1w.nii.gz`` (``t1-linear``) or ``*_trc-<tracer>_*_suvr-<region>_pet.nii.gz`` (``pet-linear``), with
``_desc-Crop_`` in the name (or without it, with ``use_uncropped_image``).
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


PREPROCESSINGS: tuple[str, ...] = ("t1-linear", "pet-linear")
"""Preprocessings of the input CAPS the generators read (upstream's ``--preprocessing`` values)."""


def image_pattern(preprocessing: str = "t1-linear", *, tracer: str | None = None,
                  suvr_reference_region: str | None = None) -> re.Pattern:
    """The file-name pattern (case-insensitive) of the images of a preprocessing.

    Raises
    ------
    InputError
        For an unknown preprocessing, or pet-linear without its tracer and SUVR reference region.

    Examples
    --------
    >>> bool(image_pattern("pet-linear", tracer="18FFDG", suvr_reference_region="pons").search(
    ...     "sub-01_ses-M000_trc-18FFDG_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_suvr-pons_pet.nii.gz"))
    True
    """
    if preprocessing == "t1-linear":
        return re.compile(r"_t1w\.nii(\.gz)?$", re.IGNORECASE)
    if preprocessing == "pet-linear":
        if not tracer or not suvr_reference_region:
            raise InputError("--preprocessing pet-linear needs --tracer (e.g. 18FFDG) and "
                             "-suvr/--suvr_reference_region (e.g. pons) to find the PET images.")
        return re.compile(rf"_trc-{re.escape(tracer)}_.*_suvr-{re.escape(suvr_reference_region)}_pet\.nii(\.gz)?$",
                          re.IGNORECASE)
    raise InputError(f"Preprocessing {preprocessing!r} is not read by this generator; choose one of "
                     f"{', '.join(PREPROCESSINGS)}.")


def _find_image(session_folder: Path, use_uncropped_image: bool, pattern: re.Pattern) -> Path | None:
    found = sorted(path for path in session_folder.rglob("*") if path.is_file() and pattern.search(path.name)
                   and ("_desc-crop_" in path.name.lower()) != use_uncropped_image
                   and "deeplearning_prepare_data" not in path.parts)
    return found[0] if found else None


def input_images(caps_directory: str | Path, *, participants_tsv: str | Path | None = None,
                 use_uncropped_image: bool = False, baseline_only: bool = False, preprocessing: str = "t1-linear",
                 tracer: str | None = None, suvr_reference_region: str | None = None) -> list[InputImage]:
    """The images of ``preprocessing`` in ``caps_directory`` (those listed in ``participants_tsv`` if given), sorted.

    ``tracer`` and ``suvr_reference_region`` name the PET images of ``preprocessing="pet-linear"``.
    """
    import pandas as pd

    pattern = image_pattern(preprocessing, tracer=tracer, suvr_reference_region=suvr_reference_region)
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
        path = _find_image(caps_directory / "subjects" / participant / session, use_uncropped_image, pattern)
        if path is None:
            raise CAPSError(f"No {'uncropped ' if use_uncropped_image else ''}{preprocessing} image (matching "
                            f"{pattern.pattern}) for {participant} {session} under {caps_directory / 'subjects'}; run "
                            f"{preprocessing} for it or remove it from the participants TSV.")
        age, sex = demographics.get((participant, session), ("", ""))
        images.append(InputImage(participant, session, path, str(age), str(sex)))
    if not images:
        raise CAPSError(f"No {preprocessing} image found in {caps_directory}.")
    return images


def renamed(path: Path, participant_id: str, session_id: str) -> str:
    """The file name of ``path`` for another participant: ``<new sub>_<ses>_<rest of the name>``."""
    rest = path.name.split("_", 2)[2] if path.name.count("_") >= 2 else path.name
    return f"{participant_id}_{session_id}_{rest}"
