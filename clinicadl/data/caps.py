"""CAPS discovery: which preprocessed image of each (participant, session) a modality designates.

A CAPS (ClinicaDL/Clinica Processed Structure) holds one folder per session,
``subjects/<participant_id>/<session_id>/``, with one sub-folder per Clinica pipeline. The pipeline folder
name is not trusted: the image of a modality is found by its file NAME, matched case-insensitively against
the modality's pattern anywhere under the session folder (the tensor cache, ``deeplearning_prepare_data/``,
is skipped).

Patterns (``fnmatch`` syntax, ``*`` matches any run of characters, matched on the file name only):

==============  ==========  =========================================================================
modality        cropped     pattern
==============  ==========  =========================================================================
t1-linear       yes         ``*_space-MNI152NLin2009cSym_desc-Crop_res-*_T1w.nii.gz``
t1-linear       no          ``*_space-MNI152NLin2009cSym_res-*_T1w.nii.gz``
pet-linear      yes         ``*_trc-<tracer>_space-MNI152NLin2009cSym_desc-Crop_res-*_suvr-<region>_pet.nii.gz``
pet-linear      no          ``*_trc-<tracer>_space-MNI152NLin2009cSym_res-*_suvr-<region>_pet.nii.gz``
flair-linear    yes         ``*_space-MNI152NLin2009cSym_desc-Crop_res-*_flair.nii.gz``
flair-linear    no          ``*_space-MNI152NLin2009cSym_res-*_flair.nii.gz``
dwi-dti         -           ``*_space-<MNI*|[!M]*>_<measure>.nii.gz`` (normalized | native space)
custom          -           ``*<custom_suffix>`` (the suffix may itself hold ``*``)
==============  ==========  =========================================================================

Clinica writes ``res-1x1x1``; ``res-*`` also accepts reduced resolutions (``res-2x2x2`` from our cohort
generator). The cropped and uncropped patterns never match the same file: the uncropped one needs
``_res-`` right after the space entity, the cropped one needs ``_desc-Crop_res-``. Several matches in one
session (e.g. both ``res-1x1x1`` and ``res-2x2x2``) are an error that names them: use ``custom`` with a
precise ``--custom_suffix`` to pick one.

``dwi-dti`` reads a DTI map of Clinica's dwi-dti pipeline: ``<measure>`` is ``FA``, ``MD``, ``AD`` or ``RD``
(``--dti_measure``); ``--dti_space normalized`` takes the map registered to an MNI template (space entity starting
with ``MNI``), ``native`` the one in the participant's space (any other space entity).
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clinicadl.errors import CAPSError, InputError

MODALITIES = ("t1-linear", "pet-linear", "flair-linear", "dwi-dti", "custom")
"""Modalities (Clinica pipelines) that ``prepare-data`` and the datasets read."""

TEMPLATE = "MNI152NLin2009cSym"
"""Template space of Clinica's linear pipelines (used to find ROI masks)."""

TENSOR_FOLDER = "deeplearning_prepare_data"
"""Folder of a session holding the tensor cache written by ``prepare-data``."""

DEFAULT_TRACER = "18FFDG"
DEFAULT_SUVR_REGION = "cerebellumPons2"
DTI_MEASURES = ("FA", "MD", "AD", "RD")
DTI_SPACES = ("native", "normalized")
_N_LISTED = 5  # how many missing sessions an error message lists


@dataclass(frozen=True)
class FileType:
    """How to find a modality's image in a session folder (the ``file_type`` of an extraction JSON).

    Attributes
    ----------
    pattern : str
        ``fnmatch`` pattern of the file name, matched case-insensitively.
    description : str
        Human-readable description of the image.
    needed_pipeline : str
        Clinica pipeline that writes the image.
    """

    pattern: str
    description: str
    needed_pipeline: str

    def to_dict(self) -> dict[str, str]:
        return {"pattern": self.pattern, "description": self.description, "needed_pipeline": self.needed_pipeline}


@dataclass(frozen=True)
class CAPSImage:
    """The image of one session: ``path`` is the NIfTI file found with the modality's pattern."""

    participant_id: str
    session_id: str
    path: Path


def check_modality(modality: str) -> str:
    """Return ``modality`` if known, else raise :class:`InputError` listing the known ones."""
    if modality not in MODALITIES:
        raise InputError(f"Unknown modality {modality!r}: choose one of {', '.join(MODALITIES)}.")
    return modality


