"""``quality-check t1-volume``: reject gray-matter maps that SPM's Unified Segmentation got wrong.

As ClinicaDL 1.x (``clinicadl/quality_check/t1_volume/``). For every session of the CAPS that has the gray-matter
probability map of Clinica's t1-volume pipeline in the DARTEL template space
(``t1/spm/segmentation/normalized_space/<sub>_<ses>_T1w_segm-graymatter_space-Ixi549Space_modulated-off_probability
.nii.gz``), three metrics are written to ``QC_metrics.tsv`` (sorted by increasing ``max_intensity``):

- ``max_intensity``: the largest probability of the map;
- ``non_zero_percentage``: the fraction of non-zero voxels;
- ``frontal_similarity``: the normalised mutual information between the map and the group's DARTEL template
  (``groups/group-<label>/t1/group-<label>_template.nii.gz``, its tissue classes summed), both multiplied by the
  eyes segmentation (:data:`clinicadl.data.qc_references.EYES_SEGMENTATION`).

The sessions are then filtered in three steps, each written as a TSV of the sessions that pass it and every previous
step: ``pass_step-1.tsv`` (``max_intensity > 0.95``), ``pass_step-2.tsv`` (``0.15 < non_zero_percentage < 0.5``),
``pass_step-3.tsv`` (``frontal_similarity > 0.10``; upstream's module docstring says 0.40, its code uses 0.10 and so
do we).

References
----------
Ashburner J., Friston K. J. (2005). Unified segmentation. NeuroImage 26(3), 839-851.
Studholme C. et al. (1999). An overlap invariant entropy measure of 3D medical image alignment. Pattern Recognition
32(1), 71-86 (normalised mutual information).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.data.caps import check_caps
from clinicadl.data.qc_references import EYES_SEGMENTATION, locate_reference
from clinicadl.errors import CAPSError

__all__ = ["VOLUME_STEPS", "VolumeQCResult", "normalized_mutual_information", "quality_check_t1_volume"]

_logger = logging.getLogger(__name__)

METRIC_COLUMNS = ("participant_id", "session_id", "max_intensity", "non_zero_percentage", "frontal_similarity")
VOLUME_STEPS: tuple[tuple[str, str], ...] = (
    ("max intensity", "max_intensity > 0.95"),
    ("non-zero voxels", "non_zero_percentage < 0.5 and non_zero_percentage > 0.15"),
    ("frontal similarity with DARTEL template", "frontal_similarity > 0.10"),
)
"""Upstream's three rejection steps: what each one checks and the rows it keeps (a pandas query)."""


def _mutual_information(histogram: np.ndarray) -> float:
    joint = histogram / histogram.sum()
    product = joint.sum(axis=1)[:, None] * joint.sum(axis=0)[None, :]
    kept = joint > 0
    return float(np.sum(joint[kept] * np.log(joint[kept] / product[kept])))


def normalized_mutual_information(a: np.ndarray, b: np.ndarray, *, bins: int = 10) -> float:
    """``2 I(A; B) / (H(A) + H(B))`` on a joint histogram of ``bins`` x ``bins`` equal-width bins (upstream's ``nmi``).

    ``H(A)`` is computed as ``I(A; A)``, as upstream does; the value is 1 for identical arrays and 0 for
    independent ones.

    Examples
    --------
    >>> x = np.arange(100.0)
    >>> round(normalized_mutual_information(x, x), 6)
    1.0
    """
    a, b = np.ravel(a), np.ravel(b)
    joint, _, _ = np.histogram2d(a, b, bins=bins)
    own_a, _, _ = np.histogram2d(a, a, bins=bins)
    own_b, _, _ = np.histogram2d(b, b, bins=bins)
    return 2 * _mutual_information(joint) / (_mutual_information(own_a) + _mutual_information(own_b))


@dataclass(frozen=True)
class VolumeQCResult:
    """What ``quality-check t1-volume`` wrote.

    Attributes
    ----------
    metrics : pandas.DataFrame
        ``QC_metrics.tsv``: one row per session.
    passed : tuple of pandas.DataFrame
        The sessions kept after each step (``pass_step-1.tsv`` ... ``pass_step-3.tsv``).
    """

    metrics: pd.DataFrame
    passed: tuple[pd.DataFrame, ...]


