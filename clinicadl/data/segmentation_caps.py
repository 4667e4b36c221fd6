"""Writing segmentation data sets (images and label maps) as a CAPS that ``prepare-data`` and ``train segmentation``
read.

The readers of other layouts (:mod:`clinicadl.data.decathlon`, :mod:`clinicadl.data.brats`) list
:class:`SegmentationCase` objects; :func:`write_segmentation_caps` turns them into::

    <caps>/subjects/sub-<id>/ses-M000/custom/sub-<id>_ses-M000_<image_suffix>     (3D image)
    <caps>/subjects/sub-<id>/ses-M000/custom/sub-<id>_ses-M000_dseg.nii.gz         (label map, uint8)
    <caps>/data.tsv        participant_id session_id diagnosis case_id volume_label<k> ... (mL)
    <caps>/<source>.json   what was converted, the labels and the channel

``diagnosis`` is ``lesion`` when the label map has a foreground voxel, ``no_lesion`` when it has none and
``unlabelled`` without label map: ``tsvtools split`` stratifies on it. Then ``clinicadl prepare-data image CAPS
custom --custom_suffix <image_suffix>`` makes the tensors and ``train segmentation`` finds the masks with its default
``--mask_pattern *_dseg.nii.gz``. Label values are kept, except where the reader gives a remapping (BraTS's
4 -> 3). The CAPS is built in a hidden sibling folder and moved in place when complete; each file is written
atomically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clinicadl.errors import CAPSError, InputError

__all__ = ["DEFAULT_IMAGE_SUFFIX", "MASK_SUFFIX", "SESSION", "SegmentationCase", "participant_label",
           "write_segmentation_caps"]

SESSION = "ses-M000"
MASK_SUFFIX = "dseg.nii.gz"
DEFAULT_IMAGE_SUFFIX = "image.nii.gz"


@dataclass(frozen=True)
class SegmentationCase:
    """One image and its label map, as a reader found them.

    Attributes
    ----------
    case_id : str
        Identifier in the source layout (``la_003``, ``BraTS2021_00000``).
    image : Path
        The image (3D, or 4D with ``channel`` selecting the volume).
    label : Path or None
        The label map (None for unlabelled test images).
    channel : int or None
        Volume of a 4D image to keep (Decathlon's multi-modal tasks); None for a 3D image.
    remap : mapping of int to int
        Label values to replace (source -> written).
    """

    case_id: str
    image: Path
    label: Path | None
    channel: int | None = None
    remap: Mapping[int, int] = field(default_factory=dict)


def participant_label(case_id: str) -> str:
    """BIDS participant id of a case: ``sub-`` and the letters and digits of the id (``la_003`` -> ``sub-la003``).

    Examples
    --------
    >>> participant_label("BraTS2021_00012")
    'sub-BraTS202100012'
    """
    label = re.sub(r"[^A-Za-z0-9]", "", case_id)
    if not label:
        raise InputError(f"Case {case_id!r} has no letter or digit to make a participant id from; rename it.")
    return f"sub-{label}"


def _load(path: Path, channel: int | None, what: str):
    import nibabel as nib

    try:
        image = nib.load(path)
    except Exception as error:  # nibabel raises many types for unreadable files
        raise CAPSError(f"Cannot read the {what} {path}: {error}") from None
    shape = image.shape
    if len(shape) == 4 and shape[3] == 1:
        channel = 0 if channel is None else channel
    if len(shape) == 4:
        if channel is None:
            raise InputError(f"The {what} {path} has {shape[3]} channels; choose one with channel=<index>.")
        if not 0 <= channel < shape[3]:
            raise InputError(f"channel {channel} does not exist in {path} ({shape[3]} channels: 0..{shape[3] - 1}).")
        data = np.asarray(image.dataobj[..., channel])
    elif len(shape) == 3:
        data = np.asarray(image.dataobj)
    else:
        raise CAPSError(f"The {what} {path} has shape {shape}; expected a 3D image (or 4D with channels).")
    return data, image.affine


def _nifti_bytes(data: np.ndarray, affine: np.ndarray, dtype) -> bytes:
    import gzip

    import nibabel as nib

    image = nib.Nifti1Image(np.asarray(data, dtype=dtype), np.asarray(affine, dtype=np.float64))
    image.header.set_xyzt_units("mm")
    return gzip.compress(image.to_bytes(), compresslevel=1, mtime=0)


def write_segmentation_caps(
    cases: Sequence[SegmentationCase], output: str | Path, *, image_suffix: str = DEFAULT_IMAGE_SUFFIX,
    source: str = "segmentation", description: Mapping | None = None,
) -> Path:
    """Write ``cases`` as a CAPS with masks (module docstring); returns the data TSV.

    Raises
    ------
    InputError
        OUTPUT exists and is not empty, two cases give the same participant id, an image suffix that would match
        the masks.
    CAPSError
        An unreadable image or label map, a label map that is not integer or not on its image's grid.
    """
    from clinicadl.atomic import atomic_write_bytes
    from clinicadl.data.generate._staging import staged_caps, write_json, write_tsv

    if not image_suffix.endswith((".nii.gz", ".nii")) or image_suffix.endswith(MASK_SUFFIX) or "/" in image_suffix:
        raise InputError(f"image_suffix {image_suffix!r} must end with .nii.gz and differ from the mask suffix "
                         f"{MASK_SUFFIX}.")
    if not cases:
        raise InputError("No case to convert: the source holds no image.")
    ids: dict[str, str] = {}
    for case in cases:
        participant = participant_label(case.case_id)
        if participant in ids:
            raise InputError(f"Cases {ids[participant]!r} and {case.case_id!r} both give participant id "
                             f"{participant}; rename one.")
        ids[participant] = case.case_id
    n_labels = 0
    rows = []
    with staged_caps(output) as staging:
        for participant, case in zip(ids, cases):
            folder = staging / "subjects" / participant / SESSION / "custom"
            data, affine = _load(case.image, case.channel, "image")
            atomic_write_bytes(folder / f"{participant}_{SESSION}_{image_suffix}",
                               _nifti_bytes(data, affine, np.float32))
            row: dict = {"participant_id": participant, "session_id": SESSION, "diagnosis": "unlabelled",
                         "case_id": case.case_id}
            if case.label is not None:
                labels, _ = _load(case.label, None, "label map")
                if labels.shape != data.shape:
                    raise CAPSError(f"The label map {case.label} has shape {labels.shape} but its image {case.image} "
                                    f"{data.shape}; they must share the voxel grid.")
                if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() > 255:
                    raise CAPSError(f"The label map {case.label} holds values that are not labels 0..255.")
                labels = labels.astype(np.int64)
                for old, new in case.remap.items():
                    labels[labels == old] = new
                atomic_write_bytes(folder / f"{participant}_{SESSION}_{MASK_SUFFIX}",
                                   _nifti_bytes(labels, affine, np.uint8))
                voxel_ml = float(abs(np.linalg.det(np.asarray(affine)[:3, :3]))) / 1000.0
                counts = np.bincount(labels.ravel())
                n_labels = max(n_labels, len(counts) - 1)
                row["_counts"] = (counts, voxel_ml)
                row["diagnosis"] = "lesion" if counts[1:].sum() > 0 else "no_lesion"
            rows.append(row)
        columns = ["participant_id", "session_id", "diagnosis", "case_id"]
        columns += [f"volume_label{k}" for k in range(1, n_labels + 1)]
        for row in rows:
            counts, voxel_ml = row.pop("_counts", (np.zeros(1, dtype=int), 0.0))
            for k in range(1, n_labels + 1):
                row[f"volume_label{k}"] = float(counts[k] * voxel_ml) if k < len(counts) else 0.0
        write_tsv(staging / "data.tsv", rows, columns)
        write_json(staging / f"{source}.json", {"source": source, "image_suffix": image_suffix,
                                                "mask_pattern": f"*_{MASK_SUFFIX}", "n_labels": n_labels,
                                                "n_cases": len(rows), **dict(description or {})})
    return Path(output) / "data.tsv"