def modality_folder(modality: str) -> str:
    """Folder name of a modality in the tensor cache: ``t1-linear`` -> ``t1_linear``."""
    return check_modality(modality).replace("-", "_")


def file_type(
    modality: str,
    *,
    use_uncropped_image: bool = False,
    tracer: str | None = None,
    suvr_reference_region: str | None = None,
    custom_suffix: str | None = None,
    dti_measure: str = "FA",
    dti_space: str = "native",
) -> FileType:
    """The :class:`FileType` of ``modality`` (see the module docstring for the patterns).

    Examples
    --------
    >>> file_type("t1-linear").pattern
    '*_space-MNI152NLin2009cSym_desc-Crop_res-*_T1w.nii.gz'
    >>> file_type("custom", custom_suffix="_phantom.nii.gz").pattern
    '*_phantom.nii.gz'
    """
    check_modality(modality)
    crop = "" if use_uncropped_image else "_desc-Crop"
    size = "uncropped" if use_uncropped_image else "cropped"
    if modality == "t1-linear":
        return FileType(f"*_space-{TEMPLATE}{crop}_res-*_T1w.nii.gz",
                        f"T1w image registered to {TEMPLATE} by t1-linear ({size})", "t1-linear")
    if modality == "flair-linear":
        return FileType(f"*_space-{TEMPLATE}{crop}_res-*_flair.nii.gz",
                        f"FLAIR image registered to {TEMPLATE} by flair-linear ({size})", "flair-linear")
    if modality == "pet-linear":
        tracer = tracer or DEFAULT_TRACER
        region = suvr_reference_region or DEFAULT_SUVR_REGION
        return FileType(f"*_trc-{tracer}_space-{TEMPLATE}{crop}_res-*_suvr-{region}_pet.nii.gz",
                        f"{tracer} PET SUVR image (reference region {region}) registered to {TEMPLATE} by "
                        f"pet-linear ({size})", "pet-linear")
    if modality == "dwi-dti":
        return _dti_file_type(dti_measure, dti_space)
    if not custom_suffix:
        raise InputError("Modality 'custom' needs --custom_suffix, the end of the image file names "
                         "(e.g. '_space-SheppLogan_phantom.nii.gz'; '*' is allowed).")
    return FileType(f"*{custom_suffix.lstrip('*')}", "Custom suffix", "custom")


def _dti_file_type(measure: str, space: str) -> FileType:
    """The DTI map ``measure`` of Clinica's dwi-dti pipeline in ``space`` (see the module docstring)."""
    if measure not in DTI_MEASURES or space not in DTI_SPACES:
        raise InputError(f"dwi-dti needs --dti_measure in {', '.join(DTI_MEASURES)} and --dti_space in "
                         f"{', '.join(DTI_SPACES)}; got {measure!r} and {space!r}.")
    entity = "MNI*" if space == "normalized" else "[!M]*"
    return FileType(f"*_space-{entity}_{measure}.nii.gz", f"DTI-based {measure} in {space} space (dwi-dti)",
                    "dwi-dti")


def check_caps(caps_directory: str | Path) -> Path:
    """Return ``caps_directory`` as a Path if it is a CAPS (it has ``subjects/``), else raise :class:`CAPSError`.

    A BIDS folder given by mistake (a ``dataset_description.json`` or ``sub-*`` folders at its root, no
    ``subjects/``) gets its own message: the images must first be preprocessed with Clinica.
    """
    caps = Path(caps_directory)
    if not caps.is_dir():
        raise CAPSError(f"CAPS directory {caps} does not exist.")
    if (caps / "subjects").is_dir():
        return caps
    if _looks_like_bids(caps):
        raise CAPSError(f"{caps} looks like a BIDS folder (sub-*/ folders or a BIDS dataset_description.json, "
                        f"no subjects/ folder), not a CAPS: run Clinica first, e.g. 'clinica run t1-linear {caps} "
                        "CAPS_DIRECTORY', then give CAPS_DIRECTORY.")
    raise CAPSError(f"{caps} is not a CAPS: it has no subjects/ folder (expected "
                    "subjects/sub-<label>/ses-<label>/...); give the output folder of a Clinica pipeline.")


