"""Reading a BraTS-style per-participant layout, and converting it to a CAPS for ``train segmentation``.

BraTS (Menze et al. 2015; Baid et al. 2021) ships one folder per case holding one file per MR sequence and the
segmentation, named after the folder::

    <root>/BraTS2021_00000/BraTS2021_00000_flair.nii.gz   _t1  _t1ce  _t2  _seg      (2018-2021: underscore)
    <root>/BraTS-GLI-00000-000/BraTS-GLI-00000-000-t2f.nii.gz  -t1n -t1c -t2w -seg  (2023: hyphen)

:func:`read_brats` lists the cases (a case without the segmentation is a test case); :func:`brats_to_caps` writes
one sequence and the segmentation of each case as a CAPS with masks (:mod:`clinicadl.data.segmentation_caps`).
Labels: 2018-2021 use 1 (necrotic core), 2 (oedema), 4 (enhancing tumour); they are written as 1, 2, 3 (4 -> 3),
so that labels are 1..n_labels as ``train segmentation --n_labels 3`` expects. 2023's labels are already 1, 2, 3.

References
----------
Menze B. H. et al. (2015). The multimodal brain tumor image segmentation benchmark (BRATS). IEEE Transactions on
Medical Imaging 34(10), 1993-2024.
Baid U. et al. (2021). The RSNA-ASNR-MICCAI BraTS 2021 benchmark on brain tumor segmentation and radiogenomic
classification. arXiv:2107.02314.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from clinicadl.data.segmentation_caps import SegmentationCase, write_segmentation_caps
from clinicadl.errors import InputError

__all__ = ["BRATS_REMAP", "BratsCase", "brats_to_caps", "read_brats"]

BRATS_REMAP = {4: 3}
"""Label values rewritten by :func:`brats_to_caps` (BraTS 2018-2021's enhancing tumour 4 becomes 3)."""

SEGMENTATION_NAMES = ("seg",)
_FILE = re.compile(r"^(?P<case>.+?)[_-](?P<sequence>[A-Za-z0-9]+)\.nii(\.gz)?$")


@dataclass(frozen=True)
class BratsCase:
    """One case folder.

    Attributes
    ----------
    case_id : str
        The folder name.
    sequences : dict of str to Path
        Sequence name (``flair``, ``t1``, ``t1ce``, ``t2``; ``t2f``, ``t1n``, ``t1c``, ``t2w``) -> file.
    segmentation : Path or None
        The ``seg`` file (None: a test case).
    """

    case_id: str
    sequences: dict[str, Path]
    segmentation: Path | None


def read_brats(folder: str | Path) -> list[BratsCase]:
    """The cases of a BraTS-style folder (one sub-folder per case, files ``<case>[_-]<sequence>.nii.gz``).

    Raises
    ------
    InputError
        Not a folder, or no sub-folder holding ``<case>_<sequence>.nii.gz`` files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give the folder holding one sub-folder per BraTS case.")
    cases = []
    for case_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
        sequences: dict[str, Path] = {}
        segmentation = None
        for file in sorted(case_folder.iterdir()):
            match = _FILE.match(file.name)
            if not match or match.group("case") != case_folder.name:
                continue
            name = match.group("sequence").lower()
            if name in SEGMENTATION_NAMES:
                segmentation = file
            else:
                sequences[name] = file
        if sequences:
            cases.append(BratsCase(case_folder.name, sequences, segmentation))
    if not cases:
        raise InputError(f"{folder} holds no BraTS case: expected sub-folders <case>/ with files "
                         "<case>_<sequence>.nii.gz (e.g. BraTS2021_00000/BraTS2021_00000_flair.nii.gz).")
    return cases


def brats_to_caps(folder: str | Path, output: str | Path, *, sequence: str = "flair",
                  include_unlabelled: bool = False) -> Path:
    """Convert a BraTS-style folder to a CAPS with masks (one sequence per case); returns its ``data.tsv``.

    Parameters
    ----------
    folder : path
        The folder of case folders.
    output : path
        The CAPS to create (must not exist, or be empty).
    sequence : str
        Sequence to keep (``flair``, ``t1``, ``t1ce``, ``t2`` or 2023's ``t2f``, ``t1n``, ``t1c``, ``t2w``).
    include_unlabelled : bool
        Also convert cases without segmentation (test cases, no mask).

    Raises
    ------
    InputError
        A case without the sequence (the first ones are named, with the sequences they have).
    """
    cases = read_brats(folder)
    wanted = sequence.lower()
    lacking = [case for case in cases if wanted not in case.sequences]
    if lacking:
        first = lacking[0]
        raise InputError(f"{len(lacking)} case(s) have no {sequence!r} image (first: {first.case_id}, which has "
                         f"{', '.join(sorted(first.sequences))}); choose another sequence.")
    chosen = [SegmentationCase(case.case_id, case.sequences[wanted], case.segmentation, remap=BRATS_REMAP)
              for case in cases if case.segmentation is not None or include_unlabelled]
    if not chosen:
        raise InputError(f"No case of {folder} has a segmentation (<case>_seg.nii.gz); give include_unlabelled to "
                         "convert test cases.")
    return write_segmentation_caps(chosen, output, source="brats", description={
        "folder": str(Path(folder).resolve()), "sequence": wanted, "remap": {str(k): v for k, v in
                                                                             BRATS_REMAP.items()}})