def _gray_matter_maps(caps: Path) -> list[tuple[str, str, Path]]:
    maps = []
    for participant in sorted((caps / "subjects").glob("sub-*")):
        for session in sorted(participant.glob("ses-*")):
            path = (session / "t1" / "spm" / "segmentation" / "normalized_space" / f"{participant.name}_"
                    f"{session.name}_T1w_segm-graymatter_space-Ixi549Space_modulated-off_probability.nii.gz")
            if path.is_file():
                maps.append((participant.name, session.name, path))
    return maps


def _load(path: Path, what: str) -> np.ndarray:
    try:
        return np.asarray(nib.load(path).get_fdata(dtype=np.float64))
    except Exception as error:  # nibabel raises many types for unreadable files
        raise CAPSError(f"Cannot read {what} {path}: {error}") from None


def _template(caps: Path, group_label: str, eyes: np.ndarray, eyes_path: Path) -> np.ndarray:
    path = caps / "groups" / f"group-{group_label}" / "t1" / f"group-{group_label}_template.nii.gz"
    if not path.is_file():
        raise CAPSError(f"{path} does not exist: GROUP_LABEL must name a group of {caps / 'groups'} made by "
                        f"Clinica's t1-volume pipeline (its DARTEL template).")
    template = _load(path, "the DARTEL template")
    if template.ndim == 4:
        template = template.sum(axis=3)
    if template.shape != eyes.shape:
        raise CAPSError(f"The DARTEL template {path} has shape {template.shape} and the eyes segmentation "
                        f"{eyes_path} {eyes.shape}: give the eyes segmentation of this template space.")
    return template * eyes


def _write(path: Path, table: pd.DataFrame) -> None:
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False)
    atomic_write_text(path, buffer.getvalue())


def quality_check_t1_volume(caps_directory: str | Path, output_directory: str | Path, group_label: str, *,
                            eyes_segmentation: str | Path | None = None) -> VolumeQCResult:
    """Write ``QC_metrics.tsv`` and ``pass_step-{1,2,3}.tsv`` into ``output_directory`` (see the module docstring).

    Raises
    ------
    InputError
        No eyes segmentation given nor cached (the message says where to get it).
    CAPSError
        No DARTEL template for ``group_label``, a map of another shape, or no gray-matter map in the CAPS.
    """
    caps = check_caps(caps_directory)
    eyes_path = locate_reference(EYES_SEGMENTATION, eyes_segmentation, "quality-check t1-volume")
    eyes = _load(eyes_path, "the eyes segmentation")
    template = _template(caps, group_label, eyes, eyes_path)
    maps = _gray_matter_maps(caps)
    if not maps:
        raise CAPSError(f"No gray-matter map of Clinica's t1-volume pipeline under {caps / 'subjects'} "
                        "(<sub>/<ses>/t1/spm/segmentation/normalized_space/..._segm-graymatter_space-Ixi549Space_"
                        "modulated-off_probability.nii.gz): run t1-volume first.")
    rows = []
    for participant, session, path in maps:
        image = _load(path, "the gray-matter map")
        if image.shape != eyes.shape:
            raise CAPSError(f"{path} has shape {image.shape}, the DARTEL template {eyes.shape}: it is not in the "
                            f"template space of group-{group_label}.")
        rows.append((participant, session, float(image.max()), np.count_nonzero(image) / image.size,
                     normalized_mutual_information(template, image * eyes)))
    metrics = pd.DataFrame(rows, columns=list(METRIC_COLUMNS)).sort_values("max_intensity", kind="stable")
    output = Path(output_directory)
    _write(output / "QC_metrics.tsv", metrics)
    passed, kept = [], metrics
    for step, (what, query) in enumerate(VOLUME_STEPS, start=1):
        previous, kept = kept, kept.query(query)
        _write(output / f"pass_step-{step}.tsv", kept)
        _logger.info("Number of sessions removed based on %s: %d.", what, len(previous) - len(kept))
        passed.append(kept.reset_index(drop=True))
    return VolumeQCResult(metrics.reset_index(drop=True), tuple(passed))