def _looks_like_bids(folder: Path) -> bool:
    description = folder / "dataset_description.json"
    if description.is_file():
        try:
            content = json.loads(description.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            content = {}
        if "BIDSVersion" in content or str(content.get("DatasetType", "")).lower() == "raw":
            return True
    return any(child.is_dir() and child.name.startswith("sub-") for child in folder.iterdir())


def read_sessions_tsv(tsv_path: str | Path) -> pd.DataFrame:
    """Read a TSV of (participant_id, session_id) rows; other columns are kept.

    Raises :class:`InputError` naming the file and the columns found when a required column is missing.
    """
    path = Path(tsv_path)
    if not path.is_file():
        raise InputError(f"Participants TSV {path} does not exist.")
    try:
        table = pd.read_csv(path, sep="\t", dtype={"participant_id": str, "session_id": str})
    except (ValueError, pd.errors.ParserError) as error:
        raise InputError(f"Cannot read {path} as a tab-separated table: {error}") from None
    missing = [column for column in ("participant_id", "session_id") if column not in table.columns]
    if missing:
        found = ", ".join(map(str, table.columns)) or "none"
        raise InputError(f"{path} lacks column(s) {', '.join(missing)} (columns found: {found}); a participants "
                         "TSV needs tab-separated participant_id and session_id columns.")
    return table


def list_sessions(caps_directory: str | Path, tsv_path: str | Path | None = None) -> pd.DataFrame:
    """The (participant_id, session_id) pairs to process: those of ``tsv_path``, or every session in the CAPS.

    Rows are returned in the TSV order (duplicates removed), or sorted when read from the CAPS.
    """
    caps = check_caps(caps_directory)
    if tsv_path is not None:
        table = read_sessions_tsv(tsv_path)[["participant_id", "session_id"]]
        return table.drop_duplicates().reset_index(drop=True)
    rows = [(participant.name, session.name)
            for participant in sorted((caps / "subjects").glob("sub-*")) if participant.is_dir()
            for session in sorted(participant.glob("ses-*")) if session.is_dir()]
    if not rows:
        raise CAPSError(f"{caps / 'subjects'} holds no sub-*/ses-* folder: the CAPS is empty.")
    return pd.DataFrame(rows, columns=["participant_id", "session_id"])


def _matching_files(session_folder: Path, pattern: str) -> list[Path]:
    pattern = pattern.lower()
    found = []
    for root, folders, files in os.walk(session_folder):
        folders[:] = sorted(folder for folder in folders if folder != TENSOR_FOLDER)
        found.extend(Path(root) / name for name in sorted(files) if fnmatch.fnmatchcase(name.lower(), pattern))
    return found


def find_images(caps_directory: str | Path, sessions: pd.DataFrame | Iterable[tuple[str, str]],
                pattern: str | FileType) -> list[CAPSImage]:
    """Find the image of each session that matches ``pattern`` (case-insensitive, file names only).

    Parameters
    ----------
    caps_directory : path
        The CAPS.
    sessions : DataFrame with participant_id and session_id columns, or (participant, session) pairs.
    pattern : str or FileType
        ``fnmatch`` pattern of the file name.

    Returns
    -------
    list of CAPSImage, one per session, in the order given.

    Raises
    ------
    CAPSError
        When a session has no matching image (the first few are listed with the pattern searched) or several.
    """
    caps = check_caps(caps_directory)
    if isinstance(pattern, FileType):
        pattern = pattern.pattern
    if isinstance(sessions, pd.DataFrame):
        pairs = list(zip(sessions["participant_id"].astype(str), sessions["session_id"].astype(str)))
    else:
        pairs = [(str(participant), str(session)) for participant, session in sessions]
    images, missing, ambiguous = [], [], []
    for participant, session in pairs:
        matches = _matching_files(caps / "subjects" / participant / session, pattern)
        if len(matches) == 1:
            images.append(CAPSImage(participant, session, matches[0]))
        elif not matches:
            missing.append(f"{participant} {session}")
        else:
            ambiguous.append(f"{participant} {session}: " + ", ".join(match.name for match in matches))
    if missing:
        listed = "; ".join(missing[:_N_LISTED]) + ("; ..." if len(missing) > _N_LISTED else "")
        raise CAPSError(f"{len(missing)} of {len(pairs)} session(s) have no image matching {pattern!r} under "
                        f"{caps / 'subjects'}/<participant>/<session>/ ({listed}): run the pipeline for them, or "
                        "give a participants TSV without them.")
    if ambiguous:
        raise CAPSError(f"{len(ambiguous)} session(s) have several images matching {pattern!r} in {caps} "
                        f"({'; '.join(ambiguous[:_N_LISTED])}): keep one, or choose with the custom modality and "
                        "a precise --custom_suffix.")
    return images
